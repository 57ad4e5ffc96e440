//! `/_emulator/gallery-images`: list, read, add, replace and delete the gallery images `galleryImages` lists and a
//! `gallery` provisioning policy may name (docs/policies.md). The id is the path:
//! `PUT /_emulator/gallery-images/{publisher}_{offer}_{sku}`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::error::ApiError;
use crate::gallery_images::model::parse_entry;
use crate::gallery_images::repository;
use crate::graph::body::read_json_object;
use crate::http::AppState;

/// Registers the gallery routes (inside the `/_emulator` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/gallery-images")
            .route(web::get().to(list))
            .route(web::post().to(add)),
    )
    .service(
        web::resource("/gallery-images/{id}")
            .route(web::get().to(read))
            .route(web::put().to(replace))
            .route(web::delete().to(delete)),
    );
}

/// `GET`: every entry, in creation order.
async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(json!({ "value": repository::all(&state.db).await? })))
}

/// `POST`: adds an entry; 409 when its id is taken.
async fn add(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let entry = parse_entry(read_json_object(&req, payload).await?, None)?;
    if repository::find(&state.db, &entry.id).await?.is_some() {
        return Err(ApiError::Conflict(format!(
            "The gallery already holds '{}'.",
            entry.id
        )));
    }
    let stored = repository::upsert(&state.db, &entry).await?;
    Ok(HttpResponse::Created().json(stored))
}

/// `GET {id}`.
async fn read(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let entry = repository::find(&state.db, &path)
        .await?
        .ok_or_else(|| missing(&path))?;
    Ok(HttpResponse::Ok().json(entry))
}

/// `PUT {id}`: creates (201) or replaces (200) the entry.
async fn replace(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let entry = parse_entry(read_json_object(&req, payload).await?, Some(&path))?;
    let existed = repository::find(&state.db, &entry.id).await?.is_some();
    let stored = repository::upsert(&state.db, &entry).await?;
    Ok(if existed {
        HttpResponse::Ok()
    } else {
        HttpResponse::Created()
    }
    .json(stored))
}

/// `DELETE {id}`: 204. Policies that name the image keep it as their imageId; new policies can no longer use it.
async fn delete(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if repository::remove(&state.db, &path).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(missing(&path))
    }
}

fn missing(id: &str) -> ApiError {
    let shown: String = id.chars().take(100).collect();
    ApiError::NotFound(format!("The gallery holds no image '{shown}'."))
}
