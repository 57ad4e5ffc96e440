//! The control plane under `/_emulator/` (CONTRACT §9): what an emulator has that the real service has not.

use actix_web::{web, HttpResponse};
use serde_json::json;

/// Registers the control-plane routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/_emulator/health", web::get().to(health))
        .configure(crate::source_images::catalog::configure);
}

/// `GET /_emulator/health`: 200 while the process serves requests.
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}
