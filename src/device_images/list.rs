//! `GET …/deviceImages`: pages of at most `--page-size` items (and at most `$top`), each further page announced by
//! an absolute `@odata.nextLink` carrying the original options and an opaque `$skiptoken` (CONTRACT §6).
//!
//! Paging is keyset, on creation order: the token holds the `seq` of the last image sent, so a walk over all pages
//! returns every image that existed throughout exactly once, however many are inserted or deleted meanwhile.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use super::view::ImageView;
use super::{repository, COLLECTION_PATH, DEFAULT_TENANT};
use crate::error::ApiError;
use crate::graph::path::percent_encode_query;
use crate::graph::query::{parse_options, parse_top, unsupported, QueryOption};
use crate::graph::{response, GraphContext};
use crate::startup::AppState;

/// One page of the collection.
#[derive(Serialize)]
struct Page<'a> {
    #[serde(rename = "@odata.context")]
    context: String,
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    next_link: Option<String>,
    value: Vec<ImageView<'a>>,
}

/// The options a list request may carry.
struct ListOptions {
    top: Option<u32>,
    after_seq: i64,
    /// The options to repeat in `@odata.nextLink` (all but `$skiptoken`).
    carried: Vec<QueryOption>,
}

impl ListOptions {
    fn parse(req: &HttpRequest, ctx: &GraphContext) -> Result<Self, ApiError> {
        let mut parsed = Self {
            top: None,
            after_seq: 0,
            carried: Vec::new(),
        };
        for option in parse_options(req.query_string(), ctx.version)? {
            match option.name.as_str() {
                "$skiptoken" => parsed.after_seq = decode_token(&option.value)?,
                "$top" => {
                    parsed.top = Some(parse_top(&option.value)?);
                    parsed.carried.push(option);
                }
                _ => return Err(unsupported(&option)),
            }
        }
        Ok(parsed)
    }
}

/// Lists the tenant's images, one page per request.
pub async fn list(
    req: &HttpRequest,
    state: &AppState,
    ctx: &GraphContext,
) -> Result<HttpResponse, ApiError> {
    let options = ListOptions::parse(req, ctx)?;
    let limit = options
        .top
        .unwrap_or(state.settings.page_size)
        .min(state.settings.page_size);
    let mut images =
        repository::list_after(&state.db, DEFAULT_TENANT, options.after_seq, limit + 1).await?;
    let more = images.len() > limit as usize;
    images.truncate(limit as usize);
    let next_link = match images.last() {
        Some(last) if more => Some(next_link(ctx, &options.carried, last.seq)),
        _ => None,
    };
    let page = Page {
        context: format!("{}/$metadata#{COLLECTION_PATH}", ctx.base),
        next_link,
        value: images
            .iter()
            .map(|image| ImageView {
                image,
                ctx,
                select: None,
                context: None,
            })
            .collect(),
    };
    response::json(StatusCode::OK, ctx, &page)
}

fn next_link(ctx: &GraphContext, carried: &[QueryOption], last_seq: i64) -> String {
    let mut link = format!("{}/{COLLECTION_PATH}?", ctx.base);
    for option in carried {
        link.push_str(&option.name);
        link.push('=');
        link.push_str(&percent_encode_query(&option.value));
        link.push('&');
    }
    link.push_str("$skiptoken=");
    link.push_str(&encode_token(last_seq));
    link
}

/// The token is opaque to clients: hex of a small versioned text, so it never needs escaping in a URL.
fn encode_token(last_seq: i64) -> String {
    format!("k1:{last_seq}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode_token(token: &str) -> Result<i64, ApiError> {
    let invalid = || {
        ApiError::BadRequest(
            "The $skiptoken is not valid; use the @odata.nextLink as returned.".into(),
        )
    };
    if token.len() % 2 != 0 || token.len() > 64 {
        return Err(invalid());
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect();
    let text = String::from_utf8(bytes.ok_or_else(invalid)?).map_err(|_| invalid())?;
    text.strip_prefix("k1:")
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_garbage_is_refused() {
        for seq in [0, 1, 42, i64::MAX] {
            assert_eq!(decode_token(&encode_token(seq)).unwrap(), seq);
        }
        for bad in [
            "",
            "zz",
            "6b313a",
            "6b313a2d31",
            "abc",
            "é1",
            &"0".repeat(66),
        ] {
            assert!(decode_token(bad).is_err(), "{bad}");
        }
    }
}
