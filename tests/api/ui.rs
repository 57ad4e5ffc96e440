//! The dashboard (issue 10): its assets, the admin token at the door, and the tenants endpoint it lists images by.
//! The browser test that drives it is `tests/ui/dashboard.mjs`.

use serde_json::{json, Value};

use crate::helpers::{assert_error, body, spawn_app, spawn_with, TestApp};

fn ui(app: &TestApp, path: &str) -> String {
    format!("{}/_emulator/ui{path}", app.address)
}

/// A client that shows redirects instead of following them, so the login's 303 and cookie can be checked.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn text_of(res: reqwest::Response, status: u16, content_type: &str) -> String {
    assert_eq!(res.status(), status);
    assert_eq!(res.headers()["content-type"], content_type);
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    res.text().await.unwrap()
}

#[tokio::test]
async fn the_dashboard_and_its_assets_are_served_with_their_content_types() {
    let app = spawn_app().await;
    let html = text_of(
        app.get(&ui(&app, "")).await,
        200,
        "text/html; charset=utf-8",
    )
    .await;
    assert!(html.contains(r#"<script src="/_emulator/ui/app.js" defer></script>"#));
    assert!(html.contains(r#"<link rel="stylesheet" href="/_emulator/ui/app.css">"#));
    // The catalog form suggests the schema's error codes, filled in by the server.
    assert!(html.contains(r#"<option value="sourceImageNotGeneralized"></option>"#));
    assert!(!html.contains("<!--error-codes-->"));
    assert_eq!(app.get(&ui(&app, "/")).await.status(), 200);
    let js = text_of(
        app.get(&ui(&app, "/app.js")).await,
        200,
        "text/javascript; charset=utf-8",
    )
    .await;
    assert!(js.contains("deviceManagement/virtualEndpoint/deviceImages"));
    let css = text_of(
        app.get(&ui(&app, "/app.css")).await,
        200,
        "text/css; charset=utf-8",
    )
    .await;
    assert!(css.contains("[role=\"tab\"]"));
    // Nothing is fetched from anywhere else: no CDN, no web fonts.
    for asset in [&html, &js, &css] {
        assert!(
            !asset.contains("http://") && !asset.contains("https://") && !asset.contains("//cdn")
        );
    }
    // An unknown asset is Graph's envelope like any unknown path.
    let res = app.get(&ui(&app, "/nope.js")).await;
    assert!(res.status().is_client_error());
    assert_eq!(res.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn with_an_admin_token_the_dashboard_needs_it() {
    let app = spawn_with(|s| s.admin_token = Some("s3cret token;=".into())).await;
    // API clients get Graph's envelope; a browser the login form, both 401.
    assert_error(
        app.get(&ui(&app, "")).await,
        401,
        "InvalidAuthenticationToken",
    )
    .await;
    assert_error(
        app.get(&ui(&app, "/app.js")).await,
        401,
        "InvalidAuthenticationToken",
    )
    .await;
    let browser = |url: String| {
        app.client
            .get(url)
            .header("accept", "text/html,*/*;q=0.8")
            .send()
    };
    let login = text_of(
        browser(ui(&app, "")).await.unwrap(),
        401,
        "text/html; charset=utf-8",
    )
    .await;
    assert!(login.contains(r#"<form method="post" action="/_emulator/ui/login">"#));
    assert!(
        !login.contains("app.js"),
        "the login form must not load the dashboard"
    );
    // The stylesheet carries no state and styles the login form.
    assert_eq!(app.get(&ui(&app, "/app.css")).await.status(), 200);
    // The header works as for every control-plane route.
    let res = app
        .client
        .get(ui(&app, ""))
        .header("x-emulator-admin-token", "s3cret token;=")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let client = no_redirects();
    let wrong = client
        .post(ui(&app, "/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=nope")
        .send()
        .await
        .unwrap();
    assert!(wrong.headers().get("set-cookie").is_none());
    let page = text_of(wrong, 401, "text/html; charset=utf-8").await;
    assert!(page.contains("That is not the admin token."));

    let right = client
        .post(ui(&app, "/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=s3cret+token%3B%3D")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 303);
    assert_eq!(right.headers()["location"], "/_emulator/ui");
    assert_eq!(right.headers()["cache-control"], "no-store");
    let cookie = right.headers()["set-cookie"].to_str().unwrap().to_owned();
    // A random session id, never the token.
    let session = cookie
        .strip_prefix("cloudpc-emulator-admin=")
        .and_then(|rest| rest.strip_suffix("; Path=/_emulator; HttpOnly; SameSite=Strict"))
        .unwrap_or_else(|| panic!("{cookie}"));
    assert_eq!(session.len(), 64, "{cookie}");
    assert!(session.bytes().all(|b| b.is_ascii_hexdigit()), "{cookie}");
    assert!(!cookie.contains("s3cret"), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_owned();
    // The session cookie opens the dashboard and the JSON APIs it calls.
    for path in [
        "/_emulator/ui",
        "/_emulator/ui/app.js",
        "/_emulator/state",
        "/_emulator/tenants",
    ] {
        let res = client
            .get(format!("{}{path}", app.address))
            .header("cookie", format!("other=1; {pair}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
    }
    // The token itself (as earlier versions kept it in the cookie) is no session.
    let forged = client
        .get(ui(&app, ""))
        .header("cookie", "cloudpc-emulator-admin=s3cret%20token%3B%3D")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    // Logging out ends the session and expires the cookie.
    let out = client
        .post(ui(&app, "/logout"))
        .header("cookie", pair.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert!(out.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let ended = client
        .get(format!("{}/_emulator/state", app.address))
        .header("cookie", pair.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 401, "the session ended with the logout");
}

#[tokio::test]
async fn the_tenants_endpoint_lists_the_default_tenant_first_then_every_tenant_with_images() {
    let app = spawn_app().await;
    let url = format!("{}/_emulator/tenants", app.address);
    let default = json!({"value": [{"tenantId": "00000000-0000-0000-0000-000000000001"}]});
    assert_eq!(app.get_json(&url).await, default);
    for tenant in ["contoso", "adatum", "contoso"] {
        let minted: Value = app
            .client
            .post(format!("{}/_emulator/token", app.address))
            .json(&json!({ "tenantId": tenant }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = minted["accessToken"].as_str().unwrap();
        let name = format!("Image of {tenant} {}", uuid::Uuid::new_v4());
        let res = app
            .client
            .post(app.images("beta", ""))
            .bearer_auth(token)
            .json(&body(&name, "1.0.0"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    assert_eq!(
        app.get_json(&url).await,
        json!({"value": [
            {"tenantId": "00000000-0000-0000-0000-000000000001"},
            {"tenantId": "adatum"},
            {"tenantId": "contoso"},
        ]})
    );
}

#[tokio::test]
async fn the_dashboards_own_graph_calls_are_not_journaled() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.images("beta", ""))
        .header("x-emulator-client", "dashboard")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(app.get(&app.images("v1.0", "")).await.status(), 200);
    assert_eq!(
        app.journal_paths("").await,
        ["/v1.0/deviceManagement/virtualEndpoint/deviceImages"]
    );
}
