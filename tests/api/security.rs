//! The emulator as an attacker meets it (issue 15): a web page in the developer's browser (DNS rebinding, cross-site
//! forms), a neighbour on the network, another tenant, hostile inputs. Each test shows the attack refused and nothing
//! changed, and that the emulator keeps serving afterwards.

use std::path::Path;
use std::time::Duration;

use cloudpc_emulator::config::AuthMode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

async fn snapshot(app: &TestApp, body: Value) -> reqwest::Response {
    app.client
        .post(app.control("/snapshot"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn port(app: &TestApp) -> u16 {
    app.address.rsplit(':').next().unwrap().parse().unwrap()
}

/// What `emulator_state.jwt_secret` holds (earlier versions kept the signing secret there).
async fn secret_column(app: &TestApp) -> String {
    let pool = app.db().await;
    let column = sqlx::query_scalar("SELECT jwt_secret FROM emulator_state")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    column
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn a_rebinding_host_is_refused_on_every_route_family() {
    let app = spawn_with(|s| s.allowed_hosts = vec!["emulator".into()]).await;
    let created = app.create_ok("v1.0", &body("Kept", "1.0.0")).await;
    let id = created["id"].as_str().unwrap();
    let requests: Vec<(reqwest::Method, String, Option<Value>)> = vec![
        (reqwest::Method::GET, app.images("v1.0", ""), None),
        (
            reqwest::Method::GET,
            app.images("beta", &format!("/{id}")),
            None,
        ),
        (
            reqwest::Method::DELETE,
            app.images("beta", &format!("/{id}")),
            None,
        ),
        (
            reqwest::Method::POST,
            app.images("beta", ""),
            Some(body("Rebound", "1.0.0")),
        ),
        (
            reqwest::Method::POST,
            format!("{}/v1.0/$batch", app.address),
            Some(
                json!({"requests": [{"id": "1", "method": "GET", "url": format!("/{COLLECTION}")}]}),
            ),
        ),
        (reqwest::Method::GET, app.control("/state"), None),
        (
            reqwest::Method::POST,
            app.control("/token"),
            Some(json!({})),
        ),
        (reqwest::Method::POST, app.control("/reset"), None),
        (
            reqwest::Method::POST,
            app.control("/snapshot"),
            Some(json!({"name": "stolen"})),
        ),
        (reqwest::Method::GET, app.control("/ui"), None),
        (reqwest::Method::GET, app.control("/health"), None),
        (
            reqwest::Method::GET,
            format!("{}/metrics", app.address),
            None,
        ),
    ];
    for host in [
        format!("attacker.example:{}", port(&app)),
        "localhost.attacker.example".to_owned(),
        "emulator.attacker.example".to_owned(),
        "192.168.1.20".to_owned(),
    ] {
        for (method, url, json) in &requests {
            let mut req = app
                .client
                .request(method.clone(), url)
                .header("host", host.as_str());
            if let Some(json) = json {
                req = req.json(json);
            }
            let res = req.send().await.unwrap();
            let message = assert_error(res, 421, "MisdirectedRequest").await;
            assert!(message.contains("--allowed-host"), "{message}");
        }
    }
    // Nothing ran: the image is there, nothing was created, no snapshot, no journal entry of a refused request.
    assert_eq!(app.image_rows().await, 1);
    assert!(!app.dir.path().join("snapshots").exists());
    let journal = app.journal_paths("?limit=100").await;
    assert_eq!(
        journal.len(),
        1,
        "only the create is journaled: {journal:?}"
    );

    // Loopback names, the listed host and the address it listens on are served, and the URLs it emits are on the
    // host that was asked for.
    for (host, base) in [
        (
            format!("localhost:{}", port(&app)),
            format!("http://localhost:{}", port(&app)),
        ),
        (
            format!("app.localhost:{}", port(&app)),
            format!("http://app.localhost:{}", port(&app)),
        ),
        (
            format!("emulator:{}", port(&app)),
            format!("http://emulator:{}", port(&app)),
        ),
        (format!("127.0.0.1:{}", port(&app)), app.address.clone()),
    ] {
        let res = app
            .client
            .get(app.images("v1.0", ""))
            .header("host", host.as_str())
            // Without --trust-forwarded these are ignored.
            .header("x-forwarded-host", "attacker.example")
            .header("x-forwarded-proto", "https")
            .header("forwarded", "host=attacker.example;proto=https")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{host}");
        let page: Value = res.json().await.unwrap();
        assert_eq!(
            page["@odata.context"],
            format!("{base}/v1.0/$metadata#deviceManagement/virtualEndpoint/deviceImages"),
            "{host}"
        );
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_host_is_checked_and_used() {
    let app = spawn_with(|s| {
        s.trust_forwarded = true;
        s.allowed_hosts = vec!["emulator.example".into()];
    })
    .await;
    let res = app
        .client
        .post(app.images("beta", ""))
        .header("x-forwarded-host", "emulator.example")
        .header("x-forwarded-proto", "https")
        .json(&body("Proxied", "1.0.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("https://emulator.example/beta/deviceManagement/"),
        "{location}"
    );
    let res = app
        .client
        .get(app.images("beta", ""))
        .header("x-forwarded-host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_error(res, 421, "MisdirectedRequest").await;
}

#[tokio::test]
async fn snapshots_are_written_by_name_into_their_folder_only() {
    let app = spawn_app().await;
    app.create_ok("v1.0", &body("Snapped", "1.0.0")).await;
    let snapshots = app.dir.path().join("snapshots");
    let outside = tempfile::tempdir().unwrap();
    let absolute = outside.path().join("abs.db");
    let res = snapshot(&app, json!({"name": "nightly"})).await;
    assert_eq!(res.status(), 201);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["name"], "nightly.db");
    assert!(
        answer.get("path").is_none(),
        "no absolute path in the answer"
    );
    let file = snapshots.join("nightly.db");
    assert_eq!(
        std::fs::metadata(&file).unwrap().len(),
        answer["bytes"].as_u64().unwrap()
    );
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);

    // A symlink planted in the folder is never followed, even a dangling one.
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        outside.path().join("via-link.db"),
        snapshots.join("link.db"),
    )
    .unwrap();
    #[cfg(unix)]
    assert_error(
        snapshot(&app, json!({"name": "link"})).await,
        409,
        "conflict",
    )
    .await;
    // Never over an existing snapshot.
    assert_error(
        snapshot(&app, json!({"name": "nightly.db"})).await,
        409,
        "conflict",
    )
    .await;
    let long = "x".repeat(101);
    for name in [
        json!("../escape"),
        json!(".."),
        json!(".hidden"),
        json!(absolute.to_str().unwrap()),
        json!("a/b"),
        json!("a\\b"),
        json!("nul\u{0}byte"),
        json!("spaced name"),
        json!(""),
        json!(long),
        json!(7),
        json!(null),
    ] {
        let res = snapshot(&app, json!({ "name": name })).await;
        assert_error(res, 400, "badRequest").await;
    }
    // The old way, a path, is refused with what to send instead.
    let message = assert_error(
        snapshot(&app, json!({"path": absolute.to_str().unwrap()})).await,
        400,
        "badRequest",
    )
    .await;
    assert!(message.contains("name"), "{message}");
    let mut listed: Vec<String> = std::fs::read_dir(&snapshots)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    listed.sort();
    assert_eq!(listed, ["link.db", "nightly.db"]);
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        0,
        "nothing was written outside the folder"
    );
    assert!(!app.dir.path().join("escape.db").exists());
}

#[tokio::test]
async fn the_signing_secret_and_the_database_are_private_and_not_in_snapshots() {
    let app = spawn_with(|s| s.auth = AuthMode::Jwt).await;
    let secret_file = app.dir.path().join("emulator.db.jwt-secret");
    let secret = std::fs::read_to_string(&secret_file).unwrap();
    assert_eq!(secret.trim().len(), 64);
    #[cfg(unix)]
    for file in [
        &secret_file,
        &app.db_path,
        &app.dir.path().join("emulator.db-wal"),
    ] {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    assert_eq!(
        secret_column(&app).await,
        "",
        "the database does not hold the secret"
    );
    // A minted token is signed with it and accepted.
    let minted: Value = app
        .client
        .post(app.control("/token"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = minted["accessToken"].as_str().unwrap().to_owned();
    let res = app
        .client
        .get(app.images("beta", ""))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let res = snapshot(&app, json!({"name": "copy"})).await;
    assert_eq!(res.status(), 201);
    let snapshot = std::fs::read(app.dir.path().join("snapshots/copy.db")).unwrap();
    assert!(
        !snapshot
            .windows(secret.trim().len())
            .any(|w| w == secret.trim().as_bytes()),
        "the snapshot holds the secret"
    );
    let state = app.get(&app.control("/state")).await.text().await.unwrap();
    assert!(!state.contains(secret.trim()));

    // A restart keeps the secret, so the token stays valid.
    let dir = app.stop().await;
    let app = spawn_in(dir, |s| s.auth = AuthMode::Jwt).await;
    let res = app
        .client
        .get(app.images("beta", ""))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[cfg(unix)]
#[tokio::test]
async fn a_database_an_earlier_version_left_readable_is_made_private() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app().await;
    let dir = app.stop().await;
    let db = dir.path().join("emulator.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let app = spawn_in(dir, |_| {}).await;
    assert_eq!(mode(&app.db_path), 0o600);
    assert_eq!(mode(&app.dir.path().join("emulator.db-wal")), 0o600);
}

#[tokio::test]
async fn a_secret_in_an_older_database_moves_to_its_file_and_tokens_stay_valid() {
    let app = spawn_app().await;
    let dir = app.stop().await;
    let db = dir.path().join("emulator.db");
    std::fs::remove_file(dir.path().join("emulator.db.jwt-secret")).unwrap();
    // As earlier versions stored it.
    let pool = open_writable(&db).await;
    sqlx::query("UPDATE emulator_state SET jwt_secret = 'old-secret'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let app = spawn_in(dir, |s| s.auth = AuthMode::Jwt).await;
    assert_eq!(
        std::fs::read_to_string(app.dir.path().join("emulator.db.jwt-secret")).unwrap(),
        "old-secret"
    );
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"aud": "https://graph.microsoft.com", "exp": 4_000_000_000i64, "tid": "contoso",
                "scp": "CloudPC.Read.All"}),
        &jsonwebtoken::EncodingKey::from_secret(b"old-secret"),
    )
    .unwrap();
    let res = app
        .client
        .get(app.images("beta", ""))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(secret_column(&app).await, "");
}

#[tokio::test]
async fn cross_site_writes_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let created = app.create_ok("beta", &body("Stays", "1.0.0")).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let evil = "https://evil.example";
    // A plain HTML form posted from another site: no JSON, no custom header, just the Origin browsers add.
    for (url, origin, fetch_site) in [
        (app.control("/reset"), Some(evil), None),
        (app.control("/reset"), Some("null"), None),
        (app.control("/reset"), None, Some("cross-site")),
        (
            app.control("/reset?catalog=true"),
            Some("http://localhost.evil.example"),
            None,
        ),
        (
            app.images("beta", &format!("/{id}/retryUpload")),
            Some(evil),
            None,
        ),
        (app.images("beta", ""), Some(evil), None),
        (format!("{}/beta/$batch", app.address), Some(evil), None),
    ] {
        let mut req = app
            .client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("a=1");
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        if let Some(site) = fetch_site {
            req = req.header("sec-fetch-site", site);
        }
        assert_error(req.send().await.unwrap(), 403, "Forbidden").await;
    }
    let res = app
        .client
        .delete(app.images("beta", &format!("/{id}")))
        .header("origin", evil)
        .send()
        .await
        .unwrap();
    assert_error(res, 403, "Forbidden").await;
    // Reading the control plane cross-site is refused too; reading Graph is not (the browser keeps the answer from
    // the page without CORS), and carries no CORS header.
    assert_error(
        app.client
            .get(app.control("/state"))
            .header("origin", evil)
            .send()
            .await
            .unwrap(),
        403,
        "Forbidden",
    )
    .await;
    let read = app
        .client
        .get(app.images("beta", ""))
        .header("origin", evil)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    assert!(read.headers().get("access-control-allow-origin").is_none());
    assert_eq!(app.image_rows().await, 1, "every image is in place");

    // The emulator's own pages (same origin), and clients without Origin, write as before.
    let res = app
        .client
        .post(app.control("/reset"))
        .header("origin", format!("http://localhost:{}", port(&app)))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(app.image_rows().await, 0);
}

#[tokio::test]
async fn cors_is_opt_in_and_never_for_the_control_plane() {
    let origin = "http://app.example:3000";
    let app = spawn_with(|s| s.cors_origins = vec![origin.into()]).await;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.images("v1.0", ""))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, client-request-id",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    let h = preflight.headers();
    assert_eq!(h["access-control-allow-origin"], origin);
    let allowed = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for name in [
        "authorization",
        "content-type",
        "client-request-id",
        "prefer",
        "consistencylevel",
    ] {
        assert!(allowed.contains(name), "{allowed}");
    }
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));

    let res = app
        .client
        .post(app.images("v1.0", ""))
        .header("origin", origin)
        .json(&body("From a browser app", "1.0.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["access-control-allow-origin"], origin);
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    for name in ["request-id", "client-request-id", "Location", "Retry-After"] {
        assert!(exposed.contains(name), "{exposed}");
    }
    // Errors carry it too, so the app can read Graph's envelope.
    let res = app
        .client
        .get(app.images("v1.0", "/not-a-guid"))
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], origin);

    // The control plane: no preflight answer, and the listed origin still may not write it.
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.control("/reset"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(preflight
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    assert_ne!(preflight.status(), 204);
    assert_error(
        app.client
            .post(app.control("/reset"))
            .header("origin", origin)
            .send()
            .await
            .unwrap(),
        403,
        "Forbidden",
    )
    .await;
    assert_eq!(app.image_rows().await, 1);

    // An origin that is not listed gets nothing.
    let res = app
        .client
        .request(reqwest::Method::OPTIONS, app.images("v1.0", ""))
        .header("origin", "https://other.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());

    // Without the flag no route answers CORS.
    let plain = spawn_app().await;
    let res = plain
        .client
        .request(reqwest::Method::OPTIONS, plain.images("v1.0", ""))
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_admin_token_guards_metrics_and_wrong_guesses_are_throttled() {
    let app = spawn_with(|s| s.admin_token = Some("s3cret".into())).await;
    let metrics = format!("{}/metrics", app.address);
    assert_error(app.get(&metrics).await, 401, "InvalidAuthenticationToken").await;
    let res = app
        .client
        .get(&metrics)
        .header("x-emulator-admin-token", "s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // A minted token is a credential: no cache keeps it.
    let res = app
        .client
        .post(app.control("/token"))
        .bearer_auth("s3cret")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["cache-control"], "no-store");
    // No credential at all is not a guess.
    for _ in 0..15 {
        assert_error(
            app.get(&app.control("/state")).await,
            401,
            "InvalidAuthenticationToken",
        )
        .await;
    }
    // Ten wrong guesses (header, bearer or login form) within a minute, then even the right token waits.
    for n in 0..10 {
        let req = match n % 3 {
            0 => app
                .client
                .get(app.control("/state"))
                .header("x-emulator-admin-token", "guess"),
            1 => app.client.get(app.control("/state")).bearer_auth("guess"),
            _ => app
                .client
                .post(app.control("/ui/login"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("token=guess"),
        };
        assert_eq!(req.send().await.unwrap().status(), 401, "guess {n}");
    }
    for req in [
        app.client
            .get(app.control("/state"))
            .header("x-emulator-admin-token", "s3cret"),
        app.client
            .post(app.control("/ui/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("token=s3cret"),
    ] {
        let res = req.send().await.unwrap();
        let retry: u64 = res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        assert_error(res, 429, "TooManyRequests").await;
    }
    // Health stays open for container checks.
    assert_eq!(app.get(&app.control("/health")).await.status(), 200);
}

#[tokio::test]
async fn batch_item_authorization_headers_never_reach_the_journal() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(format!("{}/v1.0/$batch", app.address))
        .bearer_auth("outer-secret-token")
        .json(&json!({"requests": [
            {"id": "1", "method": "GET", "url": format!("/{COLLECTION}"),
             "headers": {"AUTHORIZATION": "Bearer item-secret-one"}},
            {"id": "2", "method": "GET", "url": format!("/{COLLECTION}"),
             "headers": {"authorization": ["Bearer item-secret-two"]}},
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let journal = app
        .get(&app.control("/requests?limit=100"))
        .await
        .text()
        .await
        .unwrap();
    assert!(journal.contains("$batch"), "the batch is journaled");
    let pool = app.requests_db().await;
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT request_headers, request_body FROM request_journal")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    assert_eq!(rows.len(), 3, "the batch and its two items");
    let stored = format!("{rows:?}");
    for secret in ["outer-secret-token", "item-secret-one", "item-secret-two"] {
        assert!(!stored.contains(secret), "{secret} in {stored}");
        assert!(!journal.contains(secret), "{secret} in {journal}");
    }
    assert!(stored.contains("[redacted]"));
}

#[tokio::test]
async fn an_id_is_unique_per_tenant_and_tells_nothing_about_others() {
    let app = spawn_app().await;
    let (a, b) = (tenant_token("tenant-a"), tenant_token("tenant-b"));
    let id = "1b4c8fb4-6b80-4b5a-a4f5-13a1b4a61e52";
    let create = |token: String, name: &'static str| {
        let mut image = body(name, "1.0.0");
        image["id"] = json!(id);
        app.client
            .post(app.images("beta", ""))
            .bearer_auth(token)
            .json(&image)
            .send()
    };
    assert_eq!(create(a.clone(), "A's").await.unwrap().status(), 201);
    let res = create(b.clone(), "B's").await.unwrap();
    assert_eq!(
        res.status(),
        201,
        "another tenant's id is a fresh create in yours"
    );
    assert_error(
        create(a.clone(), "A's again").await.unwrap(),
        409,
        "conflict",
    )
    .await;
    for (token, name) in [(&a, "A's"), (&b, "B's")] {
        let got: Value = app
            .client
            .get(app.images("beta", &format!("/{id}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(got["displayName"], name);
    }
    // Deleting one tenant's leaves the other's.
    let res = app
        .client
        .delete(app.images("beta", &format!("/{id}")))
        .bearer_auth(&b)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let pool = app.db().await;
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT tenant_id, id FROM device_images")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(rows, [("tenant-a".to_owned(), id.to_owned())]);

    // In one group commit too: both tenants' creates of one id, at once.
    let id2 = "2b4c8fb4-6b80-4b5a-a4f5-13a1b4a61e52";
    let mut handles = Vec::new();
    for tenant in ["tenant-c", "tenant-d", "tenant-e", "tenant-f"] {
        let client = app.client.clone();
        let url = app.images("beta", "");
        let mut image = body("Same id", "1.0.0");
        image["id"] = json!(id2);
        let token = tenant_token(tenant);
        handles.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&image)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap(), 201);
    }
}

#[tokio::test]
async fn verified_tokens_must_name_a_tenant_and_carry_no_unknown_critical_extension() {
    let app = spawn_with(|s| {
        s.auth = AuthMode::Jwt;
        s.jwt_secret = Some("crit-secret".into());
    })
    .await;
    let key = jsonwebtoken::EncodingKey::from_secret(b"crit-secret");
    let claims = |tid: Option<&str>| {
        let mut c = json!({"aud": "https://graph.microsoft.com", "exp": 4_000_000_000i64,
                           "scp": "CloudPC.ReadWrite.All"});
        if let Some(tid) = tid {
            c["tid"] = json!(tid);
        }
        c
    };
    let sign = |header: Value, claims: Value| {
        use base64::Engine;
        let b64 = |v: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
        };
        let message = format!("{}.{}", b64(&header), b64(&claims));
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &key, jsonwebtoken::Algorithm::HS256)
                .unwrap();
        format!("{message}.{signature}")
    };
    let call = |token: String| {
        app.client
            .get(app.images("beta", ""))
            .bearer_auth(token)
            .send()
    };
    let good = sign(
        json!({"alg": "HS256", "typ": "JWT"}),
        claims(Some("contoso")),
    );
    assert_eq!(call(good).await.unwrap().status(), 200);
    let message = assert_error(
        call(sign(json!({"alg": "HS256", "typ": "JWT"}), claims(None)))
            .await
            .unwrap(),
        401,
        "InvalidAuthenticationToken",
    )
    .await;
    assert!(message.contains("tid"), "{message}");
    let message = assert_error(
        call(sign(
            json!({"alg": "HS256", "typ": "JWT", "crit": ["exp-ext"], "exp-ext": 1}),
            claims(Some("contoso")),
        ))
        .await
        .unwrap(),
        401,
        "InvalidAuthenticationToken",
    )
    .await;
    assert!(message.contains("crit"), "{message}");
}

#[tokio::test]
async fn the_clock_is_bounded_and_a_huge_stored_offset_cannot_break_a_start() {
    let app = spawn_app().await;
    let advance = |seconds: i64| {
        app.client
            .post(app.control("/clock"))
            .json(&json!({ "advanceSeconds": seconds }))
            .send()
    };
    let ten_years = 10 * 365 * 24 * 3600;
    for _ in 0..10 {
        assert_eq!(advance(ten_years).await.unwrap().status(), 200);
    }
    let message = assert_error(advance(1).await.unwrap(), 400, "badRequest").await;
    assert!(message.contains("100 years"), "{message}");
    // Every path that reads the clock still answers: create, list, the upload task, the state export.
    let created = app.create_ok("beta", &body("Far future", "1.0.0")).await;
    assert!(created["lastModifiedDateTime"]
        .as_str()
        .unwrap()
        .starts_with("21"));
    assert_eq!(app.get(&app.images("beta", "")).await.status(), 200);
    assert_eq!(app.get(&app.control("/state")).await.status(), 200);

    // An offset an earlier version let through is cut at start.
    let dir = app.stop().await;
    let pool = open_writable(&dir.path().join("emulator.db")).await;
    sqlx::query("UPDATE emulator_state SET clock_offset_ms = 9223372036854775000")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let app = spawn_in(dir, |s| s.upload_duration = 1).await;
    let pending = app.create_ok("beta", &body("After restart", "1.0.0")).await;
    assert_eq!(pending["status"], "pending");
    let clock: Value = app.get_json(&app.control("/clock")).await;
    assert_eq!(clock["offsetSeconds"], 100.0 * 365.0 * 24.0 * 3600.0);
    // The upload task lives: the image completes when its time comes.
    app.clock.advance(chrono::Duration::seconds(5));
    let id = pending["id"].as_str().unwrap();
    let mut status = Value::Null;
    for _ in 0..100 {
        status = app.get_json(&app.images("beta", &format!("/{id}"))).await["status"].clone();
        if status != "pending" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_ne!(status, "pending");
}

#[tokio::test]
async fn fault_rules_are_bounded_in_number() {
    let app = spawn_app().await;
    let dir = app.stop().await;
    let pool = open_writable(&dir.path().join("emulator.db")).await;
    for _ in 0..999 {
        sqlx::query(
            "INSERT INTO fault_rules (created, path_pattern, action, latency_ms) \
             VALUES ('2026-01-01T00:00:00.000Z', '/nowhere', 'latency', 60000)",
        )
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
    let app = spawn_in(dir, |_| {}).await;
    let rule = json!({"action": "latency", "latencyMs": 60000, "path": "/nowhere"});
    let add = || app.client.post(app.control("/faults")).json(&rule).send();
    assert_eq!(add().await.unwrap().status(), 201, "the thousandth");
    let message = assert_error(add().await.unwrap(), 400, "badRequest").await;
    assert!(message.contains("1000"), "{message}");
    let pool = app.db().await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM fault_rules")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(n, 1000);
}

#[tokio::test]
async fn bad_batch_headers_fail_their_own_item_only() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(format!("{}/beta/$batch", app.address))
        .json(&json!({"requests": [
            {"id": "1", "method": "POST", "url": format!("/{COLLECTION}"),
             "headers": {"content-type": "application/json"}, "body": body("Batched", "1.0.0")},
            {"id": "2", "method": "GET", "url": format!("/{COLLECTION}"), "headers": {"bad header": "x"}},
            {"id": "3", "method": "GET", "url": format!("/{COLLECTION}"), "headers": {"x-ok": "line\nbreak"}},
            {"id": "4", "method": "POST", "url": format!("/{COLLECTION}"),
             "headers": {"Content-Type": "application/json", "x\u{0}": "1"}, "body": body("Never", "1.0.0")},
            {"id": "5", "method": "GET", "url": format!("/{COLLECTION}")},
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let got: Value = res.json().await.unwrap();
    let statuses: Vec<u64> = got["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 400, 400, 400, 200]);
    assert_eq!(got["responses"][1]["body"]["error"]["code"], "BadRequest");
    assert_eq!(app.image_rows().await, 1);
}

#[tokio::test]
async fn slow_bodies_time_out_and_never_lock_others_out() {
    let app = spawn_app().await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    // 200 clients that send their headers, then a byte now and then.
    let mut slow = Vec::new();
    for _ in 0..200 {
        let addr = addr.clone();
        slow.push(tokio::spawn(async move {
            let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let head = format!(
                "POST /beta/{COLLECTION} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
                 Content-Length: 1000\r\n\r\n{{"
            );
            s.write_all(head.as_bytes()).await.unwrap();
            let mut answer = Vec::new();
            let (mut r, mut w) = s.into_split();
            let trickle = async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    if w.write_all(b" ").await.is_err() {
                        break;
                    }
                }
            };
            let read = async move {
                let mut buf = [0u8; 4096];
                let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
                while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, r.read(&mut buf)).await {
                    if n == 0 {
                        break;
                    }
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                        break;
                    }
                }
                answer
            };
            tokio::select! {
                answer = read => String::from_utf8_lossy(&answer).into_owned(),
                () = trickle => String::new(),
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Everyone else is served at once, reads and writes.
    for n in 0..5 {
        let started = std::time::Instant::now();
        let image = body(&format!("While others trickle {n}"), "1.0.0");
        let res = tokio::time::timeout(Duration::from_secs(5), app.create("beta", &image))
            .await
            .expect("served while slow clients hold connections");
        assert_eq!(res.status(), 201);
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(app.get(&app.images("beta", "")).await.status(), 200);
    }
    for s in slow {
        let answer = s.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("\"RequestTimeout\""), "{answer}");
    }
    assert_eq!(app.image_rows().await, 5, "no slow create was stored");
}

#[test]
fn flags_out_of_range_and_an_open_listener_without_a_token_stop_the_start() {
    for args in [
        vec!["--upload-duration", "9223372036854775807"],
        vec!["--journal-body-max", "99999999"],
        vec!["--journal-max", "18446744073709551615"],
        vec!["--max-database-mb", "0"],
        vec!["--page-size", "1000"],
        vec!["--cors-origin", "not an origin"],
        vec!["--allowed-host", "http://with.scheme"],
        vec!["--listen", "0.0.0.0:0"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("e.db");
        let out = output_within_30s(
            std::process::Command::new(bin())
                .args(["--database", db.to_str().unwrap()])
                .args(if args[0] == "--listen" {
                    &[][..]
                } else {
                    &["--listen", "127.0.0.1:0"][..]
                })
                .args(&args)
                .env_remove("EMULATOR_ADMIN_TOKEN"),
        );
        assert!(!out.status.success(), "{args:?} started");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains("listening on"), "{args:?}: {stdout}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        if args[0] == "--listen" {
            assert!(stderr.contains("--admin-token"), "{stderr}");
        }
    }
    // With a token the open listener starts.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let (mut child, url) = start(
        &["--database", db.to_str().unwrap(), "--listen", "0.0.0.0:0"],
        &[("EMULATOR_ADMIN_TOKEN", "t0ken")],
    );
    assert!(url.starts_with("http://0.0.0.0:"), "{url}");
    child.kill().unwrap();
    wait_for_exit(&mut child, Duration::from_secs(30));
}
