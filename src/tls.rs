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

/// How long a generated certificate is valid (at most two years, as the issue asks; 397 days is also the most any
/// browser accepts), and how close to its end it is replaced.
const VALIDITY_DAYS: i64 = 397;
const RENEW_DAYS_BEFORE: i64 = 30;

/// The generated certificate and key (`tls-self-signed.pem`, `tls-self-signed.key`), made anew when missing, when
/// the names changed, or when it expires within 30 days. `tls-self-signed.names` records the names and the last day
/// of validity. The key is written with mode 0600 from the moment the file exists.
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
    let today = chrono::Utc::now().date_naive();
    let recorded = std::fs::read_to_string(&listed).unwrap_or_default();
    let current = cert.exists() && key.exists() && still_current(&recorded, &names, today);
    if !current {
        crate::files::private_dir(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let not_after = today + chrono::Duration::days(VALIDITY_DAYS);
        let (cert_pem, key_pem) = generate(&names, today, not_after)?;
        std::fs::write(&cert, cert_pem)
            .map_err(|e| format!("cannot write {}: {e}", cert.display()))?;
        write_private(&key, &key_pem)?;
        let record = format!("{}\nnot-after: {not_after}", names.join("\n"));
        std::fs::write(&listed, record)
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

/// Whether the recorded certificate is for exactly `names` and valid for more than [`RENEW_DAYS_BEFORE`] days. A
/// record without a date (an earlier version's certificate, valid for millennia) is not current.
fn still_current(recorded: &str, names: &[String], today: chrono::NaiveDate) -> bool {
    let Some((listed, date)) = recorded.rsplit_once("\nnot-after: ") else {
        return false;
    };
    let Ok(not_after) = chrono::NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d") else {
        return false;
    };
    listed == names.join("\n") && not_after - today > chrono::Duration::days(RENEW_DAYS_BEFORE)
}

/// A self-signed certificate for `names`, valid from yesterday (clock skew) to `not_after`; PEM certificate and key.
fn generate(
    names: &[String],
    today: chrono::NaiveDate,
    not_after: chrono::NaiveDate,
) -> Result<(String, String), String> {
    use chrono::Datelike;
    let fail = |e: rcgen::Error| format!("cannot generate a certificate: {e}");
    let day = |d: chrono::NaiveDate| rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8);
    let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(fail)?;
    params.not_before = day(today - chrono::Duration::days(1));
    params.not_after = day(not_after);
    let key_pair = rcgen::KeyPair::generate().map_err(fail)?;
    let cert = params.self_signed(&key_pair).map_err(fail)?;
    Ok((cert.pem(), key_pair.serialize_pem()))
}

/// Writes a private key: a fresh file created with mode 0600 (an old one is removed first, so its mode does not
/// carry over).
fn write_private(path: &Path, pem: &str) -> Result<(), String> {
    use std::io::Write;
    let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(fail(e)),
        _ => {}
    }
    let mut file = crate::files::private_file(path).map_err(fail)?;
    file.write_all(pem.as_bytes()).map_err(fail)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_is_renewed_when_it_nears_its_end_or_its_names_change() {
        let names = vec!["localhost".to_owned(), "emulator".to_owned()];
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let record = |d: &str| format!("localhost\nemulator\nnot-after: {d}");
        assert!(still_current(&record("2027-12-31"), &names, today));
        assert!(!still_current(&record("2026-12-20"), &names, today));
        assert!(!still_current(&record("2026-01-01"), &names, today));
        assert!(!still_current("localhost\nemulator", &names, today));
        assert!(!still_current(&record("2027-12-31"), &names[..1], today));
    }

    #[test]
    fn generated_files_are_private_and_valid_at_most_two_years() {
        let dir = tempfile::tempdir().unwrap();
        let (_, key) = self_signed(dir.path(), &[]).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let record = std::fs::read_to_string(dir.path().join("tls-self-signed.names")).unwrap();
        let (_, date) = record.rsplit_once("not-after: ").unwrap();
        let not_after = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
        let days = (not_after - chrono::Utc::now().date_naive()).num_days();
        assert!((300..=730).contains(&days), "{days}");
    }
}
