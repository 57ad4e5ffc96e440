//! Success responses of the Graph routes (docs/api.md).

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use serde::Serialize;

use super::GraphContext;
use crate::error::ApiError;

/// Graph's `Content-Type` for JSON successes (docs/fidelity.md#response-headers).
pub const ODATA_JSON: &str =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// Graph's headers of a JSON success, made at compile time: from a `&str` pair actix parses and checks the name and
/// the value of each on every response (~1,000 instructions a header, a fifth of them an allocation for the name).
const CONTENT_TYPE_ODATA_JSON: header::HeaderValue = header::HeaderValue::from_static(ODATA_JSON);
pub const ODATA_VERSION: header::HeaderName = header::HeaderName::from_static("odata-version");
pub const ODATA_VERSION_4: header::HeaderValue = header::HeaderValue::from_static("4.0");
const PREFERENCE_APPLIED: header::HeaderName =
    header::HeaderName::from_static("preference-applied");
const INCLUDE_UNKNOWN_ENUM_MEMBERS: header::HeaderValue =
    header::HeaderValue::from_static("include-unknown-enum-members");

/// A JSON success with Graph's headers, and `Preference-Applied` when the evolvable-enum preference was honoured.
pub fn json(
    status: StatusCode,
    ctx: &GraphContext,
    body: &impl Serialize,
) -> Result<HttpResponse, ApiError> {
    let bytes = serde_json::to_vec(body).map_err(ApiError::internal)?;
    Ok(json_bytes(status, ctx, bytes))
}

/// [`json`] for a body that is JSON already.
pub fn json_bytes(status: StatusCode, ctx: &GraphContext, bytes: Vec<u8>) -> HttpResponse {
    let mut builder = HttpResponse::build(status);
    builder
        .insert_header((header::CONTENT_TYPE, CONTENT_TYPE_ODATA_JSON))
        .insert_header((ODATA_VERSION, ODATA_VERSION_4));
    if ctx.include_unknown_enum_members {
        builder.insert_header((PREFERENCE_APPLIED, INCLUDE_UNKNOWN_ENUM_MEMBERS));
    }
    builder.body(bytes)
}

/// An entity's JSON object (as SQLite built it) with `@odata.context` as its first member, as Graph orders them.
pub fn entity_with_context(context: &str, object: &str) -> Result<Vec<u8>, ApiError> {
    let rest = object
        .strip_prefix('{')
        .ok_or_else(|| ApiError::internal("an entity's JSON is not an object"))?;
    let mut out = Vec::with_capacity(object.len() + context.len() + 24);
    out.extend_from_slice(b"{\"@odata.context\":");
    serde_json::to_writer(&mut out, context).map_err(ApiError::internal)?;
    if rest != "}" {
        out.push(b',');
    }
    out.extend_from_slice(rest.as_bytes());
    Ok(out)
}

/// A collection page whose items are JSON already (as SQLite built them), in Graph's member order: the items are
/// copied as they are, not parsed again (validating a page's items as `RawValue`s took a fifth of a list's
/// instructions).
pub fn page_with_json_items<'a>(
    context: &str,
    count: Option<i64>,
    next_link: Option<&str>,
    items: impl Iterator<Item = &'a str> + Clone,
) -> Result<Vec<u8>, ApiError> {
    let size: usize = items.clone().map(|i| i.len() + 1).sum();
    let mut out = Vec::with_capacity(size + context.len() + 256);
    out.extend_from_slice(b"{\"@odata.context\":");
    serde_json::to_writer(&mut out, context).map_err(ApiError::internal)?;
    if let Some(count) = count {
        out.extend_from_slice(b",\"@odata.count\":");
        out.extend_from_slice(count.to_string().as_bytes());
    }
    if let Some(link) = next_link {
        out.extend_from_slice(b",\"@odata.nextLink\":");
        serde_json::to_writer(&mut out, link).map_err(ApiError::internal)?;
    }
    out.extend_from_slice(b",\"value\":[");
    for (n, item) in items.enumerate() {
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item.as_bytes());
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}
