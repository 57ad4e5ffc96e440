//! `/_emulator/faults`: add, list, read and delete fault rules (docs/control-plane.md#faults). The rules themselves,
//! their parsing and how they fire are in [`crate::control::faults`].

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::control::faults::{parse_rule, MAX_RULES};
use crate::control::store;
use crate::error::ApiError;
use crate::graph::body::read_json_object;
use crate::http::AppState;

/// `POST /_emulator/faults`: stores and activates a rule; 201 with it.
pub async fn add(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut rule = parse_rule(read_json_object(&req, payload).await?)?;
    rule.created = crate::clock::format_timestamp(chrono::Utc::now());
    let id = store::insert_fault_rule(&state.db, &rule, MAX_RULES).await?;
    rule.id = id;
    state.faults.add(rule.clone());
    Ok(HttpResponse::Created().json(rule))
}

/// `GET /_emulator/faults`.
pub async fn list(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "value": state.faults.rules() }))
}

/// `GET /_emulator/faults/{id}`.
pub async fn read(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = rule_id(&path)?;
    let rule = state
        .faults
        .rules()
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| no_rule(id))?;
    Ok(HttpResponse::Ok().json(rule))
}

/// `DELETE /_emulator/faults/{id}`, or every rule without an id.
pub async fn delete(
    path: Option<web::Path<String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path.map(|p| rule_id(&p)).transpose()?;
    let deleted = store::delete_fault_rules(&state.db, id).await?;
    match id {
        Some(id) if deleted == 0 => Err(no_rule(id)),
        _ => {
            state.faults.remove(id);
            Ok(HttpResponse::NoContent().finish())
        }
    }
}

fn rule_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound(format!("No fault rule '{raw}'.")))
}

fn no_rule(id: i64) -> ApiError {
    ApiError::NotFound(format!("No fault rule {id}."))
}
