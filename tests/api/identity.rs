//! Identity (issue 6): the jwt mode's checks, tenant isolation, minted tokens, and tokens kept out of the journal.

use cloudpc_emulator::config::AuthMode;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::{assert_error, body, spawn_with, TestApp};

const SECRET: &str = "identity-test-secret";
const TENANT_A: &str = "11111111-1111-1111-1111-111111111111";
const TENANT_B: &str = "22222222-2222-2222-2222-222222222222";

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

async fn jwt_app() -> TestApp {
    spawn_with(|s| {
        s.auth = AuthMode::Jwt;
        s.jwt_secret = Some(SECRET.into());
        s.jwks_file = Some(fixture("rs256-test-jwks.json"));
    })
    .await
}

/// A token with these claims over the usual ones, signed HS256 with `secret`.
fn token(secret: &str, claims: Value) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut all = json!({"aud": "https://graph.microsoft.com", "exp": now + 3600, "nbf": now - 10, "tid": TENANT_A});
    for (k, v) in claims.as_object().unwrap() {
        all[k] = v.clone();
    }
    encode(
        &Header::default(),
        &all,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn rs256_token(claims: Value) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut all =
        json!({"aud": "00000003-0000-0000-c000-000000000000", "exp": now + 3600, "tid": TENANT_A});
    for (k, v) in claims.as_object().unwrap() {
        all[k] = v.clone();
    }
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("emulator-test-key".into());
    let key = std::fs::read(fixture("rs256-test-key.pem")).unwrap();
    encode(&header, &all, &EncodingKey::from_rsa_pem(&key).unwrap()).unwrap()
}

async fn call(app: &TestApp, method: &str, token: Option<&str>, name: &str) -> reqwest::Response {
    let mut req = match method {
        "GET" => app.client.get(app.images("v1.0", "")),
        _ => app
            .client
            .post(app.images("v1.0", ""))
            .json(&body(name, "1.0.0")),
    };
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn the_jwt_mode_matrix() {
    let app = jwt_app().await;
    let now = chrono::Utc::now().timestamp();
    let read = token(SECRET, json!({"scp": "User.Read CloudPC.Read.All"}));
    let write = token(SECRET, json!({"scp": "CloudPC.ReadWrite.All"}));
    // (case, method, token, status, code, message fragment)
    type Case<'a> = (&'a str, &'a str, Option<String>, u16, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            "no token",
            "GET",
            None,
            401,
            "InvalidAuthenticationToken",
            "Access token is empty.",
        ),
        (
            "malformed",
            "GET",
            Some("not-a-jwt".into()),
            401,
            "InvalidAuthenticationToken",
            "CompactToken",
        ),
        (
            "three garbage parts",
            "GET",
            Some("a.b.c".into()),
            401,
            "InvalidAuthenticationToken",
            "CompactToken",
        ),
        (
            "expired",
            "GET",
            Some(token(
                SECRET,
                json!({"scp": "CloudPC.Read.All", "exp": now - 3600}),
            )),
            401,
            "InvalidAuthenticationToken",
            "expired",
        ),
        (
            "not yet valid",
            "GET",
            Some(token(
                SECRET,
                json!({"scp": "CloudPC.Read.All", "nbf": now + 3600}),
            )),
            401,
            "InvalidAuthenticationToken",
            "not yet valid",
        ),
        (
            "wrong audience",
            "GET",
            Some(token(
                SECRET,
                json!({"scp": "CloudPC.Read.All", "aud": "https://management.azure.com"}),
            )),
            401,
            "InvalidAuthenticationToken",
            "audience",
        ),
        (
            "bad signature",
            "GET",
            Some(token("another-secret", json!({"scp": "CloudPC.Read.All"}))),
            401,
            "InvalidAuthenticationToken",
            "signature",
        ),
        (
            "no permission",
            "GET",
            Some(token(SECRET, json!({"scp": "User.Read"}))),
            403,
            "Forbidden",
            "CloudPC.Read.All",
        ),
        (
            "read scope on a write",
            "POST",
            Some(read.clone()),
            403,
            "Forbidden",
            "CloudPC.ReadWrite.All",
        ),
        (
            "read role on a write",
            "POST",
            Some(token(SECRET, json!({"roles": ["CloudPC.Read.All"]}))),
            403,
            "Forbidden",
            "ReadWrite",
        ),
    ];
    for (case, method, t, status, code, fragment) in cases {
        let msg = assert_error(call(&app, method, t.as_deref(), case).await, status, code).await;
        assert!(msg.contains(fragment), "{case}: {msg}");
    }
    let allowed: Vec<(&str, &str, String, u16)> = vec![
        ("read scope", "GET", read, 200),
        ("write scope reads", "GET", write.clone(), 200),
        ("write scope", "POST", write, 201),
        (
            "read role",
            "GET",
            token(SECRET, json!({"roles": ["CloudPC.Read.All"]})),
            200,
        ),
        (
            "write role",
            "POST",
            token(SECRET, json!({"roles": ["CloudPC.ReadWrite.All"]})),
            201,
        ),
        (
            "RS256 from the JWKS",
            "POST",
            rs256_token(json!({"roles": ["CloudPC.ReadWrite.All"]})),
            201,
        ),
        (
            "Graph's app id as audience",
            "GET",
            token(
                SECRET,
                json!({"scp": "CloudPC.Read.All", "aud": "00000003-0000-0000-c000-000000000000"}),
            ),
            200,
        ),
    ];
    for (case, method, t, status) in allowed {
        assert_eq!(
            call(&app, method, Some(&t), case).await.status(),
            status,
            "{case}"
        );
    }
    assert_eq!(app.image_rows().await, 3, "refused writes stored nothing");
}

#[tokio::test]
async fn tenants_never_see_each_other() {
    let app = jwt_app().await;
    let a = token(
        SECRET,
        json!({"scp": "CloudPC.ReadWrite.All", "tid": TENANT_A}),
    );
    let b = token(
        SECRET,
        json!({"roles": ["CloudPC.ReadWrite.All"], "tid": TENANT_B.to_uppercase()}),
    );
    let create = |t: &str| {
        app.client
            .post(app.images("beta", ""))
            .bearer_auth(t.to_owned())
            .json(&body("Shared name", "1.0.0"))
            .send()
    };
    let image_a: Value = create(&a).await.unwrap().json().await.unwrap();
    let res_b = create(&b).await.unwrap();
    assert_eq!(
        res_b.status(),
        201,
        "the same displayName + version in another tenant is no conflict"
    );
    let image_b: Value = res_b.json().await.unwrap();
    assert_eq!(
        create(&a).await.unwrap().status(),
        409,
        "but it is within one"
    );

    let get = |t: &str, path: String| {
        app.client
            .get(app.images("beta", &path))
            .bearer_auth(t.to_owned())
            .send()
    };
    let list: Value = get(&a, String::new()).await.unwrap().json().await.unwrap();
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    assert_eq!(list["value"][0]["id"], image_a["id"]);
    assert_eq!(
        get(&a, "/$count".into())
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "1"
    );
    let b_id = image_b["id"].as_str().unwrap();
    assert_error(
        get(&a, format!("/{b_id}")).await.unwrap(),
        404,
        "ResourceNotFound",
    )
    .await;
    let res = app
        .client
        .delete(app.images("beta", &format!("/{b_id}")))
        .bearer_auth(&a)
        .send()
        .await
        .unwrap();
    assert_error(res, 404, "ResourceNotFound").await;
    let res = app
        .client
        .post(app.images("beta", &format!("/{b_id}/retryUpload")))
        .bearer_auth(&a)
        .send()
        .await
        .unwrap();
    assert_error(res, 404, "ResourceNotFound").await;
    assert_eq!(get(&b, format!("/{b_id}")).await.unwrap().status(), 200);

    let pool = app.db().await;
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, tenant_id FROM device_images ORDER BY seq")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        [
            (
                image_a["id"].as_str().unwrap().to_owned(),
                TENANT_A.to_owned()
            ),
            (b_id.to_owned(), TENANT_B.to_owned())
        ]
    );
}

#[tokio::test]
async fn bearer_mode_reads_the_tenant_of_an_unverified_jwt() {
    let app = spawn_with(|s| s.auth = AuthMode::Bearer).await;
    let unsigned = token("whatever", json!({"tid": TENANT_B}));
    let res = app
        .client
        .post(app.images("v1.0", ""))
        .bearer_auth(&unsigned)
        .json(&body("Bearer", "1.0.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let plain = app
        .client
        .get(app.images("v1.0", "/$count"))
        .bearer_auth("opaque")
        .send()
        .await
        .unwrap();
    assert_eq!(
        plain.text().await.unwrap(),
        "0",
        "a non-JWT token is the default tenant"
    );
    let pool = app.db().await;
    let tenant: String = sqlx::query_scalar("SELECT tenant_id FROM device_images")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(tenant, TENANT_B);
}

#[tokio::test]
async fn minted_tokens_are_accepted_and_their_values_are_checked() {
    let app = spawn_with(|s| s.auth = AuthMode::Jwt).await;
    let mint = |body: Value| {
        app.client
            .post(format!("{}/_emulator/token", app.address))
            .json(&body)
            .send()
    };
    let res = mint(json!({"tenantId": TENANT_A, "scopes": "CloudPC.Read.All"}))
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let reader: Value = res.json().await.unwrap();
    assert_eq!(reader["tokenType"], "Bearer");
    let reader = reader["accessToken"].as_str().unwrap().to_owned();
    let writer: Value = mint(json!({"tenantId": TENANT_A, "roles": ["CloudPC.ReadWrite.All"]}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let writer = writer["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(call(&app, "GET", Some(&reader), "x").await.status(), 200);
    assert_error(
        call(&app, "POST", Some(&reader), "x").await,
        403,
        "Forbidden",
    )
    .await;
    assert_eq!(
        call(&app, "POST", Some(&writer), "Minted").await.status(),
        201
    );
    let expired: Value = mint(json!({"lifetimeSeconds": -600}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let msg = assert_error(
        call(&app, "GET", expired["accessToken"].as_str(), "x").await,
        401,
        "InvalidAuthenticationToken",
    )
    .await;
    assert!(msg.contains("expired"), "{msg}");
    for bad in [
        json!({"lifetimeSeconds": 99999999999i64}),
        json!({"scopes": 5}),
        json!({"colour": 1}),
        json!({"tenantId": ""}),
    ] {
        assert_error(mint(bad).await.unwrap(), 400, "badRequest").await;
    }
}
