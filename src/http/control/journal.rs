//! `GET` and `DELETE /_emulator/requests`: the request journal (docs/control-plane.md#journal). What it keeps and how
//! it is written is in [`crate::control::journal`].

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::control::journal::{self, EntryFilter};
use crate::error::ApiError;
use crate::http::AppState;

/// `GET /_emulator/requests`: newest first, filtered by `method`, `path` (substring), `status`, `since` (RFC 3339)
/// and bounded by `limit` (default 100, at most 1000). `format=har` or `format=http` answers the same entries as a
/// HAR 1.2 or `.http` file, oldest first ([`super::har`]); there `limit` defaults to (and may be up to) the whole
/// journal, at most 10,000 entries.
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (filter, format) = parse_filter(req.query_string(), state.settings.journal_max)?;
    state.journal.flush().await;
    let entries = journal::entries(&state.db, &filter).await?;
    let origin = {
        let ctx =
            crate::graph::GraphContext::new(&req, crate::graph::ApiVersion::Beta, String::new());
        ctx.base.trim_end_matches("/beta").to_owned()
    };
    let attachment = |name: &str| {
        (
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        )
    };
    Ok(match format {
        Format::Json => HttpResponse::Ok().json(json!({ "value": entries })),
        Format::Har => HttpResponse::Ok()
            .insert_header(attachment("requests.har"))
            .json(super::har::har(&entries, &origin)),
        Format::Http => HttpResponse::Ok()
            .insert_header(attachment("requests.http"))
            .content_type("text/plain; charset=utf-8")
            .body(super::har::http_file(&entries, &origin)),
    })
}

/// Most entries one HAR or `.http` file holds (the journal's default size); `since` and `limit` select older ones.
const MAX_FILE_ENTRIES: i64 = 10_000;

/// What `GET /_emulator/requests` answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Har,
    Http,
}

/// `DELETE /_emulator/requests`: clears the journal.
pub async fn clear(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.journal.flush().await;
    journal::clear(&state.db).await?;
    Ok(HttpResponse::NoContent().finish())
}

fn parse_filter(query: &str, journal_max: u64) -> Result<(EntryFilter, Format), ApiError> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query)
        .map_err(|e| ApiError::BadRequest(format!("Invalid query string: {e}")))?
        .into_inner();
    let format = match pairs.iter().find(|(name, _)| name == "format") {
        None => Format::Json,
        Some((_, f)) if f == "json" => Format::Json,
        Some((_, f)) if f == "har" => Format::Har,
        Some((_, f)) if f == "http" => Format::Http,
        Some(_) => return Err(ApiError::invalid("format", "must be json, har or http")),
    };
    // A file holds the whole journal (the default size) unless told otherwise, and never more than
    // MAX_FILE_ENTRIES, so no export can hold more than that in memory.
    let most = if format == Format::Json {
        1000
    } else {
        (journal_max as i64).clamp(1, MAX_FILE_ENTRIES)
    };
    let mut filter = EntryFilter {
        limit: if format == Format::Json { 100 } else { most },
        ..EntryFilter::default()
    };
    for (name, value) in pairs {
        match name.as_str() {
            "format" => {}
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
                    .filter(|n| (1..=most).contains(n))
                    .ok_or_else(|| {
                        ApiError::invalid("limit", format!("must be an integer from 1 to {most}"))
                    })?;
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "Unknown filter '{other}'; use method, path, status, since, limit or format."
                )))
            }
        }
    }
    Ok((filter, format))
}
