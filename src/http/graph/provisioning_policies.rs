//! `…/virtualEndpoint/provisioningPolicies` (docs/policies.md): create, list, get, update, delete, `assign` and the
//! `assignments` of a policy. Each handler parses the request into domain values, asks the repository (which checks
//! the rules that depend on other rows in the write's transaction) and builds the response from what it returned.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use uuid::Uuid;

use crate::clock::format_timestamp;
use crate::error::ApiError;
use crate::graph::body::read_json_object;
use crate::graph::odata::CollectionQuery;
use crate::graph::resource::{parse_select, select_suffix};
use crate::graph::{response, GraphContext};
use crate::http::graph::collection::{entity, entity_options, json_page};
use crate::http::AppState;
use crate::provisioning_policies::complex::parse_assign;
use crate::provisioning_policies::domain::{parse_guid, Changes};
use crate::provisioning_policies::properties::PolicyProperty;
use crate::provisioning_policies::query::{json_sql, parse_expand, PROVISIONING_POLICIES};
use crate::provisioning_policies::repository::{self, Projection};
use crate::provisioning_policies::COLLECTION_PATH;

/// `POST …/provisioningPolicies`: 201 with the stored policy and its `Location`.
pub async fn create(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    ctx: &GraphContext,
) -> Result<HttpResponse, ApiError> {
    let body = read_json_object(req, payload).await?;
    let new = Changes::parse(&body, ctx.version, ctx.include_unknown_enum_members)?.create()?;
    let now = format_timestamp(state.clock.now());
    let projection = Projection {
        version: ctx.version,
        include_unknown: ctx.include_unknown_enum_members,
        select: None,
        expand: false,
    };
    let (id, object) = repository::insert(&state.db, &ctx.tenant, new, &now, &projection).await?;
    let context = ctx.context(&[COLLECTION_PATH, "/$entity"]);
    let body = response::entity_with_context(&context, &object)?;
    let mut res = response::json_bytes(StatusCode::CREATED, ctx, body);
    if let Ok(value) =
        header::HeaderValue::from_str(&format!("{}/{COLLECTION_PATH}/{id}", ctx.base))
    {
        res.headers_mut().insert(header::LOCATION, value);
    }
    Ok(res)
}

/// The `$select` and `$expand` of a request.
fn projection_options(
    options: &[crate::graph::odata::options::QueryOption],
    ctx: &GraphContext,
) -> Result<(Option<Vec<PolicyProperty>>, bool), ApiError> {
    let (mut select, mut expand) = (None, false);
    for option in options {
        match option.name.as_str() {
            "$select" => select = parse_select(&option.value, ctx.version, &PROVISIONING_POLICIES)?,
            _ => expand = parse_expand(&option.value)?,
        }
    }
    Ok((select, expand))
}

/// Lists the tenant's policies, one page per request, with `$select` and `$expand=assignments`.
pub async fn list(
    req: &HttpRequest,
    state: &AppState,
    ctx: &GraphContext,
) -> Result<HttpResponse, ApiError> {
    let query = CollectionQuery::parse(
        req.query_string(),
        &PROVISIONING_POLICIES,
        ctx.version,
        ctx.include_unknown_enum_members,
        &["$select", "$expand"],
    )?;
    let (select, expand) = projection_options(&query.extra, ctx)?;
    let json = json_sql(
        ctx.version,
        ctx.include_unknown_enum_members,
        select.as_deref(),
        expand,
    );
    let context = format!("{COLLECTION_PATH}{}", select_suffix(select.as_deref()));
    json_page(
        state,
        ctx,
        &query,
        &json,
        &ctx.tenant,
        COLLECTION_PATH,
        &context,
    )
    .await
}

/// `GET …/provisioningPolicies/{id}`, with `$select` and `$expand=assignments`.
pub async fn get(
    req: &HttpRequest,
    state: &AppState,
    ctx: &GraphContext,
    id: &str,
) -> Result<HttpResponse, ApiError> {
    let options = entity_options(req, ctx, &["$select", "$expand"])?;
    let (select, expand) = projection_options(&options, ctx)?;
    let id = parse_id(id)?;
    let projection = Projection {
        version: ctx.version,
        include_unknown: ctx.include_unknown_enum_members,
        select: select.as_deref(),
        expand,
    };
    let object = repository::get(&state.db, &ctx.tenant, id, &projection)
        .await?
        .ok_or_else(|| not_found(&id.to_string()))?;
    let context = format!(
        "{COLLECTION_PATH}{}/$entity",
        select_suffix(select.as_deref())
    );
    entity(ctx, &context, &object)
}

/// `PATCH …/provisioningPolicies/{id}`: 204, as Graph documents.
pub async fn update(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    ctx: &GraphContext,
    id: &str,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(id)?;
    let body = read_json_object(req, payload).await?;
    let changes = Changes::parse(&body, ctx.version, ctx.include_unknown_enum_members)?;
    let now = format_timestamp(state.clock.now());
    match repository::update(&state.db, &ctx.tenant, id, changes, &now).await? {
        true => Ok(HttpResponse::NoContent().finish()),
        false => Err(not_found(&id.to_string())),
    }
}

/// `DELETE …/provisioningPolicies/{id}`: 204; a policy with assignments is refused.
pub async fn delete(
    state: &AppState,
    ctx: &GraphContext,
    id: &str,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(id)?;
    match repository::delete(&state.db, &ctx.tenant, id).await? {
        true => Ok(HttpResponse::NoContent().finish()),
        false => Err(not_found(&id.to_string())),
    }
}

/// `POST …/provisioningPolicies/{id}/assign`: replaces the policy's assignments; 204.
pub async fn assign(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    ctx: &GraphContext,
    id: &str,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(id)?;
    let body = read_json_object(req, payload).await?;
    let targets = parse_assign(&body)?;
    let now = format_timestamp(state.clock.now());
    match repository::assign(&state.db, &ctx.tenant, id, &targets, &now).await? {
        true => Ok(HttpResponse::NoContent().finish()),
        false => Err(not_found(&id.to_string())),
    }
}

/// `GET …/provisioningPolicies/{id}/assignments`: the policy's assignments as a collection.
pub async fn assignments(
    req: &HttpRequest,
    state: &AppState,
    ctx: &GraphContext,
    id: &str,
) -> Result<HttpResponse, ApiError> {
    entity_options(req, ctx, &[])?;
    let id = parse_id(id)?;
    let items = repository::assignments(&state.db, &ctx.tenant, id)
        .await?
        .ok_or_else(|| not_found(&id.to_string()))?;
    let context = ctx.context(&[COLLECTION_PATH, "('", &id.to_string(), "')/assignments"]);
    let object = format!("{{\"value\":{items}}}");
    let body = response::entity_with_context(&context, &object)?;
    Ok(response::json_bytes(StatusCode::OK, ctx, body))
}

/// Ids are GUIDs; anything else names no policy (404).
fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    parse_guid(raw).map_err(|_| not_found(raw))
}

fn not_found(id: &str) -> ApiError {
    let shown: String = id.chars().take(100).collect();
    ApiError::NotFound(format!(
        "The cloudPcProvisioningPolicy with id '{shown}' was not found."
    ))
}
