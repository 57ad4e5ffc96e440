//! The control plane under `/_emulator/` (docs/control-plane.md): what an emulator has that the real service has not. JSON in
//! and out; errors in Graph's envelope. With `--admin-token`, everything but `health` needs the token.

pub mod catalog;
pub mod clock;
pub mod faults;
pub mod har;
pub mod journal;
pub mod metrics;
pub mod state;
pub mod tenants;
pub mod token;
pub mod ui;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, HttpResponse, ResponseError};
use serde_json::json;

use crate::error::ApiError;
use crate::http::security::{AdminGate, Check};
use crate::http::AppState;

/// Registers the control-plane routes and `/metrics`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/_emulator")
            .wrap(from_fn(admin_guard))
            .route("/health", web::get().to(health))
            .route("/ready", web::get().to(ready))
            .route("/openapi/{file}", web::get().to(openapi))
            .route("/reset", web::post().to(state::reset))
            .route("/state", web::get().to(state::export))
            .route("/import", web::post().to(state::import))
            .route("/tenants", web::get().to(tenants::list))
            .route("/snapshot", web::post().to(state::snapshot))
            .route("/token", web::post().to(token::issue))
            .route("/clock", web::get().to(clock::show))
            .route("/clock", web::post().to(clock::advance))
            .route("/requests", web::get().to(journal::list))
            .route("/requests", web::delete().to(journal::clear))
            .route("/faults", web::get().to(faults::list))
            .route("/faults", web::post().to(faults::add))
            .route(
                "/faults",
                web::delete().to(|state| faults::delete(None, state)),
            )
            .route("/faults/{id}", web::get().to(faults::read))
            .route(
                "/faults/{id}",
                web::delete().to(|path, state| faults::delete(Some(path), state)),
            )
            .configure(crate::http::control::catalog::configure)
            .configure(ui::configure),
    )
    .service(
        web::resource("/metrics")
            .wrap(from_fn(admin_guard))
            .route(web::get().to(metrics::render)),
    );
}

/// `GET /_emulator/health`: 200 while the process serves requests.
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// `GET /_emulator/openapi/beta.json` and `…/v1.0.json`: the OpenAPI 3.0 document of a version's Graph routes.
async fn openapi(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let version = file
        .strip_suffix(".json")
        .and_then(crate::graph::ApiVersion::parse)
        .ok_or_else(|| {
            ApiError::NotFound("The OpenAPI documents are beta.json and v1.0.json.".into())
        })?;
    Ok(HttpResponse::Ok().json(crate::http::graph::openapi::document(version)))
}

/// `GET /_emulator/ready`: 200 when the database answers and carries every migration; 503 otherwise.
async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let expected = crate::db::migration_count() as i64;
    match state.db.applied_migrations().await.ok() {
        Some(n) if n >= expected => {
            Ok(HttpResponse::Ok().json(json!({ "status": "ready", "migrations": n })))
        }
        Some(n) => Err(ApiError::Unavailable(format!(
            "The database has {n} of {expected} migrations."
        ))),
        None => Err(ApiError::Unavailable(
            "The database does not answer.".into(),
        )),
    }
}

/// With `--admin-token`, every control-plane route but `health` (and the dashboard's login), and `/metrics`, need it,
/// as `X-Emulator-Admin-Token`, a bearer token, or the dashboard's session cookie. The token is compared in constant
/// time, and an address that sent ten wrong ones within a minute gets 429 until the minute is over. A browser asking
/// for the dashboard without it gets the login form.
async fn admin_guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let gate = state.as_ref().and_then(|s| s.security.admin.as_ref());
    if let Some(gate) = gate {
        let open = req.path() == "/_emulator/health" || ui::is_public(req.path());
        let check = if open {
            Check::Granted
        } else {
            admin_check(gate, &req)
        };
        let refusal = match check {
            Check::Granted => None,
            Check::Throttled(after) => Some(crate::http::security::throttled(after).error_response()),
            Check::Denied if ui::wants_login_page(&req) => Some(ui::login_page(false)),
            Check::Denied => Some(
                ApiError::Unauthorized(
                    "The control plane needs the admin token (X-Emulator-Admin-Token or Authorization: Bearer).".into(),
                )
                .error_response(),
            ),
        };
        if let Some(response) = refusal {
            return Ok(req.into_response(response).map_into_right_body());
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// Checks the credentials a request carries (`X-Emulator-Admin-Token`, `Authorization: Bearer`, the dashboard's
/// session cookie): granted when one is right; none at all is a denial that does not count as a failed attempt.
fn admin_check(gate: &AdminGate, req: &ServiceRequest) -> Check {
    let headers = req.headers();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let bearer = header("authorization").and_then(|v| {
        let (scheme, token) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    let tokens: Vec<&str> = header("x-emulator-admin-token")
        .into_iter()
        .chain(bearer)
        .collect();
    let session = ui::cookie_session(headers);
    if tokens.is_empty() && session.is_none() {
        return Check::Denied;
    }
    gate.check(req.peer_addr().map(|a| a.ip()), tokens, session)
}
