//! JSON batching, `POST /{ver}/$batch` (docs/batching.md, docs/fidelity.md#batching).
//!
//! Each item runs through another instance of the very same application, built from the server's own factory
//! ([`crate::http::app`]): the protocol
//! middleware (request id, faults, journal, metrics), routing, auth and handlers, exactly as a direct request. Items
//! run one after another in request order, an item after its dependencies, so a batch's result never depends on
//! timing; an item whose dependency did not succeed gets 424.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use actix_service::boxed::{self, BoxService};
use actix_service::{IntoServiceFactory, ServiceFactory};
use actix_web::body::{to_bytes, BoxBody};
use actix_web::dev::{AppConfig, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use crate::error::{render_envelope, ApiError, GraphError};
use crate::graph::body::read_json_object;
use crate::graph::{response, Authority, GraphContext};
use crate::http::{app, AppState};

/// Most requests one batch may hold (Graph's limit).
pub const MAX_ITEMS: usize = 20;

mod items;

use items::{parse, run_order, target, Item};
pub use items::{plan, PlannedItem};

type Inner = Rc<BoxService<actix_http::Request, ServiceResponse<BoxBody>, actix_web::Error>>;

thread_local! {
    /// The application instance this worker thread runs batch items through, built on first use.
    static INNER: RefCell<Option<Inner>> = const { RefCell::new(None) };
}

/// This worker's instance of the application, built from the same factory the server uses ([`app`]).
async fn inner(state: &web::Data<AppState>) -> Result<Inner, ApiError> {
    if let Some(service) = INNER.with(|cell| cell.borrow().clone()) {
        return Ok(service);
    }
    let service = app(state.clone())
        .into_factory()
        .new_service(AppConfig::default())
        .await
        .map_err(|()| ApiError::internal("the application for batch items could not be built"))?;
    let service: Inner = Rc::new(boxed::service(service));
    INNER.with(|cell| *cell.borrow_mut() = Some(service.clone()));
    Ok(service)
}

/// An item's answer.
struct Answer {
    status: u16,
    headers: Map<String, Value>,
    /// Kept as the bytes the item's handler wrote, so the body reads exactly as a direct response would.
    body: Option<Box<RawValue>>,
}

/// `POST /{ver}/$batch`.
pub async fn handle(
    req: &HttpRequest,
    payload: web::Payload,
    state: &web::Data<AppState>,
    ctx: &GraphContext,
) -> Result<HttpResponse, ApiError> {
    let items = parse(read_json_object(req, payload).await?)?;
    let order = run_order(&items)?;
    let service = inner(state).await?;
    // Items are addressed to the host and scheme the batch was admitted with.
    let authority = req
        .extensions()
        .get::<Authority>()
        .cloned()
        .unwrap_or_else(|| {
            let info = req.connection_info();
            Authority {
                scheme: info.scheme().to_owned(),
                host: info.host().to_owned(),
            }
        });
    let batch = Batch {
        authority,
        authorization: req.headers().get("authorization").cloned(),
        service,
    };
    let mut answers: HashMap<usize, Answer> = HashMap::new();
    for i in order {
        let answer = batch.answer(&items, i, &answers, ctx).await;
        answers.insert(i, answer);
    }
    let responses: Vec<ItemResponse> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let a = answers
                .remove(&i)
                .unwrap_or_else(|| error_answer(500, "InternalServerError", "Not run."));
            ItemResponse {
                id: &item.id,
                status: a.status,
                headers: a.headers,
                body: a.body,
            }
        })
        .collect();
    response::json(StatusCode::OK, ctx, &json!({ "responses": responses }))
}

/// What every item of one batch shares.
struct Batch {
    authority: Authority,
    /// The batch's credentials, which every item carries.
    authorization: Option<HeaderValue>,
    service: Inner,
}

impl Batch {
    /// Runs item `i` (its dependencies have answered) or answers it without running it.
    async fn answer(
        &self,
        items: &[Item],
        i: usize,
        answers: &HashMap<usize, Answer>,
        ctx: &GraphContext,
    ) -> Answer {
        let item = &items[i];
        let failed = item.depends_on.iter().find(|dep| {
            let j = items
                .iter()
                .position(|other| other.id.eq_ignore_ascii_case(dep));
            j.and_then(|j| answers.get(&j))
                .is_none_or(|a| !(200..300).contains(&a.status))
        });
        match (failed, target(&item.url, &self.authority.host, ctx)) {
            (Some(dep), _) => error_answer(
                424,
                "FailedDependency",
                &format!("The request it depends on ('{dep}') failed."),
            ),
            (None, Err(message)) => error_answer(400, "BadRequest", &message),
            (None, Ok(_)) if item.bad_header.is_some() => error_answer(
                400,
                "BadRequest",
                item.bad_header.as_deref().unwrap_or_default(),
            ),
            (None, Ok(path)) => match self.service.call(self.request(item, &path)).await {
                Ok(res) => answer_of(res).await,
                Err(e) => error_answer(
                    e.as_response_error().status_code().as_u16(),
                    "InternalServerError",
                    "The request failed.",
                ),
            },
        }
    }

    /// The item as a request to the application: its method, path, headers and body, the batch's `Host`,
    /// credentials and admitted authority.
    fn request(&self, item: &Item, path: &str) -> actix_http::Request {
        let payload = item
            .body
            .clone()
            .map_or(actix_http::Payload::None, actix_http::Payload::from);
        let mut request = actix_http::Request::with_payload(payload);
        let head = request.head_mut();
        head.method = item.method.clone();
        head.uri = path.parse().unwrap_or_default();
        for (name, value) in &item.headers {
            head.headers.append(name.clone(), value.clone());
        }
        let host = HeaderValue::from_str(&self.authority.host)
            .unwrap_or(HeaderValue::from_static("localhost"));
        head.headers.insert(header::HOST, host);
        if let Some(auth) = &self.authorization {
            head.headers.insert(header::AUTHORIZATION, auth.clone());
        }
        request.extensions_mut().insert(self.authority.clone());
        request
    }
}

use actix_service::Service;

/// One entry of the batch's `responses`.
#[derive(Serialize)]
struct ItemResponse<'a> {
    id: &'a str,
    status: u16,
    headers: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<Box<RawValue>>,
}

/// Reads an item's response: its status, headers (but `date` and `content-length`) and body (JSON as JSON, other
/// text as a string).
async fn answer_of(res: ServiceResponse<BoxBody>) -> Answer {
    let status = res.status().as_u16();
    let mut headers = Map::new();
    for (name, value) in res.headers() {
        if name != "date" && name != "content-length" {
            if let Ok(v) = value.to_str() {
                headers.insert(graph_spelling(name.as_str()), json!(v));
            }
        }
    }
    let json_body = headers
        .get("Content-Type")
        .and_then(Value::as_str)
        .is_some_and(|ct| ct.starts_with("application/json"));
    let bytes = to_bytes(res.into_body()).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = match (bytes.is_empty(), json_body) {
        (true, _) => None,
        (false, true) => RawValue::from_string(text).ok(),
        (false, false) => RawValue::from_string(json!(text).to_string()).ok(),
    };
    Answer {
        status,
        headers,
        body,
    }
}

/// An item response's header name as Graph spells it: the standard and OData headers capitalized (`Content-Type`,
/// `Location`, `OData-Version`), Graph's own lower case (`request-id`, `client-request-id`). Clients look item headers
/// up by exact name: the JavaScript client's `BatchResponseContent` reads `Content-Type`, and with `content-type`
/// every JSON body it returned read `"[object Object]"`.
fn graph_spelling(name: &str) -> String {
    const SPELLED: [&str; 13] = [
        "Allow",
        "Cache-Control",
        "Content-Type",
        "Deprecation",
        "ETag",
        "Link",
        "Location",
        "OData-Version",
        "Preference-Applied",
        "Retry-After",
        "Strict-Transport-Security",
        "Sunset",
        "WWW-Authenticate",
    ];
    SPELLED
        .iter()
        .find(|s| s.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_owned(), |s| (*s).to_owned())
}

/// An answer the batch gives an item itself (424, or 400 for a URL outside this version and host).
fn error_answer(status: u16, code: &str, message: &str) -> Answer {
    let request_id = uuid::Uuid::new_v4().to_string();
    let date = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string();
    let error = GraphError {
        code: code.to_owned(),
        message: message.to_owned(),
    };
    let envelope = render_envelope(&error, &date, &request_id, &request_id);
    let body = RawValue::from_string(String::from_utf8_lossy(&envelope).into_owned()).ok();
    let mut headers = Map::new();
    headers.insert("Content-Type".into(), json!("application/json"));
    headers.insert("request-id".into(), json!(request_id));
    Answer {
        status,
        headers,
        body,
    }
}
