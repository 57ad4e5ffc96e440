//! JSON batching (docs/batching.md): items run through the same pipeline as direct requests.

use serde_json::{json, Value};

use crate::helpers::{assert_error, body, spawn_app, spawn_with, COLLECTION};
use cloudpc_emulator::config::AuthMode;

fn create(id: &str, name: &str) -> Value {
    json!({"id": id, "method": "POST", "url": format!("/{COLLECTION}"),
           "headers": {"Content-Type": "application/json"}, "body": body(name, "1.0.0")})
}

#[tokio::test]
async fn a_batch_creates_three_images_gets_one_and_lists_them() {
    let app = spawn_app().await;
    let got = app.batch_responses(
        "v1.0",
        json!([
            create("a", "Batch A"),
            create("b", "Batch B"),
            create("c", "Batch C"),
            {"id": "list", "method": "GET", "url": format!("{COLLECTION}?$orderby=displayName&$select=displayName"),
             "dependsOn": ["a", "b", "c"]},
        ]),
    )
    .await;
    assert_eq!(
        got.iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["a", "b", "c", "list"]
    );
    for r in &got[..3] {
        assert_eq!(r["status"], 201);
        // Spelled as Graph spells them: clients look item headers up by exact name.
        assert_eq!(r["headers"]["OData-Version"], "4.0");
        assert!(r["headers"]["Content-Type"]
            .as_str()
            .unwrap()
            .starts_with("application/json"));
        assert!(r["headers"].get("content-type").is_none());
        assert!(r["headers"]["Location"]
            .as_str()
            .unwrap()
            .starts_with(&app.images("v1.0", "/")));
        assert!(uuid::Uuid::try_parse(r["headers"]["request-id"].as_str().unwrap()).is_ok());
    }
    let ids: Vec<&str> = got[..3]
        .iter()
        .map(|r| r["body"]["id"].as_str().unwrap())
        .collect();
    let names: Vec<&str> = got[3]["body"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Batch A", "Batch B", "Batch C"]);

    // Get one by its id, as a second batch; the absolute URL form the Python SDK sends works too.
    let one = app.batch_responses(
        "v1.0",
        json!([{"id": "1", "method": "GET", "url": app.images("v1.0", &format!("/{}", ids[1]))}]),
    )
    .await;
    assert_eq!(
        (
            one[0]["status"].as_i64(),
            one[0]["body"]["displayName"].as_str()
        ),
        (Some(200), Some("Batch B"))
    );

    let pool = app.db().await;
    let mut stored: Vec<String> =
        sqlx::query_scalar("SELECT id FROM device_images ORDER BY display_name")
            .fetch_all(&pool)
            .await
            .unwrap();
    stored.sort();
    let mut expected: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(stored, expected);
    // Each item was journaled as a request of its own, besides the batch itself.
    let paths = app.journal_paths("?limit=100").await;
    assert_eq!(paths.iter().filter(|p| p.ends_with("/$batch")).count(), 2);
    assert_eq!(paths.len(), 2 + 5);
}

#[tokio::test]
async fn failed_dependencies_give_424_and_items_keep_their_own_errors() {
    let app = spawn_app().await;
    let got = app.batch_responses(
        "beta",
        json!([
            {"id": "missing", "method": "GET", "url": format!("/{COLLECTION}/6f9619ff-8b86-d011-b42d-00cf4fc964ff")},
            {"id": "after", "method": "GET", "url": format!("/{COLLECTION}"), "depends_on": ["MISSING"]},
            {"id": "chain", "method": "GET", "url": format!("/{COLLECTION}"), "dependsOn": ["after"]},
            {"id": "bad", "method": "POST", "url": format!("/{COLLECTION}"), "headers": {"content-type": "application/json"},
             "body": {"displayName": ""}},
            {"id": "ok", "method": "GET", "url": format!("/{COLLECTION}/$count")},
            {"id": "v1", "method": "GET", "url": app.images("v1.0", "")},
            {"id": "host", "method": "GET", "url": format!("https://graph.microsoft.com/beta/{COLLECTION}")},
            {"id": "nested", "method": "POST", "url": "/$batch", "headers": {"content-type": "application/json"}, "body": {"requests": []}},
        ]),
    )
    .await;
    let status = |id: &str| {
        got.iter().find(|r| r["id"] == id).unwrap()["status"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(status("missing"), 404);
    assert_eq!(status("after"), 424);
    assert_eq!(status("chain"), 424, "a failure propagates along the chain");
    assert_eq!(status("bad"), 400);
    assert_eq!(status("ok"), 200);
    assert_eq!(status("v1"), 400, "another version: that item only");
    assert_eq!(status("host"), 400, "another host: that item only");
    assert_eq!(status("nested"), 400);
    let after = got.iter().find(|r| r["id"] == "after").unwrap();
    assert_eq!(after["body"]["error"]["code"], "FailedDependency");
    let ok = got.iter().find(|r| r["id"] == "ok").unwrap();
    assert_eq!(ok["body"], "0", "a text/plain body is a string");
    assert_eq!(app.image_rows().await, 0);
}

#[tokio::test]
async fn malformed_batches_are_400() {
    let app = spawn_app().await;
    let get = |id: &str| json!({"id": id, "method": "GET", "url": format!("/{COLLECTION}")});
    let too_many: Vec<Value> = (0..21).map(|i| get(&i.to_string())).collect();
    let cases = vec![
        ("21 items", json!(too_many)),
        ("no items", json!([])),
        ("duplicate ids", json!([get("a"), get("A")])),
        (
            "missing dependency",
            json!([{"id": "a", "method": "GET", "url": "/x", "dependsOn": ["b"]}]),
        ),
        (
            "cycle",
            json!([{"id": "a", "method": "GET", "url": "/x", "dependsOn": ["b"]},
                         {"id": "b", "method": "GET", "url": "/x", "dependsOn": ["a"]}]),
        ),
        (
            "self cycle",
            json!([{"id": "a", "method": "GET", "url": "/x", "dependsOn": ["a"]}]),
        ),
        (
            "body without content type",
            json!([{"id": "a", "method": "POST", "url": "/x", "body": {"k": 1}}]),
        ),
        ("no url", json!([{"id": "a", "method": "GET"}])),
        (
            "unknown method",
            json!([{"id": "a", "method": "BREW", "url": "/x"}]),
        ),
        (
            "id not a string",
            json!([{"id": 1, "method": "GET", "url": "/x"}]),
        ),
        (
            "body not base64",
            json!([{"id": "a", "method": "POST", "url": "/x", "headers": {"content-type": "text/plain"}, "body": "%%%"}]),
        ),
    ];
    for (case, requests) in cases {
        let msg = assert_error(app.batch("v1.0", requests).await, 400, "badRequest").await;
        assert!(msg.starts_with("Invalid batch request"), "{case}: {msg}");
    }
    let res = app
        .client
        .post(format!("{}/v1.0/$batch", app.address))
        .json(&json!({"calls": []}))
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "badRequest").await;
    let res = app.get(&format!("{}/v1.0/$batch", app.address)).await;
    assert_error(res, 405, "MethodNotAllowed").await;
    assert_eq!(app.image_rows().await, 0);
}

#[tokio::test]
async fn items_are_authorized_and_faulted_on_their_own() {
    let app = spawn_with(|s| {
        s.auth = AuthMode::Jwt;
        s.jwt_secret = Some("batch-secret".into());
    })
    .await;
    let mint = |roles: &str| {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({"aud": "https://graph.microsoft.com", "exp": now + 600, "roles": [roles], "tid": "contoso"});
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(b"batch-secret"),
        )
        .unwrap()
    };
    let reader = mint("CloudPC.Read.All");
    let res = app
        .client
        .post(format!("{}/v1.0/$batch", app.address))
        .bearer_auth(&reader)
        .json(&json!({"requests": [create("w", "Denied"), {"id": "r", "method": "GET", "url": format!("/{COLLECTION}")}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "a read-only token may send a batch");
    let got: Value = res.json().await.unwrap();
    assert_eq!(got["responses"][0]["status"], 403);
    assert_eq!(got["responses"][1]["status"], 200);
    let res = app
        .client
        .post(format!("{}/v1.0/$batch", app.address))
        .json(&json!({"requests": []}))
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "InvalidAuthenticationToken").await;

    // A fault rule on the collection answers the item, not the batch.
    let rule = json!({"action": "error", "status": 503, "path": "*/deviceImages"});
    app.add_fault(&rule).await;
    let res = app
        .client
        .post(format!("{}/v1.0/$batch", app.address))
        .bearer_auth(&reader)
        .json(&json!({"requests": [{"id": "r", "method": "GET", "url": format!("/{COLLECTION}")}]}))
        .send()
        .await
        .unwrap();
    let got: Value = res.json().await.unwrap();
    assert_eq!(got["responses"][0]["status"], 503);
    assert_eq!(got["responses"][0]["headers"]["Retry-After"], "1");
}
