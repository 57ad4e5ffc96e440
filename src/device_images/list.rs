//! `GET …/deviceImages` and `GET …/deviceImages/$count` (CONTRACT §6).
//!
//! Pages hold at most `--page-size` items (and at most `$top`). A further page is announced by an absolute
//! `@odata.nextLink` that repeats every original option and adds an opaque `$skiptoken` holding the keyset position
//! of the last image sent (see [`super::query::order`]).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use super::query::{parse_count_query, select_suffix, ListQuery};
use super::view::ImageView;
use super::{repository, COLLECTION_PATH, DEFAULT_TENANT};
use crate::error::ApiError;
use crate::graph::path::percent_encode_query;
use crate::graph::query::QueryOption;
use crate::graph::{response, GraphContext};
use crate::startup::AppState;

/// One page of the collection, in Graph's member order.
#[derive(Serialize)]
struct Page<'a> {
    #[serde(rename = "@odata.context")]
    context: String,
    #[serde(rename = "@odata.count", skip_serializing_if = "Option::is_none")]
    count: Option<i64>,
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    next_link: Option<String>,
    value: Vec<ImageView<'a>>,
}

/// Lists the tenant's images, one page per request.
pub async fn list(
    req: &HttpRequest,
    state: &AppState,
    ctx: &GraphContext,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(
        req.query_string(),
        ctx.version,
        ctx.include_unknown_enum_members,
    )?;
    let page_size = state.settings.page_size;
    let limit = query.top.unwrap_or(page_size).min(page_size);
    let mut rows = repository::list_page(&state.db, DEFAULT_TENANT, &query, limit + 1).await?;
    let count = match query.count {
        true => Some(repository::count(&state.db, DEFAULT_TENANT, &query).await?),
        false => None,
    };
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_link = match rows.last() {
        Some((_, position)) if more => {
            Some(next_link(ctx, &query.carried, &query.order.token(position)))
        }
        _ => None,
    };
    let select = query.select.as_deref();
    let page = Page {
        context: format!(
            "{}/$metadata#{COLLECTION_PATH}{}",
            ctx.base,
            select_suffix(select)
        ),
        count,
        next_link,
        value: rows
            .iter()
            .map(|(image, _)| ImageView {
                image,
                ctx,
                select,
                context: None,
            })
            .collect(),
    };
    response::json(StatusCode::OK, ctx, &page)
}

/// `GET …/deviceImages/$count`: the number of matching images as a bare integer, `text/plain`.
pub async fn count(
    req: &HttpRequest,
    state: &AppState,
    ctx: &GraphContext,
) -> Result<HttpResponse, ApiError> {
    let query = parse_count_query(
        req.query_string(),
        ctx.version,
        ctx.include_unknown_enum_members,
    )?;
    let n = repository::count(&state.db, DEFAULT_TENANT, &query).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/plain"))
        .insert_header(("OData-Version", "4.0"))
        .body(n.to_string()))
}

fn next_link(ctx: &GraphContext, carried: &[QueryOption], token: &str) -> String {
    let mut link = format!("{}/{COLLECTION_PATH}?", ctx.base);
    for option in carried {
        link.push_str(&option.name);
        link.push('=');
        link.push_str(&percent_encode_query(&option.value));
        link.push('&');
    }
    link.push_str("$skiptoken=");
    link.push_str(token);
    link
}
