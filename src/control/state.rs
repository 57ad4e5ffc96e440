//! Reset, state export and snapshots of the whole emulator.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::device_images::lifecycle;
use crate::device_images::model::{DeviceImage, DeviceImageRow, COLUMNS};
use crate::device_images::view::ImageView;
use crate::error::ApiError;
use crate::graph::body::read_json_object;
use crate::graph::values::text;
use crate::graph::{ApiVersion, GraphContext};
use crate::source_images::model::{SourceImage, COLUMNS as SOURCE_COLUMNS};
use crate::startup::AppState;

/// `POST /_emulator/reset[?catalog=true]`: removes every image, journal entry and fault rule and resets the clock, in
/// one transaction, leaving the database as a freshly migrated one (the catalog too, back to its seeded entries, with
/// `catalog=true`).
pub async fn reset(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let catalog = match web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map_err(|e| ApiError::BadRequest(format!("Invalid query string: {e}")))?
        .iter()
        .find(|(k, _)| k == "catalog")
        .map(|(_, v)| v.as_str())
    {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "catalog",
                format!("must be true or false, not '{other}'"),
            ))
        }
    };
    // Entries still queued would land after the reset.
    state.journal.flush().await;
    let mut tx = state.db.writer.begin().await?;
    for sql in [
        "DELETE FROM device_images",
        "DELETE FROM request_journal",
        "DELETE FROM fault_rules",
        "UPDATE emulator_state SET clock_offset_ms = 0",
        "DELETE FROM sqlite_sequence WHERE name IN ('device_images', 'request_journal', 'fault_rules')",
    ] {
        sqlx::query(sql).execute(&mut *tx).await?;
    }
    if catalog {
        for sql in [
            "DELETE FROM source_images",
            "DELETE FROM sqlite_sequence WHERE name = 'source_images'",
            "INSERT INTO source_images SELECT * FROM source_image_seeds",
        ] {
            sqlx::query(sql).execute(&mut *tx).await?;
        }
    }
    tx.commit().await?;
    state.faults.clear();
    state.clock.set_offset_ms(0);
    Ok(HttpResponse::Ok().json(json!({ "reset": true, "catalog": catalog })))
}

/// `GET /_emulator/state`: every image (all tenants, beta shape with every enum member, plus `tenantId` and
/// `uploadDueAt`), catalog entry and fault rule, and the clock.
pub async fn export(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    lifecycle::settle(&state).await?;
    let rows = sqlx::query_as::<_, DeviceImageRow>(&format!(
        "SELECT {COLUMNS} FROM device_images ORDER BY seq"
    ))
    .fetch_all(&state.db.reader)
    .await?;
    let dues: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT id, upload_due_at FROM device_images ORDER BY seq")
            .fetch_all(&state.db.reader)
            .await?;
    let mut ctx = GraphContext::new(&req, ApiVersion::Beta, String::new());
    ctx.include_unknown_enum_members = true;
    let mut images = Vec::with_capacity(rows.len());
    for (row, (_, due)) in rows.into_iter().zip(dues) {
        let image = DeviceImage::try_from(row)?;
        let mut value = serde_json::to_value(ImageView {
            image: &image,
            ctx: &ctx,
            select: None,
            context: None,
        })
        .map_err(ApiError::internal)?;
        value["tenantId"] = json!(image.tenant_id);
        value["uploadDueAt"] = json!(due);
        images.push(value);
    }
    let sources = sqlx::query(&format!(
        "SELECT {SOURCE_COLUMNS} FROM source_images ORDER BY seq"
    ))
    .fetch_all(&state.db.reader)
    .await?
    .iter()
    .map(SourceImage::from_row)
    .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(json!({
        "images": images,
        "sourceImages": sources,
        "faults": state.faults.rules(),
        "clock": {
            "now": crate::clock::format_timestamp(state.clock.now()),
            "offsetSeconds": state.clock.offset_ms() as f64 / 1000.0,
        },
    })))
}

/// `POST /_emulator/snapshot {"path": "…"}`: a consistent copy of the database (`VACUUM INTO`), which `--database`
/// can open later. The file must not exist yet; its folder must.
pub async fn snapshot(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = read_json_object(&req, payload).await?;
    let mut path = None;
    for (name, value) in &body.0 {
        match name.as_str() {
            "path" => path = Some(text(name, value)?),
            other => {
                return Err(ApiError::BadRequest(format!(
                    "The property '{other}' does not exist; use path."
                )))
            }
        }
    }
    let path = path
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("path", "the property is required"))?;
    let target = std::path::Path::new(&path);
    if target.exists() {
        return Err(ApiError::Conflict(format!(
            "'{path}' exists already; a snapshot never overwrites a file."
        )));
    }
    if !target
        .parent()
        .is_none_or(|d| d.as_os_str().is_empty() || d.is_dir())
    {
        return Err(ApiError::invalid("path", "its folder does not exist"));
    }
    state.journal.flush().await;
    sqlx::query("VACUUM INTO ?")
        .bind(&path)
        .execute(&state.db.reader)
        .await
        .map_err(|e| {
            ApiError::BadRequest(format!(
                "The snapshot could not be written to '{path}': {}",
                sqlite_reason(&e)
            ))
        })?;
    let bytes = std::fs::metadata(target).map(|m| m.len()).unwrap_or(0);
    let absolute = std::fs::canonicalize(target)
        .map(|p| p.display().to_string())
        .unwrap_or(path);
    Ok(HttpResponse::Created().json(json!({ "path": absolute, "bytes": bytes })))
}

/// SQLite's own words for why a file could not be written (no internals beyond that).
fn sqlite_reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => db.message().to_owned(),
        _ => "the database could not write it".into(),
    }
}
