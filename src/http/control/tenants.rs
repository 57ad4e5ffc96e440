//! `GET /_emulator/tenants`: the tenants that hold images or provisioning policies, so a client (the dashboard) can
//! list each one's through the Graph routes with a token minted for it.

use std::collections::BTreeSet;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::device_images::DEFAULT_TENANT;
use crate::error::ApiError;
use crate::http::AppState;

/// `{"value":[{"tenantId":"…"}, …]}`: the default tenant first (always, even without images), then every other
/// tenant that holds an image or a policy, in order.
pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let mut tenants: BTreeSet<String> = crate::device_images::repository::tenants(&state.db)
        .await?
        .into_iter()
        .collect();
    tenants.extend(crate::provisioning_policies::repository::tenants(&state.db).await?);
    let others = tenants.into_iter().filter(|t| t != DEFAULT_TENANT);
    let value: Vec<_> = std::iter::once(DEFAULT_TENANT.to_owned())
        .chain(others)
        .map(|t| json!({ "tenantId": t }))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "value": value })))
}
