//! Authentication of Graph requests (CONTRACT §7). `bearer` accepts any non-empty bearer token; `none` accepts
//! everything. Graph's messages are copied from graph-device-images.md §4.1.

use actix_web::http::header;
use actix_web::HttpRequest;

use crate::config::AuthMode;
use crate::error::ApiError;

/// Refuses a request the configured mode does not let through.
pub fn check(req: &HttpRequest, mode: AuthMode) -> Result<(), ApiError> {
    if mode == AuthMode::None {
        return Ok(());
    }
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(ApiError::Unauthorized("Access token is empty.".into()));
    };
    let value = value.to_str().unwrap_or("").trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthorized(
            "Access token validation failure. The Authorization header must use the Bearer scheme."
                .into(),
        ));
    }
    if token.trim().is_empty() {
        return Err(ApiError::Unauthorized("Access token is empty.".into()));
    }
    Ok(())
}
