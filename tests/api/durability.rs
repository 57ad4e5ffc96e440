//! Durability: what was acknowledged survives a restart, and the WAL stays bounded under sustained writes.

use cloudpc_emulator::config::Synchronous;
use serde_json::Value;

use crate::helpers::{body, spawn_in, spawn_with};

#[tokio::test]
async fn a_restart_on_the_same_file_serves_the_same_json() {
    let app = spawn_with(|_| {}).await;
    let created = app.create_ok("beta", &body("Survivor", "1.0.0")).await;
    let url_path = format!("/{}", created["id"].as_str().unwrap());
    let before: Value = app.get_json(&app.images("beta", &url_path)).await;
    let dir = app.stop().await;
    // A graceful stop checkpoints the WAL into the main file.
    let wal = dir.path().join("emulator.db-wal");
    assert!(!wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0);

    let app = spawn_in(dir, |_| {}).await;
    let after_res = app.get(&app.images("beta", &url_path)).await;
    assert_eq!(after_res.status(), 200);
    let after: Value = after_res.json().await.unwrap();
    let base_before = before["@odata.context"]
        .as_str()
        .unwrap()
        .split("/beta/")
        .nth(1)
        .unwrap()
        .to_owned();
    let base_after = after["@odata.context"]
        .as_str()
        .unwrap()
        .split("/beta/")
        .nth(1)
        .unwrap()
        .to_owned();
    assert_eq!(base_before, base_after);
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("@odata.context");
        v
    };
    assert_eq!(strip(after), strip(before));
    // Uniqueness survives too.
    assert_eq!(
        app.create("beta", &body("SURVIVOR", "1.0.0"))
            .await
            .status(),
        409
    );
}

#[tokio::test]
async fn the_wal_stays_bounded_under_sustained_writes() {
    let app = spawn_with(|s| s.synchronous = Synchronous::Normal).await;
    let wal = app.db_path.with_extension("db-wal");
    let mut largest = 0;
    for round in 0..30 {
        let bodies: Vec<Value> = (0..100)
            .map(|i| body(&format!("Wal {round}-{i}"), "1.0.0"))
            .collect();
        for res in
            futures_util::future::join_all(bodies.iter().map(|b| app.create("v1.0", b))).await
        {
            assert_eq!(res.status(), 201);
        }
        largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
    }
    assert_eq!(app.image_rows().await, 3000);
    assert!(largest > 0, "the database runs in WAL mode");
    // SQLite's auto-checkpoint resets the WAL every ~1000 pages (4 MB); an unbounded WAL would be ~45 MB by now.
    assert!(largest < 12 * 1024 * 1024, "WAL grew to {largest} bytes");
}

#[tokio::test]
async fn an_in_memory_store_works_and_keeps_its_data_while_running() {
    let app = spawn_with(|s| s.database = ":memory:".into()).await;
    let created = app.create_ok("v1.0", &body("Ephemeral", "1.0.0")).await;
    let res = app
        .get(&app.images("v1.0", &format!("/{}", created["id"].as_str().unwrap())))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.create("v1.0", &body("ephemeral", "1.0.0"))
            .await
            .status(),
        409
    );
    // No file was written.
    assert!(!app.db_path.exists());
}
