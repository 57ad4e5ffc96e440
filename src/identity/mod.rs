//! Who is calling (docs/identity.md): the auth modes, the caller's tenant, Graph's permission check, and test
//! tokens the emulator mints and verifies itself.
//!
//! - `none`: anyone; the tenant comes from a bearer JWT's `tid` when one is sent (unverified), else the default.
//! - `bearer`: any non-empty bearer token; the tenant as in `none`.
//! - `jwt`: a well-formed, unexpired JWT for Graph, signed with the HS256 secret (`--jwt-secret`, else the one stored
//!   in the database, which `POST /_emulator/token` signs with) or an RS256 key of `--jwks-file`; reads need
//!   `CloudPC.Read.All` or `CloudPC.ReadWrite.All` in `scp` or `roles`, writes `CloudPC.ReadWrite.All`.

pub mod secret;
pub mod token;

use actix_web::http::header;
use actix_web::HttpRequest;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use uuid::Uuid;

use crate::config::{AuthMode, Settings};
use crate::device_images::DEFAULT_TENANT;
use crate::error::ApiError;

/// The audiences of Microsoft Graph: its URL and its application id.
pub const GRAPH_AUDIENCES: [&str; 2] = [
    "https://graph.microsoft.com",
    "00000003-0000-0000-c000-000000000000",
];
pub const READ_ALL: &str = "CloudPC.Read.All";
pub const READ_WRITE_ALL: &str = "CloudPC.ReadWrite.All";

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    /// A valid token, whatever it permits: `$batch`, whose items are each checked for their own access.
    Any,
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: String,
}

/// The claims the emulator reads.
#[derive(Debug, Default, Deserialize)]
struct Claims {
    tid: Option<String>,
    scp: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
}

/// The keys and the mode requests are checked with.
pub struct Identity {
    mode: AuthMode,
    /// The HS256 secret: verifies `jwt` mode tokens and signs minted ones.
    secret: Vec<u8>,
    /// RS256 keys from `--jwks-file`, with their `kid`s.
    jwks: Vec<(Option<String>, DecodingKey)>,
}

impl Identity {
    /// `stored_secret` is the database's own secret, used when `--jwt-secret` is not given.
    pub fn new(settings: &Settings, stored_secret: &str) -> Result<Self, String> {
        let secret = settings
            .jwt_secret
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| stored_secret.to_owned());
        let jwks = match &settings.jwks_file {
            None => Vec::new(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {path}: {e}"))?;
                let set: JwkSet = serde_json::from_str(&text)
                    .map_err(|e| format!("{path} is not a JWKS: {e}"))?;
                set.keys
                    .iter()
                    .map(|k| {
                        let key = DecodingKey::from_jwk(k)
                            .map_err(|e| format!("{path}: unusable key: {e}"))?;
                        Ok((k.common.key_id.clone(), key))
                    })
                    .collect::<Result<_, String>>()?
            }
        };
        Ok(Self {
            mode: settings.auth,
            secret: secret.into_bytes(),
            jwks,
        })
    }

    /// The HS256 secret minted tokens are signed with.
    pub fn signing_secret(&self) -> &[u8] {
        &self.secret
    }

    /// Checks the request's credentials for `access`; returns the caller.
    pub fn authenticate(&self, req: &HttpRequest, access: Access) -> Result<Caller, ApiError> {
        let token = bearer_token(req);
        match self.mode {
            AuthMode::None => Ok(Caller {
                tenant: unverified_tenant(token.as_deref())?,
            }),
            AuthMode::Bearer => match token {
                Some(t) if !t.is_empty() => Ok(Caller {
                    tenant: unverified_tenant(Some(&t))?,
                }),
                _ => Err(missing_token(req)),
            },
            AuthMode::Jwt => {
                let token = token
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| missing_token(req))?;
                let claims = self.verify(&token)?;
                authorize(&claims, access)?;
                // A verified token names its tenant: without `tid` it would land in the default tenant, beside
                // every other caller whose token lacks one.
                if claims.tid.as_deref().is_none_or(|t| t.trim().is_empty()) {
                    return Err(ApiError::Unauthorized(
                        "Access token validation failure. The token has no 'tid' claim.".into(),
                    ));
                }
                Ok(Caller {
                    tenant: tenant_of(claims.tid.as_deref())?,
                })
            }
        }
    }

    fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let invalid =
            |why: &str| ApiError::Unauthorized(format!("Access token validation failure. {why}"));
        let header = decode_header(token).map_err(|_| malformed())?;
        if has_critical_extensions(token) {
            return Err(invalid(
                "The token's header lists critical extensions (crit), which the emulator does not understand.",
            ));
        }
        let key = match header.alg {
            Algorithm::HS256 => DecodingKey::from_secret(&self.secret),
            Algorithm::RS256 => self
                .jwks
                .iter()
                .find(|(kid, _)| header.kid.is_none() || kid == &header.kid)
                .map(|(_, key)| key.clone())
                .ok_or_else(|| invalid("No key of the configured JWKS matches the token's kid."))?,
            other => {
                return Err(invalid(&format!(
                    "The signing algorithm {other:?} is not accepted (HS256 or RS256)."
                )))
            }
        };
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&GRAPH_AUDIENCES);
        validation.set_required_spec_claims(&["exp", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = 60;
        decode::<Claims>(token, &key, &validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => ApiError::Unauthorized(
                    "Lifetime validation failed, the token is expired.".into(),
                ),
                ErrorKind::ImmatureSignature => ApiError::Unauthorized(
                    "Lifetime validation failed, the token is not yet valid.".into(),
                ),
                ErrorKind::InvalidAudience => {
                    invalid("Invalid audience: the token is not for Microsoft Graph.")
                }
                ErrorKind::InvalidSignature => invalid("Invalid signature."),
                ErrorKind::MissingRequiredClaim(c) => {
                    invalid(&format!("The token has no '{c}' claim."))
                }
                _ => malformed(),
            })
    }
}

/// Whether the JOSE header has a `crit` member. RFC 7515 §4.1.11: a recipient that does not understand every listed
/// extension must refuse the token; this one understands none (jsonwebtoken ignores the member).
fn has_critical_extensions(token: &str) -> bool {
    use base64::Engine;
    let Some(segment) = token.split('.').next() else {
        return false;
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment.trim_end_matches('='))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|header| header.get("crit").is_some())
}

fn malformed() -> ApiError {
    ApiError::Unauthorized(
        "CompactToken parsing failed: the access token is not a well-formed JWT.".into(),
    )
}

fn missing_token(req: &HttpRequest) -> ApiError {
    match req.headers().get(header::AUTHORIZATION) {
        Some(v) if !v.to_str().unwrap_or("").trim().to_ascii_lowercase().starts_with("bearer") => {
            ApiError::Unauthorized(
                "Access token validation failure. The Authorization header must use the Bearer scheme.".into(),
            )
        }
        _ => ApiError::Unauthorized("Access token is empty.".into()),
    }
}

/// The token of `Authorization: Bearer …`, if the header uses that scheme.
fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// Reads, without verifying, the `tid` of a bearer token that is a JWT (`none` and `bearer` modes).
fn unverified_tenant(token: Option<&str>) -> Result<String, ApiError> {
    let Some(token) = token.filter(|t| t.split('.').count() == 3) else {
        return Ok(DEFAULT_TENANT.to_owned());
    };
    let Ok(header) = decode_header(token) else {
        return Ok(DEFAULT_TENANT.to_owned());
    };
    let mut validation = Validation::new(header.alg);
    validation.insecure_disable_signature_validation();
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    match decode::<Claims>(token, &DecodingKey::from_secret(&[]), &validation) {
        Ok(data) => tenant_of(data.claims.tid.as_deref()),
        Err(_) => Ok(DEFAULT_TENANT.to_owned()),
    }
}

/// A `tid` as a tenant key: GUIDs lower-cased; anything else must be a short plain name.
fn tenant_of(tid: Option<&str>) -> Result<String, ApiError> {
    let Some(tid) = tid else {
        return Ok(DEFAULT_TENANT.to_owned());
    };
    tenant_key(tid).ok_or_else(|| {
        ApiError::Unauthorized(
            "Access token validation failure. The 'tid' claim is not a tenant id.".into(),
        )
    })
}

/// The key a tenant is stored under: a GUID lower-cased, or a plain name (1-64 letters, digits, `-`, `_`, `.`)
/// lower-cased; `None` for anything else. The control plane's `?tenant=` and the state document use it too.
pub fn tenant_key(tid: &str) -> Option<String> {
    let tid = tid.trim();
    if let Ok(id) = Uuid::try_parse(tid) {
        return Some(id.hyphenated().to_string());
    }
    let plain = !tid.is_empty()
        && tid.len() <= 64
        && tid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    plain.then(|| tid.to_ascii_lowercase())
}

/// Graph's permission check: delegated scopes (`scp`, space-separated) or application roles (`roles`).
fn authorize(claims: &Claims, access: Access) -> Result<(), ApiError> {
    let granted: Vec<&str> = claims
        .scp
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .chain(claims.roles.iter().map(String::as_str))
        .collect();
    let has = |p: &str| granted.iter().any(|g| g.eq_ignore_ascii_case(p));
    let allowed =
        access == Access::Any || has(READ_WRITE_ALL) || (access == Access::Read && has(READ_ALL));
    if allowed {
        return Ok(());
    }
    let needed = match access {
        Access::Read | Access::Any => format!("{READ_ALL} or {READ_WRITE_ALL}"),
        Access::Write => READ_WRITE_ALL.to_owned(),
    };
    Err(ApiError::Forbidden(format!(
        "Insufficient privileges to complete the operation: it needs {needed} in the token's scp or roles."
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_from_tid() {
        assert_eq!(tenant_of(None).unwrap(), DEFAULT_TENANT);
        assert_eq!(
            tenant_of(Some("6F9619FF-8B86-D011-B42D-00CF4FC964FF")).unwrap(),
            "6f9619ff-8b86-d011-b42d-00cf4fc964ff"
        );
        assert_eq!(tenant_of(Some("Contoso")).unwrap(), "contoso");
        assert!(tenant_of(Some("a b")).is_err());
        assert!(tenant_of(Some(&"x".repeat(65))).is_err());
    }

    #[test]
    fn permissions() {
        let claims = |scp: Option<&str>, roles: &[&str]| Claims {
            tid: None,
            scp: scp.map(str::to_owned),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        };
        assert!(authorize(
            &claims(Some("User.Read CloudPC.Read.All"), &[]),
            Access::Read
        )
        .is_ok());
        assert!(authorize(&claims(Some("CloudPC.Read.All"), &[]), Access::Write).is_err());
        assert!(authorize(&claims(None, &["CloudPC.ReadWrite.All"]), Access::Write).is_ok());
        assert!(authorize(&claims(None, &[]), Access::Read).is_err());
    }
}
