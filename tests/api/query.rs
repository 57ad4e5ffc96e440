//! OData query options (docs/querying.md): $filter per operator and function on both versions, invalid filters, literals
//! that try to break out of SQL, $select, $orderby, $top/$skip, $count, keyset paging, and the indexes behind them.

use std::collections::HashMap;

use cloudpc_emulator::device_images::query::DEVICE_IMAGES;
use cloudpc_emulator::device_images::DEFAULT_TENANT;
use cloudpc_emulator::graph::odata::CollectionQuery;
use cloudpc_emulator::graph::ApiVersion;
use serde_json::{json, Value};

use crate::helpers::{assert_error, body, source, spawn_app, spawn_with, TestApp, COLLECTION};

/// GET the collection with these query options (properly encoded), optionally with the evolvable-enum preference.
async fn list(
    app: &TestApp,
    ver: &str,
    options: &[(&str, &str)],
    prefer: bool,
) -> reqwest::Response {
    let url = reqwest::Url::parse_with_params(&app.images(ver, ""), options).unwrap();
    let mut req = app.client.get(url);
    if prefer {
        req = req.header("Prefer", "include-unknown-enum-members");
    }
    req.send().await.unwrap()
}

/// Creates an image with extra properties (with the evolvable-enum preference) and returns its JSON.
async fn fixture(app: &TestApp, name: &str, version: &str, extra: Value) -> Value {
    let mut sent = body(name, version);
    for (k, v) in extra.as_object().unwrap() {
        sent[k] = v.clone();
    }
    let res = app.create_preferring("beta", &sent).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

/// The five images of the filter table, by name.
async fn five_images(app: &TestApp) -> HashMap<String, Value> {
    let images = [
        fixture(app, "Alpha", "1.0.0", json!({"status": "ready", "operatingSystem": "Windows 11 Enterprise",
            "osBuildNumber": "24H2", "osVersionNumber": "10.0.26100.1", "osStatus": "supported", "sizeInGB": 64,
            "expirationDate": "2028-04-11"})).await,
        fixture(app, "Beta image", "1.0.0", json!({"status": "failed", "errorCode": "sourceImageNotGeneralized",
            "operatingSystem": "Windows 10 Enterprise", "osBuildNumber": "22H2", "osStatus": "supportedWithWarning",
            "sizeInGB": 128, "expirationDate": "2026-01-01"})).await,
        fixture(app, "Gamma", "2.0.0", json!({})).await,
        fixture(app, "delta_50%", "1.0.1", json!({"status": "failed", "errorCode": "vmAlreadyAzureAdjoined",
            "sizeInGB": 32})).await,
        fixture(app, "Epsilon", "3.0.0", json!({"status": "warning", "errorCode": "startMenuAppLimitExceeded"})).await,
    ];
    images
        .into_iter()
        .map(|i| (i["displayName"].as_str().unwrap().to_owned(), i))
        .collect()
}

/// The names a filtered list returns, in order.
async fn names(app: &TestApp, ver: &str, options: &[(&str, &str)], prefer: bool) -> Vec<String> {
    let res = list(app, ver, options, prefer).await;
    let status = res.status();
    let page: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{options:?}: {page}");
    page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["displayName"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn each_operator_and_function_on_both_versions_returns_the_expected_images() {
    let app = spawn_app().await;
    let images = five_images(&app).await;
    let gamma_time = images["Gamma"]["lastModifiedDateTime"]
        .as_str()
        .unwrap()
        .to_owned();
    let alpha_id = images["Alpha"]["id"].as_str().unwrap().to_uppercase();
    let (a, b, g, d, e) = ("Alpha", "Beta image", "Gamma", "delta_50%", "Epsilon");
    let both: Vec<(String, Vec<&str>)> = vec![
        ("status eq 'ready'".into(), vec![a]),
        ("Status EQ 'FAILED'".into(), vec![b, d]),
        ("status ne 'ready'".into(), vec![b, g, d, e]),
        ("status in ('ready', 'pending')".into(), vec![a, g]),
        (
            "status eq microsoft.graph.cloudPcDeviceImageStatus'ready'".into(),
            vec![a],
        ),
        ("errorCode eq null".into(), vec![a, g]),
        ("errorCode ne null".into(), vec![b, d, e]),
        ("sizeInGB eq 64".into(), vec![a]),
        ("sizeInGB ne 64".into(), vec![b, g, d, e]),
        ("sizeInGB gt 64".into(), vec![b]),
        ("sizeInGB ge 64".into(), vec![a, b]),
        ("sizeInGB lt 64".into(), vec![d]),
        ("sizeInGB le 64".into(), vec![a, d]),
        ("64 lt sizeInGB".into(), vec![b]),
        ("sizeInGB gt 63.5".into(), vec![a, b]),
        ("expirationDate lt 2027-01-01".into(), vec![b]),
        ("expirationDate ge 2027-01-01".into(), vec![a]),
        (
            format!("lastModifiedDateTime ge {gamma_time}"),
            vec![g, d, e],
        ),
        (format!("lastModifiedDateTime lt {gamma_time}"), vec![a, b]),
        ("startswith(displayName, 'al')".into(), vec![a]),
        (
            "startswith(operatingSystem, 'windows 1')".into(),
            vec![a, b],
        ),
        ("endswith(displayName, 'IMAGE')".into(), vec![b]),
        ("contains(displayName, 'ta_5')".into(), vec![d]),
        ("contains(displayName, 'ta5')".into(), vec![]),
        ("contains(displayName, '%')".into(), vec![d]),
        ("displayName eq 'ALPHA'".into(), vec![a]),
        ("operatingSystem eq 'windows 11 enterprise'".into(), vec![a]),
        ("osStatus eq 'supportedWithWarning'".into(), vec![b]),
        ("osBuildNumber in ('24H2', '22H2')".into(), vec![a, b]),
        (format!("id eq '{alpha_id}'"), vec![a]),
        ("version eq '1.0.0'".into(), vec![a, b]),
        (
            format!("sourceImageResourceId eq '{}'", source("win11-24h2")),
            vec![a, b, g, d, e],
        ),
        ("not (status eq 'ready')".into(), vec![b, g, d, e]),
        ("not startswith(displayName, 'a')".into(), vec![b, g, d, e]),
        ("not (sizeInGB gt 40)".into(), vec![g, d, e]),
        ("status eq 'failed' and sizeInGB gt 40".into(), vec![b]),
        (
            "status eq 'ready' or status eq 'pending'".into(),
            vec![a, g],
        ),
        (
            "(status eq 'ready' or status eq 'pending') and sizeInGB eq null".into(),
            vec![g],
        ),
        ("true".into(), vec![a, b, g, d, e]),
        ("false".into(), vec![]),
    ];
    for ver in ["beta", "v1.0"] {
        for (filter, expected) in &both {
            let got = names(&app, ver, &[("$filter", filter)], false).await;
            assert_eq!(&got, expected, "{ver}: {filter}");
        }
    }
    // Evolvable members (docs/fidelity.md#paging-and-query-options): `eq unknownFutureValue` matches what the client sees as it.
    let evolvable: Vec<(&str, bool, &str, Vec<&str>)> = vec![
        (
            "v1.0",
            false,
            "errorCode eq 'unknownFutureValue'",
            vec![d, e],
        ),
        ("v1.0", true, "errorCode eq 'unknownFutureValue'", vec![e]),
        (
            "beta",
            false,
            "errorCode eq 'unknownFutureValue'",
            vec![d, e],
        ),
        ("beta", true, "errorCode eq 'unknownFutureValue'", vec![]),
        ("beta", false, "status eq 'unknownFutureValue'", vec![e]),
        ("beta", true, "status eq 'unknownFutureValue'", vec![]),
        ("v1.0", true, "status eq 'unknownFutureValue'", vec![e]),
        ("beta", true, "status eq 'warning'", vec![e]),
        (
            "v1.0",
            true,
            "errorCode eq 'vmAlreadyAzureAdjoined'",
            vec![d],
        ),
        (
            "beta",
            false,
            "statusDetails eq 'sourceImageNotGeneralized'",
            vec![b],
        ),
        (
            "beta",
            false,
            "statusDetails eq 'unknownFutureValue'",
            vec![d, e],
        ),
        (
            "beta",
            true,
            "statusDetails eq 'unknownFutureValue'",
            vec![e],
        ),
        (
            "beta",
            true,
            "statusDetails in ('vmAlreadyAzureAdjoined', 'sourceImageNotGeneralized')",
            vec![b, d],
        ),
    ];
    for (ver, prefer, filter, expected) in evolvable {
        assert_eq!(
            names(&app, ver, &[("$filter", filter)], prefer).await,
            expected,
            "{ver} {prefer}: {filter}"
        );
    }
}

#[tokio::test]
async fn invalid_filters_are_400_with_a_message_that_points_at_the_problem() {
    let app = spawn_app().await;
    five_images(&app).await;
    let cases: Vec<(&str, bool, &str, &str)> = vec![
        ("beta", false, "(status eq 'ready'", "position 1"),
        ("beta", false, "status eq 'ready')", "position 18"),
        ("beta", false, "colour eq 'red'", "'colour'"),
        ("beta", false, "sizeInGB eq 'big'", "'sizeInGB'"),
        ("beta", false, "displayName eq 5", "'displayName'"),
        (
            "beta",
            false,
            "expirationDate eq '2028-04-11'",
            "'expirationDate'",
        ),
        ("beta", false, "status eq 'done'", "'done'"),
        ("beta", false, "status eq 'ready' garbage", "position 19"),
        ("beta", false, "status gt 'ready'", "only eq, ne and in"),
        (
            "beta",
            false,
            "status eq microsoft.graph.cloudPcDeviceImageOsStatus'ready'",
            "cloudPcDeviceImageStatus",
        ),
        ("beta", false, "scopeIds eq '0'", "'scopeIds'"),
        ("beta", false, "displayName eq version", "two properties"),
        ("beta", false, "startswith('x', displayName)", "startswith"),
        ("beta", false, "contains(sizeInGB, '6')", "contains"),
        ("beta", false, "tolower(displayName) eq 'x'", "'tolower'"),
        (
            "beta",
            false,
            "status eq 'warning'",
            "include-unknown-enum-members",
        ),
        ("v1.0", true, "status eq 'warning'", "'warning'"),
        ("v1.0", false, "statusDetails eq null", "'statusDetails'"),
        ("beta", false, "status eq 'ready' and", "ended"),
        (
            "beta",
            false,
            "displayName eq 'x' ; DROP TABLE device_images",
            "';'",
        ),
        ("beta", false, "", "ended"),
    ];
    for (ver, prefer, filter, fragment) in cases {
        let res = list(&app, ver, &[("$filter", filter)], prefer).await;
        let msg = assert_error(res, 400, "badRequest").await;
        assert!(msg.contains(fragment), "{ver} {filter}: {msg}");
    }
    assert_eq!(app.image_rows().await, 5);
}

#[tokio::test]
async fn literals_full_of_quotes_wildcards_and_sql_match_only_what_they_say() {
    let app = spawn_app().await;
    let tricky = [
        "O'Brien",
        "100%",
        "a_b",
        "abc",
        "x; DROP TABLE device_images; --",
        "' OR 1=1 --",
        "plain",
    ];
    for name in tricky {
        app.create_ok("v1.0", &body(name, "1.0.0")).await;
    }
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("displayName eq 'O''Brien'", vec!["O'Brien"]),
        (
            "contains(displayName, '''')",
            vec!["O'Brien", "' OR 1=1 --"],
        ),
        ("contains(displayName, '%')", vec!["100%"]),
        ("startswith(displayName, 'a_')", vec!["a_b"]),
        (
            "contains(displayName, '_')",
            vec!["a_b", "x; DROP TABLE device_images; --"],
        ),
        (
            "endswith(displayName, '--')",
            vec!["x; DROP TABLE device_images; --", "' OR 1=1 --"],
        ),
        (
            "displayName eq 'x; DROP TABLE device_images; --'",
            vec!["x; DROP TABLE device_images; --"],
        ),
        ("displayName eq ''' OR 1=1 --'", vec!["' OR 1=1 --"]),
        ("displayName eq 'nothing'' OR ''1''=''1'", vec![]),
        ("operatingSystem eq '%'", vec![]),
        ("contains(displayName, '\\')", vec![]),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            names(&app, "beta", &[("$filter", filter)], false).await,
            expected,
            "{filter}"
        );
    }
    assert_eq!(
        app.image_rows().await,
        tricky.len() as i64,
        "the table is intact"
    );
}

#[tokio::test]
async fn select_projects_items_and_names_the_properties_in_the_context_url() {
    let app = spawn_app().await;
    let created = app.create_ok("beta", &body("Selected", "1.0.0")).await;
    let id = created["id"].as_str().unwrap();
    let page: Value = list(&app, "v1.0", &[("$select", "id,DisplayName")], false)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        page["@odata.context"],
        format!(
            "{}/v1.0/$metadata#{COLLECTION}(id,displayName)",
            app.address
        )
    );
    assert_eq!(
        page["value"][0],
        json!({"id": id, "displayName": "Selected"})
    );

    let url = reqwest::Url::parse_with_params(
        &app.images("beta", &format!("/{id}")),
        &[("select", "status,scopeIds")],
    )
    .unwrap();
    let one: Value = app
        .client
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        one,
        json!({"@odata.context": format!("{}/beta/$metadata#{COLLECTION}(status,scopeIds)/$entity", app.address),
               "status": "pending", "scopeIds": []})
    );
    let all: Value = list(&app, "v1.0", &[("$select", "*")], false)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["value"][0].as_object().unwrap().len(), 13);

    for (ver, select) in [
        ("v1.0", "scopeIds"),
        ("beta", "id,,status"),
        ("beta", "colour"),
    ] {
        assert_error(
            list(&app, ver, &[("$select", select)], false).await,
            400,
            "badRequest",
        )
        .await;
    }
    let url =
        reqwest::Url::parse_with_params(&app.images("v1.0", &format!("/{id}")), &[("$top", "1")])
            .unwrap();
    assert_error(app.client.get(url).send().await.unwrap(), 400, "badRequest").await;
}

#[tokio::test]
async fn orderby_sorts_by_several_keys_with_nulls_first_and_enums_by_their_value() {
    let app = spawn_app().await;
    five_images(&app).await;
    let app = &app;
    let order =
        |o: &'static str| async move { names(app, "beta", &[("$orderby", o)], false).await };
    assert_eq!(
        order("displayName").await,
        ["Alpha", "Beta image", "delta_50%", "Epsilon", "Gamma"]
    );
    assert_eq!(
        order("DisplayName DESC").await,
        ["Gamma", "Epsilon", "delta_50%", "Beta image", "Alpha"]
    );
    assert_eq!(
        order("sizeInGB asc, displayName desc").await,
        ["Gamma", "Epsilon", "delta_50%", "Alpha", "Beta image"]
    );
    // Descending, nulls come last.
    assert_eq!(
        order("sizeInGB desc, displayName").await,
        ["Beta image", "Alpha", "delta_50%", "Epsilon", "Gamma"]
    );
    // pending < ready < failed < warning, the enum's member order.
    assert_eq!(
        order("status, displayName").await,
        ["Gamma", "Alpha", "Beta image", "delta_50%", "Epsilon"]
    );
    assert_eq!(
        order("lastModifiedDateTime desc").await,
        ["Epsilon", "delta_50%", "Gamma", "Beta image", "Alpha"]
    );
    for bad in ["colour", "displayName sideways", "scopeIds", "id,id"] {
        assert_error(
            list(app, "beta", &[("$orderby", bad)], false).await,
            400,
            "badRequest",
        )
        .await;
    }
}

#[tokio::test]
async fn count_top_skip_and_the_count_segment() {
    let app = spawn_with(|s| s.page_size = 2).await;
    five_images(&app).await;
    let res = list(
        &app,
        "v1.0",
        &[
            ("$count", "true"),
            ("$filter", "sizeInGB ne null"),
            ("$top", "1"),
        ],
        false,
    )
    .await;
    let text = res.text().await.unwrap();
    let page: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(page["@odata.count"], 3, "all matches, not the page");
    assert_eq!(page["value"].as_array().unwrap().len(), 1);
    assert!(
        text.find("@odata.count").unwrap() < text.find("\"value\"").unwrap(),
        "count before value"
    );
    let page: Value = list(&app, "v1.0", &[("$count", "false")], false)
        .await
        .json()
        .await
        .unwrap();
    assert!(page.get("@odata.count").is_none());
    assert_error(
        list(&app, "v1.0", &[("$count", "yes")], false).await,
        400,
        "badRequest",
    )
    .await;

    // $skip applies once; the next link continues after the skipped images.
    let page: Value = list(
        &app,
        "beta",
        &[("$skip", "1"), ("$orderby", "displayName")],
        false,
    )
    .await
    .json()
    .await
    .unwrap();
    let mut seen: Vec<String> = page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["displayName"].as_str().unwrap().to_owned())
        .collect();
    let next = page["@odata.nextLink"].as_str().unwrap().to_owned();
    assert!(
        next.contains("$skip=1") && next.contains("$orderby=displayName"),
        "{next}"
    );
    let rest: Value = app.get_json(&next).await;
    seen.extend(
        rest["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["displayName"].as_str().unwrap().to_owned()),
    );
    assert_eq!(seen, ["Beta image", "delta_50%", "Epsilon", "Gamma"]);
    for bad in [
        ("$skip", "-1"),
        ("$top", "0"),
        ("$top", "1000"),
        ("$expand", "x"),
        ("$search", "x"),
        ("$format", "json"),
    ] {
        assert_error(list(&app, "beta", &[bad], false).await, 400, "badRequest").await;
    }

    let count = |q: &'static [(&'static str, &'static str)]| {
        let url = reqwest::Url::parse_with_params(&app.images("v1.0", "/$count"), q).unwrap();
        app.client.get(url).send()
    };
    let res = count(&[]).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/plain");
    assert_eq!(res.text().await.unwrap(), "5");
    assert_eq!(
        count(&[("$filter", "status eq 'failed'")])
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "2"
    );
    assert_error(count(&[("$top", "1")]).await.unwrap(), 400, "badRequest").await;
    assert_error(
        count(&[("$filter", "colour eq 1")]).await.unwrap(),
        400,
        "badRequest",
    )
    .await;
    let res = app
        .client
        .delete(app.images("v1.0", "/$COUNT"))
        .send()
        .await
        .unwrap();
    assert_error(res, 405, "MethodNotAllowed").await;
}

#[tokio::test]
async fn a_sorted_filtered_walk_sees_every_original_match_once_while_others_insert_and_delete() {
    let app = spawn_with(|s| s.page_size = 3).await;
    let mut originals = Vec::new();
    for i in 0..14 {
        let size = if i % 3 == 0 {
            json!(null)
        } else {
            json!(10 * (i % 4))
        };
        let image = fixture(
            &app,
            &format!("Walk {:02}", (i * 5) % 14),
            "1.0.0",
            json!({"sizeInGB": size}),
        )
        .await;
        originals.push(image["id"].as_str().unwrap().to_owned());
    }
    let options = [
        ("$filter", "startswith(displayName, 'walk')"),
        ("$orderby", "sizeInGB desc,displayName"),
        ("$select", "id"),
    ];
    let mut seen: Vec<String> = Vec::new();
    let mut url = reqwest::Url::parse_with_params(&app.images("beta", ""), &options)
        .unwrap()
        .to_string();
    for round in 0.. {
        let page: Value = app.get_json(&url).await;
        seen.extend(
            page["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned()),
        );
        // Between pages: delete an image already seen, and add matching ones at both ends of the order.
        let victim = seen[round].clone();
        let deleted = app
            .client
            .delete(app.images("beta", &format!("/{victim}")))
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), 204, "the delete between pages happened");
        fixture(
            &app,
            &format!("Walk new {round}"),
            "1.0.0",
            json!({"sizeInGB": 1000}),
        )
        .await;
        fixture(&app, &format!("Walk newer {round}"), "1.0.0", json!({})).await;
        match page["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    for id in &originals {
        assert_eq!(
            seen.iter().filter(|s| *s == id).count(),
            1,
            "{id} seen exactly once"
        );
    }
}

#[tokio::test]
async fn the_common_queries_use_an_index() {
    let app = spawn_app().await;
    app.create_ok("v1.0", &body("Indexed", "1.0.0")).await;
    let pool = app.db().await;
    // (query, whether sorting the (indexed) matches afterwards is expected)
    let queries = [
        ("", false),
        ("$filter=status eq 'ready'", false),
        ("$filter=displayName eq 'Indexed'", true),
        ("$filter=startswith(displayName, 'ind')", true),
        (
            "$filter=startswith(displayName, 'ind')&$orderby=displayName",
            false,
        ),
        ("$filter=id eq '6f9619ff-8b86-d011-b42d-00cf4fc964ff'", true),
        ("$orderby=lastModifiedDateTime desc", false),
        ("$orderby=lastModifiedDateTime", false),
        ("$orderby=displayName desc", false),
        (
            "$filter=lastModifiedDateTime gt 2026-01-01T00:00:00Z&$orderby=lastModifiedDateTime",
            false,
        ),
    ];
    for (raw, sorts) in queries {
        let query =
            CollectionQuery::parse(raw, &DEVICE_IMAGES, ApiVersion::V1, false, &[]).unwrap();
        let statement = query
            .page_statement(
                DEFAULT_TENANT,
                &cloudpc_emulator::device_images::properties::SELECT_COLUMNS,
                100,
            )
            .unwrap();
        let plan: Vec<String> = sqlx::query_with(
            &format!("EXPLAIN QUERY PLAN {}", statement.sql),
            statement.arguments().unwrap(),
        )
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|row| sqlx::Row::get::<String, _>(row, "detail"))
        .collect();
        let text = plan.join(" | ");
        assert!(
            text.contains("USING INDEX") || text.contains("USING COVERING INDEX"),
            "{raw}: {text}"
        );
        assert!(!text.contains("SCAN device_images"), "{raw}: {text}");
        assert!(sorts || !text.contains("TEMP B-TREE"), "{raw}: {text}");
    }
}

/// A list page's items and GET by id are built inside SQLite (docs/performance.md); a create's answer projects
/// through the view (`ImageView`). All three must give the same bytes for every version, preference and `$select`,
/// for images with every kind of value: control characters, quotes and non-ASCII in text, nulls, scope ids, and
/// enum members that each version or preference hides.
#[tokio::test]
async fn list_items_creates_and_get_by_id_give_the_same_bytes() {
    #[derive(serde::Deserialize)]
    struct Page {
        value: Vec<Box<serde_json::value::RawValue>>,
    }
    let app = spawn_app().await;
    let mut awkward = body(
        "Tab\there \"quoted\" back\\slash \u{1} é 😀 \u{7f}",
        "1.0.0",
    );
    awkward["operatingSystem"] = json!("Line\nbreak\r\u{8}\u{c}/slash");
    let mut warned = body("Warned", "2.0.0");
    warned["status"] = json!("warning");
    warned["errorCode"] = json!("startMenuAppLimitExceeded");
    warned["scopeIds"] = json!(["0", "a\"b"]);
    warned["osStatus"] = json!("supportedWithWarning");
    warned["sizeInGB"] = json!(127);
    warned["expirationDate"] = json!("2030-01-31");
    let mut failed = body("Failed", "3.0.0");
    failed["status"] = json!("failed");
    failed["errorCode"] = json!("vmAlreadyAzureAdjoined");
    let mut plain = body("Plain", "4.0.0");
    plain["status"] = json!("failed");
    plain["errorCode"] = json!("sourceImageNotFound");
    // Each create's answer, byte for byte, is what GET by id answers on the same version and preference.
    for (ver, prefer, image) in [
        ("v1.0", false, &awkward),
        ("beta", true, &warned),
        ("v1.0", true, &failed),
        ("beta", false, &plain),
    ] {
        let mut post = app.client.post(app.images(ver, "")).json(image);
        if prefer {
            post = post.header("Prefer", "include-unknown-enum-members");
        }
        let created = post.send().await.unwrap();
        assert_eq!(created.status(), 201);
        let created = created.text().await.unwrap();
        let id = serde_json::from_str::<Value>(&created).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut request = app.client.get(app.images(ver, &format!("/{id}")));
        if prefer {
            request = request.header("Prefer", "include-unknown-enum-members");
        }
        let read = request.send().await.unwrap().text().await.unwrap();
        assert_eq!(read, created, "{ver} prefer={prefer}");
    }
    let all = app.get_json(&app.images("v1.0", "")).await;
    let ids: Vec<String> = all["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    for (ver, selects) in [
        (
            "v1.0",
            vec!["", "$select=id,status,errorCode", "$select=displayName"],
        ),
        (
            "beta",
            vec!["", "$select=statusDetails,scopeIds,id", "$select=*"],
        ),
    ] {
        for select in selects {
            for prefer in [false, true] {
                let send = |url: String| {
                    let mut request = app.client.get(url);
                    if prefer {
                        request = request.header("Prefer", "include-unknown-enum-members");
                    }
                    request.send()
                };
                let res = send(app.images(ver, &format!("?{select}"))).await.unwrap();
                assert_eq!(res.status(), 200);
                let page: Page = serde_json::from_str(&res.text().await.unwrap()).unwrap();
                assert_eq!(page.value.len(), ids.len());
                // Same order as the unselected page: the items are compared by position.
                for (item, id) in page.value.iter().zip(&ids) {
                    let one = send(app.images(ver, &format!("/{id}?{select}")))
                        .await
                        .unwrap();
                    let text = one.text().await.unwrap();
                    let context: Value = serde_json::from_str(&text).unwrap();
                    let prefix = format!("{{\"@odata.context\":{},", context["@odata.context"]);
                    let rest = text.strip_prefix(&prefix).unwrap();
                    assert_eq!(
                        item.get(),
                        format!("{{{rest}"),
                        "{ver} {select} prefer={prefer}"
                    );
                }
            }
        }
    }
}
