//! The journal as files (HAR 1.2 and `.http`) and `cloudpc-emulator replay` (docs/state.md#har-and-http-files).

use serde_json::{json, Value};

use crate::helpers::{body, output_within_30s, spawn_with, TestApp};
use cloudpc_emulator::config::AuthMode;

/// A credential that must never appear in an export.
const TOKEN: &str = "recorded-session-token-4f1c";

async fn bearer_app() -> TestApp {
    spawn_with(|s| s.auth = AuthMode::Bearer).await
}

/// A client's session: create, get, list, delete, get again (404); the created image's id.
async fn record_session(app: &TestApp) -> String {
    let client = &app.client;
    let res = client
        .post(app.images("beta", ""))
        .bearer_auth(TOKEN)
        .header("client-request-id", "4c5f0a4e-0000-4000-8000-000000000001")
        .json(&body("Recorded", "1.0.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let item = app.images("beta", &format!("/{id}"));
    for (method, url, status) in [
        ("GET", item.clone(), 200),
        (
            "GET",
            app.images("v1.0", "?$top=5&$filter=displayName eq 'Recorded'"),
            200,
        ),
        ("DELETE", item.clone(), 204),
        ("GET", item.clone(), 404),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let res = client
            .request(method, &url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{url}");
    }
    id
}

async fn journal_file(app: &TestApp, query: &str) -> reqwest::Response {
    let res = app.get(&app.control(&format!("/requests{query}"))).await;
    assert_eq!(res.status(), 200);
    res
}

#[tokio::test]
async fn the_journal_exports_as_har_1_2_without_the_token() {
    let app = bearer_app().await;
    let id = record_session(&app).await;
    let res = journal_file(&app, "?format=har").await;
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("requests.har"));
    let text = res.text().await.unwrap();
    assert!(!text.contains(TOKEN), "no token in the HAR");
    let har: Value = serde_json::from_str(&text).unwrap();
    let log = &har["log"];
    assert_eq!(log["version"], "1.2");
    assert_eq!(log["creator"]["name"], "cloudpc-emulator");
    assert!(log["creator"]["version"].is_string());
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 5);
    let methods: Vec<&str> = entries
        .iter()
        .map(|e| e["request"]["method"].as_str().unwrap())
        .collect();
    assert_eq!(
        methods,
        ["POST", "GET", "GET", "DELETE", "GET"],
        "oldest first"
    );
    // Every field HAR 1.2 requires, with its type.
    for e in entries {
        assert!(
            chrono::DateTime::parse_from_rfc3339(e["startedDateTime"].as_str().unwrap()).is_ok()
        );
        assert!(e["time"].is_number() && e["cache"].is_object());
        for t in ["send", "wait", "receive"] {
            assert!(e["timings"][t].is_number(), "{t}");
        }
        let (req, res) = (&e["request"], &e["response"]);
        assert!(req["url"].as_str().unwrap().starts_with(&app.address));
        assert_eq!(req["httpVersion"], "HTTP/1.1");
        for list in ["cookies", "headers", "queryString"] {
            assert!(req[list].is_array(), "{list}");
        }
        for list in ["cookies", "headers"] {
            assert!(res[list].is_array(), "{list}");
        }
        for n in ["headersSize", "bodySize"] {
            assert!(req[n].is_i64() && res[n].is_i64(), "{n}");
        }
        assert!(res["status"].is_u64() && res["statusText"].is_string());
        assert!(res["content"]["size"].is_i64() && res["content"]["mimeType"].is_string());
        assert!(res["redirectURL"].is_string());
        let authorization = req["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == "authorization");
        assert_eq!(authorization.unwrap()["value"], "[redacted]");
    }
    let create = &entries[0];
    assert_eq!(create["response"]["status"], 201);
    let created: Value =
        serde_json::from_str(create["response"]["content"]["text"].as_str().unwrap()).unwrap();
    assert_eq!(created["id"], id.as_str());
    assert!(create["request"]["postData"]["text"]
        .as_str()
        .unwrap()
        .contains("Recorded"));
    let list = &entries[2]["request"]["queryString"];
    assert!(list
        .as_array()
        .unwrap()
        .contains(&json!({"name": "$top", "value": "5"})));
    // The journal's filters apply.
    let only_deletes: Value = journal_file(&app, "?format=har&method=DELETE")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(only_deletes["log"]["entries"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_journal_exports_as_an_http_file_with_the_token_as_a_variable() {
    let app = bearer_app().await;
    record_session(&app).await;
    let res = journal_file(&app, "?format=http").await;
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = res.text().await.unwrap();
    assert!(!text.contains(TOKEN), "no token in the .http file");
    assert!(text.contains(&format!("@baseUrl = {}", app.address)));
    assert_eq!(text.matches("\n### ").count(), 5, "{text}");
    assert_eq!(text.matches("Authorization: Bearer {{token}}").count(), 5);
    assert!(text.contains("POST {{baseUrl}}/beta/deviceManagement/virtualEndpoint/deviceImages\n"));
    assert!(text.contains("\"displayName\":\"Recorded\""));
    assert!(!text.to_ascii_lowercase().contains("content-length:"));
}

/// Runs `cloudpc-emulator replay` (a blocking child; the apps serve on other threads).
async fn replay(har: &std::path::Path, target: &TestApp, extra: &[&str]) -> (bool, String) {
    let mut args = vec![
        "replay".to_owned(),
        har.to_str().unwrap().to_owned(),
        "--url".to_owned(),
        target.address.clone(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let out = tokio::task::spawn_blocking(move || {
        output_within_30s(std::process::Command::new(crate::helpers::bin()).args(&args))
    })
    .await
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_session_replays_against_a_fresh_emulator() {
    let recorder = bearer_app().await;
    record_session(&recorder).await;
    let har = recorder.dir.path().join("session.har");
    let text = journal_file(&recorder, "?format=har")
        .await
        .text()
        .await
        .unwrap();
    std::fs::write(&har, text).unwrap();

    let fresh = bearer_app().await;
    let (ok, out) = replay(&har, &fresh, &["--compare-bodies"]).await;
    assert!(ok, "{out}");
    assert!(
        out.contains("replayed 5 requests (0 skipped: not Graph requests); 0 differ"),
        "{out}"
    );
    // The replayed create got a new id and the get and delete followed it: the image is gone again.
    assert_eq!(fresh.image_rows().await, 0);

    // A recorded body that differs from what the emulator answers: reported only with --compare-bodies.
    let mut tampered: Value =
        serde_json::from_str(&std::fs::read_to_string(&har).unwrap()).unwrap();
    let content = &mut tampered["log"]["entries"][0]["response"]["content"]["text"];
    *content = json!(content
        .as_str()
        .unwrap()
        .replace("\"Recorded\"", "\"Tampered\""));
    let tampered_har = recorder.dir.path().join("tampered.har");
    std::fs::write(&tampered_har, tampered.to_string()).unwrap();
    let (ok, out) = replay(&tampered_har, &fresh, &[]).await;
    assert!(ok, "statuses alone still match: {out}");
    let (ok, out) = replay(&tampered_har, &fresh, &["--compare-bodies"]).await;
    assert!(!ok, "{out}");
    assert!(
        out.contains("body differs at /displayName (replayed \"Recorded\", recorded \"Tampered\")"),
        "{out}"
    );

    // An emulator where the create clashes: the replay reports it and fails.
    let clashing = bearer_app().await;
    let res = clashing
        .client
        .post(clashing.images("beta", ""))
        .bearer_auth("other")
        .json(&body("Recorded", "1.0.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let (ok, out) = replay(&har, &clashing, &[]).await;
    assert!(!ok, "{out}");
    assert!(
        out.contains(
            "#1 POST /beta/deviceManagement/virtualEndpoint/deviceImages: status 409, recorded 201"
        ),
        "{out}"
    );
    let (ok, out) = replay(&recorder.dir.path().join("missing.har"), &fresh, &[]).await;
    assert!(!ok && out.contains("cannot read it"), "{out}");
}
