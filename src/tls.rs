//! HTTPS with rustls (issue 6): a certificate from `--tls-cert`/`--tls-key`, or one generated for localhost,
//! 127.0.0.1, ::1 and `--tls-san` names and kept beside the database, so clients can trust it across restarts.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

use crate::config::Settings;

/// Names every generated certificate covers.
const LOCAL_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The TLS configuration the settings ask for; `None` serves plain http.
pub fn server_config(settings: &Settings) -> Result<Option<ServerConfig>, String> {
    let (cert, key) = match (
        &settings.tls_cert,
        &settings.tls_key,
        settings.tls_self_signed,
    ) {
        (Some(cert), Some(key), _) => (PathBuf::from(cert), PathBuf::from(key)),
        (_, _, true) => self_signed(&data_dir(&settings.database), &settings.tls_san)?,
        _ => return Ok(None),
    };
    let chain = read_certs(&cert)?;
    let key = read_key(&key)?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| format!("the certificate and key do not form a usable pair: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(config))
}

/// Where generated files live: the database's folder (`./data` for `:memory:`).
pub fn data_dir(database: &str) -> PathBuf {
    match Path::new(database).parent() {
        Some(dir) if database != ":memory:" && !dir.as_os_str().is_empty() => dir.to_path_buf(),
        Some(_) if database != ":memory:" => PathBuf::from("."),
        _ => PathBuf::from("./data"),
    }
}

/// The generated certificate and key (`tls-self-signed.pem`, `tls-self-signed.key`), made anew only when missing or
/// when the names changed.
fn self_signed(dir: &Path, extra: &[String]) -> Result<(PathBuf, PathBuf), String> {
    let mut names: Vec<String> = LOCAL_NAMES.iter().map(|n| (*n).to_owned()).collect();
    names.extend(
        extra
            .iter()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty()),
    );
    let (cert, key, listed) = (
        dir.join("tls-self-signed.pem"),
        dir.join("tls-self-signed.key"),
        dir.join("tls-self-signed.names"),
    );
    let wanted = names.join("\n");
    let current = cert.exists()
        && key.exists()
        && std::fs::read_to_string(&listed).ok().as_deref() == Some(&wanted);
    if !current {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let generated = rcgen::generate_simple_self_signed(names.clone())
            .map_err(|e| format!("cannot generate a certificate: {e}"))?;
        std::fs::write(&cert, generated.cert.pem())
            .map_err(|e| format!("cannot write {}: {e}", cert.display()))?;
        write_private(&key, &generated.key_pair.serialize_pem())?;
        std::fs::write(&listed, &wanted)
            .map_err(|e| format!("cannot write {}: {e}", listed.display()))?;
    }
    eprintln!(
        "TLS: self-signed certificate for {} at {} (trust it, e.g. SSL_CERT_FILE={})",
        names.join(", "),
        cert.display(),
        cert.display()
    );
    Ok((cert, key))
}

fn write_private(path: &Path, pem: &str) -> Result<(), String> {
    std::fs::write(path, pem).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(())
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut BufReader::new(file))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{} is not a PEM certificate chain: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no certificate", path.display()));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    rustls_pemfile::private_key(&mut BufReader::new(file))
        .map_err(|e| format!("{} is not a PEM private key: {e}", path.display()))?
        .ok_or_else(|| format!("{} holds no private key", path.display()))
}
