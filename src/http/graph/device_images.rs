//! Create, get and delete (docs/api.md, docs/fidelity.md). Each handler parses the request into domain values, asks the repository,
//! and builds the response from what the database returned.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use uuid::Uuid;

use crate::clock::format_timestamp;
use crate::device_images::domain::{CreateDeviceImageRequest, NewDeviceImage};
use crate::device_images::query::{parse_select, select_suffix};
use crate::device_images::view::ImageView;
use crate::device_images::{lifecycle, repository, COLLECTION_PATH};
use crate::error::ApiError;
use crate::graph::body::read_json_object;
use crate::graph::enums::{GraphEnum, ImageStatus};
use crate::graph::odata::options::{parse_options, unsupported};
use crate::graph::{response, GraphContext};
use crate::http::protocol::TouchedImage;
use crate::http::AppState;

/// `POST …/deviceImages`: 201 with the stored image and its `Location`.
pub async fn create(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    ctx: &GraphContext,
) -> Result<HttpResponse, ApiError> {
    let body = read_json_object(req, payload).await?;
    let new = NewDeviceImage::try_from(CreateDeviceImageRequest {
        body,
        version: ctx.version,
        include_unknown: ctx.include_unknown_enum_members,
    })?;
    // A new pending image starts its upload; `ready` or `failed` in the body are stored as given (a fixture: nothing
    // runs).
    let now = state.clock.now();
    let due = (new.status == ImageStatus::Pending)
        .then(|| now + chrono::Duration::seconds(state.settings.upload_duration as i64));
    let image = state
        .writes
        .insert(
            &ctx.tenant,
            new,
            format_timestamp(now),
            due.map(format_timestamp),
        )
        .await?;
    if let Some(due) = due {
        state.due.note(due).await;
    }
    touched(req, image.id);
    let context = entity_context(ctx);
    let view = ImageView {
        image: &image,
        ctx,
        context: Some(&context),
    };
    let mut res = response::json(StatusCode::CREATED, ctx, &view)?;
    let location = format!("{}/{COLLECTION_PATH}/{}", ctx.base, image.id.hyphenated());
    if let Ok(value) = header::HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, value);
    }
    Ok(res)
}

/// `GET …/deviceImages/{id}`, with `$select`.
pub async fn get(
    req: &HttpRequest,
    state: &AppState,
    ctx: &GraphContext,
    id: &str,
) -> Result<HttpResponse, ApiError> {
    let mut select = None;
    for option in parse_options(req.query_string(), ctx.version)? {
        match option.name.as_str() {
            "$select" => select = parse_select(&option.value, ctx.version)?,
            _ => return Err(unsupported(&option)),
        }
    }
    let id = parse_id(id)?;
    touched(req, id);
    lifecycle::settle(&state.db, &state.clock, &state.due).await?;
    // Built inside SQLite from the description, as list pages are (view::json_sql); create's answer goes through
    // ImageView, and a test holds the two to the same bytes.
    let projection = (ctx.version, ctx.include_unknown_enum_members);
    let object = repository::get_json(&state.db, &ctx.tenant, id, projection, select.as_deref())
        .await?
        .ok_or_else(|| not_found(&id.to_string()))?;
    let selected = select_suffix(select.as_deref());
    let context = ctx.context(&[COLLECTION_PATH, &selected, "/$entity"]);
    let body = response::entity_with_context(&context, &object)?;
    Ok(response::json_bytes(StatusCode::OK, ctx, body))
}

/// `DELETE …/deviceImages/{id}`: 204, then the image is gone.
pub async fn delete(
    req: &HttpRequest,
    state: &AppState,
    ctx: &GraphContext,
    id: &str,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(id)?;
    touched(req, id);
    if state.writes.delete(&ctx.tenant, id).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(not_found(&id.to_string()))
    }
}

/// Notes the image for the request journal.
fn touched(req: &HttpRequest, id: Uuid) {
    req.extensions_mut()
        .insert(TouchedImage(id.hyphenated().to_string()));
}

fn entity_context(ctx: &GraphContext) -> String {
    ctx.context(&[COLLECTION_PATH, "/$entity"])
}

/// Ids are GUIDs in their hyphenated form, compared case-insensitively; anything else names no image (404).
pub fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    match Uuid::try_parse(raw) {
        Ok(id) if raw.len() == 36 => Ok(id),
        _ => Err(not_found(raw)),
    }
}

fn not_found(id: &str) -> ApiError {
    let shown: String = id.chars().take(100).collect();
    ApiError::NotFound(format!(
        "The cloudPcDeviceImage with id '{shown}' was not found."
    ))
}

/// `POST …/deviceImages/{id}/retryUpload` (and the deprecated `reupload`), beta only: a failed image's upload starts
/// again (docs/lifecycle.md). Any other status is a 400.
pub async fn retry_upload(
    req: &HttpRequest,
    state: &AppState,
    ctx: &GraphContext,
    id: &str,
    deprecated: bool,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(id)?;
    touched(req, id);
    let upload = chrono::Duration::seconds(state.settings.upload_duration as i64);
    if !lifecycle::retry(&state.db, &state.clock, &state.due, upload, &ctx.tenant, id).await? {
        let image = repository::get(&state.db, &ctx.tenant, id)
            .await?
            .ok_or_else(|| not_found(&id.to_string()))?;
        return Err(ApiError::BadRequest(format!(
            "The upload of a device image can be retried only when its status is 'failed'; this image is '{}'.",
            image.status.wire()
        )));
    }
    let mut res = HttpResponse::NoContent();
    if deprecated {
        // reupload is deprecated in favour of retryUpload (docs/fidelity.md#methods-and-permissions).
        res.insert_header(("Deprecation", REUPLOAD_DEPRECATED))
            .insert_header(("Sunset", REUPLOAD_SUNSET))
            .insert_header((
                "Link",
                "<https://learn.microsoft.com/graph/api/cloudpcdeviceimage-retryupload?view=graph-rest-beta>; \
                 rel=\"successor-version\"",
            ));
    }
    Ok(res.finish())
}

/// When `reupload` was deprecated (2026-01-09, Graph's published date; `metadata::REUPLOAD_DEPRECATED_ON`), as RFC
/// 9745 writes it: a structured-field date, seconds since the epoch.
pub(crate) const REUPLOAD_DEPRECATED: &str = "@1767916800";
/// When the real service stops answering `reupload` (2026-06-25; `metadata::REUPLOAD_REMOVED_ON`), an HTTP date as
/// RFC 8594 writes it.
pub(crate) const REUPLOAD_SUNSET: &str = "Thu, 25 Jun 2026 00:00:00 GMT";
