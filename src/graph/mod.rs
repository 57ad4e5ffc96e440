//! The Microsoft Graph protocol: versions, paths, headers, context URLs, enum projection, auth and routing.

pub mod body;
pub mod enums;
pub mod odata;
pub mod path;
pub mod resource;
pub mod response;
pub mod values;

use actix_web::{HttpMessage, HttpRequest};

/// The scheme and host (with port) a request was addressed to, as the emitted absolute URLs use them. Set by
/// [`Security::admit`]; a `$batch` item carries its batch's.
#[derive(Debug, Clone)]
pub struct Authority {
    pub scheme: String,
    pub host: String,
}

/// The API version of a request: `beta` or `v1.0`. Version differences (which properties and enum members exist)
/// are decided by this value in one place each: [`enums`] and the device image view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    Beta,
    V1,
}

impl ApiVersion {
    /// Parses the first path segment; the fixed segments match case-insensitively (docs/api.md).
    pub fn parse(segment: &str) -> Option<Self> {
        if segment.eq_ignore_ascii_case("beta") {
            Some(Self::Beta)
        } else if segment.eq_ignore_ascii_case("v1.0") {
            Some(Self::V1)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Beta => "beta",
            Self::V1 => "v1.0",
        }
    }
}

/// What every Graph handler needs to know about the request besides its body.
#[derive(Debug, Clone)]
pub struct GraphContext {
    pub version: ApiVersion,
    /// The caller's tenant: every image the request sees or makes is in it.
    pub tenant: String,
    /// `{scheme}://{host}/{ver}` of the request, used in every absolute URL the emulator emits.
    pub base: String,
    /// `Prefer: include-unknown-enum-members` was sent (docs/fidelity.md#paging-and-query-options).
    pub include_unknown_enum_members: bool,
}

impl GraphContext {
    /// An answer's `@odata.context`: the base URL, `/$metadata#`, then `parts`, joined without `format!` (every
    /// answer of the hot paths has one).
    pub fn context(&self, parts: &[&str]) -> String {
        const METADATA: &str = "/$metadata#";
        let len = self.base.len() + METADATA.len() + parts.iter().map(|p| p.len()).sum::<usize>();
        let mut context = String::with_capacity(len);
        context.push_str(&self.base);
        context.push_str(METADATA);
        for part in parts {
            context.push_str(part);
        }
        context
    }

    /// The absolute URLs use the authority the request was admitted with (the HTTP layer's admission).
    pub fn new(req: &HttpRequest, version: ApiVersion, tenant: String) -> Self {
        // Joined, not formatted: every Graph request builds it (`format!` cost ~1,000 instructions here).
        let join = |scheme: &str, host: &str| {
            let version = version.as_str();
            let mut base = String::with_capacity(scheme.len() + host.len() + version.len() + 4);
            for part in [scheme, "://", host, "/", version] {
                base.push_str(part);
            }
            base
        };
        let base = match req.extensions().get::<Authority>() {
            Some(a) => join(&a.scheme, &a.host),
            None => {
                let info = req.connection_info();
                join(info.scheme(), info.host())
            }
        };
        Self {
            version,
            tenant,
            base,
            include_unknown_enum_members: prefers_unknown_enum_members(req),
        }
    }
}

/// Parsed once, not on every request (a `&str` header name is parsed on each lookup).
const PREFER: actix_web::http::header::HeaderName =
    actix_web::http::header::HeaderName::from_static("prefer");

/// True when any `Prefer` header carries the `include-unknown-enum-members` preference.
fn prefers_unknown_enum_members(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(PREFER)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| {
            p.split(';').next().is_some_and(|name| {
                name.trim()
                    .eq_ignore_ascii_case("include-unknown-enum-members")
            })
        })
}
