//! `POST /_emulator/token`: mints a signed test JWT that `--auth jwt` accepts.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::device_images::DEFAULT_TENANT;
use crate::error::ApiError;
use crate::graph::body::{read_json_object, JsonObject};
use crate::graph::values::text;
use crate::http::AppState;
use crate::identity::token::{mint, TokenRequest};
use crate::identity::{GRAPH_AUDIENCES, READ_WRITE_ALL};

/// Longest lifetime a minted token may have (a year); the shortest is an already expired one, a day ago.
const LIFETIME: std::ops::RangeInclusive<i64> = -86_400..=31_536_000;

/// Body: `tenantId`, `scopes` and/or `roles` (arrays or space-separated strings; default: the scope
/// CloudPC.ReadWrite.All), `lifetimeSeconds` (default 3600; negative mints an expired token), `audience` (default
/// Graph's).
pub async fn issue(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let request = token_request(read_json_object(&req, payload).await?)?;
    let (token, exp) =
        mint(state.identity.signing_secret(), &request).map_err(ApiError::internal)?;
    let expires = chrono::DateTime::from_timestamp(exp, 0).map(crate::clock::format_timestamp);
    // A credential: no cache (browser, proxy) may keep it.
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "accessToken": token,
            "tokenType": "Bearer",
            "expiresOn": expires,
            "tenantId": request.tenant,
            "scopes": request.scopes,
            "roles": request.roles,
        })))
}

/// The token a body asks for, with the defaults filled in.
fn token_request(body: JsonObject) -> Result<TokenRequest, ApiError> {
    let mut request = TokenRequest {
        tenant: DEFAULT_TENANT.to_owned(),
        scopes: Vec::new(),
        roles: Vec::new(),
        lifetime_seconds: 3600,
        audience: GRAPH_AUDIENCES[0].to_owned(),
    };
    for (name, value) in &body.0 {
        match name.as_str() {
            "tenantId" => request.tenant = text(name, value)?,
            "scopes" => request.scopes = words(name, value)?,
            "roles" => request.roles = words(name, value)?,
            "lifetimeSeconds" => {
                request.lifetime_seconds = value
                    .as_i64()
                    .filter(|n| LIFETIME.contains(n))
                    .ok_or_else(|| {
                        ApiError::invalid(
                            name,
                            format!(
                                "must be an integer from {} to {}",
                                LIFETIME.start(),
                                LIFETIME.end()
                            ),
                        )
                    })?
            }
            "audience" => request.audience = text(name, value)?,
            other => {
                return Err(ApiError::BadRequest(format!(
                    "The property '{other}' does not exist on a token request."
                )))
            }
        }
    }
    if request.tenant.trim().is_empty() {
        return Err(ApiError::invalid("tenantId", "must not be empty"));
    }
    if request.scopes.is_empty() && request.roles.is_empty() {
        request.scopes.push(READ_WRITE_ALL.to_owned());
    }
    Ok(request)
}

/// A list of names: a JSON array of strings, or one string separated by spaces or commas.
pub fn words(name: &str, value: &Value) -> Result<Vec<String>, ApiError> {
    let items: Vec<String> = match value {
        Value::String(s) => s.split([' ', ',']).map(str::to_owned).collect(),
        Value::Array(items) => items
            .iter()
            .map(|i| text(name, i))
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(ApiError::invalid(
                name,
                "must be an array of strings or a space-separated string",
            ))
        }
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect())
}
