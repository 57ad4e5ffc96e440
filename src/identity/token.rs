//! Test tokens: JWTs for Graph, signed with the emulator's HS256 secret, which its `jwt` mode accepts
//! (`POST /_emulator/token`, `cloudpc-emulator token`).

use chrono::Utc;
use jsonwebtoken::{encode, EncodingKey, Header};
use serde::Serialize;
use uuid::Uuid;

/// What a minted token says.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub tenant: String,
    /// Delegated scopes (`scp`).
    pub scopes: Vec<String>,
    /// Application roles (`roles`).
    pub roles: Vec<String>,
    /// Seconds until it expires; negative mints a token that has already expired.
    pub lifetime_seconds: i64,
    /// Graph's (`https://graph.microsoft.com`) unless a test wants a token for something else.
    pub audience: String,
}

#[derive(Serialize)]
struct MintedClaims<'a> {
    aud: &'a str,
    iss: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    tid: &'a str,
    oid: String,
    appid: &'a str,
    ver: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scp: Option<String>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    roles: &'a [String],
}

/// A signed token and when it expires (seconds since the epoch).
pub fn mint(secret: &[u8], req: &TokenRequest) -> Result<(String, i64), String> {
    let now = Utc::now().timestamp();
    let exp = now + req.lifetime_seconds;
    let claims = MintedClaims {
        aud: &req.audience,
        iss: format!("https://sts.windows.net/{}/", req.tenant),
        iat: now.min(exp),
        nbf: now.min(exp) - 1,
        exp,
        tid: &req.tenant,
        oid: Uuid::new_v4().to_string(),
        appid: "cloudpc-emulator",
        ver: "1.0",
        scp: (!req.scopes.is_empty()).then(|| req.scopes.join(" ")),
        roles: &req.roles,
    };
    let token = encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .map_err(|e| e.to_string())?;
    Ok((token, exp))
}

/// `cloudpc-emulator token`: prints a token signed with `--jwt-secret`, else with the secret stored in the database
/// at `--database` (the one a running emulator on that file verifies with).
pub async fn print(
    settings: &crate::config::Settings,
    tenant: Option<String>,
    scopes: Option<String>,
    roles: Option<String>,
    lifetime: i64,
) -> std::process::ExitCode {
    let split = |s: Option<String>| -> Vec<String> {
        s.unwrap_or_default()
            .split([' ', ','])
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let mut request = TokenRequest {
        tenant: tenant.unwrap_or_else(|| crate::device_images::DEFAULT_TENANT.to_owned()),
        scopes: split(scopes),
        roles: split(roles),
        lifetime_seconds: lifetime,
        audience: super::GRAPH_AUDIENCES[0].to_owned(),
    };
    if request.scopes.is_empty() && request.roles.is_empty() {
        request.scopes.push(super::READ_WRITE_ALL.to_owned());
    }
    let secret = match settings.jwt_secret.clone().filter(|s| !s.is_empty()) {
        Some(secret) => secret,
        None => match stored_secret(&settings.database).await {
            Ok(secret) => secret,
            Err(e) => {
                eprintln!("cloudpc-emulator token: {e} (give --jwt-secret, or --database of an emulator's file)");
                return std::process::ExitCode::FAILURE;
            }
        },
    };
    match mint(secret.as_bytes(), &request) {
        Ok((token, _)) => {
            println!("{token}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cloudpc-emulator token: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The secret of the database at `database`: its `.jwt-secret` file, or (a database no emulator of this version has
/// opened yet) the column earlier versions kept it in.
async fn stored_secret(database: &str) -> Result<String, String> {
    if database == ":memory:" || !std::path::Path::new(database).exists() {
        return Err(format!("no database at {database}"));
    }
    if let Some(secret) = super::secret::path(database)
        .map(|file| super::secret::read(&file))
        .transpose()?
        .flatten()
    {
        return Ok(secret);
    }
    super::secret::legacy_secret(database).await
}
