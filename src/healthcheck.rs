//! `cloudpc-emulator healthcheck [--url URL]`: exits 0 when `/_emulator/health` answers 200. Container images have no
//! curl, so this speaks just enough HTTP/1.1 over a TCP socket, through TLS for `https://` (without verifying the
//! certificate: the check talks to its own container, whose certificate may be self-signed).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(3);

/// Runs the check against `url`, or against the address the server would listen on.
pub fn run(url: Option<&str>, settings: &crate::config::Settings) -> ExitCode {
    let tls = settings.tls_self_signed || settings.tls_cert.is_some();
    let url = url.map_or_else(|| default_url(&settings.listen, tls), str::to_owned);
    match check(&url) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("healthcheck {url}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `http(s)://{listen}/_emulator/health`, with an unspecified address (`0.0.0.0`, `::`) replaced by loopback.
pub fn default_url(listen: &str, tls: bool) -> String {
    let host = match listen.parse::<SocketAddr>() {
        Ok(addr) if addr.ip().is_unspecified() => {
            if addr.is_ipv4() {
                format!("127.0.0.1:{}", addr.port())
            } else {
                format!("[::1]:{}", addr.port())
            }
        }
        _ => listen.to_owned(),
    };
    format!(
        "{}://{host}/_emulator/health",
        if tls { "https" } else { "http" }
    )
}

fn check(url: &str) -> Result<(), String> {
    let (tls, rest) = match url.split_once("://") {
        Some(("http", rest)) => (false, rest),
        Some(("https", rest)) => (true, rest),
        _ => return Err("only http:// and https:// URLs are supported".into()),
    };
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    let addr = authority
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("the host has no address")?;
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    let mut head = [0u8; 64];
    let n = if tls {
        let host = authority
            .rsplit_once(':')
            .map_or(authority, |(h, _)| h)
            .trim_matches(['[', ']']);
        let mut conn = tls_client(host)?;
        let mut tls_stream = rustls::Stream::new(&mut conn, &mut stream);
        tls_stream
            .write_all(request.as_bytes())
            .map_err(|e| e.to_string())?;
        tls_stream.read(&mut head).map_err(|e| e.to_string())?
    } else {
        stream
            .write_all(request.as_bytes())
            .map_err(|e| e.to_string())?;
        stream.read(&mut head).map_err(|e| e.to_string())?
    };
    let status_line = String::from_utf8_lossy(&head[..n]);
    let status = status_line.split_whitespace().nth(1).unwrap_or("no status");
    if status == "200" {
        Ok(())
    } else {
        Err(format!("answered {status}"))
    }
}

/// A TLS client that accepts any certificate: the health check only asks its own server whether it is up.
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
    fn default_urls() {
        assert_eq!(
            default_url("0.0.0.0:8080", false),
            "http://127.0.0.1:8080/_emulator/health"
        );
        assert_eq!(
            default_url("[::]:9", true),
            "https://[::1]:9/_emulator/health"
        );
        assert_eq!(
            default_url("localhost:8080", false),
            "http://localhost:8080/_emulator/health"
        );
    }
}
