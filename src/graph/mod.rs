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
    /// The absolute URLs use the authority the request was admitted with (the HTTP layer's admission).
    pub fn new(req: &HttpRequest, version: ApiVersion, tenant: String) -> Self {
        let base = match req.extensions().get::<Authority>() {
            Some(a) => format!("{}://{}/{}", a.scheme, a.host, version.as_str()),
            None => {
                let info = req.connection_info();
                format!("{}://{}/{}", info.scheme(), info.host(), version.as_str())
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

/// True when any `Prefer` header carries the `include-unknown-enum-members` preference.
fn prefers_unknown_enum_members(req: &HttpRequest) -> bool {
    req.headers()
        .get_all("prefer")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| {
            p.split(';').next().is_some_and(|name| {
                name.trim()
                    .eq_ignore_ascii_case("include-unknown-enum-members")
            })
        })
}
