//! The middleware every request passes: request ids, Graph's error envelope, one log line per request
//! (CONTRACT §7, HOUSE-STYLE 3 and 7).

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

use crate::error::{render_envelope, GraphError};

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
        let request_id = Uuid::new_v4().to_string();
        let client_request_id = req
            .headers()
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 256)
            .map_or_else(|| request_id.clone(), str::to_owned);
        Self {
            request_id,
            client_request_id,
        }
    }
}

/// Wraps the whole app: assigns ids, renders error envelopes, adds the common headers and logs the request.
pub async fn protocol(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let ids = RequestIds::for_request(&req);
    req.extensions_mut().insert(ids.clone());
    let method = req.method().clone();
    let target = req.uri().to_string();
    // No clone of the request may be held across `next.call`: actix's router needs the only reference.
    // A panic in a handler must not drop the connection without an answer: it becomes a 500 envelope.
    let res = match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(Ok(res)) => res.map_into_boxed_body(),
        Err(_) => {
            tracing::error!(request_id = %ids.request_id, "handler panicked");
            return Err(RenderedError::new(StatusCode::INTERNAL_SERVER_ERROR, &ids).into());
        }
        Ok(Err(err)) => {
            let status = err.as_response_error().status_code();
            tracing::warn!(request_id = %ids.request_id, status = status.as_u16(), "request failed outside a handler");
            return Err(RenderedError::new(status, &ids).into());
        }
    };
    let mut res = if res.status().is_client_error() || res.status().is_server_error() {
        into_envelope(res, &ids)
    } else {
        res
    };
    let headers = res.headers_mut();
    for (name, value) in [
        ("request-id", &ids.request_id),
        ("client-request-id", &ids.client_request_id),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(header::HeaderName::from_static(name), v);
        }
    }
    tracing::info!(
        request_id = %ids.request_id,
        method = %method,
        target = %target,
        status = res.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    Ok(res)
}

/// An error that escaped the service chain (no response exists yet): rendered as the envelope by actix itself.
#[derive(Debug)]
struct RenderedError {
    status: StatusCode,
    body: Vec<u8>,
    ids: RequestIds,
}

impl RenderedError {
    fn new(status: StatusCode, ids: &RequestIds) -> Self {
        let date = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string();
        let body = render_envelope(
            &GraphError::for_status(status),
            &date,
            &ids.request_id,
            &ids.client_request_id,
        );
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
            .insert_header(("request-id", self.ids.request_id.as_str()))
            .insert_header(("client-request-id", self.ids.client_request_id.as_str()))
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
