//! The binary as users run it: the `listening on` line, flags from the environment, the healthcheck subcommand and
//! graceful shutdown on SIGTERM (CONTRACT §2).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::helpers::{body, open_read_only, COLLECTION};

const BIN: &str = env!("CARGO_BIN_EXE_cloudpc-emulator");

/// Starts the binary and waits for its one line on standard output; returns the child and the base URL.
fn start(args: &[&str], envs: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .envs(envs.iter().copied())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, url)
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

#[tokio::test]
async fn the_binary_announces_its_address_serves_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nested/folder/emulator.db");
    let (mut child, url) = start(
        &[],
        &[
            ("EMULATOR_LISTEN", "127.0.0.1:0"),
            ("EMULATOR_DATABASE", db.to_str().unwrap()),
            ("EMULATOR_AUTH", "none"),
        ],
    );
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(!url.ends_with(":0"));
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{url}/v1.0/{COLLECTION}"))
        .json(&body("Binary", "1.0.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let health = Command::new(BIN)
        .args(["healthcheck", "--url", &format!("{url}/_emulator/health")])
        .status()
        .unwrap();
    assert!(health.success());

    signal(&child, "-TERM");
    let status = child.wait().unwrap();
    assert!(status.success(), "exit {status}");
    let wal = db.with_extension("db-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "WAL checkpointed"
    );
    let pool = open_read_only(&db).await;
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM device_images")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(ids, [id]);

    // Nobody listens now: the healthcheck fails.
    let health = Command::new(BIN)
        .args(["healthcheck", "--url", &format!("{url}/_emulator/health")])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!health.success());
}

#[tokio::test]
async fn flags_work_and_an_in_memory_database_needs_no_file() {
    let (mut child, url) = start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--database",
            ":memory:",
            "--auth",
            "bearer",
            "--page-size",
            "2",
        ],
        &[],
    );
    let client = reqwest::Client::new();
    let res = client
        .get(format!("{url}/v1.0/{COLLECTION}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    for i in 0..3 {
        let res = client
            .post(format!("{url}/v1.0/{COLLECTION}"))
            .bearer_auth("token")
            .json(&body(&format!("Mem {i}"), "1.0.0"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    let page: Value = client
        .get(format!("{url}/v1.0/{COLLECTION}"))
        .bearer_auth("t")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["value"].as_array().unwrap().len(), 2);
    assert!(page["@odata.nextLink"].is_string());
    signal(&child, "-INT");
    assert!(child.wait().unwrap().success());
}

#[test]
fn bad_flags_and_unusable_databases_exit_non_zero() {
    let out = Command::new(BIN)
        .args(["--page-size", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = Command::new(BIN)
        .args(["--auth", "maybe"])
        .output()
        .unwrap();
    assert!(!out.status.success());

    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x42u8; 8192]).unwrap();
    let out = Command::new(BIN)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--database",
            garbage.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot start"));
    assert_eq!(
        std::fs::read(&garbage).unwrap(),
        vec![0x42u8; 8192],
        "the file is left as it was"
    );
}
