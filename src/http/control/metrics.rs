//! `GET /metrics`: Prometheus text format. Requests by route, method and status, a latency histogram, images by
//! status, and the journal's size.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use actix_web::{web, HttpResponse};

use crate::error::ApiError;
use crate::graph::enums::{GraphEnum, ImageStatus};
use crate::http::AppState;

/// `GET /metrics`.
pub async fn render(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let mut out = String::new();
    state.metrics.write_requests(&mut out);
    let statuses = crate::device_images::repository::count_by_status(&state.db).await?;
    let _ = writeln!(
        out,
        "# HELP cloudpc_device_images Device images, by status (all tenants)."
    );
    let _ = writeln!(out, "# TYPE cloudpc_device_images gauge");
    for status in ImageStatus::ALL.iter().map(|s| s.wire()) {
        let n = statuses
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n);
        let _ = writeln!(out, "cloudpc_device_images{{status=\"{status}\"}} {n}");
    }
    let rows = crate::control::journal::stored_rows(&state.db).await?;
    let _ = writeln!(
        out,
        "# HELP cloudpc_journal_rows Requests the journal holds."
    );
    let _ = writeln!(out, "# TYPE cloudpc_journal_rows gauge");
    let _ = writeln!(out, "cloudpc_journal_rows {}", rows);
    let _ = writeln!(
        out,
        "# HELP cloudpc_journal_dropped_total Journal entries lost to a full queue."
    );
    let _ = writeln!(out, "# TYPE cloudpc_journal_dropped_total counter");
    let _ = writeln!(
        out,
        "cloudpc_journal_dropped_total {}",
        state.journal.dropped.load(Ordering::Relaxed)
    );
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out))
}
