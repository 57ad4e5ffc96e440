//! Request paths: `//` collapses to `/`, a trailing `/` is ignored, and each segment is percent-decoded once
//! (docs/api.md). The Kiota SDKs send `/v1.0//deviceManagement/…` by default (docs/fidelity.md#what-the-python-sdks-send).

/// The percent-decoded, non-empty segments of a raw request path, in one buffer: the normalized path (each segment
/// after a `/`, or `/` when there is none) and where each segment ends in it. Every request's path is split here,
/// so it costs two allocations, not one per segment (a decoded segment may hold a `/`, hence the ends).
#[derive(Debug, Clone)]
pub struct Segments {
    path: String,
    ends: Vec<usize>,
}

impl Segments {
    pub fn parse(raw_path: &str) -> Self {
        let mut path = String::with_capacity(raw_path.len() + 1);
        let mut ends = Vec::with_capacity(8);
        // Split by a plain byte search, and decoded only when the path holds an escape at all: `str::split` and an
        // escape scan per segment cost twice as much.
        let bytes = raw_path.as_bytes();
        let escaped = bytes.contains(&b'%');
        let mut start = 0;
        while start <= bytes.len() {
            let end = bytes[start..]
                .iter()
                .position(|&b| b == b'/')
                .map_or(bytes.len(), |at| start + at);
            if end > start {
                let segment = &raw_path[start..end];
                path.push('/');
                if escaped {
                    percent_decode_into(&mut path, segment, false);
                } else {
                    path.push_str(segment);
                }
                ends.push(path.len());
            }
            start = end + 1;
        }
        if path.is_empty() {
            path.push('/');
        }
        Self { path, ends }
    }

    /// The decoded segments, each after a `/` (`/` for none): what fault rules match.
    pub fn normalized(&self) -> &str {
        &self.path
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Where each segment lies in [`normalized`](Self::normalized), in order.
    pub fn spans(&self) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        let starts = std::iter::once(1).chain(self.ends.iter().map(|end| end + 1));
        starts
            .zip(self.ends.iter().copied())
            .map(|(start, end)| start..end)
    }

    pub fn first(&self) -> Option<&str> {
        self.spans().next().map(|span| &self.path[span])
    }

    /// The segments as slices, for matching with slice patterns.
    pub fn to_vec(&self) -> Vec<&str> {
        self.spans().map(|span| &self.path[span]).collect()
    }
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`). Malformed escapes stay as they are; bytes that do
/// not form UTF-8 become U+FFFD, so the result never matches an id or keyword it should not.
pub fn percent_decode(input: &str, plus_is_space: bool) -> String {
    let mut out = String::with_capacity(input.len());
    percent_decode_into(&mut out, input, plus_is_space);
    out
}

/// Appends [`percent_decode`]'s result to `out`.
fn percent_decode_into(out: &mut String, input: &str, plus_is_space: bool) {
    let bytes = input.as_bytes();
    // Most segments and options have nothing to decode: one scan, one copy (every request's path is decoded).
    if !bytes
        .iter()
        .any(|&b| b == b'%' || (plus_is_space && b == b'+'))
    {
        out.push_str(input);
        return;
    }
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    decoded.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => decoded.push(b'%'),
            },
            b'+' if plus_is_space => decoded.push(b' '),
            b => decoded.push(b),
        }
        i += 1;
    }
    out.push_str(&String::from_utf8_lossy(&decoded));
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

    fn segments(raw: &str) -> Vec<String> {
        Segments::parse(raw)
            .to_vec()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn segments_collapse_and_decode() {
        let images = Segments::parse("/v1.0//deviceManagement/virtualEndpoint/deviceImages/");
        assert_eq!(
            images.to_vec(),
            [
                "v1.0",
                "deviceManagement",
                "virtualEndpoint",
                "deviceImages"
            ]
        );
        assert_eq!(
            images.normalized(),
            "/v1.0/deviceManagement/virtualEndpoint/deviceImages"
        );
        assert_eq!(images.first(), Some("v1.0"));
        assert_eq!(segments("/beta/a%20b%2Fc"), ["beta", "a b/c"]);
        assert_eq!(
            Segments::parse("/beta/a%20b%2Fc").normalized(),
            "/beta/a b/c"
        );
        assert_eq!(segments("/x/%zz%4"), ["x", "%zz%4"]);
        assert_eq!(segments("/x/%ff"), ["x", "\u{fffd}"]);
        assert_eq!(segments("/%ff%fe/x%c3"), ["\u{fffd}\u{fffd}", "x\u{fffd}"]);
        assert_eq!(segments("//é/%C3%A9"), ["é", "é"]);
        let root = Segments::parse("/");
        assert!(root.is_empty() && root.first().is_none() && root.to_vec().is_empty());
        assert_eq!(root.normalized(), "/");
        assert_eq!(Segments::parse("").normalized(), "/");
    }

    #[test]
    fn query_values_round_trip() {
        let v = "status eq 'a&b' and x=1 + é";
        assert_eq!(percent_decode(&percent_encode_query(v), true), v);
        assert_eq!(percent_decode("a+b", true), "a b");
        assert_eq!(percent_decode("a+b", false), "a+b");
    }
}
