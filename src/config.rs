//! Flags and environment variables (docs/running.md). Every flag also reads an environment variable.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The command line of the `cloudpc-emulator` binary.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "cloudpc-emulator",
    version,
    about = "A local emulator of Microsoft Graph's Cloud PC device image API"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands besides serving (the default).
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Exit 0 when `/_emulator/health` answers 200 (for container health checks in images without curl).
    Healthcheck {
        /// Health URL; default: derived from --listen / EMULATOR_LISTEN (https when TLS is configured).
        #[arg(long)]
        url: Option<String>,
    },
    /// Print a signed test token that `--auth jwt` accepts (signed with --jwt-secret, else the database's secret).
    Token {
        /// The tenant (`tid`); default: the emulator's default tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Delegated scopes (`scp`), space- or comma-separated; default CloudPC.ReadWrite.All when no roles are given.
        #[arg(long)]
        scopes: Option<String>,
        /// Application roles (`roles`), space- or comma-separated.
        #[arg(long)]
        roles: Option<String>,
        /// Seconds until the token expires (-86400 to 31536000; negative mints an expired token).
        #[arg(long, default_value_t = 3600, allow_negative_numbers = true,
              value_parser = clap::value_parser!(i64).range(-86_400..=31_536_000))]
        lifetime: i64,
    },
    /// Send the Graph requests of a HAR file (GET /_emulator/requests?format=har) again, in order, against an
    /// emulator; report every status that differs (and bodies, with --compare-bodies). Exit 0 when nothing differs.
    Replay {
        /// The HAR file.
        file: String,
        /// The emulator to replay against, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        url: String,
        /// Also compare response bodies (ids, request ids and timestamps aside) where the recording kept them.
        #[arg(long)]
        compare_bodies: bool,
        /// The bearer token to send where the recording sent one; default: minted by the target's /_emulator/token.
        #[arg(long)]
        token: Option<String>,
        /// The tenant of the minted token; default: the emulator's default tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Accept the target's TLS certificate without checking it (an emulator's self-signed one).
        #[arg(long)]
        insecure: bool,
    },
}

/// Everything the server needs to start.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address to bind; port 0 picks a free port.
    #[arg(long, env = "EMULATOR_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// SQLite file (its folder is created); `:memory:` for a throwaway store.
    #[arg(
        long,
        env = "EMULATOR_DATABASE",
        default_value = "./data/cloudpc-emulator.db"
    )]
    pub database: String,
    /// `none`: no checks; `bearer`: any non-empty bearer token; `jwt`: a verified Graph JWT with CloudPC scopes.
    #[arg(long, env = "EMULATOR_AUTH", value_enum, default_value_t = AuthMode::Bearer)]
    pub auth: AuthMode,
    /// Seconds a new image stays `pending` (0-31536000, a year).
    #[arg(long, env = "EMULATOR_UPLOAD_DURATION", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(0..=MAX_UPLOAD_SECONDS))]
    pub upload_duration: u64,
    /// Server-side page size of collections (1-999).
    #[arg(long, env = "EMULATOR_PAGE_SIZE", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=999))]
    pub page_size: u32,
    /// `full`: a 201 survives power loss; `normal`: it survives a crash of the process.
    #[arg(long, env = "EMULATOR_SYNCHRONOUS", value_enum, default_value_t = Synchronous::Full)]
    pub synchronous: Synchronous,
    /// Largest the database file may grow, in MiB (1-1048576); writes beyond it answer 503 as on a full disk.
    /// Default: no limit.
    #[arg(long, env = "EMULATOR_MAX_DATABASE_MB", value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    pub max_database_mb: Option<u64>,
    /// Most requests the journal keeps (0-1000000; the oldest are pruned); 0 turns the journal off.
    #[arg(long, env = "EMULATOR_JOURNAL_MAX", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub journal_max: u64,
    /// Longest request or response body the journal keeps, in bytes (0-1048576; longer ones are cut).
    #[arg(long, env = "EMULATOR_JOURNAL_BODY_MAX", default_value_t = 16_384,
          value_parser = journal_body_max)]
    pub journal_body_max: usize,
    /// Seed of the fault rules' random draws (probability), for reproducible runs; default: random.
    #[arg(long, env = "EMULATOR_FAULT_SEED")]
    pub fault_seed: Option<u64>,
    /// When set, every /_emulator route but health, and /metrics, need it (`X-Emulator-Admin-Token` or a bearer
    /// token). Required to listen on anything but a loopback address.
    #[arg(long, env = "EMULATOR_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// A host name (the `Host` header's, without port) the emulator answers besides loopback names, the address it
    /// listens on and --tls-san names; repeatable (comma-separated in the environment). Others get 421.
    #[arg(
        long = "allowed-host",
        env = "EMULATOR_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,
    /// Take the scheme and host of emitted URLs (and of the Host check) from `Forwarded` / `X-Forwarded-*`, for
    /// use behind a reverse proxy; off by default, when those headers are ignored.
    #[arg(long, env = "EMULATOR_TRUST_FORWARDED")]
    pub trust_forwarded: bool,
    /// An origin (`https://app.example:3000`) whose browser pages may call the Graph routes (CORS), or `*` for any;
    /// repeatable (comma-separated in the environment). The control plane never answers CORS.
    #[arg(
        long = "cors-origin",
        env = "EMULATOR_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,
    /// HS256 secret of `--auth jwt` tokens (and of minted ones); default: a random secret stored in the database.
    #[arg(long, env = "EMULATOR_JWT_SECRET")]
    pub jwt_secret: Option<String>,
    /// A JWKS file whose RS256 keys `--auth jwt` accepts.
    #[arg(long, env = "EMULATOR_JWKS_FILE")]
    pub jwks_file: Option<String>,
    /// PEM certificate chain to serve https with (with --tls-key).
    #[arg(long, env = "EMULATOR_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<String>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "EMULATOR_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<String>,
    /// Serve https with a generated certificate for localhost, 127.0.0.1, ::1 and --tls-san, stored beside the
    /// database.
    #[arg(long, env = "EMULATOR_TLS_SELF_SIGNED", conflicts_with = "tls_cert")]
    pub tls_self_signed: bool,
    /// More names for the self-signed certificate (comma-separated in the environment).
    #[arg(long, env = "EMULATOR_TLS_SAN", value_delimiter = ',')]
    pub tls_san: Vec<String>,
    /// A state document (JSON, or YAML when it ends in .yaml/.yml) to start with: images of any tenant and status,
    /// catalog entries, fault rules, the clock (docs/state.md). Applied before the emulator listens; a bad one stops
    /// the start, naming the entry.
    #[arg(long, env = "EMULATOR_SEED")]
    pub seed: Option<String>,
    /// When the seed is applied: `new` only at the first start of a new database; `always` at every start, after a
    /// reset.
    #[arg(long, env = "EMULATOR_SEED_MODE", value_enum, default_value_t = SeedMode::New)]
    pub seed_mode: SeedMode,
}

impl Settings {
    /// Settings for tests and embedding: the given database on a free loopback port, auth off, and uploads that take
    /// an hour (tests that follow an upload shorten it or move the clock).
    pub fn for_tests(database: impl Into<String>) -> Self {
        Self {
            listen: "127.0.0.1:0".into(),
            database: database.into(),
            auth: AuthMode::None,
            upload_duration: 3600,
            page_size: 100,
            synchronous: Synchronous::Full,
            max_database_mb: None,
            journal_max: 10_000,
            journal_body_max: 16_384,
            fault_seed: Some(42),
            admin_token: None,
            allowed_hosts: Vec::new(),
            trust_forwarded: false,
            cors_origins: Vec::new(),
            jwt_secret: None,
            jwks_file: None,
            tls_cert: None,
            tls_key: None,
            tls_self_signed: false,
            tls_san: Vec::new(),
            seed: None,
            seed_mode: SeedMode::New,
        }
    }
}

/// The largest request body the emulator reads (`--journal-body-max` is bounded by it).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Longest `--upload-duration`: a year.
pub const MAX_UPLOAD_SECONDS: u64 = 31_536_000;

/// `--journal-body-max`: 0 to 1 MiB (the largest body the emulator reads).
fn journal_body_max(value: &str) -> Result<usize, String> {
    let n: usize = value.parse().map_err(|e| format!("{e}"))?;
    if n > MAX_BODY_BYTES {
        return Err(format!("{n} is not in 0..={}", MAX_BODY_BYTES));
    }
    Ok(n)
}

/// How requests to the Graph routes are authenticated (docs/api.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMode {
    None,
    Bearer,
    Jwt,
}

/// When `--seed` is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeedMode {
    /// At the first start of a new database.
    New,
    /// At every start, after a reset.
    Always,
}

/// SQLite's `synchronous` setting in WAL mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Synchronous {
    Full,
    Normal,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn power_loss_durability_and_loopback_are_the_defaults() {
        let cli = Cli::try_parse_from(["cloudpc-emulator"]).unwrap();
        assert_eq!(cli.settings.synchronous, Synchronous::Full);
        assert_eq!(cli.settings.listen, "127.0.0.1:8080");
        assert!(!cli.settings.trust_forwarded);
        assert!(cli.settings.cors_origins.is_empty());
    }
}
