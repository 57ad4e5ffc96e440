//! Flags and environment variables (CONTRACT §2). Every flag also reads an environment variable.

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
        /// Seconds until the token expires.
        #[arg(long, default_value_t = 3600)]
        lifetime: i64,
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
    /// Seconds a new image stays `pending`.
    #[arg(long, env = "EMULATOR_UPLOAD_DURATION", default_value_t = 5)]
    pub upload_duration: u64,
    /// Server-side page size of collections (1-999).
    #[arg(long, env = "EMULATOR_PAGE_SIZE", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=999))]
    pub page_size: u32,
    /// `full`: a 201 survives power loss; `normal`: it survives a crash of the process.
    #[arg(long, env = "EMULATOR_SYNCHRONOUS", value_enum, default_value_t = Synchronous::Full)]
    pub synchronous: Synchronous,
    /// Largest the database file may grow, in MiB; writes beyond it answer 503 as on a full disk. Default: no limit.
    #[arg(long, env = "EMULATOR_MAX_DATABASE_MB", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_database_mb: Option<u64>,
    /// Most requests the journal keeps (the oldest are pruned); 0 turns the journal off.
    #[arg(long, env = "EMULATOR_JOURNAL_MAX", default_value_t = 10_000)]
    pub journal_max: u64,
    /// Longest request or response body the journal keeps, in bytes (longer ones are cut).
    #[arg(long, env = "EMULATOR_JOURNAL_BODY_MAX", default_value_t = 16_384)]
    pub journal_body_max: usize,
    /// Seed of the fault rules' random draws (probability), for reproducible runs; default: random.
    #[arg(long, env = "EMULATOR_FAULT_SEED")]
    pub fault_seed: Option<u64>,
    /// When set, every /_emulator route but health needs it (`X-Emulator-Admin-Token` or a bearer token).
    #[arg(long, env = "EMULATOR_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
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
            jwt_secret: None,
            jwks_file: None,
            tls_cert: None,
            tls_key: None,
            tls_self_signed: false,
            tls_san: Vec::new(),
        }
    }
}

/// How requests to the Graph routes are authenticated (CONTRACT §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMode {
    None,
    Bearer,
    Jwt,
}

/// SQLite's `synchronous` setting in WAL mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Synchronous {
    Full,
    Normal,
}
