//! `GET /metrics`: Prometheus' text exposition (OpenMetrics). Requests by route, method and status, a latency
//! histogram, images by status, and the journal's size.

use std::sync::atomic::Ordering;

use actix_web::{web, HttpResponse};

use crate::error::ApiError;
use crate::graph::enums::{GraphEnum, ImageStatus};
use crate::http::AppState;

/// `GET /metrics`.
pub async fn render(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let counted = crate::device_images::repository::count_by_status(&state.db).await?;
    let images: Vec<(&'static str, i64)> = ImageStatus::ALL
        .iter()
        .map(|s| {
            let n = counted
                .iter()
                .find(|(c, _)| c == s.wire())
                .map_or(0, |(_, n)| *n);
            (s.wire(), n)
        })
        .collect();
    let rows = crate::control::journal::stored_rows(&state.db).await?;
    let dropped = state.journal.dropped.load(Ordering::Relaxed);
    let body = state.metrics.render(&images, rows, dropped);
    Ok(HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(body))
}
