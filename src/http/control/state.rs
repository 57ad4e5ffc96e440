//! Reset, state export and import, and snapshots (docs/state.md, docs/control-plane.md).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::control::state::{ImageDefaults, Mode, Scope, StateDocument};
use crate::device_images::lifecycle;
use crate::device_images::repository;
use crate::device_images::view::ImageView;
use crate::error::ApiError;
use crate::graph::body::{read_json_object, read_json_object_up_to, JsonObject};
use crate::graph::values::text;
use crate::graph::{ApiVersion, GraphContext};
use crate::http::AppState;
use crate::provisioning_policies::repository as policy_repository;

/// `POST /_emulator/reset[?catalog=true]`: removes every image, journal entry and fault rule and resets the clock, in
/// one transaction, leaving the database as a freshly migrated one (the catalog too, back to its seeded entries, with
/// `catalog=true`). `?tenant=T` removes that tenant's images only.
pub async fn reset(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (mut catalog, mut tenant) = (false, None);
    for (name, value) in query(&req, &["catalog", "tenant"])? {
        match name.as_str() {
            "catalog" => catalog = flag("catalog", &value)?,
            _ => tenant = Some(tenant_param(&value)?),
        }
    }
    if let Some(tenant) = tenant {
        if catalog {
            return Err(ApiError::invalid(
                "catalog",
                "the catalog is emulator-wide; a tenant's reset removes that tenant's images only",
            ));
        }
        let removed = crate::control::store::reset_tenant(&state.db, &tenant).await?;
        state.due.refresh(&state.db).await?;
        return Ok(HttpResponse::Ok()
            .json(json!({ "reset": true, "tenantId": tenant, "images": removed })));
    }
    // Entries still queued would land after the reset.
    state.journal.flush().await;
    crate::control::store::reset(&state.db, catalog).await?;
    state.faults.clear();
    state.clock.set_offset_ms(0);
    state.due.refresh(&state.db).await?;
    Ok(HttpResponse::Ok().json(json!({ "reset": true, "catalog": catalog })))
}

/// `GET /_emulator/state`: every image (all tenants, beta shape with every enum member, plus `tenantId` and
/// `uploadDueAt`), provisioning policy (beta shape with its assignments, plus `tenantId`), catalog entry, gallery
/// image and fault rule, and the clock (docs/state.md). `?tenant=T`: that tenant's images and policies only.
pub async fn export(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let tenant = match query(&req, &["tenant"])?.pop() {
        Some((_, value)) => Some(tenant_param(&value)?),
        None => None,
    };
    lifecycle::settle(&state.db, &state.clock, &state.due).await?;
    let stored = repository::all_with_due(&state.db, tenant.as_deref()).await?;
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
    let mut policies = Vec::new();
    for (tenant_id, policy) in policy_repository::export(&state.db, tenant.as_deref()).await? {
        let mut value: serde_json::Value =
            serde_json::from_str(&policy).map_err(ApiError::internal)?;
        value["tenantId"] = json!(tenant_id);
        policies.push(value);
    }
    if tenant.is_some() {
        return Ok(
            HttpResponse::Ok().json(json!({ "images": images, "provisioningPolicies": policies }))
        );
    }
    let sources = crate::source_images::repository::all(&state.db).await?;
    let gallery = crate::gallery_images::repository::all(&state.db).await?;
    Ok(HttpResponse::Ok().json(json!({
        "images": images,
        "provisioningPolicies": policies,
        "sourceImages": sources,
        "galleryImages": gallery,
        "faults": state.faults.rules(),
        "clock": {
            "now": crate::clock::format_timestamp(state.clock.now()),
            "offsetSeconds": state.clock.offset_ms() as f64 / 1000.0,
        },
    })))
}

/// Largest state document `POST /_emulator/import` reads: some 40,000 images.
pub const MAX_IMPORT_BYTES: usize = 32 * 1024 * 1024;

/// `POST /_emulator/import[?mode=merge|replace][&tenant=T]`: the state document `GET /_emulator/state` exports, checked
/// entry by entry and written in one transaction (docs/state.md). A bad entry is a 400 (a clash with what is stored a
/// 409) naming it, and changes nothing.
pub async fn import(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (mut mode, mut scope) = (Mode::Merge, Scope::All);
    for (name, value) in query(&req, &["mode", "tenant"])? {
        match name.as_str() {
            "mode" => {
                mode = match value.as_str() {
                    "merge" => Mode::Merge,
                    "replace" => Mode::Replace,
                    _ => return Err(ApiError::invalid("mode", "must be merge or replace")),
                }
            }
            _ => scope = Scope::Tenant(tenant_param(&value)?),
        }
    }
    let body = read_json_object_up_to(&req, payload, MAX_IMPORT_BYTES).await?;
    let defaults = ImageDefaults {
        wall: chrono::Utc::now(),
        offset_ms: state.clock.offset_ms(),
        upload_seconds: state.settings.upload_duration,
    };
    let doc = StateDocument::parse(body, &scope, &defaults)?;
    let everything = mode == Mode::Replace && scope == Scope::All;
    if everything {
        state.journal.flush().await;
    }
    let imported = crate::control::state::apply(&state.db, &doc, mode, &scope).await?;
    // What the handlers keep in memory follows what was written.
    if let Some(offset) = doc.clock_offset_ms {
        state.clock.set_offset_ms(offset);
    } else if everything {
        state.clock.set_offset_ms(0);
    }
    if doc.faults.is_some() || everything {
        state.faults.reload(&state.db).await?;
    }
    state.due.refresh(&state.db).await?;
    let mode = if mode == Mode::Merge {
        "merge"
    } else {
        "replace"
    };
    let tenant = match &scope {
        Scope::Tenant(t) => Some(t.as_str()),
        Scope::All => None,
    };
    Ok(HttpResponse::Ok().json(json!({ "mode": mode, "tenantId": tenant, "imported": imported })))
}

/// The query's parameters, each of them one of `allowed` and given once.
fn query(req: &HttpRequest, allowed: &[&str]) -> Result<Vec<(String, String)>, ApiError> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map_err(|e| ApiError::BadRequest(format!("Invalid query string: {e}")))?
        .into_inner();
    for (i, (name, _)) in pairs.iter().enumerate() {
        if !allowed.contains(&name.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "Unknown parameter '{name}'; this route takes {}.",
                allowed.join(", ")
            )));
        }
        if pairs[..i].iter().any(|(seen, _)| seen == name) {
            return Err(ApiError::BadRequest(format!(
                "The parameter '{name}' is given twice."
            )));
        }
    }
    Ok(pairs)
}

fn flag(name: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "false" => Ok(false),
        "true" => Ok(true),
        other => Err(ApiError::invalid(
            name,
            format!("must be true or false, not '{other}'"),
        )),
    }
}

/// A `?tenant=` as the tenant key the images are stored under.
fn tenant_param(value: &str) -> Result<String, ApiError> {
    crate::identity::tenant_key(value).ok_or_else(|| {
        ApiError::invalid(
            "tenant",
            "must be a GUID or a name of 1 to 64 letters, digits, '-', '_' and '.'",
        )
    })
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
