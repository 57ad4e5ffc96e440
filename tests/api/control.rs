//! The control plane (docs/control-plane.md): readiness, reset, state export, snapshots, the request journal, fault rules, the
//! clock, metrics and the admin token.

use crate::helpers::{assert_error, body, dump, source, spawn_app, spawn_in, spawn_with, TestApp};
use serde_json::{json, Value};

async fn journal(app: &TestApp, query: &str) -> Vec<Value> {
    let res = app.get(&app.control(&format!("/requests{query}"))).await;
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["value"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let res = app.get(&app.control("/health")).await;
    assert_eq!(res.status(), 200);
    let ready: Value = app.get_json(&app.control("/ready")).await;
    assert_eq!(ready["status"], "ready");
    assert!(ready["migrations"].as_i64().unwrap() >= 4);
}

#[tokio::test]
async fn reset_leaves_the_database_as_a_freshly_migrated_one() {
    let fresh = spawn_app().await;
    let app = spawn_app().await;
    // Use everything: images, the catalog, faults, the clock, the journal.
    app.create_ok("beta", &body("One", "1.0.0")).await;
    app.create_ok("beta", &body("Two", "1.0.0")).await;
    let catalog_entry = format!("{}/_emulator/source-images{}", app.address, source("extra"));
    assert_eq!(
        app.client
            .put(&catalog_entry)
            .json(&json!({"outcome": "ready"}))
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let delete_seed = format!(
        "{}/_emulator/source-images{}",
        app.address,
        source("win10-22h2")
    );
    assert_eq!(
        app.client
            .delete(&delete_seed)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        app.post_control(
            "/faults",
            &json!({"action": "latency", "latencyMs": 1, "path": "/nothing"})
        )
        .await
        .status(),
        201
    );
    app.advance_clock(60).await;
    assert!(!journal(&app, "").await.is_empty());

    let res = app
        .client
        .post(app.control("/reset?catalog=true"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let reset = dump(&app.db_path).await;
    let expected = dump(&fresh.db_path).await;
    assert_eq!(
        reset.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (table, rows) in &expected {
        assert_eq!(&reset[table], rows, "{table}");
    }
    let clock: Value = app.get_json(&app.control("/clock")).await;
    assert_eq!(clock["offsetSeconds"], 0.0);
    let faults: Value = app.get_json(&app.control("/faults")).await;
    assert_eq!(faults["value"], json!([]));

    // Without catalog=true the catalog stays as it is.
    app.client
        .put(&catalog_entry)
        .json(&json!({"outcome": "ready"}))
        .send()
        .await
        .unwrap();
    app.client.post(app.control("/reset")).send().await.unwrap();
    let pool = app.db().await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM source_images")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 5);
    assert_error(
        app.client
            .post(app.control("/reset?catalog=maybe"))
            .send()
            .await
            .unwrap(),
        400,
        "badRequest",
    )
    .await;
}

#[tokio::test]
async fn state_export_and_a_snapshot_that_opens_as_a_database() {
    let app = spawn_app().await;
    let created = app.create_ok("v1.0", &body("Exported", "1.0.0")).await;
    app.post_control(
        "/faults",
        &json!({"action": "error", "status": 500, "path": "/nothing"}),
    )
    .await;
    let state: Value = app.get_json(&app.control("/state")).await;
    assert_eq!(state["images"][0]["id"], created["id"]);
    assert_eq!(
        state["images"][0]["tenantId"],
        "00000000-0000-0000-0000-000000000001"
    );
    assert!(state["images"][0]["uploadDueAt"].is_string());
    assert_eq!(state["sourceImages"].as_array().unwrap().len(), 4);
    assert_eq!(state["faults"][0]["action"], "error");
    assert!(state["clock"]["now"].is_string());

    let res = app
        .post_control("/snapshot", &json!({"name": "snap"}))
        .await;
    assert_eq!(res.status(), 201);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["name"], "snap.db");
    assert!(answer["bytes"].as_u64().unwrap() > 0);
    let target = app.dir.path().join("snapshots").join("snap.db");
    assert_eq!(
        std::fs::metadata(&target).unwrap().len(),
        answer["bytes"].as_u64().unwrap()
    );
    // Never overwrites; an unknown field is a 400 (names and paths: tests/api/security.rs).
    assert_error(
        app.post_control("/snapshot", &json!({"name": "snap.db"}))
            .await,
        409,
        "conflict",
    )
    .await;
    assert_error(
        app.post_control("/snapshot", &json!({"file": "x.db"}))
            .await,
        400,
        "badRequest",
    )
    .await;

    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(&target, copy.path().join("emulator.db")).unwrap();
    let restored = spawn_in(copy, |_| {}).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        restored
            .get(&restored.images("v1.0", &format!("/{id}")))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn the_journal_records_graph_requests_without_authorization_values() {
    let app = spawn_with(|s| s.auth = cloudpc_emulator::config::AuthMode::Bearer).await;
    let secret = "super-secret-token-value";
    let res = app
        .client
        .post(app.images("beta", ""))
        .bearer_auth(secret)
        .header("client-request-id", "trace-1")
        .json(&body("Journaled", "1.0.0"))
        .send()
        .await
        .unwrap();
    let request_id = res.headers()["request-id"].to_str().unwrap().to_owned();
    let created: Value = res.json().await.unwrap();
    app.get(&app.images("v1.0", "/nope")).await;
    let entries = journal(&app, "").await;
    assert_eq!(entries.len(), 2, "control-plane requests are not journaled");
    let (missing, create) = (&entries[0], &entries[1]);
    assert_eq!(create["requestId"], request_id.as_str());
    assert_eq!(create["clientRequestId"], "trace-1");
    assert_eq!(
        (create["method"].as_str(), create["status"].as_i64()),
        (Some("POST"), Some(201))
    );
    assert_eq!(create["apiVersion"], "beta");
    assert_eq!(create["imageId"], created["id"]);
    assert_eq!(create["requestHeaders"]["authorization"], "[redacted]");
    assert!(create["requestBody"]
        .as_str()
        .unwrap()
        .contains("Journaled"));
    assert!(create["responseBody"]
        .as_str()
        .unwrap()
        .contains(created["id"].as_str().unwrap()));
    assert_eq!(
        (missing["status"].as_i64(), missing["apiVersion"].as_str()),
        (Some(401), Some("v1.0"))
    );
    assert!(missing["responseBody"]
        .as_str()
        .unwrap()
        .contains("InvalidAuthenticationToken"));

    // Filters.
    assert_eq!(journal(&app, "?method=post").await.len(), 1);
    assert_eq!(journal(&app, "?status=401").await.len(), 1);
    assert_eq!(journal(&app, "?path=NOPE").await.len(), 1);
    assert_eq!(journal(&app, "?since=2999-01-01T00:00:00Z").await.len(), 0);
    assert_eq!(journal(&app, "?limit=1").await.len(), 1);
    for bad in ["?colour=red", "?status=x", "?since=yesterday", "?limit=0"] {
        assert_error(
            app.get(&app.control(&format!("/requests{bad}"))).await,
            400,
            "badRequest",
        )
        .await;
    }
    // The secret is nowhere in the file.
    let pool = app.requests_db().await;
    let hits: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM request_journal WHERE instr(request_headers || coalesce(request_body, '') || \
         coalesce(response_body, '') || path || query, ?) > 0",
    )
    .bind(secret)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(hits, 0);
    assert_eq!(
        app.client
            .delete(app.control("/requests"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert!(journal(&app, "").await.is_empty());
}

#[tokio::test]
async fn the_journal_is_bounded_by_journal_max_and_off_at_zero() {
    let app = spawn_with(|s| s.journal_max = 100).await;
    for chunk in 0..10 {
        let urls: Vec<String> = (0..100)
            .map(|i| app.images("v1.0", &format!("/nope-{chunk}-{i}")))
            .collect();
        futures_util::future::join_all(urls.iter().map(|u| app.get(u))).await;
    }
    let all = journal(&app, "?limit=1000").await;
    assert_eq!(all.len(), 100);
    assert!(
        all[0]["path"].as_str().unwrap().contains("nope-9-"),
        "the newest are kept"
    );
    let pool = app.requests_db().await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM request_journal")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 100);

    let off = spawn_with(|s| s.journal_max = 0).await;
    off.get(&off.images("v1.0", "")).await;
    assert!(journal(&off, "").await.is_empty());
}

/// The journal is stored a batch per row, in its own file: entries of many batches read back newest first with
/// consecutive ids, a filter finds the oldest entry past the first batches it reads, the bound drops whole batches
/// only once every entry in them is beyond it, and ids go on after a clear (a reset starts them again).
#[tokio::test]
async fn journal_entries_of_many_batches_keep_consecutive_ids_across_a_clear() {
    let app = spawn_with(|s| s.journal_max = 30).await;
    // Reading the journal writes what is queued first, so each request here is a batch of its own.
    for n in 0..40 {
        app.get(&app.images("v1.0", &format!("/nope-{n}"))).await;
        journal(&app, "?limit=1").await;
    }
    let all = journal(&app, "?limit=1000").await;
    let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(
        ids,
        (11..=40).rev().collect::<Vec<i64>>(),
        "the newest 30, newest first"
    );
    let oldest = journal(&app, "?path=nope-10&limit=5").await;
    assert_eq!(oldest.len(), 1, "found past the first batches read");
    assert_eq!(oldest[0]["id"], 11);
    let pool = app.requests_db().await;
    let batches: i64 = sqlx::query_scalar("SELECT count(*) FROM request_journal_batches")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        batches, 30,
        "batches whose entries are all beyond the bound are gone"
    );
    let view: Vec<(i64, String, i64)> =
        sqlx::query_as("SELECT id, path, status FROM request_journal ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(view.len(), 30);
    assert_eq!(view[0].0, 11);
    assert!(
        view[0].1.ends_with("/nope-10") && view[0].2 == 404,
        "{view:?}"
    );

    let cleared = app
        .client
        .delete(app.control("/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    app.get(&app.images("v1.0", "/after-clear")).await;
    let after = journal(&app, "").await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["id"], 41, "ids are never given twice");
    let reset = app.client.post(app.control("/reset")).send().await.unwrap();
    assert_eq!(reset.status(), 200);
    app.get(&app.images("v1.0", "/after-reset")).await;
    assert_eq!(
        journal(&app, "").await[0]["id"],
        1,
        "a reset starts the ids again"
    );
    let metrics = app
        .get(&format!("{}/metrics", app.address))
        .await
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("cloudpc_journal_rows 1\n"), "{metrics}");
}

#[tokio::test]
async fn error_rules_answer_with_graphs_envelope_count_down_and_survive_a_restart() {
    let app = spawn_app().await;
    let res = app
        .post_control(
            "/faults",
            &json!({"action": "error", "status": 429, "method": "get", "apiVersion": "beta",
        "path": "*/deviceImages", "count": 2}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let rule: Value = res.json().await.unwrap();
    assert_eq!(
        (rule["code"].as_str(), rule["retryAfter"].as_u64()),
        (Some("TooManyRequests"), Some(1))
    );
    // Not matched: another version, method or path.
    assert_eq!(app.get(&app.images("v1.0", "")).await.status(), 200);
    assert_eq!(
        app.create("beta", &body("Unmatched", "1.0.0"))
            .await
            .status(),
        201
    );
    let res = app.get(&app.images("beta", "")).await;
    assert_eq!(res.headers()["retry-after"], "1");
    assert_error(res, 429, "TooManyRequests").await;
    let dir = app.stop().await;

    let app = spawn_in(dir, |_| {}).await;
    let stored: Value = app.get_json(&app.control("/faults")).await;
    assert_eq!(
        stored["value"][0]["remaining"], 1,
        "the rule and its count survive a restart"
    );
    assert_error(
        app.get(&app.images("beta", "/")).await,
        429,
        "TooManyRequests",
    )
    .await;
    assert_eq!(
        app.get(&app.images("beta", "")).await.status(),
        200,
        "the rule expired after its count"
    );
    let stored: Value = app.get_json(&app.control("/faults")).await;
    assert_eq!(stored["value"], json!([]));
    let entries = journal(&app, "?status=429").await;
    assert_eq!(entries[0]["faultId"], rule["id"]);

    let res = app
        .post_control(
            "/faults",
            &json!({"action": "error", "status": 503, "code": "serviceNotAvailable",
        "message": "Down for maintenance", "retryAfter": 7}),
        )
        .await;
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let res = app.get(&app.images("v1.0", "")).await;
    assert_eq!(res.headers()["retry-after"], "7");
    let msg = assert_error(res, 503, "serviceNotAvailable").await;
    assert_eq!(msg, "Down for maintenance");
    // The control plane itself is never faulted, so the rule can be removed.
    assert_eq!(
        app.client
            .delete(app.control(&format!("/faults/{id}")))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_error(
        app.client
            .delete(app.control(&format!("/faults/{id}")))
            .send()
            .await
            .unwrap(),
        404,
        "ResourceNotFound",
    )
    .await;
    assert_eq!(app.get(&app.images("v1.0", "")).await.status(), 200);
}

#[tokio::test]
async fn a_probabilistic_rule_repeats_its_sequence_for_a_fixed_seed() {
    async fn run(seed: u64) -> Vec<u16> {
        let app = spawn_with(|s| s.fault_seed = Some(seed)).await;
        app.post_control(
            "/faults",
            &json!({"action": "error", "status": 503, "probability": 0.5}),
        )
        .await;
        let mut statuses = Vec::new();
        for _ in 0..40 {
            statuses.push(app.get(&app.images("v1.0", "")).await.status().as_u16());
        }
        statuses
    }
    let first = run(1234).await;
    assert_eq!(first, run(1234).await);
    let failures = first.iter().filter(|s| **s == 503).count();
    assert!((8..=32).contains(&failures), "about half fail: {failures}");
    assert_ne!(first, run(999).await);
}

#[tokio::test]
async fn latency_and_throttle_rules() {
    let app = spawn_app().await;
    app.post_control(
        "/faults",
        &json!({"action": "latency", "latencyMs": 300, "method": "DELETE"}),
    )
    .await;
    let started = std::time::Instant::now();
    app.client
        .delete(app.images("v1.0", "/nope"))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));

    app.post_control(
        "/faults",
        &json!({"action": "throttle", "limit": 3, "windowSeconds": 60, "method": "GET"}),
    )
    .await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let res = app.get(&app.images("v1.0", "")).await;
        if res.status() == 429 {
            let wait: u64 = res.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&wait));
        }
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
}

#[tokio::test]
async fn a_throttle_window_ends_and_lets_requests_through_again() {
    let app = spawn_app().await;
    app.post_control(
        "/faults",
        &json!({"action": "throttle", "limit": 2, "windowSeconds": 1, "method": "GET"}),
    )
    .await;
    let list = app.images("v1.0", "");
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(app.get(&list).await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
    // The window is wall-clock time (Retry-After tells how long): wait it out, bounded.
    let started = std::time::Instant::now();
    let mut after = 429;
    while after == 429 && started.elapsed() < std::time::Duration::from_secs(5) {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        after = app.get(&list).await.status().as_u16();
    }
    assert_eq!(after, 200, "a new window lets requests through");
    assert!(started.elapsed() >= std::time::Duration::from_millis(500));
    // And it throttles again after its limit.
    assert_eq!(app.get(&list).await.status(), 200);
    assert_eq!(app.get(&list).await.status(), 429);
}

#[tokio::test]
async fn bad_control_plane_input_gets_the_envelope() {
    let app = spawn_app().await;
    let rules = [
        json!({"action": "error", "status": 700}),
        json!({"action": "error", "status": 200}),
        json!({"action": "error"}),
        json!({"action": "error", "status": 500, "probability": 1.5}),
        json!({"action": "error", "status": 500, "probability": -0.1}),
        json!({"action": "error", "status": 500, "colour": "red"}),
        json!({"action": "explode"}),
        json!({"status": 500}),
        json!({"action": "latency"}),
        json!({"action": "latency", "latencyMs": 0}),
        json!({"action": "latency", "latencyMs": 10, "status": 500}),
        json!({"action": "throttle", "limit": 5}),
        json!({"action": "error", "status": 500, "method": "FETCH"}),
        json!({"action": "error", "status": 500, "apiVersion": "v2.0"}),
        json!({"action": "error", "status": 500, "count": 0}),
    ];
    for rule in rules {
        assert_error(app.post_control("/faults", &rule).await, 400, "badRequest").await;
    }
    for clock in [
        json!({"advanceSeconds": -5}),
        json!({"advanceSeconds": "5"}),
        json!({"by": 5}),
        json!({}),
    ] {
        assert_error(app.post_control("/clock", &clock).await, 400, "badRequest").await;
    }
    let res = app
        .client
        .post(app.control("/faults"))
        .body("{")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "badRequest").await;
    let res = app
        .client
        .post(app.control("/clock"))
        .body("x")
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    assert_error(res, 415, "UnsupportedMediaType").await;
    assert_error(
        app.get(&app.control("/faults/abc")).await,
        404,
        "ResourceNotFound",
    )
    .await;
    assert_error(
        app.get(&app.control("/nothing")).await,
        404,
        "ResourceNotFound",
    )
    .await;
    let pool = app.db().await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM fault_rules")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn advancing_the_clock_completes_a_pending_upload_at_once_and_is_stored() {
    let app = spawn_app().await;
    let created = app.create_ok("v1.0", &body("Clocked", "1.0.0")).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let before: Value = app.get_json(&app.control("/clock")).await;
    let after = app.advance_clock(3600).await;
    assert_eq!(after["offsetSeconds"], 3600.0);
    let moved = chrono::DateTime::parse_from_rfc3339(after["now"].as_str().unwrap()).unwrap()
        - chrono::DateTime::parse_from_rfc3339(before["now"].as_str().unwrap()).unwrap();
    assert!(moved.num_seconds() >= 3600);
    // Complete in the file the moment the call returned, before any other request.
    let pool = app.db().await;
    let status: String = sqlx::query_scalar("SELECT status FROM device_images WHERE id = ?")
        .bind(&id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "ready");
    let dir = app.stop().await;
    let app = spawn_in(dir, |_| {}).await;
    let clock: Value = app.get_json(&app.control("/clock")).await;
    assert_eq!(
        clock["offsetSeconds"], 3600.0,
        "the offset survives a restart"
    );
}

#[tokio::test]
async fn metrics_in_the_openmetrics_text_format() {
    let app = spawn_app().await;
    app.create_ok("v1.0", &body("Measured", "1.0.0")).await;
    app.get(&app.images("v1.0", "/nope")).await;
    let res = app.get(&format!("{}/metrics", app.address)).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text; version=1.0.0"));
    let text = res.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    for line in [
        "cloudpc_requests_total{route=\"deviceImages\",method=\"POST\",status=\"201\"} 1",
        "cloudpc_requests_total{route=\"deviceImages/{id}\",method=\"GET\",status=\"404\"} 1",
        "cloudpc_device_images{status=\"pending\"} 1",
        "cloudpc_device_images{status=\"ready\"} 0",
        "# TYPE cloudpc_request_duration_seconds histogram",
        "cloudpc_request_duration_seconds_count ",
        "cloudpc_journal_rows ",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[tokio::test]
async fn the_admin_token_guards_the_control_plane_but_not_health() {
    let app = spawn_with(|s| s.admin_token = Some("letmein".into())).await;
    assert_eq!(app.get(&app.control("/health")).await.status(), 200);
    assert_error(
        app.get(&app.control("/state")).await,
        401,
        "InvalidAuthenticationToken",
    )
    .await;
    let wrong = app
        .client
        .get(app.control("/state"))
        .header("x-emulator-admin-token", "nope")
        .send()
        .await
        .unwrap();
    assert_error(wrong, 401, "InvalidAuthenticationToken").await;
    let ok = app
        .client
        .get(app.control("/state"))
        .header("x-emulator-admin-token", "letmein")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let ok = app
        .client
        .get(app.control("/faults"))
        .bearer_auth("letmein")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    // Graph routes follow --auth, not the admin token.
    assert_eq!(app.get(&app.images("v1.0", "")).await.status(), 200);
}

/// The journal keeps what a write sent and got, and an error's answer, but not the body of a successful read: that
/// is what reading again shows (docs/control-plane.md).
#[tokio::test]
async fn the_journal_keeps_write_and_error_bodies_but_not_successful_read_bodies() {
    let app = spawn_app().await;
    let created = app.create_ok("v1.0", &body("Read back", "1.0.0")).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        app.get(&app.images("v1.0", &format!("/{id}")))
            .await
            .status(),
        200
    );
    assert_eq!(app.get(&app.images("v1.0", "?$top=1")).await.status(), 200);
    assert_eq!(app.get(&app.images("v1.0", "/nope")).await.status(), 404);
    let entries = journal(&app, "").await;
    let by_status = |method: &str, path: &str| {
        entries
            .iter()
            .find(|e| e["method"] == method && e["path"].as_str().unwrap().ends_with(path))
            .unwrap_or_else(|| panic!("no {method} {path} in {entries:?}"))
    };
    let create = by_status("POST", "deviceImages");
    assert!(create["responseBody"].as_str().unwrap().contains(id));
    assert_eq!(by_status("GET", id)["responseBody"], Value::Null);
    assert_eq!(by_status("GET", id)["imageId"], id);
    let missing = by_status("GET", "/nope");
    assert!(missing["responseBody"].as_str().unwrap().contains("error"));
}
