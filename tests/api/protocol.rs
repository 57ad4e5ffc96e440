//! Protocol details: versions and their projections, evolvable enums, routing, auth, headers (docs/api.md).

use serde_json::{json, Value};

use crate::helpers::{assert_error, body, spawn_app, spawn_with, COLLECTION};
use cloudpc_emulator::config::AuthMode;

#[tokio::test]
async fn v1_omits_scope_ids_and_status_details_and_beta_has_them() {
    let app = spawn_app().await;
    let mut sent = body("Versions", "1.0.0");
    sent["scopeIds"] = json!(["7"]);
    let created = app.create_ok("beta", &sent).await;
    let id = created["id"].as_str().unwrap();
    let beta: Value = app.get_json(&app.images("beta", &format!("/{id}"))).await;
    let v1: Value = app.get_json(&app.images("v1.0", &format!("/{id}"))).await;
    assert_eq!(beta["scopeIds"], json!(["7"]));
    assert_eq!(beta["statusDetails"], Value::Null);
    assert!(beta.as_object().unwrap().contains_key("statusDetails"));
    assert!(v1.get("scopeIds").is_none());
    assert!(v1.get("statusDetails").is_none());
    assert_eq!(
        beta.as_object().unwrap().len(),
        v1.as_object().unwrap().len() + 2
    );
    assert!(v1["@odata.context"]
        .as_str()
        .unwrap()
        .contains("/v1.0/$metadata#"));
}

#[tokio::test]
async fn the_prefer_header_switches_evolvable_members() {
    let app = spawn_app().await;
    let mut sent = body("Evolvable", "1.0.0");
    sent["status"] = json!("warning");
    sent["errorCode"] = json!("startMenuAppLimitExceeded");
    let res = app.create_preferring("beta", &sent).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let get = |ver: &'static str, prefer: bool| {
        let mut req = app.client.get(app.images(ver, &format!("/{id}")));
        if prefer {
            req = req.header("Prefer", "include-unknown-enum-members");
        }
        req.send()
    };
    let plain = get("beta", false).await.unwrap();
    assert!(plain.headers().get("preference-applied").is_none());
    let plain: Value = plain.json().await.unwrap();
    assert_eq!(plain["status"], "unknownFutureValue");
    assert_eq!(plain["errorCode"], "unknownFutureValue");
    assert_eq!(plain["statusDetails"], "unknownFutureValue");

    let opted = get("beta", true).await.unwrap();
    assert_eq!(
        opted.headers()["preference-applied"],
        "include-unknown-enum-members"
    );
    let opted: Value = opted.json().await.unwrap();
    assert_eq!(opted["status"], "warning");
    assert_eq!(opted["errorCode"], "startMenuAppLimitExceeded");
    // statusDetails has no such member: its twin is the sentinel.
    assert_eq!(opted["statusDetails"], "unknownFutureValue");

    // Members v1.0 does not have are the sentinel there, preference or not.
    let v1: Value = get("v1.0", true).await.unwrap().json().await.unwrap();
    assert_eq!(v1["status"], "unknownFutureValue");
    assert_eq!(v1["errorCode"], "unknownFutureValue");
    // The list applies the same projection.
    let list: Value = app.get_json(&app.images("beta", "")).await;
    assert_eq!(list["value"][0]["status"], "unknownFutureValue");
}

#[tokio::test]
async fn paths_collapse_slashes_ignore_trailing_slashes_and_match_segments_case_insensitively() {
    let app = spawn_app().await;
    let created = app.create_ok("v1.0", &body("Paths", "1.0.0")).await;
    let id = created["id"].as_str().unwrap();
    for path in [
        format!("/v1.0//{COLLECTION}"),
        format!("/v1.0/{COLLECTION}/"),
        "/V1.0/DEVICEMANAGEMENT/virtualendpoint/DeviceImages".to_owned(),
        format!("//beta//{COLLECTION}//{id}//"),
    ] {
        let res = app.get(&format!("{}{path}", app.address)).await;
        assert_eq!(res.status(), 200, "{path}");
    }
    let res = app
        .client
        .post(format!("{}/beta//{COLLECTION}/", app.address))
        .json(&body("Paths", "1.0.1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

#[tokio::test]
async fn unknown_segments_versions_and_methods_get_their_graph_errors() {
    let app = spawn_app().await;
    let base = &app.address;
    let msg = assert_error(
        app.get(&format!(
            "{base}/v1.0/deviceManagement/virtualEndpoint/cloudPCs"
        ))
        .await,
        400,
        "BadRequest",
    )
    .await;
    assert_eq!(msg, "Resource not found for the segment 'cloudPCs'.");
    let msg = assert_error(
        app.get(&format!("{base}/beta/users")).await,
        400,
        "BadRequest",
    )
    .await;
    assert_eq!(msg, "Resource not found for the segment 'users'.");
    let msg = assert_error(
        app.get(&format!("{base}/v2.0/{COLLECTION}")).await,
        400,
        "BadRequest",
    )
    .await;
    assert!(msg.starts_with("Invalid version"), "{msg}");
    assert_error(app.get(&format!("{base}/")).await, 400, "BadRequest").await;
    let item = app.images("v1.0", "/6f9619ff-8b86-d011-b42d-00cf4fc964ff");
    let msg = assert_error(app.get(&format!("{item}/colour")).await, 400, "BadRequest").await;
    assert_eq!(msg, "Resource not found for the segment 'colour'.");
    assert_error(
        app.get(&format!("{base}/_emulator/nothing")).await,
        404,
        "ResourceNotFound",
    )
    .await;

    for method in ["PUT", "PATCH", "DELETE"] {
        let res = app
            .client
            .request(method.parse().unwrap(), app.images("v1.0", ""))
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["allow"], "GET, POST");
        assert_error(res, 405, "MethodNotAllowed").await;
    }
    for method in ["PUT", "PATCH", "POST"] {
        let res = app
            .client
            .request(method.parse().unwrap(), &item)
            .json(&json!({"displayName": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["allow"], "GET, DELETE");
        assert_error(res, 405, "MethodNotAllowed").await;
    }
    assert_eq!(app.image_rows().await, 0);
}

#[tokio::test]
async fn bearer_mode_needs_a_non_empty_bearer_token() {
    let app = spawn_with(|s| s.auth = AuthMode::Bearer).await;
    let url = app.images("v1.0", "");
    for auth in [
        None,
        Some("Bearer"),
        Some("Bearer    "),
        Some("Basic dXNlcjpwYXNz"),
    ] {
        let mut req = app.client.get(&url);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let msg = assert_error(req.send().await.unwrap(), 401, "InvalidAuthenticationToken").await;
        assert!(msg.starts_with("Access token"), "{msg}");
    }
    let res = app
        .client
        .post(&url)
        .json(&body("Denied", "1.0.0"))
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "InvalidAuthenticationToken").await;
    assert_eq!(app.image_rows().await, 0);

    let res = app
        .client
        .get(&url)
        .header("authorization", "bearer anything")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The control plane is not behind Graph's auth.
    let res = app.get(&format!("{}/_emulator/health", app.address)).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn every_response_carries_request_ids_and_a_date() {
    let app = spawn_app().await;
    let res = app.get(&app.images("v1.0", "")).await;
    let rid = res.headers()["request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::try_parse(&rid).is_ok());
    assert_eq!(res.headers()["client-request-id"].to_str().unwrap(), rid);
    assert!(res.headers().contains_key("date"));
    assert_eq!(res.headers()["odata-version"], "4.0");
    assert_eq!(
        res.headers()["content-type"],
        "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
    );

    let res = app
        .client
        .get(app.images("v1.0", "/nope"))
        .header("client-request-id", "my-trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["client-request-id"], "my-trace-42");
    let res_rid = res.headers()["request-id"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["error"]["innerError"]["client-request-id"],
        "my-trace-42"
    );
    assert_eq!(body["error"]["innerError"]["request-id"], res_rid.as_str());
}

#[tokio::test]
async fn unsupported_query_options_are_refused_not_ignored() {
    let app = spawn_app().await;
    for q in ["$expand=x", "$search=\"x\"", "$foo=1"] {
        let res = app.get(&app.images("v1.0", &format!("?{q}"))).await;
        assert_error(res, 400, "badRequest").await;
    }
    let res = app.get(&app.images("v1.0", "?$top=1&$TOP=2")).await;
    assert_error(res, 400, "badRequest").await;
}
