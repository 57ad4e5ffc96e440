//! The request journal as files other tools read (docs/state.md#har-and-http-files): HAR 1.2
//! (`GET /_emulator/requests?format=har`, for browsers' network panels, proxies, and `cloudpc-emulator replay`) and a
//! `.http` file (`?format=http`, for the REST Client and JetBrains HTTP clients). Both hold what the journal holds:
//! `Authorization` was never stored (only `[redacted]`), and bodies are redacted as the journal redacts them.

use std::fmt::Write as _;

use actix_web::http::StatusCode;
use serde_json::{json, Value};

use crate::control::journal::StoredEntry;

/// The headers a replayed request must not copy: the client computes them, or they carry a credential.
pub const NOT_REPLAYED: [&str; 4] = ["authorization", "content-length", "host", "connection"];

/// HAR 1.2 of the entries (given newest first, as the journal lists them), oldest first. `origin` is
/// `scheme://host:port`, the address the requests were made to.
pub fn har(entries: &[StoredEntry], origin: &str) -> Value {
    let entries: Vec<Value> = entries.iter().rev().map(|e| har_entry(e, origin)).collect();
    json!({
        "log": {
            "version": "1.2",
            "creator": { "name": "cloudpc-emulator", "version": env!("CARGO_PKG_VERSION") },
            "pages": [],
            "entries": entries,
        }
    })
}

fn har_entry(e: &StoredEntry, origin: &str) -> Value {
    let url = url(e, origin);
    let headers: Vec<Value> = header_pairs(e)
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect();
    let query: Vec<Value> = query_pairs(&e.query)
        .into_iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect();
    let mut request = json!({
        "method": e.method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": headers,
        "queryString": query,
        "headersSize": -1,
        "bodySize": e.request_body.as_ref().map_or(0, String::len),
    });
    if let Some(body) = &e.request_body {
        let mime = e.request_headers["content-type"]
            .as_str()
            .unwrap_or("application/json");
        request["postData"] = json!({ "mimeType": mime, "text": body });
    }
    json!({
        "startedDateTime": e.time,
        "time": e.duration_ms,
        "request": request,
        "response": har_response(e),
        "cache": {},
        "timings": { "send": 0, "wait": e.duration_ms, "receive": 0 },
        "_journalId": e.id,
        "_apiVersion": e.api_version,
        "_imageId": e.image_id,
        "_faultId": e.fault_id,
    })
}

/// The response part of an entry: status, the ids, and the body when the journal kept it.
fn har_response(e: &StoredEntry) -> Value {
    let status = StatusCode::from_u16(e.status as u16).ok();
    let mut content = json!({ "size": 0, "mimeType": "application/json" });
    match &e.response_body {
        Some(body) => {
            content["size"] = json!(body.len());
            content["text"] = json!(body);
        }
        None => {
            content["comment"] = json!(
                "not kept by the journal (a successful read's body is what reading again shows, and a 204 has none)"
            )
        }
    }
    json!({
        "status": e.status,
        "statusText": status.and_then(|s| s.canonical_reason()).unwrap_or(""),
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": [
            { "name": "request-id", "value": e.request_id },
            { "name": "client-request-id", "value": e.client_request_id },
        ],
        "content": content,
        "redirectURL": "",
        "headersSize": -1,
        "bodySize": e.response_body.as_ref().map_or(-1, |b| b.len() as i64),
    })
}

/// A `.http` file of the entries, oldest first: one request per `###` block, the address and the token as the
/// variables `@baseUrl` and `@token`.
pub fn http_file(entries: &[StoredEntry], origin: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {} requests recorded by cloudpc-emulator, oldest first. Set @token to a token the target accepts\n\
         # (POST /_emulator/token mints one).\n@baseUrl = {origin}\n@token = \n",
        entries.len()
    );
    for (n, e) in entries.iter().rev().enumerate() {
        let target = url(e, "{{baseUrl}}");
        let _ = writeln!(out, "### {} {} {} → {}", n + 1, e.method, e.path, e.status);
        let _ = writeln!(out, "{} {target}", e.method);
        if e.request_headers.get("authorization").is_some() {
            let _ = writeln!(out, "Authorization: Bearer {{{{token}}}}");
        }
        for (name, value) in header_pairs(e) {
            if !NOT_REPLAYED.contains(&name) {
                let _ = writeln!(out, "{name}: {value}");
            }
        }
        if let Some(body) = &e.request_body {
            let _ = writeln!(out, "\n{body}");
        }
        out.push('\n');
    }
    out
}

/// The request's URL on `origin`.
fn url(e: &StoredEntry, origin: &str) -> String {
    if e.query.is_empty() {
        format!("{origin}{}", e.path)
    } else {
        format!("{origin}{}?{}", e.path, e.query)
    }
}

/// The request headers the journal kept, as name and text.
fn header_pairs(e: &StoredEntry) -> impl Iterator<Item = (&str, &str)> {
    e.request_headers
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(name, value)| Some((name.as_str(), value.as_str()?)))
}

/// The query's parameters, decoded; none when it cannot be decoded.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    actix_web::web::Query::<Vec<(String, String)>>::from_query(query)
        .map(|q| q.into_inner())
        .unwrap_or_default()
}
