//! Request paths: `//` collapses to `/`, a trailing `/` is ignored, and each segment is percent-decoded once
//! (docs/api.md). The Kiota SDKs send `/v1.0//deviceManagement/…` by default (docs/fidelity.md#what-the-python-sdks-send).

/// The percent-decoded, non-empty segments of a raw request path.
pub fn segments(raw_path: &str) -> Vec<String> {
    raw_path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode(s, false))
        .collect()
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`). Malformed escapes stay as they are; bytes that do
/// not form UTF-8 become U+FFFD, so the result never matches an id or keyword it should not.
pub fn percent_decode(input: &str, plus_is_space: bool) -> String {
    let bytes = input.as_bytes();
    // Most segments and options have nothing to decode: one scan, one copy (every request's path is decoded).
    if !bytes
        .iter()
        .any(|&b| b == b'%' || (plus_is_space && b == b'+'))
    {
        return input.to_owned();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Encodes a query value for a URL the emulator emits (`@odata.nextLink`): everything but unreserved characters
/// and the few OData keeps readable (`$`, `,`, `(`, `)`, `'`, `:`) is escaped.
pub fn percent_encode_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'$'
            | b','
            | b'('
            | b')'
            | b'\''
            | b':' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_collapse_and_decode() {
        assert_eq!(
            segments("/v1.0//deviceManagement/virtualEndpoint/deviceImages/"),
            [
                "v1.0",
                "deviceManagement",
                "virtualEndpoint",
                "deviceImages"
            ]
        );
        assert_eq!(segments("/beta/a%20b%2Fc"), ["beta", "a b/c"]);
        assert_eq!(segments("/x/%zz%4"), ["x", "%zz%4"]);
        assert_eq!(segments("/x/%ff"), ["x", "\u{fffd}"]);
        assert!(segments("/").is_empty());
    }

    #[test]
    fn query_values_round_trip() {
        let v = "status eq 'a&b' and x=1 + é";
        assert_eq!(percent_decode(&percent_encode_query(v), true), v);
        assert_eq!(percent_decode("a+b", true), "a b");
        assert_eq!(percent_decode("a+b", false), "a+b");
    }
}
