//! A fault rule's body, checked: every property on its own, then the action with what it needs, and nothing that
//! belongs to another action.

use actix_web::http::StatusCode;
use serde_json::Value;

use super::{Action, FaultRule};
use crate::error::{ApiError, GraphError};
use crate::graph::body::JsonObject;
use crate::graph::values::{string, text};

/// A rule as a client asked for it, checked.
pub fn parse_rule(body: JsonObject) -> Result<FaultRule, ApiError> {
    let mut f = RuleFields {
        path: "*".to_owned(),
        probability: 1.0,
        ..RuleFields::default()
    };
    for (name, value) in &body.0 {
        f.set(name, value)?;
    }
    let action = f.action()?;
    f.check_belongs_to(&action)?;
    Ok(FaultRule {
        id: 0,
        created: String::new(),
        method: f.method,
        path: f.path,
        api_version: f.api_version,
        action,
        probability: f.probability,
        remaining: f.remaining,
    })
}

/// What a rule's body held, each value checked on its own.
#[derive(Default)]
struct RuleFields {
    method: Option<String>,
    path: String,
    api_version: Option<String>,
    action: Option<String>,
    status: Option<u16>,
    code: Option<String>,
    message: Option<String>,
    retry_after: Option<u64>,
    latency_ms: Option<u64>,
    limit: Option<u32>,
    window_seconds: Option<u64>,
    probability: f64,
    remaining: Option<i64>,
}

impl RuleFields {
    fn set(&mut self, n: &str, value: &Value) -> Result<(), ApiError> {
        match n {
            "method" => self.method = Some(http_method(n, value)?),
            "path" => self.path = text(n, value)?,
            "apiVersion" => self.api_version = Some(one_of(n, value, &["beta", "v1.0"])?),
            "action" => self.action = Some(one_of(n, value, &["error", "latency", "throttle"])?),
            "status" => self.status = Some(integer(n, value, 400, 599)? as u16),
            "code" => self.code = Some(text(n, value)?),
            "message" => self.message = Some(text(n, value)?),
            "retryAfter" => self.retry_after = Some(integer(n, value, 0, 86_400)? as u64),
            "latencyMs" => self.latency_ms = Some(integer(n, value, 1, 60_000)? as u64),
            "limit" => self.limit = Some(integer(n, value, 1, 1_000_000)? as u32),
            "windowSeconds" => self.window_seconds = Some(integer(n, value, 1, 86_400)? as u64),
            "probability" => {
                self.probability = value
                    .as_f64()
                    .filter(|p| (0.0..=1.0).contains(p))
                    .ok_or_else(|| ApiError::invalid(n, "must be a number from 0 to 1"))?
            }
            "count" => self.remaining = Some(integer(n, value, 1, i64::MAX)?),
            other => {
                return Err(ApiError::BadRequest(format!(
                    "The property '{other}' does not exist on a fault rule."
                )))
            }
        }
        Ok(())
    }

    /// The action, with what it needs.
    fn action(&self) -> Result<Action, ApiError> {
        Ok(match self.action.as_deref() {
            Some("error") => {
                let status = self.status.ok_or_else(|| {
                    ApiError::invalid("status", "an error rule needs a status from 400 to 599")
                })?;
                let http = StatusCode::from_u16(status)
                    .map_err(|_| ApiError::invalid("status", "not an HTTP status"))?;
                let default = GraphError::for_status(http);
                Action::Error {
                    status,
                    code: self.code.clone().unwrap_or(default.code),
                    message: self
                        .message
                        .clone()
                        .unwrap_or_else(|| format!("Injected fault: {}", default.message)),
                    retry_after: self
                        .retry_after
                        .or(matches!(status, 429 | 503).then_some(1)),
                }
            }
            Some("latency") => Action::Latency {
                latency_ms: self
                    .latency_ms
                    .ok_or_else(|| ApiError::invalid("latencyMs", "a latency rule needs it"))?,
            },
            Some(_) => Action::Throttle {
                limit: self
                    .limit
                    .ok_or_else(|| ApiError::invalid("limit", "a throttle rule needs it"))?,
                window_seconds: self.window_seconds.ok_or_else(|| {
                    ApiError::invalid("windowSeconds", "a throttle rule needs it")
                })?,
            },
            None => {
                return Err(ApiError::invalid(
                    "action",
                    "the property is required: 'error', 'latency' or 'throttle'",
                ))
            }
        })
    }

    /// Refuses a property of another action.
    fn check_belongs_to(&self, action: &Action) -> Result<(), ApiError> {
        let misplaced = match action {
            Action::Error { .. } => [
                ("latencyMs", self.latency_ms.is_some()),
                ("limit", self.limit.is_some()),
                ("windowSeconds", self.window_seconds.is_some()),
            ],
            Action::Latency { .. } => [
                ("status", self.status.is_some()),
                ("limit", self.limit.is_some()),
                ("retryAfter", self.retry_after.is_some()),
            ],
            Action::Throttle { .. } => [
                ("status", self.status.is_some()),
                ("latencyMs", self.latency_ms.is_some()),
                ("retryAfter", self.retry_after.is_some()),
            ],
        };
        match misplaced.iter().find(|(_, given)| *given) {
            Some((name, _)) => Err(ApiError::invalid(name, "does not belong to this action")),
            None => Ok(()),
        }
    }
}

fn integer(name: &str, value: &Value, min: i64, max: i64) -> Result<i64, ApiError> {
    value
        .as_i64()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| ApiError::invalid(name, format!("must be an integer from {min} to {max}")))
}

fn one_of(name: &str, value: &Value, allowed: &[&str]) -> Result<String, ApiError> {
    let s = string(name, value)?;
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(s))
        .map(|a| (*a).to_owned())
        .ok_or_else(|| ApiError::invalid(name, format!("must be one of {}", allowed.join(", "))))
}

fn http_method(name: &str, value: &Value) -> Result<String, ApiError> {
    let s = string(name, value)?.to_ascii_uppercase();
    match s.as_str() {
        "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS" => Ok(s),
        _ => Err(ApiError::invalid(name, "must be an HTTP method")),
    }
}
