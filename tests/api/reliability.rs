//! Reliability (issue 9): no acknowledged write is lost to kill -9 or SIGTERM, concurrency gives no 5xx, a locked
//! database gives 503 and recovers, hostile input gets the envelope and leaves the database unchanged.

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{
    assert_error, body, cannot_run, open_read_only, signal, spawn_app, spawn_with, start,
    wait_for_exit, TestApp, COLLECTION,
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

/// What the clients of the crash test sent and were told, over every round.
#[derive(Default)]
struct Ledger {
    /// Every create sent (client-chosen ids, so a create that got no answer can still be found in the file).
    sent: HashSet<String>,
    /// 201s not deleted since: id -> the image as the 201 carried it.
    acknowledged: HashMap<String, Value>,
    /// 204s: every one must stay deleted.
    deleted: HashSet<String>,
    /// Deletes that got no answer: their rows may or may not be there.
    unsure: HashSet<String>,
    /// Requests of the current round that got no answer: the kill hit them in flight.
    in_flight: usize,
    /// 201s and 204s of the current round.
    answered: usize,
}

/// Clients creating (with ids of their own) and deleting their own images until the server dies or `stop` passes.
async fn crash_load(url: String, clients: usize, ledger: Arc<Mutex<Ledger>>, stop: Duration) {
    let deadline = Instant::now() + stop;
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (url, ledger) = (url.clone(), ledger.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut mine: Vec<String> = Vec::new();
                let mut n = 0;
                while Instant::now() < deadline {
                    n += 1;
                    let delete = (n % 4 == 0).then(|| mine.pop()).flatten();
                    let result = match &delete {
                        Some(id) => client
                            .delete(format!("{url}/beta/{COLLECTION}/{id}"))
                            .send()
                            .await
                            .map(|res| (res.status().as_u16(), None)),
                        None => {
                            let id = uuid::Uuid::new_v4().to_string();
                            let mut image = body(&format!("Crash {id}"), "1.0.0");
                            image["id"] = json!(id);
                            ledger.lock().unwrap().sent.insert(id.clone());
                            match client
                                .post(format!("{url}/beta/{COLLECTION}"))
                                .json(&image)
                                .send()
                                .await
                            {
                                Ok(res) if res.status() == 201 => match res.json::<Value>().await {
                                    Ok(v) => Ok((201, Some(v))),
                                    Err(e) => Err(e),
                                },
                                Ok(res) => Ok((res.status().as_u16(), None)),
                                Err(e) => Err(e),
                            }
                        }
                    };
                    let mut l = ledger.lock().unwrap();
                    match (result, delete) {
                        (Ok((201, Some(image))), None) => {
                            let id = image["id"].as_str().unwrap().to_owned();
                            mine.push(id.clone());
                            l.acknowledged.insert(id, image);
                            l.answered += 1;
                        }
                        (Ok((204, _)), Some(id)) => {
                            l.acknowledged.remove(&id);
                            l.deleted.insert(id);
                            l.answered += 1;
                        }
                        (Ok((status, _)), _) => {
                            assert!(status < 500 || status == 503, "{status}")
                        }
                        // No answer: the server died with this request in flight.
                        (Err(_), delete) => {
                            l.in_flight += 1;
                            if let Some(id) = delete {
                                l.acknowledged.remove(&id);
                                l.unsure.insert(id);
                            }
                            return;
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

/// A pseudo-random number of milliseconds in `range` (a fresh v4 UUID's bits: no dependency for one draw).
fn random_ms(range: std::ops::Range<u64>) -> u64 {
    let r = uuid::Uuid::new_v4().as_u128() as u64;
    range.start + r % (range.end - range.start)
}

/// The image as the emulator serves it, without the context URL (a 201's and a GET's differ only there).
fn without_context(mut v: Value) -> Value {
    v.as_object_mut().unwrap().remove("@odata.context");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_moments_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let args = |db: &std::path::Path| {
        let db = db.to_str().unwrap().to_owned();
        vec![
            "--listen".to_owned(),
            "127.0.0.1:0".into(),
            "--database".into(),
            db,
            "--auth".into(),
            "none".into(),
            // Nothing changes a row by itself between the kill and the check.
            "--upload-duration".into(),
            "86400".into(),
        ]
    };
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut stored_unacknowledged = 0;
    for round in 0..6 {
        let argv = args(&db);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let (mut child, url) = start(&argv, &[]);
        {
            let mut l = ledger.lock().unwrap();
            l.in_flight = 0;
            l.answered = 0;
        }
        let loader = tokio::spawn(crash_load(url, 12, ledger.clone(), Duration::from_secs(10)));
        tokio::time::sleep(Duration::from_millis(random_ms(150..900))).await;
        child.kill().unwrap(); // SIGKILL: no shutdown code runs
        wait_for_exit(&mut child, Duration::from_secs(30));
        tokio::time::timeout(Duration::from_secs(20), loader)
            .await
            .expect("the clients notice the kill")
            .unwrap();
        let (answered, in_flight) = {
            let l = ledger.lock().unwrap();
            (l.answered, l.in_flight)
        };
        assert!(
            answered >= 1,
            "round {round}: no write was acknowledged before the kill"
        );
        assert!(
            in_flight >= 1,
            "round {round}: the kill hit no request in flight"
        );

        // Restarted on the same file: through the server, every acknowledged image is there as its 201 said,
        // every 204 stays deleted.
        let (mut child, url) = start(&argv, &[]);
        let client = reqwest::Client::new();
        let (acknowledged, deleted, sent, unsure) = {
            let l = ledger.lock().unwrap();
            (
                l.acknowledged.clone(),
                l.deleted.clone(),
                l.sent.clone(),
                l.unsure.clone(),
            )
        };
        for (id, image) in &acknowledged {
            let res = client
                .get(format!("{url}/beta/{COLLECTION}/{id}"))
                .send()
                .await
                .unwrap();
            assert_eq!(
                res.status(),
                200,
                "round {round}: acknowledged {id} is gone"
            );
            assert_eq!(
                without_context(res.json().await.unwrap()),
                without_context(image.clone()),
                "round {round}: {id} is not as acknowledged"
            );
        }
        for id in &deleted {
            let res = client
                .get(format!("{url}/beta/{COLLECTION}/{id}"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 404, "round {round}: deleted {id} came back");
        }
        signal(&child, "-TERM");
        assert!(wait_for_exit(&mut child, Duration::from_secs(30)).success());

        // And in the file: whole rows, nothing that was never sent, no deleted row.
        let pool = open_read_only(&db).await;
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(check, "ok");
        let rows: Vec<(String, String, String, String, String, String, String)> = sqlx::query_as(
            "SELECT id, display_name, version, source_image_resource_id, status, created_date_time, \
             last_modified_date_time FROM device_images",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        pool.close().await;
        let mut stored = HashSet::new();
        for (id, name, version, source, status, created, modified) in rows {
            assert!(sent.contains(&id), "round {round}: a row nobody sent: {id}");
            assert!(
                !deleted.contains(&id),
                "round {round}: deleted {id} is in the file"
            );
            if let Some(image) = acknowledged.get(&id) {
                assert_eq!(image["displayName"], name.as_str());
                assert_eq!(image["version"], version.as_str());
                assert_eq!(image["sourceImageResourceId"], source.as_str());
                assert_eq!(image["status"], status.as_str());
                assert_eq!(image["lastModifiedDateTime"], modified.as_str());
                assert_eq!(name, format!("Crash {id}"), "{created}");
            } else if !unsure.contains(&id) {
                stored_unacknowledged += 1;
            }
            stored.insert(id);
        }
        assert!(acknowledged.keys().all(|id| stored.contains(id)));
    }
    // Over the rounds, kills landed between a commit and its answer: the test exercised that window.
    assert!(
        stored_unacknowledged >= 1,
        "no kill hit a create between its commit and its 201"
    );
    eprintln!("kill -9: {stored_unacknowledged} rows stored whose 201 never arrived (the kill hit them after the commit)");
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

    // Each answer exactly as docs/querying.md promises (limits, grammar).
    let absurd = [
        (
            format!("?$filter={}", "(".repeat(5000)),
            400,
            "longer than 4096",
        ),
        (
            format!("?$filter=displayName eq '{}'", "x".repeat(5000)),
            400,
            "longer than 4096",
        ),
        (
            format!("?{}", "$top=1&".repeat(2000)),
            400,
            "more than once",
        ),
        ("?$filter=%ZZ".to_owned(), 400, "position 1"),
        // A NUL inside a string literal is a character like any other: a valid filter that matches nothing.
        ("?$filter=displayName%20eq%20%27%00%27".to_owned(), 200, ""),
        // OData's grammar allows a sign on an integer.
        ("?$top=%2B1".to_owned(), 200, ""),
    ];
    for (q, status, fragment) in absurd {
        let res = app.get(&app.images("v1.0", &q)).await;
        if status == 400 {
            let message = assert_error(res, 400, "badRequest").await;
            assert!(message.contains(fragment), "{q}: {message}");
        } else {
            assert_eq!(res.status(), status, "{q}");
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
    // 90 headers of 100 bytes stay within what the server reads (at most 96 headers): served.
    let res = flood.send().await.unwrap();
    assert_eq!(res.status(), 200);
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
    // A 201 after recovery means stored: the row is in the file, as the answer said.
    let after = app
        .create_ok("v1.0", &body("After the quota", "1.0.0"))
        .await;
    let pool = app.db().await;
    let names: Vec<String> =
        sqlx::query_scalar("SELECT display_name FROM device_images WHERE id = ?")
            .bind(after["id"].as_str().unwrap())
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    assert_eq!(names, ["After the quota"]);
}

/// One client's writes and their answers, in order.
type Events = Vec<(bool, String, u16)>; // (create?, id, status)

/// `clients` clients creating images (ids of their own, two properties of `padding` characters) and deleting a third of what they
/// made, until `stop` is set or 20 s pass. Every answer must be a 201, 204 or 503: no transport error, nothing else.
async fn write_storm(
    app: &Arc<TestApp>,
    clients: usize,
    padding: usize,
    stop: Arc<AtomicBool>,
) -> Vec<Events> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (app, stop) = (app.clone(), stop.clone());
            tokio::spawn(async move {
                let mut events = Vec::new();
                let mut mine: Vec<String> = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    n += 1;
                    if n % 3 == 0 {
                        if let Some(id) = mine.pop() {
                            let res = app
                                .client
                                .delete(app.images("beta", &format!("/{id}")))
                                .send()
                                .await
                                .expect("no transport error");
                            let status = res.status().as_u16();
                            if status == 503 {
                                mine.push(id.clone());
                            }
                            events.push((false, id, status));
                            continue;
                        }
                    }
                    let id = uuid::Uuid::new_v4().to_string();
                    let mut image = body(&format!("Storm {c}-{n}"), "1.0.0");
                    image["id"] = json!(id);
                    if padding > 0 {
                        image["operatingSystem"] = json!("x".repeat(padding));
                        image["osVersionNumber"] = json!("y".repeat(padding));
                    }
                    let status = app.create("beta", &image).await.status().as_u16();
                    if status == 201 {
                        mine.push(id.clone());
                    }
                    events.push((true, id, status));
                }
                events
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.push(t.await.unwrap());
    }
    all
}

/// Reconciles every answer with the rows: the last answer about an id decides whether its row must be there (a 201,
/// or a refused delete) or not (a refused create, or a 204). Returns how many 503s there were.
async fn reconcile(app: &TestApp, storm: &[Events]) -> usize {
    let mut must_exist: HashMap<&str, bool> = HashMap::new();
    let mut refused = 0;
    for events in storm {
        for (create, id, status) in events {
            let exists = match (create, status) {
                (true, 201) | (false, 503) => true,
                (true, 503) | (false, 204) => false,
                (_, other) => panic!(
                    "{} of {id} answered {other}",
                    if *create { "create" } else { "delete" }
                ),
            };
            refused += usize::from(*status == 503);
            must_exist.insert(id, exists);
        }
    }
    let pool = app.db().await;
    let stored: HashSet<String> = sqlx::query_scalar("SELECT id FROM device_images")
        .fetch_all(&pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(check, "ok");
    for (id, exists) in &must_exist {
        assert_eq!(
            stored.contains(*id),
            *exists,
            "{id}: the answers and the rows disagree"
        );
    }
    assert_eq!(
        stored.len(),
        must_exist.values().filter(|e| **e).count(),
        "rows nobody was told of"
    );
    refused
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_quota_under_32_writers_answers_every_request_as_the_rows_show() {
    let app = Arc::new(
        spawn_with(|s| {
            s.max_database_mb = Some(1);
            s.journal_max = 0;
        })
        .await,
    );
    let stop = Arc::new(AtomicBool::new(false));
    let storm = {
        let (app, stop) = (app.clone(), stop.clone());
        tokio::spawn(async move { write_storm(&app, 32, 250, stop).await })
    };
    // Until the quota has refused a good number of writes (or the storm's own 20 s bound).
    let watcher = {
        let (app, stop) = (app.clone(), stop.clone());
        tokio::spawn(async move {
            let metrics = format!("{}/metrics", app.address);
            while !stop.load(Ordering::Relaxed) {
                let text = app.get(&metrics).await.text().await.unwrap();
                let refused: u64 = text
                    .lines()
                    .filter(|l| {
                        l.starts_with("cloudpc_requests_total") && l.contains("status=\"503\"")
                    })
                    .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
                    .sum();
                if refused >= 200 {
                    stop.store(true, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let storm = storm.await.unwrap();
    stop.store(true, Ordering::Relaxed);
    watcher.await.unwrap();
    let refused = reconcile(&app, &storm).await;
    assert!(refused >= 1, "the quota never refused a write");
    assert!(
        storm
            .iter()
            .flatten()
            .any(|(create, _, s)| *create && *s == 201),
        "nothing was stored"
    );
    // Space freed, writes stored again.
    let stored: Vec<String> = {
        let pool = app.db().await;
        let ids = sqlx::query_scalar("SELECT id FROM device_images LIMIT 100")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        ids
    };
    for id in &stored {
        let res = app
            .client
            .delete(app.images("beta", &format!("/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
    }
    let after = app
        .create_ok("beta", &body("After the storm", "1.0.0"))
        .await;
    let url = app.images("beta", &format!("/{}", after["id"].as_str().unwrap()));
    assert_eq!(app.get(&url).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_file_under_32_writers_answers_every_request_as_the_rows_show() {
    let app = Arc::new(spawn_with(|s| s.journal_max = 0).await);
    if !immutable(&app.db_path, true) {
        immutable(&app.db_path, false);
        cannot_run("chattr +i needs root and a file system that supports it");
        return;
    }
    immutable(&app.db_path, false);
    let stop = Arc::new(AtomicBool::new(false));
    let storm = {
        let (app, stop) = (app.clone(), stop.clone());
        tokio::spawn(async move { write_storm(&app, 32, 0, stop).await })
    };
    // Writes flow, then the file turns read-only under them for a while, then writable again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(immutable(&app.db_path, true), "chattr +i");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(immutable(&app.db_path, false), "chattr -i");
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let storm = storm.await.unwrap();
    let refused = reconcile(&app, &storm).await;
    assert!(refused >= 1, "the read-only file refused no write");
    // Some writes after the file became writable again were stored: the last answer of each client is a success.
    assert!(
        storm
            .iter()
            .filter_map(|e| e.last())
            .any(|(_, _, s)| *s != 503),
        "no write succeeded after recovery"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_answers_every_request_held_in_flight_and_empties_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("term.db");
    let (mut child, url) = start_on(&db);
    let client = reqwest::Client::new();
    // Every create waits 2 s in a latency rule before it runs; the rule expires after firing for all 16.
    let rule: Value = client
        .post(format!("{url}/_emulator/faults"))
        .json(&json!({"action": "latency", "latencyMs": 2000, "method": "POST", "count": 16}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rule_url = format!("{url}/_emulator/faults/{}", rule["id"]);
    let requests: Vec<_> = (0..16)
        .map(|n| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let id = uuid::Uuid::new_v4().to_string();
                let mut image = body(&format!("Held {n}"), "1.0.0");
                image["id"] = json!(id);
                let res = client
                    .post(format!("{url}/v1.0/{COLLECTION}"))
                    .json(&image)
                    .send()
                    .await
                    .expect("an answer, not a transport error");
                (id, res.status().as_u16())
            })
        })
        .collect();
    // All 16 are held once the rule has fired 16 times (and so expired): an event, not a guess.
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.get(&rule_url).send().await.unwrap().status() != 404 {
        assert!(Instant::now() < deadline, "the requests never all arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    signal(&child, "-TERM");
    let mut answered = Vec::new();
    for r in requests {
        answered.push(
            tokio::time::timeout(Duration::from_secs(30), r)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    let status = wait_for_exit(&mut child, Duration::from_secs(30));
    assert!(status.success(), "exit {status}");
    assert!(answered.iter().all(|(_, s)| *s == 201), "{answered:?}");
    let wal = dir.path().join("term.db-wal");
    assert!(
        std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
        "the WAL is checkpointed away at exit"
    );
    let (stored, check) = stored_ids(&db).await;
    assert_eq!(check, "ok");
    for (id, _) in &answered {
        assert!(
            stored.contains(id),
            "{id} was answered 201 but is not stored"
        );
    }
}
