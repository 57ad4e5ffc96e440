//! `GET/POST /_emulator/clock`: the emulator's now, and moving it forward. The offset is stored
//! (`emulator_state.clock_offset_ms`), so a restart keeps the emulator's time; the lifecycle reads this clock.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::clock::{format_timestamp, MAX_OFFSET_MS};
use crate::device_images::lifecycle;
use crate::error::ApiError;
use crate::graph::body::read_json_object;
use crate::http::AppState;

/// At most ten years per call.
const MAX_ADVANCE_SECONDS: i64 = 10 * 365 * 24 * 3600;

/// `GET`: `{"now": …, "offsetSeconds": …}`.
pub async fn show(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(view(&state))
}

/// `POST {"advanceSeconds": N}`: moves the clock forward and applies every transition that falls due, so a pending
/// upload whose time has come is complete when this answers.
pub async fn advance(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = read_json_object(&req, payload).await?;
    let mut seconds = None;
    for (name, value) in &body.0 {
        match name.as_str() {
            "advanceSeconds" => {
                seconds = Some(
                    value
                        .as_f64()
                        .filter(|s| s.is_finite() && *s >= 0.0 && *s <= MAX_ADVANCE_SECONDS as f64)
                        .ok_or_else(|| {
                            ApiError::invalid(
                                name,
                                format!(
                                    "must be a number of seconds from 0 to {MAX_ADVANCE_SECONDS}"
                                ),
                            )
                        })?,
                )
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "The property '{other}' does not exist; use advanceSeconds."
                )))
            }
        }
    }
    let seconds =
        seconds.ok_or_else(|| ApiError::invalid("advanceSeconds", "the property is required"))?;
    let by_ms = (seconds * 1000.0).round() as i64;
    // The offset stays within MAX_OFFSET_MS in total, so every timestamp the emulator writes stays in range.
    let advanced = crate::control::store::advance_clock(&state.db, by_ms, MAX_OFFSET_MS).await?;
    let offset = advanced.ok_or_else(|| {
        ApiError::invalid(
            "advanceSeconds",
            format!(
                "the clock may run at most {} years ahead in total (it is {} seconds ahead now); reset it with \
                 POST /_emulator/reset",
                MAX_OFFSET_MS / (365 * 24 * 3600 * 1000),
                state.clock.offset_ms() / 1000
            ),
        )
    })?;
    state.clock.set_offset_ms(offset);
    lifecycle::apply_due(&state.db, &state.due, &format_timestamp(state.clock.now())).await?;
    Ok(HttpResponse::Ok().json(view(&state)))
}

fn view(state: &AppState) -> serde_json::Value {
    json!({
        "now": format_timestamp(state.clock.now()),
        "offsetSeconds": state.clock.offset_ms() as f64 / 1000.0,
    })
}
