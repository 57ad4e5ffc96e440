//! `/_emulator/source-images`: list, read, add, replace and delete catalog entries. The resource id is the path:
//! `PUT /_emulator/source-images/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/images/{name}`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::model::{parse_entry, SourceImage, COLUMNS};
use crate::error::ApiError;
use crate::graph::body::read_json_object;
use crate::startup::AppState;

/// Registers the catalog routes (inside the `/_emulator` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/source-images")
            .route(web::get().to(list))
            .route(web::post().to(add)),
    )
    .service(
        web::resource("/source-images/{resource_id:.+}")
            .route(web::get().to(read))
            .route(web::put().to(replace))
            .route(web::delete().to(delete)),
    );
}

/// Every entry, in creation order.
pub async fn all(db: &crate::db::Database) -> Result<Vec<SourceImage>, ApiError> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM source_images ORDER BY seq"))
        .fetch_all(&db.reader)
        .await?;
    rows.iter().map(SourceImage::from_row).collect()
}

/// `GET`: every entry, in creation order.
async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(json!({ "value": all(&state.db).await? })))
}

/// `POST`: adds an entry; 409 when its resource id is taken.
async fn add(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let entry = parse_entry(read_json_object(&req, payload).await?, None)?;
    if find(&state, &entry.resource_id).await?.is_some() {
        return Err(ApiError::Conflict(format!(
            "The catalog already holds '{}'.",
            entry.resource_id
        )));
    }
    let stored = upsert(&state, &entry).await?;
    Ok(HttpResponse::Created().json(stored))
}

/// `GET {resourceId}`.
async fn read(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = resource_id(&path);
    let entry = find(&state, &id).await?.ok_or_else(|| missing(&id))?;
    Ok(HttpResponse::Ok().json(entry))
}

/// `PUT {resourceId}`: creates (201) or replaces (200) the entry.
async fn replace(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = resource_id(&path);
    let entry = parse_entry(read_json_object(&req, payload).await?, Some(&id))?;
    let existed = find(&state, &entry.resource_id).await?.is_some();
    let stored = upsert(&state, &entry).await?;
    Ok(if existed {
        HttpResponse::Ok()
    } else {
        HttpResponse::Created()
    }
    .json(stored))
}

/// `DELETE {resourceId}`: 204; images already uploaded from it keep their state, later uploads fail as not found.
async fn delete(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = resource_id(&path);
    let mut tx = state.db.writer.begin().await?;
    let done = sqlx::query("DELETE FROM source_images WHERE resource_id_key = lower(?)")
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    match done.rows_affected() {
        0 => Err(missing(&id)),
        _ => Ok(HttpResponse::NoContent().finish()),
    }
}

fn resource_id(tail: &str) -> String {
    format!("/{}", tail.trim_matches('/'))
}

fn missing(id: &str) -> ApiError {
    ApiError::NotFound(format!("The catalog holds no source image '{id}'."))
}

async fn find(state: &AppState, id: &str) -> Result<Option<SourceImage>, ApiError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM source_images WHERE resource_id_key = lower(?)"
    ))
    .bind(id)
    .fetch_all(&state.db.reader)
    .await?;
    rows.first().map(SourceImage::from_row).transpose()
}

/// Inserts the entry, or replaces the one with its resource id (keeping its place in the listing order).
async fn upsert(state: &AppState, e: &SourceImage) -> Result<SourceImage, ApiError> {
    let sql = format!(
        "INSERT INTO source_images (resource_id, resource_id_key, display_name, subscription_id, \
         subscription_display_name, category, outcome, error_code, operating_system, os_build_number, \
         os_version_number, os_status, size_in_gb, expiration_date) \
         VALUES (?, lower(?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (resource_id_key) DO UPDATE SET resource_id = excluded.resource_id, \
         display_name = excluded.display_name, subscription_id = excluded.subscription_id, \
         subscription_display_name = excluded.subscription_display_name, category = excluded.category, \
         outcome = excluded.outcome, error_code = excluded.error_code, operating_system = excluded.operating_system, \
         os_build_number = excluded.os_build_number, os_version_number = excluded.os_version_number, \
         os_status = excluded.os_status, size_in_gb = excluded.size_in_gb, expiration_date = excluded.expiration_date \
         RETURNING {COLUMNS}"
    );
    let mut tx = state.db.writer.begin().await?;
    let rows = sqlx::query(&sql)
        .bind(&e.resource_id)
        .bind(&e.resource_id)
        .bind(&e.display_name)
        .bind(&e.subscription_id)
        .bind(&e.subscription_display_name)
        .bind(&e.category)
        .bind(&e.outcome)
        .bind(&e.error_code)
        .bind(&e.operating_system)
        .bind(&e.os_build_number)
        .bind(&e.os_version_number)
        .bind(&e.os_status)
        .bind(e.size_in_gb)
        .bind(&e.expiration_date)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    rows.first()
        .map(SourceImage::from_row)
        .transpose()?
        .ok_or_else(|| ApiError::internal("upsert returned no row"))
}
