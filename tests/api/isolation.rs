//! Tenant isolation where it is easiest to break (issue 21): `or` filters that could widen a query past its tenant,
//! counts with a filter, another tenant's `$skiptoken`, and `$batch` items that carry another tenant's token.

use serde_json::{json, Value};

use crate::helpers::*;

/// Two tenants with three images each: A's named `A0`..`A2`, B's `B0`..`B2`.
async fn two_tenants() -> (TestApp, String, String) {
    let app = spawn_app().await;
    let (a, b) = (tenant_token("tenant-a"), tenant_token("tenant-b"));
    for (token, prefix) in [(&a, "A"), (&b, "B")] {
        for n in 0..3 {
            let res = app
                .client
                .post(app.images("beta", ""))
                .bearer_auth(token)
                .json(&body(&format!("{prefix}{n}"), "1.0.0"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
        }
    }
    (app, a, b)
}

async fn get_as(app: &TestApp, token: &str, url: &str) -> Value {
    let res = app.client.get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(res.status(), 200, "{url}");
    res.json().await.unwrap()
}

fn names(page: &Value) -> Vec<String> {
    page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["displayName"].as_str().unwrap().to_owned())
        .collect()
}

fn with_query(app: &TestApp, rest: &str, query: &[(&str, &str)]) -> String {
    reqwest::Url::parse_with_params(&app.images("beta", rest), query)
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn or_filters_and_counts_stay_inside_the_tenant() {
    let (app, a, b) = two_tenants().await;
    for filter in [
        "displayName eq 'A0' or displayName eq 'B0'",
        "startswith(displayName, 'A') or status eq 'pending'",
        "not (displayName eq 'nothing') or displayName eq 'A1'",
        "(displayName eq 'A2') or (version eq '1.0.0')",
    ] {
        let page = get_as(
            &app,
            &b,
            &with_query(&app, "", &[("$filter", filter), ("$count", "true")]),
        )
        .await;
        let got = names(&page);
        assert!(got.iter().all(|n| n.starts_with('B')), "{filter}: {got:?}");
        assert_eq!(page["@odata.count"], got.len(), "{filter}");
        let count = app
            .client
            .get(with_query(&app, "/$count", &[("$filter", filter)]))
            .bearer_auth(&b)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(count, got.len().to_string(), "{filter}");
    }
    // The counts with a filter count the tenant's matches, not the table's.
    let count = |token: String, filter: &'static str| {
        let url = with_query(&app, "/$count", &[("$filter", filter)]);
        let client = app.client.clone();
        async move {
            client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    assert_eq!(count(a.clone(), "startswith(displayName, 'A')").await, "3");
    assert_eq!(count(b.clone(), "startswith(displayName, 'A')").await, "0");
    assert_eq!(
        count(a.clone(), "displayName eq 'A1' or displayName eq 'B1'").await,
        "1"
    );
    assert_eq!(count(b, "version eq '1.0.0'").await, "3");
}

#[tokio::test]
async fn another_tenants_skiptoken_pages_only_through_your_own_images() {
    let (app, a, b) = two_tenants().await;
    let first = get_as(&app, &a, &with_query(&app, "", &[("$top", "1")])).await;
    assert_eq!(names(&first), ["A0"]);
    let next = first["@odata.nextLink"].as_str().unwrap().to_owned();
    // B follows A's link: B sees B's images after that position, never A's.
    let mut url = next;
    let mut seen = Vec::new();
    for _ in 0..10 {
        let page = get_as(&app, &b, &url).await;
        seen.extend(names(&page));
        match page["@odata.nextLink"].as_str() {
            Some(n) => url = n.to_owned(),
            None => break,
        }
    }
    assert!(seen.iter().all(|n| n.starts_with('B')), "{seen:?}");
    assert_eq!(seen, ["B0", "B1", "B2"]);
}

#[tokio::test]
async fn batch_items_run_as_the_batch_caller_whatever_token_they_carry() {
    let (app, a, b) = two_tenants().await;
    let res = app
        .client
        .post(format!("{}/beta/$batch", app.address))
        .bearer_auth(&a)
        .json(&json!({"requests": [
            {"id": "1", "method": "GET", "url": format!("/{COLLECTION}"),
             "headers": {"Authorization": format!("Bearer {b}")}},
            {"id": "2", "method": "POST", "url": format!("/{COLLECTION}"),
             "headers": {"Content-Type": "application/json", "authorization": format!("Bearer {b}")},
             "body": body("Made in a batch", "1.0.0")},
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let got: Value = res.json().await.unwrap();
    let listed: Vec<String> = got["responses"][0]["body"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["displayName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, ["A0", "A1", "A2"]);
    assert_eq!(got["responses"][1]["status"], 201);
    let pool = app.db().await;
    let tenant: String = sqlx::query_scalar(
        "SELECT tenant_id FROM device_images WHERE display_name = 'Made in a batch'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!(tenant, "tenant-a");
    // And B's batch sees B's, A's item token notwithstanding.
    let res = app
        .client
        .post(format!("{}/beta/$batch", app.address))
        .bearer_auth(&b)
        .json(&json!({"requests": [
            {"id": "1", "method": "GET", "url": format!("/{COLLECTION}"),
             "headers": {"Authorization": format!("Bearer {a}")}},
        ]}))
        .send()
        .await
        .unwrap();
    let got: Value = res.json().await.unwrap();
    assert_eq!(
        got["responses"][0]["body"]["value"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert!(got["responses"][0]["body"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["displayName"].as_str().unwrap().starts_with('B')));
}
