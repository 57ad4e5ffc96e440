//! `GET …/deviceImages` and `GET …/deviceImages/$count` (docs/querying.md).
//!
//! Pages hold at most `--page-size` items (and at most `$top`). A further page is announced by an absolute
//! `@odata.nextLink` that repeats every original option and adds an opaque `$skiptoken` holding the keyset position
//! of the last image sent (see [`crate::graph::odata::order`]).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use sqlx::Row;

use crate::device_images::query::{parse_select, select_suffix, DEVICE_IMAGES};
use crate::device_images::view::json_sql;
use crate::device_images::{lifecycle, COLLECTION_PATH};
use crate::error::ApiError;
use crate::graph::odata::fetch::{count as count_matches, fetch_page};
use crate::graph::odata::{parse_count_query, CollectionQuery};
use crate::graph::{response, GraphContext};
use crate::http::AppState;

/// One page of a collection, in Graph's member order.
#[derive(Serialize)]
pub struct PageBody<T: Serialize> {
    #[serde(rename = "@odata.context")]
    pub context: String,
    #[serde(rename = "@odata.count", skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
    pub value: Vec<T>,
}

/// Lists the tenant's images, one page per request.
pub async fn list(
    req: &HttpRequest,
    state: &AppState,
    ctx: &GraphContext,
) -> Result<HttpResponse, ApiError> {
    let query = CollectionQuery::parse(
        req.query_string(),
        &DEVICE_IMAGES,
        ctx.version,
        ctx.include_unknown_enum_members,
        &["$select"],
    )?;
    let mut select = None;
    for option in &query.extra {
        select = parse_select(&option.value, ctx.version)?;
    }
    lifecycle::settle(&state.db, &state.clock, &state.due).await?;
    // Each image's JSON is built inside SQLite from the description (view::json_sql): one value per row.
    let json = json_sql(
        ctx.version,
        ctx.include_unknown_enum_members,
        select.as_deref(),
    );
    let page = fetch_page(
        &state.db,
        &query,
        &ctx.tenant,
        &format!("{json} AS json"),
        state.settings.page_size,
        &format!("{}/{COLLECTION_PATH}", ctx.base),
        |row| Ok(row.try_get::<String, _>(0)?),
    )
    .await?;
    let context = ctx.context(&[COLLECTION_PATH, &select_suffix(select.as_deref())]);
    let body = response::page_with_json_items(
        &context,
        page.count,
        page.next_link.as_deref(),
        page.items.iter().map(String::as_str),
    )?;
    Ok(response::json_bytes(StatusCode::OK, ctx, body))
}

/// `GET …/deviceImages/$count`: the number of matching images as a bare integer, `text/plain`.
pub async fn count(
    req: &HttpRequest,
    state: &AppState,
    ctx: &GraphContext,
) -> Result<HttpResponse, ApiError> {
    let query = parse_count_query(
        req.query_string(),
        &DEVICE_IMAGES,
        ctx.version,
        ctx.include_unknown_enum_members,
    )?;
    lifecycle::settle(&state.db, &state.clock, &state.due).await?;
    let n = count_matches(&state.db, &query, &ctx.tenant).await?;
    Ok(crate::http::graph::collection::count_response(n))
}
