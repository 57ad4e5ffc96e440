//! `/_emulator/source-images`: list, read, add, replace and delete catalog entries. The resource id is the path:
//! `PUT /_emulator/source-images/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/images/{name}`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::error::ApiError;
use crate::graph::body::read_json_object;
use crate::http::AppState;
use crate::source_images::model::parse_entry;
use crate::source_images::repository;

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

/// `GET`: every entry, in creation order.
async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(json!({ "value": repository::all(&state.db).await? })))
}

/// `POST`: adds an entry; 409 when its resource id is taken.
async fn add(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let entry = parse_entry(read_json_object(&req, payload).await?, None)?;
    if repository::find(&state.db, &entry.resource_id)
        .await?
        .is_some()
    {
        return Err(ApiError::Conflict(format!(
            "The catalog already holds '{}'.",
            entry.resource_id
        )));
    }
    let stored = repository::upsert(&state.db, &entry).await?;
    Ok(HttpResponse::Created().json(stored))
}

/// `GET {resourceId}`.
async fn read(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = resource_id(&path);
    let entry = repository::find(&state.db, &id)
        .await?
        .ok_or_else(|| missing(&id))?;
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
    let existed = repository::find(&state.db, &entry.resource_id)
        .await?
        .is_some();
    let stored = repository::upsert(&state.db, &entry).await?;
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
    if repository::remove(&state.db, &id).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(missing(&id))
    }
}

fn resource_id(tail: &str) -> String {
    format!("/{}", tail.trim_matches('/'))
}

fn missing(id: &str) -> ApiError {
    ApiError::NotFound(format!("The catalog holds no source image '{id}'."))
}
