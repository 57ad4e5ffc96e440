//! The one API error type. Every failure becomes Graph's error envelope (docs/api.md, docs/fidelity.md#error-envelope):
//!
//! ```json
//! {"error":{"code":"…","message":"…","innerError":{"date":"…","request-id":"…","client-request-id":"…"}}}
//! ```
//!
//! [`ApiError`] only decides the status, code and message; the protocol middleware ([`crate::http::protocol`]) renders
//! the envelope, because only it knows the request ids. That same middleware turns every other error response (actix
//! extractor errors, panics caught by actix) into an envelope too, so no plain-text error ever leaves the emulator.

use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// An error a Graph or control-plane request can end in.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// 400 `badRequest`: malformed body, failed validation, unsupported query.
    BadRequest(String),
    /// 400 `BadRequest`: routing errors (unknown segment, unknown version), spelled as Graph's router spells them.
    Routing(String),
    /// 401 `InvalidAuthenticationToken`.
    Unauthorized(String),
    /// 403 `Forbidden`.
    Forbidden(String),
    /// 404 `ResourceNotFound`.
    NotFound(String),
    /// 405 `MethodNotAllowed`; the value is the `Allow` header.
    MethodNotAllowed(&'static str),
    /// 409 `conflict`.
    Conflict(String),
    /// 413 `RequestEntityTooLarge`.
    PayloadTooLarge(usize),
    /// 415 `UnsupportedMediaType`.
    UnsupportedMediaType(String),
    /// 503 `ServiceUnavailable` with `Retry-After`.
    Unavailable(String),
    /// Any status and code, as a fault rule asks (with `Retry-After` when given).
    Fault {
        status: StatusCode,
        code: String,
        message: String,
        retry_after: Option<u64>,
    },
    /// 500 `InternalServerError`. The cause is logged, never sent.
    Internal(String),
}

impl ApiError {
    /// A body property failed its rule: the message names the property and the rule.
    pub fn invalid(property: &str, rule: impl fmt::Display) -> Self {
        Self::BadRequest(format!("Invalid value for property '{property}': {rule}"))
    }

    /// An unexpected failure; `cause` goes to the log only.
    pub fn internal(cause: impl fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    fn code(&self) -> String {
        let code = match self {
            Self::BadRequest(_) => "badRequest",
            Self::Routing(_) => "BadRequest",
            Self::Unauthorized(_) => "InvalidAuthenticationToken",
            Self::Forbidden(_) => "Forbidden",
            Self::NotFound(_) => "ResourceNotFound",
            Self::MethodNotAllowed(_) => "MethodNotAllowed",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "RequestEntityTooLarge",
            Self::UnsupportedMediaType(_) => "UnsupportedMediaType",
            Self::Unavailable(_) => "ServiceUnavailable",
            Self::Internal(_) => "InternalServerError",
            Self::Fault { code, .. } => return code.clone(),
        };
        code.to_owned()
    }

    /// The message the envelope carries (never an internal cause).
    pub fn message(&self) -> String {
        match self {
            Self::BadRequest(m)
            | Self::Routing(m)
            | Self::Unauthorized(m)
            | Self::Forbidden(m)
            | Self::NotFound(m)
            | Self::Conflict(m)
            | Self::UnsupportedMediaType(m)
            | Self::Unavailable(m)
            | Self::Fault { message: m, .. } => m.clone(),
            Self::MethodNotAllowed(_) => {
                "Specified HTTP method is not allowed for the request target.".into()
            }
            Self::PayloadTooLarge(limit) => {
                format!("The request body is larger than the limit of {limit} bytes.")
            }
            Self::Internal(_) => default_message(StatusCode::INTERNAL_SERVER_ERROR).into(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::Routing(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Fault { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) = self {
            tracing::error!(cause = %cause, "internal error");
        }
        let mut builder = HttpResponse::build(self.status_code());
        match self {
            Self::MethodNotAllowed(allow) => {
                builder.insert_header((header::ALLOW, *allow));
            }
            Self::Unauthorized(_) => {
                builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::Unavailable(_) => {
                builder.insert_header((header::RETRY_AFTER, "1"));
            }
            Self::Fault {
                retry_after: Some(seconds),
                ..
            } => {
                builder.insert_header((header::RETRY_AFTER, seconds.to_string()));
            }
            _ => {}
        }
        let mut res = builder.finish();
        res.extensions_mut().insert(GraphError {
            code: self.code(),
            message: self.message(),
        });
        res
    }
}

/// The code and message of an error response, left in the response's extensions for the protocol middleware.
#[derive(Debug, Clone)]
pub struct GraphError {
    pub code: String,
    pub message: String,
}

impl GraphError {
    /// What an error response that did not come from [`ApiError`] (an actix extractor, an unknown method) says.
    pub fn for_status(status: StatusCode) -> Self {
        let code = match status.as_u16() {
            400 => "badRequest",
            401 => "InvalidAuthenticationToken",
            403 => "Forbidden",
            404 => "ResourceNotFound",
            405 => "MethodNotAllowed",
            409 => "conflict",
            413 => "RequestEntityTooLarge",
            415 => "UnsupportedMediaType",
            429 => "TooManyRequests",
            503 => "ServiceUnavailable",
            s if s >= 500 => "InternalServerError",
            _ => "badRequest",
        };
        Self {
            code: code.to_owned(),
            message: default_message(status).into(),
        }
    }
}

fn default_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        404 => "The requested resource was not found.",
        405 => "Specified HTTP method is not allowed for the request target.",
        413 => "The request body is too large.",
        415 => "The request's Content-Type is not supported.",
        s if s >= 500 => "An internal server error occurred. The request can be retried.",
        _ => "The request can't be processed because it's malformed or incorrect.",
    }
}

/// The envelope's JSON, byte for byte.
pub fn render_envelope(
    error: &GraphError,
    date: &str,
    request_id: &str,
    client_request_id: &str,
) -> Vec<u8> {
    #[derive(Serialize)]
    struct Envelope<'a> {
        error: Body<'a>,
    }
    #[derive(Serialize)]
    struct Body<'a> {
        code: &'a str,
        message: &'a str,
        #[serde(rename = "innerError")]
        inner_error: Inner<'a>,
    }
    #[derive(Serialize)]
    struct Inner<'a> {
        date: &'a str,
        #[serde(rename = "request-id")]
        request_id: &'a str,
        #[serde(rename = "client-request-id")]
        client_request_id: &'a str,
    }
    let envelope = Envelope {
        error: Body {
            code: &error.code,
            message: &error.message,
            inner_error: Inner {
                date,
                request_id,
                client_request_id,
            },
        },
    };
    serde_json::to_vec(&envelope).unwrap_or_default()
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::from_db(&e)
    }
}

impl ApiError {
    /// Storage that is busy, locked, read-only, full or failing is the service being unavailable for a moment
    /// (503 with `Retry-After`), not a bug; anything else is an internal error. The cause is logged either way.
    pub fn from_db(e: &sqlx::Error) -> Self {
        let unavailable = match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Some("the database is busy")
            }
            sqlx::Error::Database(db) => {
                let code = db.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0) & 0xff;
                if matches!(code, 5 | 6) {
                    return Self::unavailable(e, "the database is locked");
                }
                crate::db::storage_failure(e)
            }
            _ => None,
        };
        match unavailable {
            Some(reason) => Self::unavailable(e, reason),
            None => Self::internal(format!("database: {e}")),
        }
    }

    /// A 503 for a storage failure; the cause goes to the log only.
    fn unavailable(e: &sqlx::Error, reason: &str) -> Self {
        tracing::warn!(cause = %e, "storage unavailable");
        Self::Unavailable(format!(
            "The service is unavailable: {reason}. Retry later."
        ))
    }
}

/// The writer reacts to a 503 of a write as to a storage failure ([`crate::db::Database::after_write`]): a busy or
/// locked database answers 503 too, and costs at most one reopen of the writer's connection.
impl crate::db::StorageFailure for ApiError {
    fn is_storage_failure(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_bytes_are_graphs() {
        let e = GraphError {
            code: "ResourceNotFound".into(),
            message: "gone \"quoted\"".into(),
        };
        let bytes = render_envelope(&e, "2026-11-29T12:00:00", "r-1", "c-1");
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"{"error":{"code":"ResourceNotFound","message":"gone \"quoted\"","innerError":{"date":"2026-11-29T12:00:00","request-id":"r-1","client-request-id":"c-1"}}}"#
        );
    }

    #[test]
    fn internal_errors_never_send_their_cause() {
        let e = ApiError::internal("disk I/O error at /secret/path");
        assert_eq!(e.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.message().contains("secret"));
    }

    #[test]
    fn statuses_and_codes() {
        let cases = [
            (ApiError::BadRequest("x".into()), 400, "badRequest"),
            (ApiError::Routing("x".into()), 400, "BadRequest"),
            (
                ApiError::Unauthorized("x".into()),
                401,
                "InvalidAuthenticationToken",
            ),
            (ApiError::NotFound("x".into()), 404, "ResourceNotFound"),
            (ApiError::MethodNotAllowed("GET"), 405, "MethodNotAllowed"),
            (ApiError::Conflict("x".into()), 409, "conflict"),
            (ApiError::PayloadTooLarge(1), 413, "RequestEntityTooLarge"),
            (
                ApiError::UnsupportedMediaType("x".into()),
                415,
                "UnsupportedMediaType",
            ),
            (ApiError::internal("x"), 500, "InternalServerError"),
        ];
        for (e, status, code) in cases {
            assert_eq!(e.status_code().as_u16(), status, "{e}");
            assert_eq!(e.code(), code);
        }
    }
}
