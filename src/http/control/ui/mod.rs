//! `GET /_emulator/ui`: the dashboard (issue 10). Its HTML, CSS and JavaScript are embedded at compile time and use
//! only the public Graph routes and the `/_emulator` JSON APIs. With `--admin-token`, a browser that has no token is
//! shown a login form; `POST /_emulator/ui/login` checks the token and opens a session whose random id it keeps in an
//! HttpOnly, SameSite=Strict cookie, which the control plane then accepts like the header (see
//! [`super::admin_guard`]).

use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::ApiError;
use crate::graph::enums::IMAGE_ERROR_CODE;
use crate::http::security::Check;
use crate::http::AppState;

/// The session cookie: a random session id, never the admin token.
pub const COOKIE: &str = "cloudpc-emulator-admin";

const INDEX_HTML: &str = include_str!("index.html");
const LOGIN_HTML: &str = include_str!("login.html");
const APP_JS: &str = include_str!("app.js");
const APP_CSS: &str = include_str!("app.css");

/// Everything the dashboard loads comes from this origin; nothing inline, nothing from elsewhere.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Registers the dashboard's routes (inside the `/_emulator` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/ui", web::get().to(index))
        .route("/ui/", web::get().to(index))
        .route("/ui/app.js", web::get().to(script))
        .route("/ui/app.css", web::get().to(style))
        .route("/ui/login", web::post().to(login))
        .route("/ui/logout", web::post().to(logout));
}

/// Paths the admin guard lets through without a token: the stylesheet the login form uses (static, no state), the
/// login itself, which checks the token, and the logout, which only expires the cookie.
pub fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/_emulator/ui/app.css" | "/_emulator/ui/login" | "/_emulator/ui/logout"
    )
}

/// Whether a request for `path` is a browser's request for the dashboard, which gets the login form rather than
/// Graph's JSON envelope when the token is missing.
pub fn wants_login_page(req: &actix_web::dev::ServiceRequest) -> bool {
    let path = req.path();
    (path == "/_emulator/ui" || path.starts_with("/_emulator/ui/"))
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
}

fn asset(
    status: StatusCode,
    content_type: &'static str,
    body: impl actix_web::body::MessageBody + 'static,
) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        // Nothing leaves for other sites; and unlike `no-referrer`, the login form's POST carries its real `Origin`
        // (browsers send `Origin: null` under `no-referrer`, which the cross-site check refuses).
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .body(body)
}

/// The page, with the catalog form's error-code suggestions taken from the schema's enum, so the two never differ;
/// built once, on first use.
static INDEX: LazyLock<String> = LazyLock::new(|| {
    let options: String = IMAGE_ERROR_CODE
        .members
        .iter()
        .map(|m| format!("<option value=\"{}\"></option>", m.wire))
        .collect();
    INDEX_HTML.replace("<!--error-codes-->", &options)
});

async fn index() -> HttpResponse {
    asset(StatusCode::OK, "text/html; charset=utf-8", INDEX.as_str())
}

async fn script() -> HttpResponse {
    asset(StatusCode::OK, "text/javascript; charset=utf-8", APP_JS)
}

async fn style() -> HttpResponse {
    asset(StatusCode::OK, "text/css; charset=utf-8", APP_CSS)
}

/// Marks the login form, the one 4xx answer that the protocol middleware does not turn into Graph's envelope.
pub struct LoginPage;

/// The login form, with a message when a token was given and was wrong: 401, since the dashboard needs the token.
pub fn login_page(wrong: bool) -> HttpResponse {
    let page = LOGIN_HTML.replace(
        "<!--message-->",
        if wrong {
            r#"<p class="error" role="alert">That is not the admin token.</p>"#
        } else {
            ""
        },
    );
    let mut res = asset(StatusCode::UNAUTHORIZED, "text/html; charset=utf-8", page);
    res.extensions_mut().insert(LoginPage);
    res
}

/// `POST /_emulator/ui/login` (a form with `token`): on the right token, opens a session and sends the browser back
/// to the dashboard with its random id in an HttpOnly, SameSite=Strict cookie (never the token itself); otherwise the
/// login form again, or 429 once the address has sent too many wrong tokens.
async fn login(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = crate::graph::body::read_limited(payload).await?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::BadRequest("The login form is not UTF-8.".into()))?;
    let fields = web::Query::<Vec<(String, String)>>::from_query(text)
        .map_err(|e| ApiError::BadRequest(format!("Invalid login form: {e}")))?;
    let given = fields
        .iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.as_str());
    let Some(gate) = state.security.admin.as_ref() else {
        return Ok(see_other(None));
    };
    let peer = req.peer_addr().map(|a| a.ip());
    match gate.check(peer, given.into_iter().collect(), None) {
        Check::Granted => {}
        Check::Denied => return Ok(login_page(true)),
        Check::Throttled(after) => return Err(crate::http::security::throttled(after)),
    }
    let secure = if req.connection_info().scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={}; Path=/_emulator; HttpOnly; SameSite=Strict{secure}",
        gate.open_session()
    );
    Ok(see_other(Some(cookie)))
}

/// `POST /_emulator/ui/logout`: ends the session and forgets its cookie in this browser.
async fn logout(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let (Some(gate), Some(id)) = (state.security.admin.as_ref(), cookie_session(req.headers())) {
        gate.close_session(id);
    }
    see_other(Some(format!(
        "{COOKIE}=; Path=/_emulator; HttpOnly; SameSite=Strict; Max-Age=0"
    )))
}

fn see_other(cookie: Option<String>) -> HttpResponse {
    let mut res = HttpResponse::SeeOther();
    res.insert_header((header::LOCATION, "/_emulator/ui"));
    res.insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(cookie) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        res.insert_header((header::SET_COOKIE, cookie));
    }
    res.finish()
}

/// The dashboard session id from the cookie.
pub fn cookie_session(headers: &actix_web::http::header::HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = actix_web::http::header::HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; cloudpc-emulator-admin=abc123; b=2"),
        );
        assert_eq!(cookie_session(&headers), Some("abc123"));
    }
}
