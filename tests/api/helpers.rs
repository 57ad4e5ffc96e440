//! Shared helpers: start an app, build requests, read the database.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use cloudpc_emulator::clock::Clock;
use cloudpc_emulator::config::{AuthMode, Settings};
use cloudpc_emulator::http::Application;
use serde_json::{json, Value};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{Column, Row};
use tempfile::TempDir;

pub const SUB: &str = "0ac520ee-14c0-480f-b6c9-0a90c58ffff0";
pub const COLLECTION: &str = "deviceManagement/virtualEndpoint/deviceImages";

/// A managed-image source id.
pub fn source(image: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/images/{image}"
    )
}

/// The minimal body the SDKs send (docs/fidelity.md#methods-and-permissions).
pub fn body(name: &str, version: &str) -> Value {
    json!({ "displayName": name, "version": version, "sourceImageResourceId": source("win11-24h2") })
}

/// A JWT naming a tenant, signed with a key nobody checks: `none` and `bearer` modes read its `tid` without
/// verifying it.
pub fn tenant_token(tid: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"tid": tid, "aud": "https://graph.microsoft.com", "exp": 4_000_000_000i64}),
        &jsonwebtoken::EncodingKey::from_secret(b"unverified"),
    )
    .unwrap()
}

/// A running app with its own database folder.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db_path: PathBuf,
    pub dir: TempDir,
    /// The emulator's clock: lifecycle tests move it instead of sleeping.
    pub clock: Arc<Clock>,
    handle: ServerHandle,
    task: tokio::task::JoinHandle<()>,
}

/// Starts an app on a fresh database with auth off.
pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

/// Starts an app on a fresh database, letting the test adjust the settings.
pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    spawn_in(dir, adjust).await
}

/// Starts an app on the database in `dir` (which may already hold one: a restart).
pub async fn spawn_in(dir: TempDir, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let db_path = dir.path().join("emulator.db");
    let mut settings = Settings::for_tests(db_path.to_str().unwrap());
    settings.auth = AuthMode::None;
    adjust(&mut settings);
    let app = Application::build(settings).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let clock = app.clock();
    let task = tokio::spawn(async move {
        app.run_until_stopped().await.expect("app runs");
    });
    TestApp {
        address,
        client: reqwest::Client::new(),
        db_path,
        dir,
        clock,
        handle,
        task,
    }
}

impl TestApp {
    /// `{address}/_emulator{path}`: a control-plane URL.
    pub fn control(&self, path: &str) -> String {
        format!("{}/_emulator{path}", self.address)
    }

    /// POSTs JSON to the control plane; the caller asserts what it expects.
    pub async fn post_control(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.control(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// POSTs `{"requests": requests}` to `/{ver}/$batch`; the caller asserts what it expects.
    pub async fn batch(&self, ver: &str, requests: Value) -> reqwest::Response {
        self.client
            .post(format!("{}/{ver}/$batch", self.address))
            .json(&json!({ "requests": requests }))
            .send()
            .await
            .expect("request sent")
    }

    /// A batch's item responses (the batch itself answered 200).
    pub async fn batch_responses(&self, ver: &str, requests: Value) -> Vec<Value> {
        let res = self.batch(ver, requests).await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        body["responses"].as_array().unwrap().clone()
    }

    /// Moves the emulator's clock forward through the control plane (uploads that fall due complete); its answer.
    pub async fn advance_clock(&self, seconds: i64) -> Value {
        let res = self
            .post_control("/clock", &json!({ "advanceSeconds": seconds }))
            .await;
        assert_eq!(res.status(), 200, "the clock moves");
        res.json().await.unwrap()
    }

    /// Adds a fault rule; returns it as stored.
    pub async fn add_fault(&self, rule: &Value) -> Value {
        let res = self.post_control("/faults", rule).await;
        assert_eq!(res.status(), 201, "the rule is added: {rule}");
        res.json().await.unwrap()
    }

    /// Puts a source catalog entry (`resource_id` is the path); the caller asserts the status.
    pub async fn put_source_image(&self, resource_id: &str, entry: &Value) -> reqwest::Response {
        self.client
            .put(self.control(&format!("/source-images{resource_id}")))
            .json(entry)
            .send()
            .await
            .expect("request sent")
    }

    /// `{address}/{ver}/deviceManagement/virtualEndpoint/deviceImages{rest}`.
    pub fn images(&self, ver: &str, rest: &str) -> String {
        format!("{}/{ver}/{COLLECTION}{rest}", self.address)
    }

    pub async fn create(&self, ver: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.images(ver, ""))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Creates with `Prefer: include-unknown-enum-members`, so evolvable members may be sent.
    pub async fn create_preferring(&self, ver: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.images(ver, ""))
            .header("Prefer", "include-unknown-enum-members")
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Follows `@odata.nextLink` from `first` to the end; returns the ids in order and the number of pages.
    pub async fn walk(&self, first: &str) -> (Vec<String>, usize) {
        let (mut ids, mut pages, mut url) = (Vec::new(), 0, first.to_owned());
        loop {
            let res = self.get(&url).await;
            assert_eq!(res.status(), 200, "{url}");
            let page: Value = res.json().await.unwrap();
            pages += 1;
            let items = page["value"].as_array().unwrap();
            ids.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
            match page["@odata.nextLink"].as_str() {
                Some(next) => url = next.to_owned(),
                None => return (ids, pages),
            }
        }
    }

    /// Creates and returns the 201's JSON.
    pub async fn create_ok(&self, ver: &str, body: &Value) -> Value {
        let res = self.create(ver, body).await;
        assert_eq!(
            res.status(),
            201,
            "create failed: {}",
            res.text().await.unwrap()
        );
        res.json().await.unwrap()
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.client.get(url).send().await.expect("request sent")
    }

    /// GET and parse the body as JSON, whatever the status (the caller asserts what it expects).
    pub async fn get_json(&self, url: &str) -> Value {
        self.get(url).await.json().await.expect("a JSON body")
    }

    /// The paths of the journal's entries, newest first (`?limit=100` and other filters in `query`).
    pub async fn journal_paths(&self, query: &str) -> Vec<String> {
        let journal = self
            .get_json(&format!("{}/_emulator/requests{query}", self.address))
            .await;
        journal["value"]
            .as_array()
            .expect("a journal page")
            .iter()
            .map(|e| e["path"].as_str().expect("a path").to_owned())
            .collect()
    }

    /// A read-only pool on the emulator's file, as a CI suite would open it.
    pub async fn db(&self) -> SqlitePool {
        open_read_only(&self.db_path).await
    }

    /// A read-only pool on the request journal's file (`<database>-requests`), as a CI suite would open it.
    pub async fn requests_db(&self) -> SqlitePool {
        open_read_only(&requests_path(&self.db_path)).await
    }

    /// How many rows `device_images` holds.
    pub async fn image_rows(&self) -> i64 {
        let pool = self.db().await;
        let n = sqlx::query_scalar("SELECT count(*) FROM device_images")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    }

    /// Stops the server gracefully (as SIGTERM does), waits for the database to close, and hands back the folder.
    pub async fn stop(self) -> TempDir {
        self.handle.stop(true).await;
        self.task.await.expect("server task");
        self.dir
    }
}

/// Where the journal of the database at `database` is stored.
pub fn requests_path(database: &Path) -> std::path::PathBuf {
    let mut path = database.as_os_str().to_owned();
    path.push("-requests");
    path.into()
}

pub async fn open_read_only(path: &Path) -> SqlitePool {
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(path).read_only(true))
        .await
        .expect("database opens read-only")
}

/// A writable pool on a stopped emulator's file, for tests that plant state an earlier version could have left.
pub async fn open_writable(path: &Path) -> SqlitePool {
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(path))
        .await
        .expect("database opens")
}

/// Asserts a Graph error envelope with this status and code; returns the message.
pub async fn assert_error(res: reqwest::Response, status: u16, code: &str) -> String {
    assert_eq!(res.status(), status);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/json");
    let request_id = res.headers()["request-id"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.expect("the error body is JSON");
    let error = &body["error"];
    assert_eq!(error["code"], code, "{body}");
    assert_eq!(error["innerError"]["request-id"], request_id.as_str());
    assert!(error["innerError"]["client-request-id"].is_string());
    let date = error["innerError"]["date"].as_str().unwrap();
    assert!(
        chrono::NaiveDateTime::parse_from_str(date, "%Y-%m-%dT%H:%M:%S").is_ok(),
        "{date}"
    );
    error["message"].as_str().unwrap().to_owned()
}

/// A test that cannot set up its scenario here (no root, a file system without a feature): a failure where
/// `EMULATOR_TESTS_STRICT` or `CI` is set (`.ci/run` sets the first), else a line on standard error that says what was
/// not tested. Returns so that the caller can `return`.
pub fn cannot_run(reason: &str) {
    let strict = ["EMULATOR_TESTS_STRICT", "CI"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
    assert!(!strict, "this test could not run its scenario: {reason}");
    eprintln!("SKIPPED (EMULATOR_TESTS_STRICT=1 makes this a failure): {reason}");
}

/// The binary the process tests run: `EMULATOR_BIN` when set (`.ci/run` points it at the release build it has just
/// made, so the crash tests run what users run), else the one `cargo test` built.
pub fn bin() -> PathBuf {
    std::env::var_os("EMULATOR_BIN")
        .filter(|v| !v.is_empty())
        .map_or_else(
            || PathBuf::from(env!("CARGO_BIN_EXE_cloudpc-emulator")),
            PathBuf::from,
        )
}

/// Starts the binary and waits (at most 30 s) for its one line on standard output; returns the child and the base URL.
/// A binary that never prints it is killed and the test fails, rather than hanging.
pub fn start(args: &[&str], envs: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(bin())
        .args(args)
        .envs(envs.iter().copied())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = match rx.recv_timeout(std::time::Duration::from_secs(30)) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the binary printed no line within 30 s: {args:?}");
        }
    };
    let url = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, url)
}

/// Waits at most `within` for the child to exit; a child still running then is killed and the test fails.
pub fn wait_for_exit(child: &mut Child, within: std::time::Duration) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the binary did not exit within {within:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Runs a command that must end by itself (a refused start, a subcommand) and collects its output; one that still
/// runs after 30 s (a start that should have failed but serves) is killed and the test fails.
pub fn output_within_30s(command: &mut Command) -> std::process::Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    wait_for_exit(&mut child, std::time::Duration::from_secs(30));
    child.wait_with_output().expect("its output")
}

/// Sends `sig` (e.g. `-TERM`) to the child.
pub fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

/// Every row of every table but the migration history, as text.
pub async fn dump(path: &Path) -> BTreeMap<String, Vec<Vec<String>>> {
    let pool = open_read_only(path).await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'refinery_schema_history' ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut out = BTreeMap::new();
    for table in tables {
        let rows = sqlx::query(&format!("SELECT * FROM \"{table}\" ORDER BY 1"))
            .fetch_all(&pool)
            .await
            .unwrap();
        let rows = rows
            .iter()
            .map(|r| {
                (0..r.columns().len())
                    .map(|i| {
                        // Each database draws its own token secret; a reset keeps it (minted tokens stay valid).
                        if r.columns()[i].name() == "jwt_secret" {
                            return "<secret>".to_owned();
                        }
                        r.try_get::<Option<String>, _>(i)
                            .ok()
                            .flatten()
                            .or_else(|| {
                                r.try_get::<Option<i64>, _>(i)
                                    .ok()
                                    .flatten()
                                    .map(|n| n.to_string())
                            })
                            .or_else(|| {
                                r.try_get::<Option<f64>, _>(i)
                                    .ok()
                                    .flatten()
                                    .map(|n| n.to_string())
                            })
                            .unwrap_or_else(|| "NULL".into())
                    })
                    .collect()
            })
            .collect();
        out.insert(table, rows);
    }
    pool.close().await;
    out
}
