//! The control plane under `/_emulator/` (CONTRACT §9): what an emulator has that the real service has not. JSON in
//! and out; errors in Graph's envelope. With `--admin-token`, everything but `health` needs the token.

pub mod clock;
pub mod faults;
pub mod journal;
pub mod metrics;
pub mod state;
pub mod token;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, HttpResponse, ResponseError};
use serde_json::json;

use crate::error::ApiError;
use crate::startup::AppState;

/// Registers the control-plane routes and `/metrics`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/_emulator")
            .wrap(from_fn(admin_guard))
            .route("/health", web::get().to(health))
            .route("/ready", web::get().to(ready))
            .route("/reset", web::post().to(state::reset))
            .route("/state", web::get().to(state::export))
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
            .configure(crate::source_images::catalog::configure),
    )
    .route("/metrics", web::get().to(metrics::render));
}

/// `GET /_emulator/health`: 200 while the process serves requests.
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// `GET /_emulator/ready`: 200 when the database answers and carries every migration; 503 otherwise.
async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let expected = crate::db::migration_count() as i64;
    let applied: Result<Vec<i64>, _> =
        sqlx::query_scalar("SELECT count(*) FROM refinery_schema_history")
            .fetch_all(&state.db.reader)
            .await;
    match applied.ok().and_then(|v| v.first().copied()) {
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

/// With `--admin-token`, every control-plane route but `health` needs it, as `X-Emulator-Admin-Token` or a bearer token.
async fn admin_guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let expected = req
        .app_data::<web::Data<AppState>>()
        .and_then(|s| s.settings.admin_token.clone())
        .filter(|t| !t.is_empty());
    if let Some(expected) = expected {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        let bearer = header("authorization")
            .and_then(|v| v.strip_prefix("Bearer ").or(v.strip_prefix("bearer ")));
        let given = header("x-emulator-admin-token").or(bearer);
        if req.path() != "/_emulator/health" && given != Some(expected.as_str()) {
            let error = ApiError::Unauthorized(
                "The control plane needs the admin token (X-Emulator-Admin-Token or Authorization: Bearer).".into(),
            );
            return Ok(req
                .into_response(error.error_response())
                .map_into_right_body());
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}
