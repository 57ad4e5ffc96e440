//! The catalogs the control plane manages, with one set of handlers: `/_emulator/source-images` (the Azure images
//! uploads read; the resource id is the path:
//! `PUT /_emulator/source-images/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/images/{name}`)
//! and `/_emulator/gallery-images` (the gallery provisioning policies choose from, docs/policies.md; the id is
//! `{publisher}_{offer}_{sku}`). Each lists, reads, adds, replaces and deletes its entries.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::json;

use crate::db::Database;
use crate::error::ApiError;
use crate::gallery_images::model::GalleryImage;
use crate::graph::body::{read_json_object, JsonObject};
use crate::http::AppState;
use crate::source_images::model::SourceImage;

/// What the handlers need of a catalog: how its entries are named and checked, and its repository.
pub(crate) trait Catalog: 'static {
    type Entry: Serialize;
    /// The id of a path's tail (`{id}`, or the segments after the catalog's own).
    fn path_id(tail: &str) -> String;
    fn id(entry: &Self::Entry) -> &str;
    /// A checked entry from a body; `path_id` is the id of a `PUT`'s path.
    fn parse(body: JsonObject, path_id: Option<&str>) -> Result<Self::Entry, ApiError>;
    async fn all(db: &Database) -> Result<Vec<Self::Entry>, ApiError>;
    async fn find(db: &Database, id: &str) -> Result<Option<Self::Entry>, ApiError>;
    async fn upsert(db: &Database, entry: &Self::Entry) -> Result<Self::Entry, ApiError>;
    async fn remove(db: &Database, id: &str) -> Result<bool, ApiError>;
    /// The 404 for an id the catalog does not hold, and the 409 for one it does.
    fn missing(id: &str) -> ApiError;
    fn taken(id: &str) -> ApiError;
}

/// The source image catalog.
pub(crate) struct SourceCatalog;

impl Catalog for SourceCatalog {
    type Entry = SourceImage;

    fn path_id(tail: &str) -> String {
        format!("/{}", tail.trim_matches('/'))
    }
    fn id(entry: &SourceImage) -> &str {
        &entry.resource_id
    }
    fn parse(body: JsonObject, path_id: Option<&str>) -> Result<SourceImage, ApiError> {
        crate::source_images::model::parse_entry(body, path_id)
    }
    async fn all(db: &Database) -> Result<Vec<SourceImage>, ApiError> {
        crate::source_images::repository::all(db).await
    }
    async fn find(db: &Database, id: &str) -> Result<Option<SourceImage>, ApiError> {
        crate::source_images::repository::find(db, id).await
    }
    async fn upsert(db: &Database, entry: &SourceImage) -> Result<SourceImage, ApiError> {
        crate::source_images::repository::upsert(db, entry).await
    }
    async fn remove(db: &Database, id: &str) -> Result<bool, ApiError> {
        crate::source_images::repository::remove(db, id).await
    }
    fn missing(id: &str) -> ApiError {
        ApiError::NotFound(format!("The catalog holds no source image '{id}'."))
    }
    fn taken(id: &str) -> ApiError {
        ApiError::Conflict(format!("The catalog already holds '{id}'."))
    }
}

/// The gallery images.
pub(crate) struct GalleryCatalog;

impl Catalog for GalleryCatalog {
    type Entry = GalleryImage;

    fn path_id(tail: &str) -> String {
        tail.to_owned()
    }
    fn id(entry: &GalleryImage) -> &str {
        &entry.id
    }
    fn parse(body: JsonObject, path_id: Option<&str>) -> Result<GalleryImage, ApiError> {
        crate::gallery_images::model::parse_entry(body, path_id)
    }
    async fn all(db: &Database) -> Result<Vec<GalleryImage>, ApiError> {
        crate::gallery_images::repository::all(db).await
    }
    async fn find(db: &Database, id: &str) -> Result<Option<GalleryImage>, ApiError> {
        crate::gallery_images::repository::find(db, id).await
    }
    async fn upsert(db: &Database, entry: &GalleryImage) -> Result<GalleryImage, ApiError> {
        crate::gallery_images::repository::upsert(db, entry).await
    }
    async fn remove(db: &Database, id: &str) -> Result<bool, ApiError> {
        crate::gallery_images::repository::remove(db, id).await
    }
    fn missing(id: &str) -> ApiError {
        let shown: String = id.chars().take(100).collect();
        ApiError::NotFound(format!("The gallery holds no image '{shown}'."))
    }
    fn taken(id: &str) -> ApiError {
        ApiError::Conflict(format!("The gallery already holds '{id}'."))
    }
}

/// Registers both catalogs' routes (inside the `/_emulator` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    routes::<SourceCatalog>(cfg, "/source-images", "/source-images/{tail:.+}");
    routes::<GalleryCatalog>(cfg, "/gallery-images", "/gallery-images/{tail}");
}

fn routes<C: Catalog>(cfg: &mut web::ServiceConfig, collection: &str, entry: &str) {
    cfg.service(
        web::resource(collection)
            .route(web::get().to(list::<C>))
            .route(web::post().to(add::<C>)),
    )
    .service(
        web::resource(entry)
            .route(web::get().to(read::<C>))
            .route(web::put().to(replace::<C>))
            .route(web::delete().to(delete::<C>)),
    );
}

/// `GET`: every entry, in creation order.
async fn list<C: Catalog>(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(json!({ "value": C::all(&state.db).await? })))
}

/// `POST`: adds an entry; 409 when its id is taken.
async fn add<C: Catalog>(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let entry = C::parse(read_json_object(&req, payload).await?, None)?;
    if C::find(&state.db, C::id(&entry)).await?.is_some() {
        return Err(C::taken(C::id(&entry)));
    }
    let stored = C::upsert(&state.db, &entry).await?;
    Ok(HttpResponse::Created().json(stored))
}

/// `GET {id}`.
async fn read<C: Catalog>(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = C::path_id(&path);
    let entry = C::find(&state.db, &id)
        .await?
        .ok_or_else(|| C::missing(&id))?;
    Ok(HttpResponse::Ok().json(entry))
}

/// `PUT {id}`: creates (201) or replaces (200) the entry.
async fn replace<C: Catalog>(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = C::path_id(&path);
    let entry = C::parse(read_json_object(&req, payload).await?, Some(&id))?;
    let existed = C::find(&state.db, C::id(&entry)).await?.is_some();
    let stored = C::upsert(&state.db, &entry).await?;
    Ok(if existed {
        HttpResponse::Ok()
    } else {
        HttpResponse::Created()
    }
    .json(stored))
}

/// `DELETE {id}`: 204. Images already uploaded from a source keep their state (later uploads fail as not found);
/// policies that name a gallery image keep it as their imageId (new policies can no longer use it).
async fn delete<C: Catalog>(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = C::path_id(&path);
    if C::remove(&state.db, &id).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(C::missing(&id))
    }
}
