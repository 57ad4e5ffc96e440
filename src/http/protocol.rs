//! The middleware every request passes: request ids, Graph's error envelope, one log line per request
//! (docs/api.md).

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use uuid::Uuid;

use actix_web::web;

use crate::control::journal::{body_text, request_body_text, JournalEntry};
use crate::control::metrics::route_of;
use crate::error::{render_envelope, GraphError};
use crate::graph::body::RawBody;
use crate::graph::path::Segments;
use crate::graph::ApiVersion;
use crate::http::security::{add_cors_headers, Admission};
use crate::http::AppState;
use actix_web::ResponseError;

/// The ids of one request, also available to handlers through the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestIds {
    /// A new GUID per request: sent as `request-id`, logged, and put in error envelopes.
    pub request_id: String,
    /// The client's `client-request-id`, else the request id.
    pub client_request_id: String,
}

impl RequestIds {
    fn for_request(req: &ServiceRequest) -> Self {
        // Encoded into a buffer, not through `Display`'s formatter (one per request).
        let request_id = Uuid::new_v4()
            .hyphenated()
            .encode_lower(&mut Uuid::encode_buffer())
            .to_owned();
        let client_request_id = req
            .headers()
            .get(CLIENT_REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 256)
            .map_or_else(|| request_id.clone(), str::to_owned);
        Self {
            request_id,
            client_request_id,
        }
    }
}

/// The id of the device image a request touched, left in the request's extensions for the journal.
#[derive(Debug, Clone)]
pub struct TouchedImage(pub String);

/// The request path's decoded segments, as the middleware split them, for the Graph dispatcher to take instead of
/// splitting and decoding the path a second time.
pub struct PathSegments(pub Segments);

/// Names of headers every request reads or writes, made at compile time (a `&str` name is parsed on each use).
const EMULATOR_CLIENT: header::HeaderName = header::HeaderName::from_static("x-emulator-client");
const REQUEST_ID: header::HeaderName = header::HeaderName::from_static("request-id");
const CLIENT_REQUEST_ID: header::HeaderName = header::HeaderName::from_static("client-request-id");

/// What the middleware notes about a request before it is handled.
struct Seen {
    method: String,
    target: String,
    path: String,
    query: String,
    /// `/`-joined decoded segments, for fault patterns.
    normalized: String,
    route: &'static str,
    version: Option<&'static str>,
    /// A Graph request (not the control plane): faults apply and the journal records it.
    graph: bool,
    /// Sent by the dashboard (`X-Emulator-Client: dashboard`): faulted like any request, but not journaled, so the
    /// journal shows what the user's own clients sent rather than the dashboard's polling.
    dashboard: bool,
}

impl Seen {
    fn of(req: &ServiceRequest) -> Self {
        let segments = Segments::parse(req.uri().path());
        let route = route_of(&segments);
        let seen = Self {
            method: req.method().as_str().to_owned(),
            // The request target as sent: a path and query (origin form) is copied, not formatted.
            target: match (req.uri().scheme(), req.uri().path_and_query()) {
                (None, Some(target)) => target.as_str().to_owned(),
                _ => req.uri().to_string(),
            },
            path: req.uri().path().to_owned(),
            query: req.query_string().to_owned(),
            normalized: segments.normalized().to_owned(),
            route,
            version: segments
                .first()
                .and_then(ApiVersion::parse)
                .map(ApiVersion::as_str),
            graph: !matches!(route, "/_emulator" | "/metrics"),
            dashboard: req
                .headers()
                .get(EMULATOR_CLIENT)
                .is_some_and(|v| v.as_bytes() == b"dashboard"),
        };
        req.extensions_mut().insert(PathSegments(segments));
        seen
    }
}

/// Wraps the whole app: assigns ids, applies fault rules to Graph requests, renders error envelopes, adds the common
/// headers, counts the request, journals it and logs it.
pub async fn protocol(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let arrived = chrono::Utc::now();
    let ids = RequestIds::for_request(&req);
    req.extensions_mut().insert(ids.clone());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let journal = state.as_ref().is_some_and(|s| s.journal.enabled());
    let seen = Seen::of(&req);
    let served = serve(req, next, state.as_ref(), &seen, &ids).await?;
    let mut res = finish(served.res, &ids, served.cors);
    let took = started.elapsed();
    let status = res.status().as_u16();
    crate::telemetry::access(
        &ids.request_id,
        &seen.method,
        &seen.target,
        status,
        took.as_micros() as u64,
    );
    if let Some(state) = &state {
        state
            .metrics
            .observe(seen.route, &seen.method, status, took);
        if journal && served.admitted && seen.graph && !seen.dashboard {
            res = journal_entry(res, state, &seen, &ids, arrived, took, served.fault_id);
        }
    }
    Ok(res)
}

/// What became of a request in the app.
struct Served {
    res: ServiceResponse<BoxBody>,
    /// The fault rule that fired on it.
    fault_id: Option<i64>,
    /// The `Access-Control-Allow-Origin` its answer carries.
    cors: Option<HeaderValue>,
    /// It passed the Host, Origin and CORS rules (a refused request is not journaled).
    admitted: bool,
}

/// The Host, Origin and CORS rules come first: a refused request runs nothing. An admitted Graph request meets the
/// fault rules, then the app.
async fn serve(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    state: Option<&web::Data<AppState>>,
    seen: &Seen,
    ids: &RequestIds,
) -> Result<Served, Error> {
    let refused = |res| Served {
        res,
        fault_id: None,
        cors: None,
        admitted: false,
    };
    Ok(match state.map(|s| s.security.admit(&req, seen.graph)) {
        Some(Admission::Refuse(error)) => refused(req.into_response(error.error_response())),
        Some(Admission::Preflight(answer)) => refused(req.into_response(answer)),
        Some(Admission::Serve { authority, cors }) => {
            req.extensions_mut().insert(authority);
            let (res, fault_id) = match state {
                Some(state) if seen.graph => with_faults(req, next, state, seen, ids).await?,
                _ => (call(req, next, ids).await?, None),
            };
            Served {
                res,
                fault_id,
                cors,
                admitted: true,
            }
        }
        None => Served {
            res: call(req, next, ids).await?,
            fault_id: None,
            cors: None,
            admitted: true,
        },
    })
}

/// Every error becomes Graph's envelope (but the dashboard's login page, the one error answer meant for a person),
/// and every answer carries the request's ids and its CORS header.
fn finish(
    res: ServiceResponse<BoxBody>,
    ids: &RequestIds,
    cors: Option<HeaderValue>,
) -> ServiceResponse<BoxBody> {
    let failed = res.status().is_client_error() || res.status().is_server_error();
    let page = res
        .response()
        .extensions()
        .contains::<crate::http::control::ui::LoginPage>();
    let mut res = if failed && !page {
        into_envelope(res, ids)
    } else {
        res
    };
    let headers = res.headers_mut();
    for (name, value) in [
        (REQUEST_ID, &ids.request_id),
        (CLIENT_REQUEST_ID, &ids.client_request_id),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    }
    if let Some(allow) = cors {
        add_cors_headers(res.headers_mut(), allow);
    }
    res
}

/// Calls the app. No clone of the request may be held across `next.call`: actix's router needs the only reference.
/// A panic in a handler must not drop the connection without an answer: it becomes a 500 envelope.
async fn call(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    ids: &RequestIds,
) -> Result<ServiceResponse<BoxBody>, Error> {
    match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(Ok(res)) => Ok(res.map_into_boxed_body()),
        Err(_) => {
            tracing::error!(request_id = %ids.request_id, "handler panicked");
            Err(RenderedError::new(StatusCode::INTERNAL_SERVER_ERROR, None, ids).into())
        }
        Ok(Err(err)) => {
            let status = err.as_response_error().status_code();
            let error = err
                .error_response()
                .extensions()
                .get::<GraphError>()
                .cloned();
            tracing::warn!(request_id = %ids.request_id, status = status.as_u16(), "request failed outside a handler");
            Err(RenderedError::new(status, error, ids).into())
        }
    }
}

/// Applies the fault rules: added latency first, then either the rule's answer or the app's.
async fn with_faults(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    state: &AppState,
    seen: &Seen,
    ids: &RequestIds,
) -> Result<(ServiceResponse<BoxBody>, Option<i64>), Error> {
    let decision = state
        .faults
        .decide(&seen.method, &seen.normalized, seen.version);
    if let Err(e) = state.faults.persist(&state.db, &decision).await {
        tracing::warn!(error = %e, "could not store a fault rule's count");
    }
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }
    match decision.answer {
        Some((rule, error)) => Ok((
            req.into_response(error.error_response())
                .map_into_boxed_body(),
            Some(rule),
        )),
        None => Ok((call(req, next, ids).await?, decision.delayed_by)),
    }
}

/// Records the request's journal entry, taking a copy of the response body on the way.
fn journal_entry(
    res: ServiceResponse<BoxBody>,
    state: &AppState,
    seen: &Seen,
    ids: &RequestIds,
    time: chrono::DateTime<chrono::Utc>,
    took: std::time::Duration,
    fault_id: Option<i64>,
) -> ServiceResponse<BoxBody> {
    let max = state.journal.body_max;
    let status = res.status().as_u16();
    let (req, response) = res.into_parts();
    let (response, body) = response.into_parts();
    // A successful read's body is not kept: it is what reading again shows, and copying every page and image into
    // the journal cost a quarter of the read throughput (docs/control-plane.md#journal, bench/README.md).
    let successful_read = seen.method == "GET" && (200..300).contains(&status);
    // The body's bytes are shared (a reference count), so the journal reads them where they are.
    let (response, response_bytes) = match body.try_into_bytes() {
        Ok(bytes) if !successful_read => {
            (response.set_body(BoxBody::new(bytes.clone())), Some(bytes))
        }
        Ok(bytes) => (response.set_body(BoxBody::new(bytes)), None),
        Err(body) => (response.set_body(body), None),
    };
    {
        let response_body = response_bytes.as_deref().and_then(|b| body_text(b, max));
        let ext = req.extensions();
        let request_body = ext
            .get::<RawBody>()
            .and_then(|b| request_body_text(&b.0, max));
        state.journal.record(&JournalEntry {
            time,
            method: &seen.method,
            path: &seen.path,
            query: &seen.query,
            api_version: seen.version,
            status,
            duration_us: took.as_micros() as i64,
            request_id: &ids.request_id,
            client_request_id: &ids.client_request_id,
            request_headers: req.headers(),
            request_body: request_body.as_deref(),
            response_body: response_body.as_deref(),
            image_id: ext.get::<TouchedImage>().map(|t| t.0.as_str()),
            fault_id,
        });
    }
    ServiceResponse::new(req, response)
}

/// An error that escaped the service chain (no response exists yet): rendered as the envelope by actix itself.
#[derive(Debug)]
struct RenderedError {
    status: StatusCode,
    body: Vec<u8>,
    ids: RequestIds,
}

impl RenderedError {
    fn new(status: StatusCode, error: Option<GraphError>, ids: &RequestIds) -> Self {
        let date = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string();
        let error = error.unwrap_or_else(|| GraphError::for_status(status));
        let body = render_envelope(&error, &date, &ids.request_id, &ids.client_request_id);
        Self {
            status,
            body,
            ids: ids.clone(),
        }
    }
}

impl std::fmt::Display for RenderedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "request failed with {}", self.status)
    }
}

impl actix_web::ResponseError for RenderedError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        actix_web::HttpResponse::build(self.status)
            .content_type("application/json")
            .insert_header((REQUEST_ID, self.ids.request_id.as_str()))
            .insert_header((CLIENT_REQUEST_ID, self.ids.client_request_id.as_str()))
            .body(self.body.clone())
    }
}

/// Replaces an error response's body with Graph's envelope, whatever produced it.
fn into_envelope(res: ServiceResponse<BoxBody>, ids: &RequestIds) -> ServiceResponse<BoxBody> {
    let error = res
        .response()
        .extensions()
        .get::<GraphError>()
        .cloned()
        .unwrap_or_else(|| GraphError::for_status(res.status()));
    let date = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string();
    let body = render_envelope(&error, &date, &ids.request_id, &ids.client_request_id);
    res.map_body(|head, _| {
        head.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        BoxBody::new(body)
    })
}

#[cfg(test)]
mod tests {
    use actix_web::body::to_bytes;
    use actix_web::middleware::from_fn;
    use actix_web::test::{self, TestRequest};
    use actix_web::{web, App, HttpResponse};
    use serde_json::Value;

    use super::*;

    async fn panics() -> HttpResponse {
        panic!("a bug")
    }

    async fn wants_json(_: web::Json<Value>) -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    #[actix_web::test]
    async fn panics_extractor_errors_and_unrouted_requests_become_envelopes() {
        let app = test::init_service(
            App::new()
                .wrap(from_fn(protocol))
                .route("/panic", web::get().to(panics))
                .route("/json", web::post().to(wants_json)),
        )
        .await;

        let err = test::try_call_service(&app, TestRequest::get().uri("/panic").to_request())
            .await
            .expect_err("a panic surfaces as an error");
        let res = err.error_response();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(res.headers().contains_key("request-id"));
        let body: Value =
            serde_json::from_slice(&to_bytes(res.into_body()).await.unwrap()).unwrap();
        assert_eq!(body["error"]["code"], "InternalServerError");
        assert!(!body["error"]["message"].as_str().unwrap().contains("a bug"));

        let req = TestRequest::post()
            .uri("/json")
            .set_payload("{")
            .insert_header(("content-type", "application/json"));
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            res.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/json"
        );
        let body: Value = test::read_body_json(res).await;
        assert_eq!(body["error"]["code"], "badRequest");

        let res = test::call_service(&app, TestRequest::get().uri("/nowhere").to_request()).await;
        let body: Value = test::read_body_json(res).await;
        assert_eq!(body["error"]["code"], "ResourceNotFound");
        assert!(body["error"]["innerError"]["request-id"].is_string());
    }
}
