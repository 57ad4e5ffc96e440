//! The binary as users run it: the `listening on` line, flags from the environment, the healthcheck subcommand and
//! graceful shutdown on SIGTERM (docs/running.md).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{
    bin, body, open_read_only, output_within_30s, requests_path, signal, start, wait_for_exit,
    COLLECTION,
};

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

    let health = Command::new(bin())
        .args(["healthcheck", "--url", &format!("{url}/_emulator/health")])
        .status()
        .unwrap();
    assert!(health.success());

    signal(&child, "-TERM");
    let status = wait_for_exit(&mut child, Duration::from_secs(30));
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
    let health = Command::new(bin())
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
    assert!(wait_for_exit(&mut child, Duration::from_secs(30)).success());
}

#[test]
fn bad_flags_and_unusable_databases_exit_non_zero() {
    let out = output_within_30s(Command::new(bin()).args(["--page-size", "0"]));
    assert!(!out.status.success());
    let out = output_within_30s(Command::new(bin()).args(["--auth", "maybe"]));
    assert!(!out.status.success());

    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x42u8; 8192]).unwrap();
    let out = output_within_30s(Command::new(bin()).args([
        "--listen",
        "127.0.0.1:0",
        "--database",
        garbage.to_str().unwrap(),
    ]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot start"));
    assert_eq!(
        std::fs::read(&garbage).unwrap(),
        vec![0x42u8; 8192],
        "the file is left as it was"
    );
}

#[tokio::test]
async fn the_token_subcommand_mints_what_jwt_mode_accepts_and_tokens_reach_neither_logs_nor_journal(
) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("emulator.db");
    let db_arg = db.to_str().unwrap();
    let stderr_path = dir.path().join("stderr.log");
    let mut child = Command::new(bin())
        .args([
            "--listen",
            "127.0.0.1:0",
            "--database",
            db_arg,
            "--auth",
            "jwt",
        ])
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();

    // Signed with the secret stored in the running emulator's database.
    let out = output_within_30s(Command::new(bin()).args([
        "--database",
        db_arg,
        "token",
        "--tenant",
        "contoso",
        "--roles",
        "CloudPC.ReadWrite.All",
    ]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(token.split('.').count(), 3);
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{url}/beta/{COLLECTION}"))
        .bearer_auth(&token)
        .json(&body("Tokened", "1.0.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = client
        .get(format!("{url}/beta/{COLLECTION}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // A token from another secret is refused.
    let other = output_within_30s(Command::new(bin()).args(["--jwt-secret", "other", "token"]));
    let other = String::from_utf8(other.stdout).unwrap().trim().to_owned();
    let res = client
        .get(format!("{url}/beta/{COLLECTION}"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let journal: Value = client
        .get(format!("{url}/_emulator/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(journal["value"].as_array().unwrap().len(), 3);

    signal(&child, "-TERM");
    assert!(wait_for_exit(&mut child, Duration::from_secs(30)).success());
    let logs = std::fs::read_to_string(&stderr_path).unwrap();
    assert!(logs.contains("request"), "the requests were logged");
    let pool = open_read_only(&requests_path(&db)).await;
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT request_headers || coalesce(request_body, '') || coalesce(response_body, '') || path || query \
         FROM request_journal",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for secret in [&token, &other] {
        let signature = secret.rsplit('.').next().unwrap();
        assert!(!logs.contains(signature), "a token reached the logs");
        assert!(
            rows.iter().all(|r| !r.contains(signature)),
            "a token reached the journal"
        );
    }
    let pool = open_read_only(&db).await;
    let tenant: String = sqlx::query_scalar("SELECT tenant_id FROM device_images")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(tenant, "contoso");
}

#[tokio::test]
async fn a_self_signed_certificate_serves_https_that_clients_can_trust() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("emulator.db");
    let (mut child, url) = start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--database",
            db.to_str().unwrap(),
            "--tls-self-signed",
            "--tls-san",
            "emulator",
        ],
        &[],
    );
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let cert = dir.path().join("tls-self-signed.pem");
    assert!(cert.exists());
    let names = std::fs::read_to_string(dir.path().join("tls-self-signed.names")).unwrap();
    assert_eq!(
        names.lines().take(4).collect::<Vec<_>>(),
        ["localhost", "127.0.0.1", "::1", "emulator"]
    );
    assert!(
        names.lines().nth(4).unwrap().starts_with("not-after: "),
        "{names}"
    );
    // The certificate itself (not only the record) ends within two years, read by an independent parser.
    match output_within_30s(Command::new("openssl").args([
        "x509",
        "-noout",
        "-enddate",
        "-in",
        cert.to_str().unwrap(),
    ])) {
        out if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let date = text
                .trim()
                .trim_start_matches("notAfter=")
                .replace("  ", " ");
            let end = chrono::NaiveDateTime::parse_from_str(&date, "%b %d %H:%M:%S %Y GMT")
                .unwrap_or_else(|e| panic!("{text}: {e}"));
            let days = (end - chrono::Utc::now().naive_utc()).num_days();
            assert!((300..=730).contains(&days), "valid for {days} days");
        }
        out => panic!("openssl x509 failed: {out:?}"),
    }

    // A client that trusts only the generated certificate, for both localhost and 127.0.0.1.
    let port = url.rsplit(':').next().unwrap().to_owned();
    for host in ["localhost", "127.0.0.1"] {
        let status = https_get(&cert, host, &port, "/_emulator/health");
        assert_eq!(status, "200", "{host}");
    }
    let health = Command::new(bin())
        .args(["healthcheck", "--url", &format!("{url}/_emulator/health")])
        .status()
        .unwrap();
    assert!(health.success());
    signal(&child, "-TERM");
    assert!(wait_for_exit(&mut child, Duration::from_secs(30)).success());

    // A restart keeps the certificate clients already trust.
    let before = std::fs::read(&cert).unwrap();
    let (mut child, _) = start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--database",
            db.to_str().unwrap(),
            "--tls-self-signed",
            "--tls-san",
            "emulator",
        ],
        &[],
    );
    signal(&child, "-TERM");
    assert!(wait_for_exit(&mut child, Duration::from_secs(30)).success());
    assert_eq!(std::fs::read(&cert).unwrap(), before);

    // A certificate of one's own: --tls-cert and --tls-key.
    let key = dir.path().join("tls-self-signed.key");
    let (mut child, url) = start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--database",
            ":memory:",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        &[],
    );
    assert!(url.starts_with("https://"), "{url}");
    let port = url.rsplit(':').next().unwrap().to_owned();
    assert_eq!(
        https_get(&cert, "localhost", &port, "/_emulator/health"),
        "200"
    );
    signal(&child, "-TERM");
    assert!(wait_for_exit(&mut child, Duration::from_secs(30)).success());
}

/// GET over TLS with only `ca` trusted; returns the status code.
fn https_get(ca: &std::path::Path, host: &str, port: &str, path: &str) -> String {
    use std::io::{Read, Write};
    use std::sync::Arc;
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(ca).unwrap();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host.to_owned()).unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut sock = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    write!(
        tls,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    let _ = tls.read_to_end(&mut response);
    String::from_utf8_lossy(&response)
        .split_whitespace()
        .nth(1)
        .unwrap_or("none")
        .to_owned()
}
