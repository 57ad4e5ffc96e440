//! `GET …/virtualEndpoint/galleryImages` and `GET …/galleryImages/{id}` (docs/policies.md): Microsoft's gallery,
//! read-only, the same for every tenant, with `$filter`, `$orderby`, `$select`, `$top`, `$skip`, `$count` and paging.

use actix_web::{HttpRequest, HttpResponse};

use crate::error::ApiError;
use crate::gallery_images::model::GALLERY_IMAGES;
use crate::gallery_images::properties::GalleryProperty;
use crate::gallery_images::{repository, COLLECTION_PATH};
use crate::graph::odata::CollectionQuery;
use crate::graph::resource::{json_object_sql, parse_select, select_suffix};
use crate::graph::GraphContext;
use crate::http::graph::collection::{entity, entity_options, json_page};
use crate::http::AppState;

/// The SQL of a gallery image's JSON for the request's version, preference and `$select`.
fn json(ctx: &GraphContext, select: Option<&[GalleryProperty]>) -> String {
    json_object_sql::<GalleryProperty>(ctx.version, ctx.include_unknown_enum_members, |p| {
        select.is_none_or(|s| s.contains(&p))
    })
}

/// Lists the gallery, one page per request.
pub async fn list(
    req: &HttpRequest,
    state: &AppState,
    ctx: &GraphContext,
) -> Result<HttpResponse, ApiError> {
    let query = CollectionQuery::parse(
        req.query_string(),
        &GALLERY_IMAGES,
        ctx.version,
        ctx.include_unknown_enum_members,
        &["$select"],
    )?;
    let mut select = None;
    for option in &query.extra {
        select = parse_select::<GalleryProperty>(&option.value, ctx.version, &GALLERY_IMAGES)?;
    }
    let context = format!("{COLLECTION_PATH}{}", select_suffix(select.as_deref()));
    json_page(
        state,
        ctx,
        &query,
        &json(ctx, select.as_deref()),
        "",
        COLLECTION_PATH,
        &context,
    )
    .await
}

/// One gallery image by its id (`{publisher}_{offer}_{sku}`, compared case-insensitively), with `$select`.
pub async fn get(
    req: &HttpRequest,
    state: &AppState,
    ctx: &GraphContext,
    id: &str,
) -> Result<HttpResponse, ApiError> {
    let mut select = None;
    for option in entity_options(req, ctx, &["$select"])? {
        select = parse_select::<GalleryProperty>(&option.value, ctx.version, &GALLERY_IMAGES)?;
    }
    let json = json(ctx, select.as_deref());
    let object = repository::find_json(&state.db, id, &json)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "The cloudPcGalleryImage with id '{}' was not found.",
                id.chars().take(100).collect::<String>()
            ))
        })?;
    let context = format!(
        "{COLLECTION_PATH}{}/$entity",
        select_suffix(select.as_deref())
    );
    entity(ctx, &context, &object)
}
