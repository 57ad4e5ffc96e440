//! What the journal keeps of a request as text: selected headers as a JSON object, bodies cut at a bound with the
//! bearer tokens in them redacted.

use std::sync::LazyLock;

/// The request headers the journal keeps, in the order it writes them (by name); `Authorization` only as a marker
/// that one was sent.
const KEPT_HEADERS: [&str; 10] = [
    "accept",
    "authorization",
    "client-request-id",
    "consistencylevel",
    "content-length",
    "content-type",
    "if-match",
    "prefer",
    "retry-attempt",
    "user-agent",
];

/// The selected headers of a request as a JSON object. Written by hand with header names made once: the journal
/// builds one for every request.
pub fn selected_headers(headers: &actix_web::http::header::HeaderMap) -> String {
    use actix_web::http::header::HeaderName;
    static NAMES: LazyLock<[HeaderName; 10]> =
        LazyLock::new(|| KEPT_HEADERS.map(HeaderName::from_static));
    let mut out = Vec::with_capacity(128);
    out.push(b'{');
    for name in NAMES.iter() {
        let value = match headers.get(name) {
            Some(_) if name == actix_web::http::header::AUTHORIZATION => "[redacted]",
            Some(v) => match v.to_str() {
                Ok(v) => v,
                Err(_) => continue,
            },
            None => continue,
        };
        if out.len() > 1 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b"\":");
        // Writing a &str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, value);
    }
    out.push(b'}');
    String::from_utf8(out).unwrap_or_else(|_| "{}".to_owned())
}

/// A batch of entries as the JSON array `request_journal_batches.entries` holds: one array per entry with the
/// columns of the `request_journal` view after `id`, in its order (migration V7). `request_headers` is already a JSON
/// object and goes in as it is.
pub fn batch_json(entries: &[Box<super::JournalEntry>]) -> String {
    use std::io::Write;
    fn text(out: &mut Vec<u8>, value: Option<&str>) {
        match value {
            // Most values (times, ids, paths) need no escape: one pass that the compiler vectorizes finds out, and
            // they are copied as they are.
            Some(value)
                if !value.bytes().fold(false, |esc, b| {
                    esc | (b < 0x20) | (b == b'"') | (b == b'\\')
                }) =>
            {
                out.push(b'"');
                out.extend_from_slice(value.as_bytes());
                out.push(b'"');
            }
            // Writing a &str into a Vec cannot fail.
            Some(value) => drop(serde_json::to_writer(&mut *out, value)),
            None => out.extend_from_slice(b"null"),
        }
        out.push(b',');
    }
    let mut out = Vec::with_capacity(entries.len() * 320 + 2);
    out.push(b'[');
    for (n, e) in entries.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        out.push(b'[');
        for value in [&e.time, &e.method, &e.path, &e.query] {
            text(&mut out, Some(value));
        }
        text(&mut out, e.api_version);
        let _ = write!(out, "{},{},", e.status, e.duration_us);
        text(&mut out, Some(&e.request_id));
        text(&mut out, Some(&e.client_request_id));
        out.extend_from_slice(e.request_headers.as_bytes());
        out.push(b',');
        for value in [&e.request_body, &e.response_body, &e.image_id] {
            text(&mut out, value.as_deref());
        }
        let _ = match e.fault_id {
            Some(id) => write!(out, "{id}"),
            None => out.write_all(b"null"),
        };
        out.push(b']');
    }
    out.push(b']');
    // Every piece written is UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A body as journal text, cut at `max` bytes on a character boundary (ending in `…` when cut). Only the kept bytes
/// are converted: a page of images is not copied whole to keep its first 16 KiB.
pub fn body_text(bytes: &[u8], max: usize) -> Option<String> {
    if bytes.is_empty() {
        return None;
    }
    let kept = &bytes[..bytes.len().min(max)];
    let mut text = match std::str::from_utf8(kept) {
        Ok(text) => text.to_owned(),
        // The cut fell inside a character: keep the whole characters before it.
        Err(e) if e.error_len().is_none() => {
            String::from_utf8_lossy(&kept[..e.valid_up_to()]).into_owned()
        }
        Err(_) => String::from_utf8_lossy(kept).into_owned(),
    };
    if bytes.len() > max {
        text.push('…');
    }
    Some(text)
}

/// A request body as journal text ([`body_text`]) with every `"Authorization"` member's value (a `$batch` item's
/// header, in any case) replaced by `[redacted]`. Redacted after the cut: a value the cut left unclosed is redacted to
/// the end.
pub fn request_body_text(bytes: &[u8], max: usize) -> Option<String> {
    body_text(bytes, max).map(|text| redact_authorization(&text))
}

/// Replaces the value of every JSON member named `authorization` (compared case-insensitively) with `[redacted]`:
/// a string up to its closing quote, an array up to its `]`, to the end of the text when unclosed. Works on text that
/// is not valid JSON too, since failed requests are journaled as sent.
fn redact_authorization(text: &str) -> String {
    const NAME: &[u8] = b"\"authorization\"";
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i + NAME.len() <= bytes.len() {
        if !bytes[i..i + NAME.len()].eq_ignore_ascii_case(NAME) {
            i += 1;
            continue;
        }
        let mut j = i + NAME.len();
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        if bytes.get(j) != Some(&b':') {
            i += NAME.len();
            continue;
        }
        j += 1;
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        let end = match bytes.get(j) {
            Some(b'"') => {
                let mut k = j + 1;
                while k < bytes.len() && bytes[k] != b'"' {
                    k += if bytes[k] == b'\\' { 2 } else { 1 };
                }
                (k + 1).min(bytes.len())
            }
            Some(b'[') => bytes[j..]
                .iter()
                .position(|&b| b == b']')
                .map_or(bytes.len(), |p| j + p + 1),
            _ => {
                i = j;
                continue;
            }
        };
        out.push_str(&text[copied..j]);
        out.push_str("\"[redacted]\"");
        copied = end;
        i = end;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn authorization_members_are_redacted_in_any_case_and_shape() {
        let batch = r#"{"requests":[{"id":"1","method":"GET","url":"/x","headers":{"AUTHORIZATION":"Bearer eyJ.a\"b.c","x":"1"}},{"id":"2","headers":{"authorization" : ["Bearer t2"]}}]}"#;
        let text = request_body_text(batch.as_bytes(), 10_000).unwrap();
        assert!(!text.contains("eyJ") && !text.contains("t2"), "{text}");
        assert_eq!(text.matches("[redacted]").count(), 2);
        assert!(text.contains(r#""x":"1""#));
        // Unclosed, as a malformed body may be: redacted to the end.
        let text =
            request_body_text(br#"{"headers":{"Authorization":"Bearer secret"#, 10_000).unwrap();
        assert!(!text.contains("secret"), "{text}");
        // Cut inside the value.
        let text =
            request_body_text(br#"{"headers":{"Authorization":"Bearer secret"}}"#, 38).unwrap();
        assert_eq!(text, r#"{"headers":{"Authorization":"[redacted]""#);
        // Not a member name: left alone.
        let text = request_body_text(br#"{"displayName":"authorization"}"#, 10_000).unwrap();
        assert_eq!(text, r#"{"displayName":"authorization"}"#);
    }

    #[test]
    fn selected_headers_are_a_json_object_by_name_with_the_token_redacted() {
        use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("User-Agent", "kiota \"quoted\" \\ path"),
            ("Authorization", "Bearer eyJ.secret"),
            ("Accept", "application/json"),
            ("X-Not-Kept", "x"),
            ("Prefer", "include-unknown-enum-members"),
        ] {
            headers.insert(
                HeaderName::try_from(name).unwrap(),
                HeaderValue::from_static(value),
            );
        }
        let text = selected_headers(&headers);
        assert_eq!(
            text,
            r#"{"accept":"application/json","authorization":"[redacted]","prefer":"include-unknown-enum-members","user-agent":"kiota \"quoted\" \\ path"}"#
        );
        assert!(serde_json::from_str::<Value>(&text).unwrap().is_object());
        assert_eq!(selected_headers(&HeaderMap::new()), "{}");
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        let text = body_text("aé".as_bytes(), 2).unwrap();
        assert_eq!(text, "a…");
        assert_eq!(body_text("aé".as_bytes(), 3).unwrap(), "aé");
    }
}
