//! JSON batching, `POST /{ver}/$batch` (docs/batching.md, docs/fidelity.md#batching).
//!
//! Each item runs through another instance of the very same application ([`crate::http::app`]): the protocol
//! middleware (request id, faults, journal, metrics), routing, auth and handlers, exactly as a direct request. Items
//! run one after another in request order, an item after its dependencies, so a batch's result never depends on
//! timing; an item whose dependency did not succeed gets 424.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use actix_service::boxed::{self, BoxService};
use actix_web::body::{to_bytes, BoxBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use base64::Engine;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use crate::error::{render_envelope, ApiError, GraphError};
use crate::graph::body::{read_json_object, JsonObject};
use crate::graph::{response, Authority, GraphContext};
use crate::http::{app, AppState};

/// Most requests one batch may hold (Graph's limit).
pub const MAX_ITEMS: usize = 20;

type Inner = Rc<BoxService<actix_http::Request, ServiceResponse<BoxBody>, actix_web::Error>>;

thread_local! {
    /// The application instance this worker thread runs batch items through, built on first use.
    static INNER: RefCell<Option<Inner>> = const { RefCell::new(None) };
}

async fn inner(state: &web::Data<AppState>) -> Inner {
    if let Some(service) = INNER.with(|cell| cell.borrow().clone()) {
        return service;
    }
    let service: Inner = Rc::new(boxed::service(
        actix_web::test::init_service(app(state.clone())).await,
    ));
    INNER.with(|cell| *cell.borrow_mut() = Some(service.clone()));
    service
}

/// One request of the batch, checked.
struct Item {
    id: String,
    method: Method,
    url: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Why a header of the item cannot be sent (a name or value HTTP does not allow): the item alone gets a 400.
    bad_header: Option<String>,
    body: Option<Vec<u8>>,
    depends_on: Vec<String>,
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
    let host = authority.host.clone();
    let authorization = req.headers().get("authorization").cloned();
    let service = inner(state).await;
    let mut answers: HashMap<usize, Answer> = HashMap::new();
    for i in order {
        let item = &items[i];
        let failed = item.depends_on.iter().find(|dep| {
            let j = items
                .iter()
                .position(|other| other.id.eq_ignore_ascii_case(dep));
            j.and_then(|j| answers.get(&j))
                .is_none_or(|a| !(200..300).contains(&a.status))
        });
        let answer = match (failed, target(&item.url, &host, ctx)) {
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
            (None, Ok(path)) => {
                let mut request = TestRequest::default()
                    .method(item.method.clone())
                    .uri(&path);
                for (name, value) in &item.headers {
                    request = request.append_header((name.clone(), value.clone()));
                }
                request = request.insert_header((
                    header::HOST,
                    HeaderValue::from_str(&host).unwrap_or(HeaderValue::from_static("localhost")),
                ));
                if let Some(auth) = &authorization {
                    request = request.insert_header((header::AUTHORIZATION, auth.clone()));
                }
                if let Some(body) = &item.body {
                    request = request.set_payload(body.clone());
                }
                let request = request.to_request();
                request.extensions_mut().insert(authority.clone());
                match service.call(request).await {
                    Ok(res) => answer_of(res).await,
                    Err(e) => error_answer(
                        e.as_response_error().status_code().as_u16(),
                        "InternalServerError",
                        "The request failed.",
                    ),
                }
            }
        };
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
                headers.insert(name.as_str().to_owned(), json!(v));
            }
        }
    }
    let json_body = headers
        .get("content-type")
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
    headers.insert("content-type".into(), json!("application/json"));
    headers.insert("request-id".into(), json!(request_id));
    Answer {
        status,
        headers,
        body,
    }
}

/// The path (with query) an item's URL names under this batch's version, or why it names none. URLs are relative to
/// the version root, or absolute on this host and version (the Python SDK sends those).
fn target(url: &str, host: &str, ctx: &GraphContext) -> Result<String, String> {
    let version = ctx.version.as_str();
    let relative = match url.split_once("://") {
        None => url.to_owned(),
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
            if !authority.eq_ignore_ascii_case(host) {
                return Err(format!(
                    "The URL '{url}' is on another host; a batch item must address this service."
                ));
            }
            let (first, tail) = path.split_once('/').unwrap_or((path, ""));
            if !first.eq_ignore_ascii_case(version) {
                return Err(format!(
                    "The URL '{url}' is for another API version than this batch's ({version})."
                ));
            }
            tail.to_owned()
        }
        Some(_) => return Err(format!("The URL '{url}' is neither relative nor http(s).")),
    };
    let relative = relative.trim_start_matches('/');
    if relative
        .split(['/', '?'])
        .next()
        .is_some_and(|s| s.eq_ignore_ascii_case("$batch"))
    {
        return Err("A batch cannot contain a batch.".into());
    }
    let path = format!("/{version}/{relative}");
    match path.parse::<actix_web::http::Uri>() {
        Ok(_) => Ok(path),
        Err(_) => Err(format!("The URL '{url}' is not a valid URL.")),
    }
}

/// Checks the batch: `requests` with 1 to 20 items, ids unique (case-insensitively), methods known, a Content-Type
/// wherever there is a body, dependencies (`dependsOn`, or the Python SDK's `depends_on`) on ids of the batch.
fn parse(body: JsonObject) -> Result<Vec<Item>, ApiError> {
    let bad = |m: String| ApiError::BadRequest(format!("Invalid batch request: {m}"));
    let mut requests = None;
    for (name, value) in body.0 {
        match name.as_str() {
            "requests" => requests = Some(value),
            other => {
                return Err(bad(format!(
                    "the property '{other}' does not exist; a batch has 'requests'."
                )))
            }
        }
    }
    let requests = requests.ok_or_else(|| bad("the property 'requests' is required.".into()))?;
    let list = requests
        .as_array()
        .ok_or_else(|| bad("'requests' must be an array.".into()))?;
    if list.is_empty() || list.len() > MAX_ITEMS {
        return Err(bad(format!(
            "a batch holds 1 to {MAX_ITEMS} requests, not {}.",
            list.len()
        )));
    }
    let mut items: Vec<Item> = Vec::with_capacity(list.len());
    for (n, raw) in list.iter().enumerate() {
        let item = parse_item(raw).map_err(|m| bad(format!("request {}: {m}", n + 1)))?;
        if items
            .iter()
            .any(|other| other.id.eq_ignore_ascii_case(&item.id))
        {
            return Err(bad(format!(
                "the id '{}' is used twice (ids are compared case-insensitively).",
                item.id
            )));
        }
        items.push(item);
    }
    for item in &items {
        if let Some(dep) = item
            .depends_on
            .iter()
            .find(|d| !items.iter().any(|o| o.id.eq_ignore_ascii_case(d)))
        {
            return Err(bad(format!(
                "request '{}' depends on '{dep}', which the batch does not hold.",
                item.id
            )));
        }
    }
    Ok(items)
}

fn parse_item(raw: &Value) -> Result<Item, String> {
    let object = raw.as_object().ok_or("a request must be a JSON object")?;
    let text = |name: &str| {
        object
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let id = text("id")
        .ok_or("'id' must be a non-empty string")?
        .to_owned();
    let method = text("method")
        .ok_or("'method' is required")?
        .to_ascii_uppercase();
    let method = match method.as_str() {
        "GET" | "POST" | "PUT" | "PATCH" | "DELETE" => {
            Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?
        }
        other => return Err(format!("'{other}' is not a method a batch item may use")),
    };
    let url = text("url").ok_or("'url' is required")?.to_owned();
    let mut headers = Vec::new();
    let mut bad_header = None;
    match object.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, value) in map {
                let value = match value {
                    Value::String(s) => s.clone(),
                    Value::Array(parts) => parts
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", "),
                    _ => return Err(format!("the header '{name}' must be a string")),
                };
                match (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    (Ok(name), Ok(value)) => headers.push((name, value)),
                    (Err(_), _) => {
                        bad_header.get_or_insert_with(|| {
                            format!(
                                "The header name '{}' is not a valid HTTP header name.",
                                shorten(name)
                            )
                        });
                    }
                    (_, Err(_)) => {
                        bad_header.get_or_insert_with(|| {
                            format!(
                                "The value of the header '{}' is not a valid HTTP header value.",
                                shorten(name)
                            )
                        });
                    }
                }
            }
        }
        Some(_) => return Err("'headers' must be an object".into()),
    }
    let body = match object.get("body") {
        None | Some(Value::Null) => None,
        Some(body) => {
            let has_content_type = headers.iter().any(|(n, _)| *n == header::CONTENT_TYPE)
                || (bad_header.is_some() && map_has_content_type(object.get("headers")));
            if !has_content_type {
                return Err(format!(
                    "request '{id}' has a body but no Content-Type header"
                ));
            }
            Some(match body {
                // A string is base64, as Graph reads it (binary bodies; the Python SDK encodes non-object bodies).
                Value::String(s) => base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s))
                    .map_err(|_| {
                        format!("the body of request '{id}' is a string but not base64")
                    })?,
                other => serde_json::to_vec(other).map_err(|e| e.to_string())?,
            })
        }
    };
    let depends_on = match object.get("dependsOn").or_else(|| object.get("depends_on")) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(ids)) => ids
            .iter()
            .map(|d| {
                d.as_str()
                    .map(str::to_owned)
                    .ok_or("'dependsOn' must hold ids (strings)")
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("'dependsOn' must be an array of ids".into()),
    };
    Ok(Item {
        id,
        method,
        url,
        headers,
        bad_header,
        body,
        depends_on,
    })
}

/// Whether the item's header object names a Content-Type (when one of its headers could not be taken).
fn map_has_content_type(headers: Option<&Value>) -> bool {
    headers
        .and_then(Value::as_object)
        .is_some_and(|m| m.keys().any(|k| k.eq_ignore_ascii_case("content-type")))
}

fn shorten(s: &str) -> String {
    s.chars().take(100).collect()
}

/// One item of a plan: its path (or why it has none), and the run positions of what it depends on.
pub type PlannedItem = (Result<String, String>, Vec<usize>);

/// What a `$batch` body plans to run (for the fuzzers, `graph::odata::properties::check_batch`): the items in run
/// order, each with its URL's path (or why it has none) and the run positions of the items it depends on.
#[doc(hidden)]
pub fn plan(bytes: &[u8]) -> Result<Vec<PlannedItem>, ApiError> {
    let items = parse(crate::graph::body::parse_object(bytes)?)?;
    let order = run_order(&items)?;
    let ctx = GraphContext {
        version: super::ApiVersion::Beta,
        tenant: String::new(),
        base: "http://localhost/beta".into(),
        include_unknown_enum_members: false,
    };
    let at = |id: &str| {
        let i = items.iter().position(|o| o.id.eq_ignore_ascii_case(id))?;
        order.iter().position(|j| *j == i)
    };
    Ok(order
        .iter()
        .map(|&i| {
            let item = &items[i];
            let deps = item.depends_on.iter().filter_map(|d| at(d)).collect();
            (target(&item.url, "localhost", &ctx), deps)
        })
        .collect())
}

/// The order to run the items in: request order, each item after its dependencies; a cycle is a 400.
fn run_order(items: &[Item]) -> Result<Vec<usize>, ApiError> {
    let index = |id: &str| items.iter().position(|i| i.id.eq_ignore_ascii_case(id));
    let mut order = Vec::with_capacity(items.len());
    let mut state = vec![0u8; items.len()]; // 0 new, 1 visiting, 2 done
    fn visit(
        i: usize,
        items: &[Item],
        index: &dyn Fn(&str) -> Option<usize>,
        state: &mut [u8],
        order: &mut Vec<usize>,
    ) -> Result<(), String> {
        match state[i] {
            2 => return Ok(()),
            1 => return Err(items[i].id.clone()),
            _ => {}
        }
        state[i] = 1;
        for dep in &items[i].depends_on {
            if let Some(j) = index(dep) {
                visit(j, items, index, state, order)?;
            }
        }
        state[i] = 2;
        order.push(i);
        Ok(())
    }
    for i in 0..items.len() {
        visit(i, items, &index, &mut state, &mut order).map_err(|id| {
            ApiError::BadRequest(format!(
                "Invalid batch request: the dependencies of request '{id}' form a cycle."
            ))
        })?;
    }
    Ok(order)
}
