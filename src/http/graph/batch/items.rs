//! The items of a `$batch` body: each checked on its own (an item with a bad header still runs, to answer its own
//! 400), their URLs resolved under the batch's version and host, and the order to run them in.

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::Method;
use base64::Engine;
use serde_json::Value;

use super::MAX_ITEMS;
use crate::error::ApiError;
use crate::graph::body::JsonObject;
use crate::graph::{ApiVersion, GraphContext};

/// One request of the batch, checked.
pub struct Item {
    pub id: String,
    pub method: Method,
    pub url: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Why a header of the item cannot be sent (a name or value HTTP does not allow): the item alone gets a 400.
    pub bad_header: Option<String>,
    pub body: Option<Vec<u8>>,
    pub depends_on: Vec<String>,
}

/// The path (with query) an item's URL names under this batch's version, or why it names none. URLs are relative to
/// the version root, or absolute on this host and version (the Python SDK sends those).
pub fn target(url: &str, host: &str, ctx: &GraphContext) -> Result<String, String> {
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
pub fn parse(body: JsonObject) -> Result<Vec<Item>, ApiError> {
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
    let (headers, bad_header) = item_headers(object.get("headers"))?;
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
            Some(item_body(&id, body)?)
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

/// An item's headers, and why the first that HTTP does not allow cannot be sent (that item alone gets a 400).
type Headers = (Vec<(HeaderName, HeaderValue)>, Option<String>);

fn item_headers(raw: Option<&Value>) -> Result<Headers, String> {
    let mut headers = Vec::new();
    let mut bad_header = None;
    let map = match raw {
        None | Some(Value::Null) => return Ok((headers, None)),
        Some(Value::Object(map)) => map,
        Some(_) => return Err("'headers' must be an object".into()),
    };
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
    Ok((headers, bad_header))
}

/// An item's body as bytes: JSON as JSON; a string is base64, as Graph reads it (binary bodies; the Python SDK
/// encodes non-object bodies).
fn item_body(id: &str, body: &Value) -> Result<Vec<u8>, String> {
    match body {
        Value::String(s) => base64::engine::general_purpose::STANDARD
            .decode(s)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s))
            .map_err(|_| format!("the body of request '{id}' is a string but not base64")),
        other => serde_json::to_vec(other).map_err(|e| e.to_string()),
    }
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

/// What a `$batch` body plans to run (for the fuzzers, `crate::properties::check_batch`): the items in run
/// order, each with its URL's path (or why it has none) and the run positions of the items it depends on.
#[doc(hidden)]
pub fn plan(bytes: &[u8]) -> Result<Vec<PlannedItem>, ApiError> {
    let items = parse(crate::graph::body::parse_object(bytes)?)?;
    let order = run_order(&items)?;
    let ctx = GraphContext {
        version: ApiVersion::Beta,
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
pub fn run_order(items: &[Item]) -> Result<Vec<usize>, ApiError> {
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
