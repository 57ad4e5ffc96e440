//! Success responses of the Graph routes (docs/api.md).

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use serde::Serialize;

use super::GraphContext;
use crate::error::ApiError;

/// Graph's `Content-Type` for JSON successes (docs/fidelity.md#response-headers).
pub const ODATA_JSON: &str =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// A JSON success with Graph's headers, and `Preference-Applied` when the evolvable-enum preference was honoured.
pub fn json(
    status: StatusCode,
    ctx: &GraphContext,
    body: &impl Serialize,
) -> Result<HttpResponse, ApiError> {
    let bytes = serde_json::to_vec(body).map_err(ApiError::internal)?;
    let mut builder = HttpResponse::build(status);
    builder
        .insert_header((header::CONTENT_TYPE, ODATA_JSON))
        .insert_header(("OData-Version", "4.0"));
    if ctx.include_unknown_enum_members {
        builder.insert_header(("Preference-Applied", "include-unknown-enum-members"));
    }
    Ok(builder.body(bytes))
}
