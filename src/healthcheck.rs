//! `cloudpc-emulator healthcheck [--url URL]`: exits 0 when `/_emulator/health` answers 200. Container images have no
//! curl, so this speaks just enough HTTP/1.1 over a plain TCP socket.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(3);

/// Runs the check against `url`, or against the address the server would listen on.
pub fn run(url: Option<&str>, listen: &str) -> ExitCode {
    let url = url.map_or_else(|| default_url(listen), str::to_owned);
    match check(&url) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("healthcheck {url}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `http://{listen}/_emulator/health`, with an unspecified address (`0.0.0.0`, `::`) replaced by loopback.
pub fn default_url(listen: &str) -> String {
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
    format!("http://{host}/_emulator/health")
}

fn check(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// URLs are supported")?;
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
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).map_err(|e| e.to_string())?;
    let status_line = String::from_utf8_lossy(&head[..n]);
    let status = status_line.split_whitespace().nth(1).unwrap_or("no status");
    if status == "200" {
        Ok(())
    } else {
        Err(format!("answered {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_urls() {
        assert_eq!(
            default_url("0.0.0.0:8080"),
            "http://127.0.0.1:8080/_emulator/health"
        );
        assert_eq!(default_url("[::]:9"), "http://[::1]:9/_emulator/health");
        assert_eq!(
            default_url("localhost:8080"),
            "http://localhost:8080/_emulator/health"
        );
    }
}
