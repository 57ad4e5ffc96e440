//! `GET` and `DELETE /_emulator/requests`: the request journal (docs/control-plane.md#journal). What it keeps and how
//! it is written is in [`crate::control::journal`].

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::control::journal::{self, EntryFilter};
use crate::error::ApiError;
use crate::http::AppState;

/// `GET /_emulator/requests`: newest first, filtered by `method`, `path` (substring), `status`, `since` (RFC 3339)
/// and bounded by `limit` (default 100, at most 1000).
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let filter = parse_filter(req.query_string())?;
    state.journal.flush().await;
    let entries = journal::entries(&state.db, &filter).await?;
    Ok(HttpResponse::Ok().json(json!({ "value": entries })))
}

/// `DELETE /_emulator/requests`: clears the journal.
pub async fn clear(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.journal.flush().await;
    journal::clear(&state.db).await?;
    Ok(HttpResponse::NoContent().finish())
}

fn parse_filter(query: &str) -> Result<EntryFilter, ApiError> {
    let mut filter = EntryFilter {
        limit: 100,
        ..EntryFilter::default()
    };
    for (name, value) in web::Query::<Vec<(String, String)>>::from_query(query)
        .map_err(|e| ApiError::BadRequest(format!("Invalid query string: {e}")))?
        .into_inner()
    {
        match name.as_str() {
            "method" => filter.method = Some(value.to_ascii_uppercase()),
            "path" => filter.path = Some(value),
            "status" => {
                let status = value
                    .parse()
                    .map_err(|_| ApiError::invalid("status", "must be an HTTP status code"))?;
                filter.status = Some(status);
            }
            "since" => {
                let t = chrono::DateTime::parse_from_rfc3339(&value)
                    .map_err(|_| ApiError::invalid("since", "must be an RFC 3339 date-time"))?;
                filter.since = Some(crate::clock::format_timestamp(
                    t.with_timezone(&chrono::Utc),
                ));
            }
            "limit" => {
                filter.limit = value
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| {
                        ApiError::invalid("limit", "must be an integer from 1 to 1000")
                    })?;
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "Unknown filter '{other}'; use method, path, status, since or limit."
                )))
            }
        }
    }
    Ok(filter)
}
