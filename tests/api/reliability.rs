//! Reliability (issue 9): no acknowledged write is lost to kill -9 or SIGTERM, concurrency gives no 5xx, a locked
//! database gives 503 and recovers, hostile input gets the envelope and leaves the database unchanged.

use std::collections::HashSet;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{
    assert_error, body, cannot_run, open_read_only, spawn_app, spawn_with, start, COLLECTION,
};

fn start_on(db: &std::path::Path) -> (std::process::Child, String) {
    start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--database",
            db.to_str().unwrap(),
            "--auth",
            "none",
        ],
        &[],
    )
}

/// Clients creating images as fast as they can until `stop`; returns the ids whose 201 arrived.
async fn load(url: String, clients: usize, stop: Duration) -> Vec<String> {
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let deadline = Instant::now() + stop;
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (url, acknowledged) = (url.clone(), acknowledged.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut n = 0;
                while Instant::now() < deadline {
                    n += 1;
                    let res = client
                        .post(format!("{url}/v1.0/{COLLECTION}"))
                        .json(&body(&format!("Load {c}-{n}"), "1.0.0"))
                        .send()
                        .await;
                    match res {
                        Ok(res) if res.status() == 201 => {
                            if let Ok(image) = res.json::<Value>().await {
                                acknowledged
                                    .lock()
                                    .unwrap()
                                    .push(image["id"].as_str().unwrap().to_owned());
                            }
                        }
                        Ok(res) => assert!(
                            res.status().as_u16() < 500 || res.status() == 503,
                            "{}",
                            res.status()
                        ),
                        Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    Arc::try_unwrap(acknowledged).unwrap().into_inner().unwrap()
}

async fn stored_ids(db: &std::path::Path) -> (HashSet<String>, String) {
    let pool = open_read_only(db).await;
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM device_images")
        .fetch_all(&pool)
        .await
        .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    (ids.into_iter().collect(), check)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_load_loses_no_acknowledged_create() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let mut acknowledged = Vec::new();
    for kill_after in [150u64, 400, 700] {
        let (mut child, url) = start_on(&db);
        let loader = tokio::spawn(load(url, 8, Duration::from_millis(kill_after + 300)));
        tokio::time::sleep(Duration::from_millis(kill_after)).await;
        child.kill().unwrap(); // SIGKILL: no shutdown code runs
        child.wait().unwrap();
        acknowledged.extend(loader.await.unwrap());
        // A restart on the same file, then every 201 ever received must be there.
        let (mut child, _) = start_on(&db);
        child.kill().unwrap();
        child.wait().unwrap();
        let (stored, check) = stored_ids(&db).await;
        assert_eq!(check, "ok");
        let lost: Vec<&String> = acknowledged
            .iter()
            .filter(|id| !stored.contains(*id))
            .collect();
        assert!(
            lost.is_empty(),
            "acknowledged but lost after kill -9 at {kill_after} ms: {lost:?}"
        );
    }
    assert!(
        acknowledged.len() > 50,
        "the load made progress: {}",
        acknowledged.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_finishes_in_flight_requests_and_keeps_every_201() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("term.db");
    let (mut child, url) = start_on(&db);
    let loader = tokio::spawn(load(url, 8, Duration::from_millis(800)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let status = child.wait().unwrap();
    assert!(status.success(), "exit {status}");
    let acknowledged = loader.await.unwrap();
    let (stored, check) = stored_ids(&db).await;
    assert_eq!(check, "ok");
    assert!(acknowledged.iter().all(|id| stored.contains(id)));
    assert!(!acknowledged.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_at_once_get_no_5xx_and_uniqueness_holds() {
    let app = Arc::new(spawn_with(|s| s.upload_duration = 0).await);
    let tasks: Vec<_> = (0..16)
        .map(|c| {
            let app = app.clone();
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for n in 0..25 {
                    // Half the names repeat across clients, so creates race on uniqueness.
                    let name = if n % 2 == 0 {
                        format!("Shared {n}")
                    } else {
                        format!("Own {c}-{n}")
                    };
                    let res = app.create("v1.0", &body(&name, "1.0.0")).await;
                    statuses.push(res.status().as_u16());
                    let id = res
                        .json::<Value>()
                        .await
                        .ok()
                        .and_then(|v| v["id"].as_str().map(str::to_owned));
                    statuses.push(
                        app.get(&app.images("beta", "?$top=5&$orderby=displayName desc"))
                            .await
                            .status()
                            .as_u16(),
                    );
                    if let Some(id) = id {
                        if n % 3 == 0 {
                            let r = app
                                .client
                                .delete(app.images("v1.0", &format!("/{id}")))
                                .send()
                                .await
                                .unwrap();
                            statuses.push(r.status().as_u16());
                        } else {
                            let r = app
                                .client
                                .post(app.images("beta", &format!("/{id}/retryUpload")))
                                .send()
                                .await
                                .unwrap();
                            statuses.push(r.status().as_u16());
                        }
                    }
                }
                statuses
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    assert!(
        all.iter().all(|s| *s < 500),
        "a 5xx: {:?}",
        all.iter().filter(|s| **s >= 500).collect::<Vec<_>>()
    );
    assert!(all.contains(&409), "creates raced on the shared names");
    let pool = app.db().await;
    let duplicates: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT 1 FROM device_images GROUP BY tenant_id, display_name_key, version HAVING count(*) > 1)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(duplicates, 0);
}

#[tokio::test]
async fn a_locked_database_gives_503_with_retry_after_and_recovers() {
    let app = spawn_app().await;
    app.create_ok("v1.0", &body("Before", "1.0.0")).await;
    // Another process holds the write lock longer than the emulator's busy timeout (5 s).
    let mut locker = rusqlite::Connection::open(&app.db_path).unwrap();
    let tx = locker
        .transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)
        .unwrap();
    let res = app.create("v1.0", &body("Blocked", "1.0.0")).await;
    assert_eq!(res.headers()["retry-after"], "1");
    assert_error(res, 503, "ServiceUnavailable").await;
    tx.rollback().unwrap();
    drop(locker);
    app.create_ok("v1.0", &body("After", "1.0.0")).await;
    assert_eq!(app.image_rows().await, 2);
}

/// `chattr +i`/`-i` on the database's files: the immutable flag refuses writes even through descriptors that are
/// already open (which a `chmod` does not), so it makes the file read-only under the running emulator. Needs root
/// on a file system with the flag (ext4 here; CI runs as root). The `-shm` index is left alone: SQLite maps it into
/// memory, where a refused write is a SIGBUS rather than an error (it holds no data, only the WAL's index).
fn immutable(db: &std::path::Path, on: bool) -> bool {
    let flag = if on { "+i" } else { "-i" };
    ["", "-wal"].iter().all(|suffix| {
        let path = format!("{}{suffix}", db.display());
        Command::new("chattr")
            .args([flag, &path])
            .status()
            .is_ok_and(|s| s.success())
    })
}

#[tokio::test]
async fn a_read_only_database_file_gives_503_with_retry_after_and_recovers() {
    let app = spawn_with(|s| s.journal_max = 0).await;
    let before = app.create_ok("v1.0", &body("Before", "1.0.0")).await;
    if !immutable(&app.db_path, true) {
        immutable(&app.db_path, false);
        cannot_run("chattr +i needs root and a file system that supports it");
        return;
    }
    let refused = app.create("v1.0", &body("Refused", "1.0.0")).await;
    let retry = refused.headers().get("retry-after").cloned();
    let status = refused.status();
    let delete = app
        .client
        .delete(app.images("v1.0", &format!("/{}", before["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    let reads = app.get(&app.images("v1.0", "")).await.status();
    assert!(immutable(&app.db_path, false), "chattr -i");
    assert_eq!(status, 503);
    assert_eq!(retry.unwrap(), "1");
    assert_eq!(delete.status(), 503, "a delete is a write too");
    assert_eq!(reads, 200, "reads are still served");
    // The cause is gone: writes work again, and the refused create left nothing behind.
    // A 201 after the failure means stored: the emulator reads it back, and so does a fresh connection.
    let after = app.create_ok("v1.0", &body("After", "1.0.0")).await;
    let url = app.images("v1.0", &format!("/{}", after["id"].as_str().unwrap()));
    assert_eq!(app.get(&url).await.status(), 200);
    let pool = app.db().await;
    let names: Vec<String> =
        sqlx::query_scalar("SELECT display_name FROM device_images ORDER BY seq")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(names, ["Before", "After"]);
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(check, "ok");
}

#[tokio::test]
async fn hostile_input_gets_the_envelope_and_changes_nothing() {
    let app = spawn_app().await;
    let url = app.images("beta", "");
    let post = |bytes: Vec<u8>| {
        app.client
            .post(&url)
            .header("content-type", "application/json")
            .body(bytes)
            .send()
    };
    let nested = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "invalid UTF-8",
            b"{\"displayName\":\"\xff\xfe\",\"version\":\"1.0.0\"}".to_vec(),
            400,
        ),
        ("NUL bytes", b"{\"displayName\":\"a\0b\"\0}".to_vec(), 400),
        (
            "deep nesting",
            format!("{{\"displayName\":{nested}}}").into_bytes(),
            400,
        ),
        (
            "huge number",
            br#"{"displayName":"a","version":"1.0.0","sizeInGB":1e400}"#.to_vec(),
            400,
        ),
        (
            "huge integer",
            br#"{"displayName":"a","version":"1.0.0","sizeInGB":123456789012345678901234567890}"#
                .to_vec(),
            400,
        ),
        (
            "duplicate keys",
            br#"{"displayName":"a","displayName":"b","version":"1.0.0"}"#.to_vec(),
            400,
        ),
        (
            "100 KB string",
            serde_json::to_vec(&{
                let mut b = body("x", "1.0.0");
                b["displayName"] = json!("x".repeat(100_000));
                b
            })
            .unwrap(),
            400,
        ),
        ("10 MB body", vec![b' '; 10 * 1024 * 1024], 413),
    ];
    for (case, bytes, status) in cases {
        match post(bytes).await {
            Ok(res) => {
                let code = if status == 413 {
                    "RequestEntityTooLarge"
                } else {
                    "badRequest"
                };
                assert_error(res, status, code).await;
            }
            // A server may close the connection on a body it refuses to read; it must not answer otherwise.
            Err(e) => assert!(status == 413, "{case}: {e}"),
        }
    }
    // A NUL inside a valid JSON string is a character like any other: stored as sent.
    let mut nul = body("with \u{0} nul", "1.0.0");
    nul["operatingSystem"] = json!("a\u{0}b");
    app.create_ok("beta", &nul).await;

    let absurd = [
        format!("?$filter={}", "(".repeat(5000)),
        format!("?$filter=displayName eq '{}'", "x".repeat(5000)),
        format!("?{}", "$top=1&".repeat(2000)),
        "?$filter=displayName%20eq%20%27%00%27".to_owned(),
        "?$filter=%ZZ".to_owned(),
        "?$top=%2B1".to_owned(),
    ];
    for q in absurd {
        let res = app.get(&app.images("v1.0", &q)).await;
        assert!(
            res.status() == 400 || res.status() == 200 || res.status() == 414,
            "{q}: {}",
            res.status()
        );
        if res.status() == 400 {
            assert_error(res, 400, "badRequest").await;
        }
    }
    for id in [
        "%2e%2e%2f%2e%2e",
        "..%2F..%2Fetc",
        "%00",
        "6f9619ff-8b86-d011-b42d-00cf4fc964ff%00",
        "%E2%80%AE",
    ] {
        let res = app.get(&app.images("v1.0", &format!("/{id}"))).await;
        assert_error(res, 404, "ResourceNotFound").await;
    }
    let mut flood = app.client.get(&url);
    for i in 0..90 {
        flood = flood.header(format!("x-flood-{i}"), "y".repeat(100));
    }
    let res = flood.send().await.unwrap();
    assert!(
        res.status().is_success() || res.status().as_u16() == 431 || res.status().as_u16() == 400
    );
    assert_eq!(app.image_rows().await, 1);
}

#[tokio::test]
async fn a_full_database_gives_503_keeps_serving_reads_and_recovers_when_space_is_freed() {
    let app = spawn_with(|s| {
        s.max_database_mb = Some(1);
        s.journal_max = 0;
    })
    .await;
    let mut created = Vec::new();
    let full = loop {
        let mut sent = body(&format!("Filler {}", created.len()), "1.0.0");
        sent["operatingSystem"] = json!("x".repeat(250));
        sent["osVersionNumber"] = json!("y".repeat(250));
        let res = app.create("v1.0", &sent).await;
        match res.status().as_u16() {
            201 => created.push(
                res.json::<Value>().await.unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ),
            _ => break res,
        }
        assert!(created.len() < 5000, "the quota never filled");
    };
    assert_eq!(full.status(), 503, "{:?}", full.headers());
    assert_eq!(full.headers()["retry-after"], "1");
    let msg = assert_error(full, 503, "ServiceUnavailable").await;
    assert!(msg.contains("full"), "{msg}");
    let rows = app.image_rows().await;
    assert_eq!(
        rows,
        created.len() as i64,
        "the refused create left nothing behind"
    );
    assert_eq!(
        app.get(&app.images("v1.0", "?$top=1")).await.status(),
        200,
        "reads still work"
    );
    // The cause goes away: space is freed, writes work again.
    for id in created.iter().take(50) {
        assert_eq!(
            app.client
                .delete(app.images("v1.0", &format!("/{id}")))
                .send()
                .await
                .unwrap()
                .status(),
            204
        );
    }
    app.create_ok("v1.0", &body("After the quota", "1.0.0"))
        .await;
}
