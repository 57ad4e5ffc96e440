//! Who may talk to the emulator at all (issue 15): the `Host` allow-list against DNS rebinding, the refusal of
//! cross-site writes, opt-in CORS for the Graph routes, and the admin gate of the control plane (constant-time token
//! check, throttled failures, random dashboard sessions).
//!
//! Every request passes [`Security::admit`] in the protocol middleware before anything else runs, so a refused
//! request changes nothing, is not journaled and never reaches a handler.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::dev::ServiceRequest;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpMessage, HttpResponse};

use crate::config::Settings;
use crate::error::ApiError;
use crate::graph::Authority;

/// Parsed once, not on every write (a `&str` header name is parsed on each lookup).
const SEC_FETCH_SITE: header::HeaderName = header::HeaderName::from_static("sec-fetch-site");

/// What the protocol middleware does with a request.
pub enum Admission {
    /// Serve it, addressed to this authority; `cors` is the `Access-Control-Allow-Origin` its answer carries.
    Serve {
        authority: Authority,
        cors: Option<HeaderValue>,
    },
    /// A CORS preflight the emulator answers itself.
    Preflight(HttpResponse),
    /// Refused (421, 403) before anything ran.
    Refuse(ApiError),
}

/// The request headers a browser app using Graph sends (preflight `Access-Control-Allow-Headers`).
const CORS_REQUEST_HEADERS: &str = "Authorization, Content-Type, Accept, client-request-id, \
    return-client-request-id, Prefer, ConsistencyLevel, SdkVersion, FeatureUsage, If-Match, If-None-Match, \
    Cache-Control, traceparent";
/// The response headers such an app may read.
const CORS_EXPOSED_HEADERS: &str =
    "request-id, client-request-id, Location, Retry-After, Preference-Applied, Content-Type";
const CORS_METHODS: &str = "GET, POST, PATCH, PUT, DELETE, OPTIONS";

/// The request-level rules, built once from the flags.
pub struct Security {
    /// Lower-cased host names allowed besides loopback names and `listen`.
    hosts: Vec<String>,
    /// The address the emulator listens on (its literal is an allowed `Host`).
    listen: IpAddr,
    trust_forwarded: bool,
    cors_any: bool,
    /// Lower-cased `scheme://host[:port]` origins.
    cors_origins: Vec<String>,
    /// The control plane's gate; `None` without `--admin-token`.
    pub admin: Option<AdminGate>,
}

impl Security {
    pub fn new(settings: &Settings, listen: IpAddr) -> Result<Self, String> {
        let mut hosts = Vec::new();
        for name in settings.allowed_hosts.iter().chain(&settings.tls_san) {
            let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
            if name.is_empty() {
                continue;
            }
            if name.contains(['/', ':', '@', ' ']) && name.parse::<IpAddr>().is_err() {
                return Err(format!(
                    "--allowed-host {name}: give a host name or an address, without scheme or port"
                ));
            }
            hosts.push(name.trim_matches(['[', ']']).to_owned());
        }
        let mut cors_any = false;
        let mut cors_origins = Vec::new();
        for origin in &settings.cors_origins {
            let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
            match origin.as_str() {
                "" => {}
                "*" => cors_any = true,
                o if origin_host(o).is_some() => cors_origins.push(origin),
                o => {
                    return Err(format!(
                        "--cors-origin {o}: give an origin such as https://app.example:3000, or *"
                    ))
                }
            }
        }
        let admin = settings
            .admin_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(AdminGate::new);
        Ok(Self {
            hosts,
            listen,
            trust_forwarded: settings.trust_forwarded,
            cors_any,
            cors_origins,
            admin,
        })
    }

    /// Whether a `Host` name (no port) is one the emulator answers to.
    pub fn host_allowed(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.').trim_matches(['[', ']']);
        let local = name.len().checked_sub(".localhost".len()).is_some_and(|i| {
            name.is_char_boundary(i) && name[i..].eq_ignore_ascii_case(".localhost")
        });
        if local || name.eq_ignore_ascii_case("localhost") {
            return true;
        }
        if let Ok(ip) = name.parse::<IpAddr>() {
            return ip.is_loopback()
                || ip == self.listen
                || self.hosts.iter().any(|h| h.parse::<IpAddr>() == Ok(ip));
        }
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(name))
    }

    /// Decides whether the request may be served: the `Host` check on every route, the cross-site check on the
    /// control plane and Graph writes, and CORS on the Graph routes.
    pub fn admit(&self, req: &ServiceRequest, graph: bool) -> Admission {
        // A `$batch` item: its batch passed these checks and lent it its authority.
        if let Some(authority) = req.extensions().get::<Authority>().cloned() {
            return Admission::Serve {
                authority,
                cors: None,
            };
        }
        let authority = match self.authority(req) {
            Some(a) => a,
            None => return Admission::Refuse(misdirected("The request has no Host header.")),
        };
        if !self.host_allowed(host_name(&authority.host)) {
            return Admission::Refuse(misdirected(&format!(
                "The host '{}' is not one this emulator answers to; add it with --allowed-host if you mean it.",
                shorten(&authority.host)
            )));
        }
        let headers = req.headers();
        let origin = headers
            .get(header::ORIGIN)
            .map(|v| v.to_str().unwrap_or("null").trim().to_ascii_lowercase());
        let cors = match (&origin, graph) {
            (Some(o), true) if self.cors_any || self.cors_origins.iter().any(|c| c == o) => {
                Some(if self.cors_any {
                    HeaderValue::from_static("*")
                } else {
                    HeaderValue::from_str(o).unwrap_or(HeaderValue::from_static("null"))
                })
            }
            _ => None,
        };
        if let (Some(allow), true) = (&cors, *req.method() == Method::OPTIONS) {
            if headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
                return Admission::Preflight(preflight(allow.clone()));
            }
        }
        let write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
        if (!graph || write) && cors.is_none() {
            let foreign_origin = origin
                .as_deref()
                .is_some_and(|o| origin_host(o).is_none_or(|h| !self.host_allowed(h)));
            let cross_site = headers
                .get(SEC_FETCH_SITE)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
            if foreign_origin || cross_site {
                return Admission::Refuse(ApiError::Forbidden(format!(
                    "Cross-site requests to {} are refused (Origin '{}'); a browser app may call the Graph routes \
                     when its origin is listed with --cors-origin.",
                    if graph { "Graph writes" } else { "the control plane" },
                    shorten(origin.as_deref().unwrap_or("(none)"))
                )));
            }
        }
        Admission::Serve { authority, cors }
    }

    /// The scheme and host of the request: from the connection and `Host`, or from `Forwarded`/`X-Forwarded-*`
    /// with `--trust-forwarded`.
    fn authority(&self, req: &ServiceRequest) -> Option<Authority> {
        if self.trust_forwarded {
            let info = req.connection_info();
            return Some(Authority {
                scheme: info.scheme().to_owned(),
                host: info.host().to_owned(),
            });
        }
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()))
            .filter(|h| !h.trim().is_empty())?;
        Some(Authority {
            scheme: if req.app_config().secure() {
                "https"
            } else {
                "http"
            }
            .to_owned(),
            host,
        })
    }
}

/// Adds the CORS headers of an admitted cross-origin Graph request to its answer.
pub fn add_cors_headers(headers: &mut HeaderMap, allow: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(CORS_EXPOSED_HEADERS),
    );
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

fn preflight(allow: HeaderValue) -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, allow))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, CORS_METHODS))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, CORS_REQUEST_HEADERS))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"))
        .insert_header((header::VARY, "Origin"))
        .finish()
}

/// 421 Misdirected Request: the request was addressed to a host this emulator does not serve.
fn misdirected(message: &str) -> ApiError {
    ApiError::Fault {
        status: StatusCode::MISDIRECTED_REQUEST,
        code: "MisdirectedRequest".into(),
        message: message.into(),
        retry_after: None,
    }
}

/// The name of a `host[:port]` (IPv6 literals keep their brackets off).
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(ip, _)| ip);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The host name of an origin `scheme://host[:port]`, if it is one.
fn origin_host(origin: &str) -> Option<&str> {
    let (scheme, rest) = origin.split_once("://")?;
    if !matches!(scheme, "http" | "https") || rest.is_empty() || rest.contains(['/', '@', '?', '#'])
    {
        return None;
    }
    Some(host_name(rest))
}

fn shorten(s: &str) -> String {
    s.chars().take(100).collect()
}

/// How long failed admin-token attempts are remembered, and how many one address may make in that time.
const FAILURE_WINDOW: Duration = Duration::from_secs(60);
const MAX_FAILURES: u32 = 10;
/// How long a dashboard session lasts, and how many may be open at once (the oldest goes first).
const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
const MAX_SESSIONS: usize = 256;
/// Most addresses whose failures are tracked at once.
const MAX_TRACKED: usize = 4096;

/// The admin token of the control plane, checked in constant time, with failed attempts throttled per client
/// address and the dashboard's sessions kept by random id (the cookie never holds the token).
pub struct AdminGate {
    /// SHA-256 of the token: comparing digests in constant time leaks neither content nor length.
    digest: [u8; 32],
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    sessions: Mutex<HashMap<String, Instant>>,
}

/// The outcome of checking a credential.
#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    Granted,
    Denied,
    /// Too many failures from this address: try again after this many seconds.
    Throttled(u64),
}

impl AdminGate {
    fn new(token: &str) -> Self {
        Self {
            digest: sha256(token.as_bytes()),
            failures: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Whether one of `tokens` is the admin token or `session` an open dashboard session; a request whose every
    /// credential is wrong counts once against `peer`, and a `peer` with too many such requests is throttled.
    pub fn check(&self, peer: Option<IpAddr>, tokens: Vec<&str>, session: Option<&str>) -> Check {
        let key = peer.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let mut failures = lock(&self.failures);
        if let Some((since, n)) = failures.get(&key).copied() {
            let elapsed = since.elapsed();
            if elapsed >= FAILURE_WINDOW {
                failures.remove(&key);
            } else if n >= MAX_FAILURES {
                return Check::Throttled((FAILURE_WINDOW - elapsed).as_secs().max(1));
            }
        }
        // Every token is compared, so the time taken does not tell which one matched.
        let token_ok = tokens.iter().fold(false, |ok, given| {
            ok | same_digest(&sha256(given.as_bytes()), &self.digest)
        });
        if token_ok || session.is_some_and(|id| self.session_open(id)) {
            return Check::Granted;
        }
        if failures.len() >= MAX_TRACKED {
            failures.retain(|_, (since, _)| since.elapsed() < FAILURE_WINDOW);
            if failures.len() >= MAX_TRACKED {
                failures.clear();
            }
        }
        let entry = failures.entry(key).or_insert((Instant::now(), 0));
        entry.1 += 1;
        Check::Denied
    }

    fn session_open(&self, id: &str) -> bool {
        let mut sessions = lock(&self.sessions);
        sessions.retain(|_, opened| opened.elapsed() < SESSION_LIFETIME);
        sessions.contains_key(id)
    }

    /// Opens a dashboard session; returns its id (256 random bits, hex).
    pub fn open_session(&self) -> String {
        let id = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let mut sessions = lock(&self.sessions);
        sessions.retain(|_, opened| opened.elapsed() < SESSION_LIFETIME);
        if sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, opened)| **opened)
                .map(|(id, _)| id.clone())
            {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(id.clone(), Instant::now());
        id
    }

    /// Ends a dashboard session.
    pub fn close_session(&self, id: &str) {
        lock(&self.sessions).remove(id);
    }
}

/// A 429 for a throttled admin credential.
pub fn throttled(retry_after: u64) -> ApiError {
    ApiError::Fault {
        status: StatusCode::TOO_MANY_REQUESTS,
        code: "TooManyRequests".into(),
        message: "Too many wrong admin tokens from this address; try again later.".into(),
        retry_after: Some(retry_after),
    }
}

/// Compares two digests in time that does not depend on where they differ.
fn same_digest(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    diff == 0
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// A poisoned lock still guards consistent data here (plain maps, no invariants across fields).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn security(hosts: &[&str], cors: &[&str]) -> Security {
        let mut settings = Settings::for_tests(":memory:");
        settings.allowed_hosts = hosts.iter().map(|h| (*h).to_owned()).collect();
        settings.cors_origins = cors.iter().map(|h| (*h).to_owned()).collect();
        Security::new(&settings, "127.0.0.1".parse().unwrap()).unwrap()
    }

    #[test]
    fn loopback_names_listen_address_and_listed_hosts_are_allowed() {
        let s = security(&["emulator", "10.1.2.3"], &[]);
        for ok in [
            "localhost",
            "LOCALHOST.",
            "app.localhost",
            "127.0.0.1",
            "127.8.9.1",
            "::1",
            "[::1]",
            "emulator",
            "10.1.2.3",
        ] {
            assert!(s.host_allowed(ok), "{ok}");
        }
        for refused in [
            "attacker.example",
            "localhost.attacker.example",
            "emulator.attacker.example",
            "192.168.1.2",
            "",
            "0.0.0.0",
        ] {
            assert!(!s.host_allowed(refused), "{refused}");
        }
    }

    #[test]
    fn hosts_and_origins_are_split_from_ports() {
        assert_eq!(host_name("localhost:8080"), "localhost");
        assert_eq!(host_name("[::1]:8080"), "::1");
        assert_eq!(host_name("[::1]"), "::1");
        assert_eq!(host_name("example"), "example");
        assert_eq!(origin_host("http://localhost:3000"), Some("localhost"));
        assert_eq!(origin_host("null"), None);
        assert_eq!(origin_host("file://x/y"), None);
        assert_eq!(origin_host("http://a@evil"), None);
    }

    #[test]
    fn bad_flags_are_refused() {
        let mut settings = Settings::for_tests(":memory:");
        settings.allowed_hosts = vec!["http://x".into()];
        assert!(Security::new(&settings, "127.0.0.1".parse().unwrap()).is_err());
        let mut settings = Settings::for_tests(":memory:");
        settings.cors_origins = vec!["not an origin".into()];
        assert!(Security::new(&settings, "127.0.0.1".parse().unwrap()).is_err());
    }

    #[test]
    fn the_gate_compares_tokens_throttles_failures_and_keeps_sessions() {
        let gate = AdminGate::new("s3cret");
        let peer = Some("10.0.0.9".parse().unwrap());
        assert_eq!(gate.check(peer, vec!["s3cret"], None), Check::Granted);
        assert_eq!(
            gate.check(peer, vec!["wrong", "s3cret"], None),
            Check::Granted
        );
        assert_eq!(gate.check(peer, vec!["s3cre"], None), Check::Denied);
        assert_eq!(
            gate.check(peer, vec!["s3cret-and-more"], None),
            Check::Denied
        );
        for _ in 2..MAX_FAILURES {
            assert_eq!(gate.check(peer, vec!["nope"], Some("nope")), Check::Denied);
        }
        assert!(matches!(
            gate.check(peer, vec!["s3cret"], None),
            Check::Throttled(_)
        ));
        // Another address is not affected.
        let other = Some("10.0.0.10".parse().unwrap());
        assert_eq!(gate.check(other, vec!["s3cret"], None), Check::Granted);
        let id = gate.open_session();
        assert_eq!(id.len(), 64);
        assert_eq!(gate.check(other, vec![], Some(&id)), Check::Granted);
        gate.close_session(&id);
        assert_eq!(gate.check(other, vec![], Some(&id)), Check::Denied);
    }
}
