//! What the handlers of every collection served as JSON built inside SQLite share: a page of such items, and the
//! `$select`/`$expand` options of a single entity.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use sqlx::Row;

use crate::error::ApiError;
use crate::graph::odata::fetch::{count as count_matches, fetch_page};
use crate::graph::odata::options::{parse_options, unsupported, QueryOption};
use crate::graph::odata::parse_count_query;
use crate::graph::odata::schema::QuerySchema;
use crate::graph::odata::CollectionQuery;
use crate::graph::response::{self, ODATA_VERSION, ODATA_VERSION_4};
use crate::graph::GraphContext;
use crate::http::AppState;

/// One page of `query`: each row's JSON from the SQL expression `json`, scoped to `scope` (the tenant, or `""` for
/// a collection every tenant shares); `path` is the collection's path under the base URL and `context` the context
/// URL's fragment.
pub async fn json_page(
    state: &AppState,
    ctx: &GraphContext,
    query: &CollectionQuery,
    json: &str,
    scope: &str,
    path: &str,
    context: &str,
) -> Result<HttpResponse, ApiError> {
    let page = fetch_page(
        &state.db,
        query,
        scope,
        &format!("{json} AS json"),
        state.settings.page_size,
        &format!("{}/{path}", ctx.base),
        |row| Ok(row.try_get::<String, _>(0)?),
    )
    .await?;
    let body = response::page_with_json_items(
        &ctx.context(&[context]),
        page.count,
        page.next_link.as_deref(),
        page.items.iter().map(String::as_str),
    )?;
    Ok(response::json_bytes(StatusCode::OK, ctx, body))
}

/// The options of a single entity's GET: those named in `allowed` (each once), anything else a 400.
pub fn entity_options(
    req: &HttpRequest,
    ctx: &GraphContext,
    allowed: &[&str],
) -> Result<Vec<QueryOption>, ApiError> {
    let options = parse_options(req.query_string(), ctx.version)?;
    match options.iter().find(|o| !allowed.contains(&o.name.as_str())) {
        Some(o) => Err(unsupported(o)),
        None => Ok(options),
    }
}

/// A single entity's JSON with its context URL: 200.
pub fn entity(ctx: &GraphContext, context: &str, object: &str) -> Result<HttpResponse, ApiError> {
    let body = response::entity_with_context(&ctx.context(&[context]), object)?;
    Ok(response::json_bytes(StatusCode::OK, ctx, body))
}

/// `GET …/{collection}/$count`: how many items of `schema` in `scope` match `$filter`, as a bare integer in
/// `text/plain`.
pub async fn count(
    req: &HttpRequest,
    state: &AppState,
    ctx: &GraphContext,
    schema: &'static dyn QuerySchema,
    scope: &str,
) -> Result<HttpResponse, ApiError> {
    let query = parse_count_query(
        req.query_string(),
        schema,
        ctx.version,
        ctx.include_unknown_enum_members,
    )?;
    let n = count_matches(&state.db, &query, scope).await?;
    Ok(count_response(n))
}

/// A `$count` answer: the number, `text/plain`, with OData's version header.
pub fn count_response(n: i64) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/plain"))
        .insert_header((ODATA_VERSION, ODATA_VERSION_4))
        .body(n.to_string())
}
