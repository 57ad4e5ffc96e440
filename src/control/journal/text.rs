//! What the journal keeps of a request as text: selected headers as a JSON object, bodies cut at a bound with the
//! bearer tokens in them redacted.

use std::borrow::Cow;

use actix_web::http::header::HeaderMap;

use crate::telemetry::write_decimal;

/// The request headers the journal keeps, sorted (it writes them in this order and searches them); `Authorization`
/// only as a marker that one was sent.
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

/// The selected headers of a request as a JSON object, by name, each with its first value (one that is not visible
/// ASCII is left out). Written by hand from one pass over the request's headers: looking up each of the ten names
/// in the header map cost more than the rest of the journal's work on the request.
#[cfg(test)]
fn selected_headers(headers: &HeaderMap) -> String {
    let mut out = Vec::with_capacity(128);
    write_selected_headers(&mut out, headers);
    // Every piece written is UTF-8.
    String::from_utf8(out).unwrap_or_else(|_| "{}".to_owned())
}

/// Appends [`selected_headers`] to `out`.
fn write_selected_headers(out: &mut Vec<u8>, headers: &HeaderMap) {
    // For each kept name: not seen, or its first value (None when that was not text).
    let mut kept: [Option<Option<&str>>; KEPT_HEADERS.len()] = [None; KEPT_HEADERS.len()];
    for (name, value) in headers.iter() {
        // Header names are lower case here.
        if let Ok(i) = KEPT_HEADERS.binary_search(&name.as_str()) {
            kept[i].get_or_insert(value.to_str().ok());
        }
    }
    out.push(b'{');
    let mut first = true;
    for (name, value) in KEPT_HEADERS.iter().zip(kept) {
        let value = match value {
            Some(_) if *name == "authorization" => "[redacted]",
            Some(Some(value)) => value,
            _ => continue,
        };
        if !first {
            out.push(b',');
        }
        first = false;
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        text(out, value);
    }
    out.push(b'}');
}

/// Appends `value` as a JSON string.
fn text(out: &mut Vec<u8>, value: &str) {
    // Most values (paths, ids, header values) need no escape: one pass that the compiler vectorizes finds out, and
    // they are copied as they are.
    if value.bytes().fold(false, |esc, b| {
        esc | (b < 0x20) | (b == b'"') | (b == b'\\')
    }) {
        // Writing a &str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, value);
    } else {
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
    }
}

/// Appends an entry as `request_journal_batches.entries` holds it: a JSON array of the columns of the
/// `request_journal` view after `id`, in its order (the journal file's migration, `src/db/requests/V1`). A batch is
/// these arrays, comma-separated, in `[]`.
pub fn write_entry(out: &mut Vec<u8>, e: &super::JournalEntry<'_>) {
    fn optional(out: &mut Vec<u8>, value: Option<&str>) {
        match value {
            Some(value) => text(out, value),
            None => out.extend_from_slice(b"null"),
        }
        out.push(b',');
    }
    out.extend_from_slice(b"[\"");
    crate::clock::write_utc(out, e.time, chrono::SecondsFormat::Millis);
    // The method (an HTTP token), version and request-id (the emulator's GUID) never need an escape.
    out.extend_from_slice(b"\",\"");
    out.extend_from_slice(e.method.as_bytes());
    out.extend_from_slice(b"\",");
    for value in [e.path, e.query] {
        optional(out, Some(value));
    }
    match e.api_version {
        Some(version) => {
            out.push(b'"');
            out.extend_from_slice(version.as_bytes());
            out.extend_from_slice(b"\",");
        }
        None => out.extend_from_slice(b"null,"),
    }
    write_decimal(out, i64::from(e.status));
    out.push(b',');
    write_decimal(out, e.duration_us);
    out.extend_from_slice(b",\"");
    out.extend_from_slice(e.request_id.as_bytes());
    out.extend_from_slice(b"\",");
    optional(out, Some(e.client_request_id));
    write_selected_headers(out, e.request_headers);
    out.push(b',');
    for value in [e.request_body, e.response_body, e.image_id] {
        optional(out, value);
    }
    match e.fault_id {
        Some(id) => write_decimal(out, id),
        None => out.extend_from_slice(b"null"),
    }
    out.push(b']');
}

/// A body as journal text, cut at `max` bytes on a character boundary (ending in `…` when cut). Only the kept bytes
/// are converted, and a body kept whole as it was sent is borrowed, not copied: the entry's writer copies it once.
pub fn body_text(bytes: &[u8], max: usize) -> Option<Cow<'_, str>> {
    if bytes.is_empty() {
        return None;
    }
    let kept = &bytes[..bytes.len().min(max)];
    let mut text = match std::str::from_utf8(kept) {
        Ok(text) => Cow::Borrowed(text),
        // The cut fell inside a character: keep the whole characters before it.
        Err(e) if e.error_len().is_none() => String::from_utf8_lossy(&kept[..e.valid_up_to()]),
        Err(_) => String::from_utf8_lossy(kept),
    };
    if bytes.len() > max {
        text.to_mut().push('…');
    }
    Some(text)
}

/// A request body as journal text ([`body_text`]) with every `"Authorization"` member's value (a `$batch` item's
/// header, in any case) replaced by `[redacted]`. Redacted after the cut: a value the cut left unclosed is redacted to
/// the end.
pub fn request_body_text(bytes: &[u8], max: usize) -> Option<Cow<'_, str>> {
    body_text(bytes, max).map(|text| {
        // The name holds a `z`: a body without one (most bodies) has nothing to redact and is not scanned or copied.
        // A fold, not `any`, so that the compiler vectorizes the check.
        if text.bytes().fold(false, |z, b| z | (b | 0x20 == b'z')) {
            Cow::Owned(redact_authorization(&text))
        } else {
            text
        }
    })
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
        // Only a quote can start the name: jump from quote to quote (a memchr), not byte by byte.
        match text[i..].find('"') {
            Some(at) => i += at,
            None => break,
        }
        if i + NAME.len() > bytes.len() {
            break;
        }
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

    /// The byte-by-byte scan the redaction did before it jumped from quote to quote.
    fn redact_byte_by_byte(text: &str) -> String {
        const NAME: &[u8] = b"\"authorization\"";
        let bytes = text.as_bytes();
        let (mut out, mut copied, mut i) = (String::new(), 0, 0);
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

    /// Every text of up to five of these pieces: jumping from quote to quote redacts exactly what the byte-by-byte
    /// scan redacted, and never splits a character (each cut of each text is redacted too).
    #[test]
    fn redaction_jumping_between_quotes_equals_the_byte_by_byte_scan() {
        const PIECES: [&str; 9] = [
            "\"Authorization\"",
            ":",
            "\"",
            "\\",
            "é",
            "[",
            "]",
            " ",
            "tok",
        ];
        fn each(text: &mut String, depth: usize, checked: &mut usize) {
            assert_eq!(
                redact_authorization(text),
                redact_byte_by_byte(text),
                "{text:?}"
            );
            for cut in 0..=text.len() + 1 {
                let _ = request_body_text(text.as_bytes(), cut);
            }
            // Kept whole, a body is the redacted text, whether or not the `z` check let it skip the scan.
            assert_eq!(
                request_body_text(text.as_bytes(), usize::MAX).as_deref(),
                (!text.is_empty())
                    .then(|| redact_byte_by_byte(text))
                    .as_deref(),
                "{text:?}"
            );
            *checked += 1;
            if depth == 0 {
                return;
            }
            for piece in PIECES {
                let len = text.len();
                text.push_str(piece);
                each(text, depth - 1, checked);
                text.truncate(len);
            }
        }
        let mut checked = 0;
        each(&mut String::new(), 5, &mut checked);
        assert_eq!(checked, (0..=5).map(|d| 9usize.pow(d)).sum::<usize>());
        let text = request_body_text(
            br#"x"authorization": "Bearer tok" "authorization":["tok"]"#,
            999,
        );
        assert_eq!(
            text.unwrap(),
            r#"x"authorization": "[redacted]" "authorization":"[redacted]""#
        );
    }

    #[test]
    fn kept_headers_are_sorted_for_the_search() {
        let mut sorted = KEPT_HEADERS;
        sorted.sort_unstable();
        assert_eq!(sorted, KEPT_HEADERS);
    }

    #[test]
    fn a_header_sent_twice_keeps_its_first_value_and_one_not_text_is_left_out() {
        use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
        let mut headers = HeaderMap::new();
        let accept = HeaderName::from_static("accept");
        headers.append(accept.clone(), HeaderValue::from_static("text/plain"));
        headers.append(accept, HeaderValue::from_static("application/json"));
        headers.insert(
            HeaderName::from_static("user-agent"),
            HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        );
        headers.insert(
            HeaderName::from_static("authorization"),
            HeaderValue::from_bytes(b"Bearer \xff").unwrap(),
        );
        assert_eq!(
            selected_headers(&headers),
            r#"{"accept":"text/plain","authorization":"[redacted]"}"#
        );
    }

    #[test]
    fn a_batch_is_a_json_array_of_entries_in_the_views_column_order() {
        use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("accept"),
            HeaderValue::from_static("*/*"),
        );
        let time = chrono::DateTime::parse_from_rfc3339("2026-12-02T00:00:00Z")
            .unwrap()
            .to_utc();
        let entry = |path, body| super::super::JournalEntry {
            time,
            method: "POST",
            path,
            query: "a=\"b\"",
            api_version: Some("beta"),
            status: 400,
            duration_us: 17,
            request_id: "r",
            client_request_id: "c\\d",
            request_headers: &headers,
            request_body: body,
            response_body: None,
            image_id: None,
            fault_id: Some(3),
        };
        let mut out = b"[".to_vec();
        write_entry(&mut out, &entry("/beta/x", Some("line\nnext")));
        out.push(b',');
        write_entry(&mut out, &entry("/v1.0/é", None));
        out.push(b']');
        let batch: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            batch,
            serde_json::json!([
                ["2026-12-02T00:00:00.000Z", "POST", "/beta/x", "a=\"b\"", "beta", 400, 17, "r", "c\\d",
                 {"accept": "*/*"}, "line\nnext", null, null, 3],
                ["2026-12-02T00:00:00.000Z", "POST", "/v1.0/é", "a=\"b\"", "beta", 400, 17, "r", "c\\d",
                 {"accept": "*/*"}, null, null, null, 3]
            ])
        );
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        let text = body_text("aé".as_bytes(), 2).unwrap();
        assert_eq!(text, "a…");
        assert_eq!(body_text("aé".as_bytes(), 3).unwrap(), "aé");
    }
}
