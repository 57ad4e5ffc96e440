//! `cloudpc-emulator healthcheck [--url URL]`: exits 0 when `/_emulator/health` answers 200. Container images have no
//! curl, so this speaks HTTP/1.1 through [`crate::client`], through TLS for `https://` without verifying the
//! certificate: the check talks to its own container, whose certificate may be self-signed.

use std::net::SocketAddr;
use std::process::ExitCode;
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
    let answer = crate::client::send("GET", url, &[], None, true, TIMEOUT)?;
    if answer.status == 200 {
        Ok(())
    } else {
        Err(format!("answered {}", answer.status))
    }
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
