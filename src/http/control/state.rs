//! Reset, state export and snapshots of the whole emulator.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::device_images::lifecycle;
use crate::device_images::repository;
use crate::device_images::view::ImageView;
use crate::error::ApiError;
use crate::graph::body::{read_json_object, JsonObject};
use crate::graph::values::text;
use crate::graph::{ApiVersion, GraphContext};
use crate::http::AppState;

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
    crate::control::store::reset(&state.db, catalog).await?;
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
    lifecycle::settle(&state.db, &state.clock, &state.due).await?;
    let stored = repository::all_with_due(&state.db).await?;
    let mut ctx = GraphContext::new(&req, ApiVersion::Beta, String::new());
    ctx.include_unknown_enum_members = true;
    let mut images = Vec::with_capacity(stored.len());
    for (image, due) in stored {
        let mut value = serde_json::to_value(ImageView {
            image: &image,
            ctx: &ctx,
            context: None,
        })
        .map_err(ApiError::internal)?;
        value["tenantId"] = json!(image.tenant_id);
        value["uploadDueAt"] = json!(due);
        images.push(value);
    }
    let sources = crate::source_images::repository::all(&state.db).await?;
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

/// Longest snapshot name.
const MAX_SNAPSHOT_NAME: usize = 100;

/// `POST /_emulator/snapshot {"name": "NAME"}`: a consistent copy of the database (`VACUUM INTO`) as
/// `snapshots/NAME.db` beside the database, which `--database` can open later. The name is a plain file name; the
/// file is created exclusively with mode 0600 (never through a symlink, never over a file: 409), so no request can
/// write anywhere else. The signing secret is not in the database, so not in the copy either.
pub async fn snapshot(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let name = snapshot_name(read_json_object(&req, payload).await?)?;
    let folder = crate::tls::data_dir(&state.settings.database).join("snapshots");
    crate::files::private_dir(&folder).map_err(|e| {
        tracing::warn!(error = %e, folder = %folder.display(), "cannot create the snapshot folder");
        ApiError::Unavailable("The snapshot folder cannot be created.".into())
    })?;
    if std::fs::symlink_metadata(&folder).is_ok_and(|m| !m.is_dir()) {
        return Err(ApiError::Conflict(
            "The snapshot folder is not a folder.".into(),
        ));
    }
    let target = folder.join(&name);
    // An empty file of our own making: VACUUM INTO writes into an empty file, and O_EXCL refuses any existing name,
    // a symlink included.
    match crate::files::private_file(&target) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(ApiError::Conflict(format!(
                "A snapshot named '{name}' exists already; a snapshot never overwrites a file."
            )))
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot create a snapshot file");
            return Err(ApiError::Unavailable(
                "The snapshot file cannot be created.".into(),
            ));
        }
    }
    state.journal.flush().await;
    let path = target.to_string_lossy().into_owned();
    if let Err(e) = state.db.copy_into(&path).await {
        let _ = std::fs::remove_file(&target);
        return Err(ApiError::Unavailable(format!(
            "The snapshot could not be written: {}",
            sqlite_reason(&e)
        )));
    }
    let bytes = std::fs::metadata(&target).map_or(0, |m| m.len());
    Ok(HttpResponse::Created().json(json!({ "name": name, "bytes": bytes })))
}

/// The snapshot name a body asks for, as a file name: letters, digits, `-`, `_` and `.`, not starting with `.`, at most 100 characters, with
/// `.db` added when missing.
fn snapshot_name(body: JsonObject) -> Result<String, ApiError> {
    let mut name = None;
    for (property, value) in &body.0 {
        match property.as_str() {
            "name" => name = Some(text(property, value)?),
            "path" => {
                return Err(ApiError::BadRequest(
                    "The property 'path' is no longer accepted: send {\"name\": \"NAME\"}, and the snapshot is \
                     written as snapshots/NAME.db beside the database."
                        .into(),
                ))
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "The property '{other}' does not exist; use name."
                )))
            }
        }
    }
    let name = name.ok_or_else(|| ApiError::invalid("name", "the property is required"))?;
    let name = name.as_str();
    let plain = !name.is_empty()
        && name.len() <= MAX_SNAPSHOT_NAME
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !plain {
        return Err(ApiError::invalid(
            "name",
            format!(
                "must be a plain file name of 1 to {MAX_SNAPSHOT_NAME} letters, digits, '-', '_' and '.', not \
                 starting with '.'"
            ),
        ));
    }
    Ok(if name.ends_with(".db") {
        name.to_owned()
    } else {
        format!("{name}.db")
    })
}

/// SQLite's own words for why a file could not be written (no internals beyond that).
fn sqlite_reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => db.message().to_owned(),
        _ => "the database could not write it".into(),
    }
}
