//! Just enough of an HTTP/1.1 client for the binary's own subcommands (`healthcheck`, `replay`): one request per
//! connection (`Connection: close`), a body by `Content-Length` or chunked, over TCP or TLS. Blocking: each
//! subcommand sends one request at a time, and the binary needs no client crate for it.
//!
//! TLS accepts any certificate, and only when the caller says so: the health check talks to its own container, and
//! `replay --insecure` to an emulator whose certificate is self-signed.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

/// Largest response the client reads.
const MAX_RESPONSE: u64 = 64 * 1024 * 1024;

/// A response: its status and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Sends one request to an `http://` or `https://` URL and reads the whole answer within `timeout` per step.
/// `headers` are sent as given (the client adds `Host`, `Connection` and `Content-Length`).
pub fn send(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<&[u8]>,
    any_certificate: bool,
    timeout: Duration,
) -> Result<Response, String> {
    let (tls, rest) = match url.split_once("://") {
        Some(("http", rest)) => (false, rest),
        Some(("https", rest)) if any_certificate => (true, rest),
        Some(("https", _)) => {
            return Err(
                "https:// needs --insecure (the emulator's certificate is not verified)".into(),
            )
        }
        _ => return Err("only http:// and https:// URLs are supported".into()),
    };
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    check_lines(method, &path, authority, headers)?;
    let addr = authority
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("the host has no address")?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    let bytes = request_bytes(method, &path, authority, headers, body);
    let mut raw = Vec::new();
    if tls {
        let host = authority
            .rsplit_once(':')
            .map_or(authority, |(h, _)| h)
            .trim_matches(['[', ']']);
        let mut conn = tls_client(host)?;
        let mut tls_stream = rustls::Stream::new(&mut conn, &mut stream);
        tls_stream.write_all(&bytes).map_err(|e| e.to_string())?;
        read_all(&mut tls_stream, &mut raw)?;
    } else {
        stream.write_all(&bytes).map_err(|e| e.to_string())?;
        read_all(&mut stream, &mut raw)?;
    }
    parse(&raw)
}

/// A recorded file is input: nothing in it may add a line to the request (a header, a second request).
fn check_lines(
    method: &str,
    path: &str,
    authority: &str,
    headers: &[(String, String)],
) -> Result<(), String> {
    let plain = |s: &str| !s.bytes().any(|b| b == b'\r' || b == b'\n');
    let method_ok = !method.is_empty() && method.bytes().all(|b| b.is_ascii_alphabetic());
    let target_ok = plain(path) && !path.contains(' ') && plain(authority);
    let headers_ok = headers
        .iter()
        .all(|(n, v)| plain(n) && plain(v) && !n.contains(':'));
    if method_ok && target_ok && headers_ok {
        Ok(())
    } else {
        Err("the request has a line break or space where HTTP allows none".into())
    }
}

/// The request as bytes: its line, `Host`, `Connection: close`, the headers, `Content-Length`, the body.
fn request_bytes(
    method: &str,
    path: &str,
    authority: &str,
    headers: &[(String, String)],
    body: Option<&[u8]>,
) -> Vec<u8> {
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    bytes
}

/// Reads until the server closes (a TLS peer that closes without `close_notify` ends it too).
fn read_all(reader: &mut impl Read, raw: &mut Vec<u8>) -> Result<(), String> {
    match reader.take(MAX_RESPONSE).read_to_end(raw) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

/// The status and body of a whole response.
fn parse(raw: &[u8]) -> Result<Response, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the response has no complete head")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let rest = &raw[end + 4..];
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("the response has no status")?;
    let header = |name: &str| {
        head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(rest)?
    } else {
        match header("content-length").and_then(|v| v.parse::<usize>().ok()) {
            Some(n) if n <= rest.len() => rest[..n].to_vec(),
            Some(_) => return Err("the response body is shorter than its Content-Length".into()),
            None => rest.to_vec(),
        }
    };
    Ok(Response { status, body })
}

/// A chunked body, decoded.
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk has no size line")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| "a chunk size is not hexadecimal")?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if rest.len() < size + 2 {
            return Err("a chunk is cut short".into());
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// A TLS client that accepts any certificate (see the module's header for when).
fn tls_client(host: &str) -> Result<rustls::ClientConnection, String> {
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};

    #[derive(Debug)]
    struct AnyCertificate(Vec<SignatureScheme>);
    impl ServerCertVerifier for AnyCertificate {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.clone()
        }
    }

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let schemes = provider
        .signature_verification_algorithms
        .supported_schemes();
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(schemes)))
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_owned()).map_err(|e| e.to_string())?;
    rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_a_caller_passes_adds_a_line_to_the_request() {
        let t = Duration::from_millis(10);
        let bad_header = vec![("X".to_owned(), "1\r\nX-Emulator-Admin-Token: t".to_owned())];
        for (method, url, headers) in [
            ("GET\r\n", "http://127.0.0.1:9/", vec![]),
            ("GET", "http://127.0.0.1:9/a b", vec![]),
            ("GET", "http://127.0.0.1:9/a\r\nX: y", vec![]),
            ("GET", "http://127.0.0.1:9/", bad_header),
            (
                "GET",
                "http://127.0.0.1:9/",
                vec![("A: b".to_owned(), "c".to_owned())],
            ),
        ] {
            let e = send(method, url, &headers, None, false, t).unwrap_err();
            assert!(e.contains("line break"), "{method:?} {url:?}: {e}");
        }
    }

    #[test]
    fn responses_by_length_chunked_and_to_the_end() {
        let r = parse(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}xx").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (201, &b"{}"[..]));
        let r = parse(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n")
            .unwrap();
        assert_eq!(r.body, b"abcde");
        let r = parse(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
        assert_eq!((r.status, r.body.len()), (204, 0));
        for bad in [
            &b"HTTP/1.1 200 OK\r\n"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            b"garbage\r\n\r\n",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
