//! Request bodies: JSON objects of at most 1 MiB with a JSON `Content-Type` (docs/api.md, docs/fidelity.md).

use std::collections::HashSet;
use std::fmt;

use actix_web::http::header;
use actix_web::{web, HttpMessage, HttpRequest};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::error::ApiError;

/// The raw body a handler read, left in the request's extensions for the journal.
#[derive(Debug, Clone)]
pub struct RawBody(pub actix_web::web::Bytes);

/// The largest body the emulator reads (a setting of [`crate::config`], which bounds a flag by it).
pub use crate::config::MAX_BODY_BYTES;

/// How long a request body may take to arrive.
pub const BODY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(15);

/// A JSON object's members in the order sent. Unlike `serde_json::Map`, it refuses a repeated name instead of
/// silently keeping the last one, so `{"version":"1.0.0","version":"2.0.0"}` cannot store a value the client did not
/// mean.
#[derive(Debug, Default)]
pub struct JsonObject(pub Vec<(String, Value)>);

impl<'de> Deserialize<'de> for JsonObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = JsonObject;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonObject, A::Error> {
                let mut seen = HashSet::new();
                let mut members = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, Value>()? {
                    if !seen.insert(name.clone()) {
                        return Err(de::Error::custom(format!("duplicate property '{name}'")));
                    }
                    members.push((name, value));
                }
                Ok(JsonObject(members))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// Checks the `Content-Type`, reads at most [`MAX_BODY_BYTES`] and parses one JSON object.
pub async fn read_json_object(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<JsonObject, ApiError> {
    read_json_object_up_to(req, payload, MAX_BODY_BYTES).await
}

/// [`read_json_object`] with another limit (a state document may be larger than a Graph body).
pub async fn read_json_object_up_to(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<JsonObject, ApiError> {
    require_json_content_type(req)?;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let bytes = read_up_to(payload, limit).await?;
    req.extensions_mut().insert(RawBody(bytes.clone()));
    parse_object(&bytes)
}

/// Reads at most [`MAX_BODY_BYTES`] of a body, which must arrive within [`BODY_DEADLINE`] (else 408): a client
/// that trickles its body cannot hold a connection and a handler for long.
pub async fn read_limited(payload: web::Payload) -> Result<web::Bytes, ApiError> {
    read_up_to(payload, MAX_BODY_BYTES).await
}

async fn read_up_to(payload: web::Payload, limit: usize) -> Result<web::Bytes, ApiError> {
    match tokio::time::timeout(BODY_DEADLINE, payload.to_bytes_limited(limit)).await {
        Err(_) => Err(ApiError::Fault {
            status: actix_web::http::StatusCode::REQUEST_TIMEOUT,
            code: "RequestTimeout".into(),
            message: format!(
                "The request body did not arrive within {} seconds.",
                BODY_DEADLINE.as_secs()
            ),
            retry_after: None,
        }),
        Ok(Err(_)) => Err(ApiError::PayloadTooLarge(limit)),
        Ok(Ok(Err(_))) => Err(ApiError::BadRequest(
            "The request body could not be read.".into(),
        )),
        Ok(Ok(Ok(bytes))) => Ok(bytes),
    }
}

/// Parses a body that must be one JSON object.
pub fn parse_object(bytes: &[u8]) -> Result<JsonObject, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "The request body is empty; a JSON object is required.".into(),
        ));
    }
    serde_json::from_slice::<JsonObject>(bytes).map_err(|e| {
        ApiError::BadRequest(format!("The request body is not a valid JSON object: {e}."))
    })
}

fn require_json_content_type(req: &HttpRequest) -> Result<(), ApiError> {
    let value = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("?"));
    let media = value.map(|v| v.split(';').next().unwrap_or("").trim());
    match media {
        Some(m) if m.eq_ignore_ascii_case("application/json") => Ok(()),
        Some(_) => Err(ApiError::UnsupportedMediaType(
            "The Content-Type of the request body must be 'application/json'.".into(),
        )),
        None => Err(ApiError::UnsupportedMediaType(
            "A Content-Type of 'application/json' is required for a request body.".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_parse_and_duplicates_are_refused() {
        let o = parse_object(br#"{"a":1,"b":{"a":2}}"#).unwrap();
        assert_eq!(o.0.len(), 2);
        assert!(parse_object(br#"{"a":1,"a":2}"#).is_err());
        for bad in [
            &b"[]"[..],
            b"1",
            b"\"x\"",
            b"",
            b"  ",
            b"{",
            b"{\"a\":1} x",
            b"null",
        ] {
            assert!(
                parse_object(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
