//! Routing of the Graph API (docs/api.md). One function shows the whole surface. Routing is done here rather than by
//! actix's router because Graph's rules are not a router's: fixed segments match case-insensitively, `//` and a
//! trailing `/` are ignored, and every miss has its own Graph error.

use actix_web::http::Method;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};

pub mod batch;
pub mod collection;
pub mod device_images;
pub mod device_images_list;
pub mod gallery_images;
pub mod metadata;
pub mod openapi;
mod openapi_policies;
pub mod provisioning_policies;
pub mod source_images;

use crate::error::ApiError;
use crate::gallery_images::model::GALLERY_IMAGES;
use crate::graph::path::Segments;
use crate::graph::{ApiVersion, GraphContext};
use crate::http::protocol::PathSegments;
use crate::http::AppState;
use crate::identity::Access;
use crate::provisioning_policies::query::PROVISIONING_POLICIES;
use device_images as handlers;
use device_images_list as list;
use provisioning_policies as policies;

/// The fixed segments in front of the collections.
const VIRTUAL_ENDPOINT: [&str; 2] = ["deviceManagement", "virtualEndpoint"];

/// Every request that no control-plane route took: the version, authentication, `$metadata`, `$batch`, then the
/// collection's own route table. It is long because it is the one place that shows, in order, every step a Graph
/// request crosses before its collection's routes.
pub async fn dispatch(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let taken = req.extensions_mut().remove::<PathSegments>();
    let decoded = taken.map_or_else(|| Segments::parse(req.uri().path()), |s| s.0);
    let segments = decoded.to_vec();
    let Some(first) = segments.first() else {
        return Err(ApiError::Routing(
            "Invalid version: a path must start with /v1.0 or /beta.".into(),
        ));
    };
    if first.starts_with('_') {
        return Err(ApiError::NotFound(format!(
            "No control-plane resource at '{}'.",
            req.path()
        )));
    }
    let version = ApiVersion::parse(first).ok_or_else(|| {
        ApiError::Routing(format!(
            "Invalid version: '{}'. Use 'v1.0' or 'beta'.",
            shorten(first)
        ))
    })?;
    let rest = &segments[1..];
    // The metadata document needs no token, as Graph's (the Host and cross-site rules still applied).
    if matches!(rest, [s] if *s == "$metadata") {
        return match *req.method() {
            Method::GET => metadata::handle(&req, version),
            _ => Err(ApiError::MethodNotAllowed("GET")),
        };
    }
    // Reads need a read permission, everything else a write permission (docs/fidelity.md#methods-and-permissions); a batch only a
    // valid token, since each of its items is checked on its own.
    let is_batch = matches!(rest, [s] if s.eq_ignore_ascii_case("$batch"));
    let access = match *req.method() {
        _ if is_batch => Access::Any,
        Method::GET | Method::HEAD => Access::Read,
        _ => Access::Write,
    };
    let caller = state.identity.authenticate(&req, access)?;
    if is_batch {
        let ctx = GraphContext::new(&req, version, caller.tenant);
        return match *req.method() {
            Method::POST => batch::handle(&req, payload, &state, &ctx).await,
            _ => Err(ApiError::MethodNotAllowed("POST")),
        };
    }
    for (i, word) in VIRTUAL_ENDPOINT.iter().enumerate() {
        match rest.get(i) {
            Some(s) if s.eq_ignore_ascii_case(word) => {}
            Some(s) => return Err(segment_not_found(s)),
            None => return Err(segment_not_found(rest.last().map_or(first, |s| s))),
        }
    }
    let ctx = GraphContext::new(&req, version, caller.tenant);
    let (collection, rest) = match &rest[VIRTUAL_ENDPOINT.len()..] {
        [collection, rest @ ..] => (*collection, rest),
        [] => return Err(segment_not_found(rest[VIRTUAL_ENDPOINT.len() - 1])),
    };
    let is = |name: &str| collection.eq_ignore_ascii_case(name);
    if is("deviceImages") {
        device_images_routes(&req, payload, &state, &ctx, rest).await
    } else if is("provisioningPolicies") {
        policy_routes(&req, payload, &state, &ctx, rest).await
    } else if is("galleryImages") {
        gallery_routes(&req, &state, &ctx, rest).await
    } else {
        Err(segment_not_found(collection))
    }
}

/// `…/deviceImages` and below: each arm a method and a path.
async fn device_images_routes(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    ctx: &GraphContext,
    rest: &[&str],
) -> Result<HttpResponse, ApiError> {
    let method = req.method();
    match rest {
        [] => match *method {
            Method::GET => list::list(req, state, ctx).await,
            Method::POST => handlers::create(req, payload, state, ctx).await,
            _ => Err(ApiError::MethodNotAllowed("GET, POST")),
        },
        [segment] if is_get_source_images(segment) => match *method {
            Method::GET => source_images::get_source_images(req, state, ctx).await,
            _ => Err(ApiError::MethodNotAllowed("GET")),
        },
        [segment] if segment.eq_ignore_ascii_case("$count") => match *method {
            Method::GET => list::count(req, state, ctx).await,
            _ => Err(ApiError::MethodNotAllowed("GET")),
        },
        [id] => match *method {
            Method::GET => handlers::get(req, state, ctx, id).await,
            Method::DELETE => handlers::delete(req, state, ctx, id).await,
            _ => Err(ApiError::MethodNotAllowed("GET, DELETE")),
        },
        // The upload actions exist on beta only; v1.0 has no such segment (docs/fidelity.md#methods-and-permissions).
        [id, action] if ctx.version == ApiVersion::Beta && is_action(action) => match *method {
            Method::POST => {
                let deprecated = action.eq_ignore_ascii_case("reupload");
                handlers::retry_upload(req, state, ctx, id, deprecated).await
            }
            _ => Err(ApiError::MethodNotAllowed("POST")),
        },
        [_, segment, ..] => Err(segment_not_found(segment)),
    }
}

/// `…/provisioningPolicies` and below (docs/policies.md).
async fn policy_routes(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    ctx: &GraphContext,
    rest: &[&str],
) -> Result<HttpResponse, ApiError> {
    let method = req.method();
    match rest {
        [] => match *method {
            Method::GET => policies::list(req, state, ctx).await,
            Method::POST => policies::create(req, payload, state, ctx).await,
            _ => Err(ApiError::MethodNotAllowed("GET, POST")),
        },
        [segment] if segment.eq_ignore_ascii_case("$count") => match *method {
            Method::GET => {
                collection::count(req, state, ctx, &PROVISIONING_POLICIES, &ctx.tenant).await
            }
            _ => Err(ApiError::MethodNotAllowed("GET")),
        },
        [id] => match *method {
            Method::GET => policies::get(req, state, ctx, id).await,
            Method::PATCH => policies::update(req, payload, state, ctx, id).await,
            Method::DELETE => policies::delete(state, ctx, id).await,
            _ => Err(ApiError::MethodNotAllowed("GET, PATCH, DELETE")),
        },
        [id, action] if action.eq_ignore_ascii_case("assign") => match *method {
            Method::POST => policies::assign(req, payload, state, ctx, id).await,
            _ => Err(ApiError::MethodNotAllowed("POST")),
        },
        [id, nav] if nav.eq_ignore_ascii_case("assignments") => match *method {
            Method::GET => policies::assignments(req, state, ctx, id).await,
            _ => Err(ApiError::MethodNotAllowed("GET")),
        },
        [_, segment, ..] => Err(segment_not_found(segment)),
    }
}

/// `…/galleryImages` and below: read-only (docs/policies.md).
async fn gallery_routes(
    req: &HttpRequest,
    state: &AppState,
    ctx: &GraphContext,
    rest: &[&str],
) -> Result<HttpResponse, ApiError> {
    match rest {
        [] => match *req.method() {
            Method::GET => gallery_images::list(req, state, ctx).await,
            _ => Err(ApiError::MethodNotAllowed("GET")),
        },
        [segment] if segment.eq_ignore_ascii_case("$count") => match *req.method() {
            Method::GET => collection::count(req, state, ctx, &GALLERY_IMAGES, "").await,
            _ => Err(ApiError::MethodNotAllowed("GET")),
        },
        [id] => match *req.method() {
            Method::GET => gallery_images::get(req, state, ctx, id).await,
            _ => Err(ApiError::MethodNotAllowed("GET")),
        },
        [_, segment, ..] => Err(segment_not_found(segment)),
    }
}

/// The function of the collection, as the docs (`getSourceImages`) and the SDKs (`getSourceImages()`) spell it.
fn is_get_source_images(segment: &str) -> bool {
    let name = segment.strip_suffix("()").unwrap_or(segment);
    name.eq_ignore_ascii_case("getSourceImages")
}

fn is_action(segment: &str) -> bool {
    segment.eq_ignore_ascii_case("retryUpload") || segment.eq_ignore_ascii_case("reupload")
}

/// Graph's router's message (docs/fidelity.md#error-envelope).
fn segment_not_found(segment: &str) -> ApiError {
    ApiError::Routing(format!(
        "Resource not found for the segment '{}'.",
        shorten(segment)
    ))
}

fn shorten(s: &str) -> String {
    s.chars().take(100).collect()
}
