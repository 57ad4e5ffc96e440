//! `cloudpc-emulator replay FILE.har --url URL` (docs/state.md#replay): sends the Graph requests a HAR file recorded
//! again, in order, and reports every answer whose status (and, with `--compare-bodies`, whose body, ids and
//! timestamps aside) differs from the recorded one. Exit code 0 when nothing differs, 1 when something does, 2 when
//! the replay itself could not run. A regression check for a client's recorded session.
//!
//! Ids: each id a recorded create answered with (a `201` with an `id`, also inside a `$batch`) is mapped to the id
//! the replayed create answered with, and every later path, query and body has the recorded ids replaced. The
//! recording's address is replaced by the target's the same way.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::{json, Value};

/// How long each step of a request may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Request headers a replay does not copy: the client computes them, or they carried a credential.
const NOT_COPIED: [&str; 4] = ["authorization", "content-length", "host", "connection"];

/// What `replay` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    pub file: String,
    pub url: String,
    pub compare_bodies: bool,
    /// The bearer token to send where the recording sent one; minted through the target's `/_emulator/token` when
    /// absent.
    pub token: Option<String>,
    /// The tenant of the minted token.
    pub tenant: Option<String>,
    /// The target's admin token, for minting.
    pub admin_token: Option<String>,
    /// Accept any TLS certificate (a self-signed emulator).
    pub insecure: bool,
}

/// Runs the replay and prints its report.
pub fn run(options: &Options) -> ExitCode {
    match replay(options) {
        Ok(report) => {
            for line in &report.differences {
                println!("{line}");
            }
            println!(
                "replayed {} requests ({} skipped: not Graph requests); {} differ",
                report.sent,
                report.skipped,
                report.differences.len()
            );
            if report.differences.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("replay {}: {e}", options.file);
            ExitCode::from(2)
        }
    }
}

/// What a replay found.
#[derive(Debug, Default)]
pub struct Report {
    pub sent: usize,
    pub skipped: usize,
    pub differences: Vec<String>,
}

fn replay(o: &Options) -> Result<Report, String> {
    let text = std::fs::read_to_string(&o.file).map_err(|e| format!("cannot read it: {e}"))?;
    let har: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let entries = har["log"]["entries"]
        .as_array()
        .ok_or("not a HAR file: log.entries is missing")?;
    let target = o.url.trim_end_matches('/').to_owned();
    let token = match &o.token {
        Some(t) => t.clone(),
        None => mint(o, &target)?,
    };
    let mut ids = IdMap::default();
    let mut report = Report::default();
    for (n, entry) in entries.iter().enumerate() {
        let request = &entry["request"];
        let (Some(method), Some(url)) = (request["method"].as_str(), request["url"].as_str())
        else {
            return Err(format!("entry {n} has no request method or url"));
        };
        let (origin, path) = split_url(url);
        let lower = path.to_ascii_lowercase();
        if !(lower.starts_with("/beta/") || lower.starts_with("/v1.0/")) {
            report.skipped += 1;
            continue;
        }
        ids.learn_origin(origin, &target);
        let (headers, body) = prepared(request, &ids, &token);
        let answer = crate::client::send(
            method,
            &format!("{target}{}", ids.apply(path)),
            &headers,
            body.as_deref().map(str::as_bytes),
            o.insecure,
            TIMEOUT,
        )
        .map_err(|e| format!("entry {n} ({method} {path}): {e}"))?;
        report.sent += 1;
        let recorded_status = entry["response"]["status"].as_u64().unwrap_or(0);
        let recorded_body = entry["response"]["content"]["text"].as_str();
        let replayed: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        let recorded: Value = recorded_body
            .and_then(|b| serde_json::from_str(&ids.apply(b)).ok())
            .unwrap_or(Value::Null);
        let label = format!("#{} {method} {path}", n + 1);
        if u64::from(answer.status) != recorded_status {
            report.differences.push(format!(
                "{label}: status {}, recorded {recorded_status}",
                answer.status
            ));
        } else if o.compare_bodies && recorded_body.is_some() {
            if let Some(at) = first_difference(&normalized(&recorded), &normalized(&replayed), "") {
                report
                    .differences
                    .push(format!("{label}: body differs at {at}"));
            }
        }
        ids.learn(&recorded, &replayed);
    }
    Ok(report)
}

/// The headers and body to send for a recorded request: its headers but [`NOT_COPIED`], with ids mapped, and the
/// token where it sent one.
fn prepared(request: &Value, ids: &IdMap, token: &str) -> (Vec<(String, String)>, Option<String>) {
    let mut headers = Vec::new();
    let mut authorized = false;
    for h in request["headers"].as_array().into_iter().flatten() {
        let (Some(name), Some(value)) = (h["name"].as_str(), h["value"].as_str()) else {
            continue;
        };
        authorized |= name.eq_ignore_ascii_case("authorization");
        if !NOT_COPIED.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            headers.push((name.to_owned(), ids.apply(value)));
        }
    }
    if authorized {
        headers.push(("Authorization".into(), format!("Bearer {token}")));
    }
    let body = request["postData"]["text"].as_str().map(|b| ids.apply(b));
    (headers, body)
}

/// A token from the target's `/_emulator/token`.
fn mint(o: &Options, target: &str) -> Result<String, String> {
    let mut body = json!({});
    if let Some(tenant) = &o.tenant {
        body["tenantId"] = json!(tenant);
    }
    let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
    if let Some(admin) = &o.admin_token {
        headers.push(("X-Emulator-Admin-Token".into(), admin.clone()));
    }
    let answer = crate::client::send(
        "POST",
        &format!("{target}/_emulator/token"),
        &headers,
        Some(body.to_string().as_bytes()),
        o.insecure,
        TIMEOUT,
    )
    .map_err(|e| format!("cannot mint a token at {target}: {e}"))?;
    let minted: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    match (answer.status, minted["accessToken"].as_str()) {
        (201, Some(token)) => Ok(token.to_owned()),
        (status, _) => Err(format!(
            "cannot mint a token at {target}/_emulator/token (status {status}); pass --token (and --admin-token)"
        )),
    }
}

/// `scheme://authority` and the rest (`/path?query`) of a URL.
fn split_url(url: &str) -> (&str, &str) {
    let start = url.find("://").map_or(0, |i| i + 3);
    match url[start..].find('/') {
        Some(i) => url.split_at(start + i),
        None => (url, "/"),
    }
}

/// Recorded text → replayed text: the recording's address, and each recorded id, in the order they were learned.
#[derive(Debug, Default)]
struct IdMap(Vec<(String, String)>);

impl IdMap {
    fn learn_origin(&mut self, recorded: &str, target: &str) {
        if recorded != target && !recorded.is_empty() && !self.0.iter().any(|(r, _)| r == recorded)
        {
            self.0.push((recorded.to_owned(), target.to_owned()));
        }
    }

    fn learn_id(&mut self, recorded: &Value, replayed: &Value) {
        if let (Some(r), Some(n)) = (recorded.as_str(), replayed.as_str()) {
            if !r.eq_ignore_ascii_case(n)
                && !self.0.iter().any(|(seen, _)| seen.eq_ignore_ascii_case(r))
            {
                self.0.push((r.to_owned(), n.to_owned()));
            }
        }
    }

    /// The ids a pair of answers reveals: a create's, or the creates' inside a `$batch`.
    fn learn(&mut self, recorded: &Value, replayed: &Value) {
        if recorded.get("id").is_some() && recorded.get("@odata.context").is_some() {
            self.learn_id(&recorded["id"], &replayed["id"]);
        }
        if let (Some(rec), Some(rep)) = (
            recorded["responses"].as_array(),
            replayed["responses"].as_array(),
        ) {
            for r in rec.iter().filter(|r| r["status"] == 201) {
                if let Some(p) = rep
                    .iter()
                    .find(|p| p["id"] == r["id"] && p["status"] == 201)
                {
                    self.learn_id(&r["body"]["id"], &p["body"]["id"]);
                }
            }
        }
    }

    fn apply(&self, text: &str) -> String {
        self.0.iter().fold(text.to_owned(), |t, (from, to)| {
            replace_ignoring_case(&t, from, to)
        })
    }
}

/// `text` with every ASCII-case-insensitive occurrence of `from` replaced by `to`.
fn replace_ignoring_case(text: &str, from: &str, to: &str) -> String {
    if from.is_empty() {
        return text.to_owned();
    }
    let (hay, needle) = (text.to_ascii_lowercase(), from.to_ascii_lowercase());
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(i) = hay[at..].find(&needle) {
        out.push_str(&text[at..at + i]);
        out.push_str(to);
        at += i + needle.len();
    }
    out.push_str(&text[at..]);
    out
}

/// A body with what differs between two runs of the same session taken out: ids, request ids and timestamps.
fn normalized(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let volatile = matches!(
                        k.as_str(),
                        "id" | "request-id" | "client-request-id" | "date"
                    );
                    let v = if volatile {
                        json!("<volatile>")
                    } else {
                        normalized(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalized).collect()),
        Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => json!("<time>"),
        other => other.clone(),
    }
}

/// Where two values first differ, as a JSON pointer; `None` when they are equal.
fn first_difference(recorded: &Value, replayed: &Value, at: &str) -> Option<String> {
    match (recorded, replayed) {
        (Value::Object(a), Value::Object(b)) => {
            let keys = a.keys().chain(b.keys().filter(|k| !a.contains_key(*k)));
            keys.into_iter().find_map(|k| {
                let (x, y) = (
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                );
                first_difference(x, y, &format!("{at}/{k}"))
            })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(x, y, &format!("{at}/{i}"))),
        (a, b) if a == b => None,
        (a, b) => Some(format!(
            "{} (replayed {b}, recorded {a})",
            if at.is_empty() { "/" } else { at }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_the_address_are_mapped_case_insensitively() {
        let mut ids = IdMap::default();
        ids.learn_origin("http://127.0.0.1:1", "http://127.0.0.1:2");
        ids.learn(
            &json!({"@odata.context": "x", "id": "aaaaaaaa-0000-0000-0000-000000000001"}),
            &json!({"id": "bbbbbbbb-0000-0000-0000-000000000002"}),
        );
        ids.learn(
            &json!({"responses": [{"id": "1", "status": 201, "body": {"id": "cc"}}, {"id": "2", "status": 400}]}),
            &json!({"responses": [{"id": "2", "status": 400}, {"id": "1", "status": 201, "body": {"id": "dd"}}]}),
        );
        assert_eq!(
            ids.apply("http://127.0.0.1:1/beta/x/AAAAAAAA-0000-0000-0000-000000000001?cc"),
            "http://127.0.0.1:2/beta/x/bbbbbbbb-0000-0000-0000-000000000002?dd"
        );
    }

    #[test]
    fn bodies_compare_without_ids_and_times() {
        let a = json!({"id": "1", "status": "ready", "lastModifiedDateTime": "2026-01-01T00:00:00Z", "v": [1, 2]});
        let b = json!({"id": "2", "status": "ready", "lastModifiedDateTime": "2026-02-01T00:00:00.5Z", "v": [1, 2]});
        assert_eq!(first_difference(&normalized(&a), &normalized(&b), ""), None);
        let c = json!({"id": "2", "status": "pending", "lastModifiedDateTime": "x", "v": [1, 2]});
        let at = first_difference(&normalized(&a), &normalized(&c), "").unwrap();
        assert!(
            at.starts_with("/lastModifiedDateTime") || at.starts_with("/status"),
            "{at}"
        );
        assert!(first_difference(&json!([1]), &json!([1, 2]), "").is_some());
        assert_eq!(
            split_url("https://h:1/beta/x?y"),
            ("https://h:1", "/beta/x?y")
        );
    }
}
