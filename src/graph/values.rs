//! Checks of JSON values in request bodies, shared by every body the emulator parses. Each error names the property
//! and the rule (docs/api.md, docs/fidelity.md).

use chrono::{DateTime, NaiveDate};
use serde_json::Value;

use crate::error::ApiError;

/// Longest value of free-text properties.
pub const MAX_TEXT: usize = 256;

pub fn string<'a>(name: &str, value: &'a Value) -> Result<&'a str, ApiError> {
    value.as_str().ok_or_else(|| {
        ApiError::invalid(
            name,
            format!("a string is required, not {}", json_type(value)),
        )
    })
}
pub fn checked<T>(
    name: &str,
    value: &Value,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, ApiError> {
    parse(string(name, value)?).map_err(|rule| ApiError::invalid(name, rule))
}
pub fn text(name: &str, value: &Value) -> Result<String, ApiError> {
    let s = string(name, value)?;
    if s.chars().count() > MAX_TEXT {
        return Err(ApiError::invalid(
            name,
            format!("must be at most {MAX_TEXT} characters long"),
        ));
    }
    Ok(s.to_owned())
}
pub fn int32(name: &str, value: &Value) -> Result<i32, ApiError> {
    let rule = "must be an integer from 0 to 2147483647 (Edm.Int32)";
    match value {
        Value::Number(n) => n
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .filter(|n| *n >= 0)
            .ok_or_else(|| ApiError::invalid(name, rule)),
        other => Err(ApiError::invalid(
            name,
            format!("{rule}, not {}", json_type(other)),
        )),
    }
}
pub fn date(name: &str, value: &Value) -> Result<NaiveDate, ApiError> {
    let s = string(name, value)?;
    let shape = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) if shape => Ok(d),
        _ => Err(ApiError::invalid(
            name,
            "must be a date in the form YYYY-MM-DD",
        )),
    }
}
pub fn check_date_time(name: &str, value: &Value) -> Result<(), ApiError> {
    DateTime::parse_from_rfc3339(string(name, value)?)
        .map(|_| ())
        .map_err(|_| {
            ApiError::invalid(
                name,
                "must be an ISO 8601 date-time such as 2026-11-29T12:00:00Z",
            )
        })
}
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
