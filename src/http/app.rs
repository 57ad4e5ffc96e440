//! Builds the application: database, state and HTTP server. All routes are registered in [`routes`].

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::body::BoxBody;
use actix_web::dev::{Server, ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::clock::{Clock, MAX_OFFSET_MS};
use crate::config::Settings;
use crate::control::faults::Faults;
use crate::control::journal::Journal;
use crate::control::metrics::Metrics;
use crate::db::{Database, DbError};
use crate::device_images::lifecycle::{DueHint, Worker};
use crate::device_images::writer::GroupWriter;
use crate::http::graph::dispatch;
use crate::http::protocol::protocol;
use crate::http::security::Security;
use crate::identity::Identity;

/// What every handler shares.
pub struct AppState {
    pub settings: Settings,
    pub db: Database,
    pub clock: Arc<Clock>,
    pub journal: Arc<Journal>,
    pub faults: Faults,
    pub metrics: Metrics,
    pub identity: Identity,
    /// The Host, Origin and CORS rules and the admin gate.
    pub security: Security,
    /// Group commit of creates and deletes.
    pub writes: Arc<GroupWriter>,
    /// When the next upload falls due.
    pub due: Arc<DueHint>,
}

/// Most connections one worker serves at once (actix's default is 25,000).
pub const MAX_CONNECTIONS_PER_WORKER: usize = 1024;

/// Why the emulator could not start.
#[derive(Debug)]
pub enum StartupError {
    Database(DbError),
    Config(String),
    Bind(String, std::io::Error),
    Server(std::io::Error),
}

impl std::fmt::Display for StartupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Database(e) => write!(f, "database: {e}"),
            Self::Config(e) => write!(f, "{e}"),
            Self::Bind(addr, e) => write!(f, "cannot listen on {addr}: {e}"),
            Self::Server(e) => write!(f, "server: {e}"),
        }
    }
}

impl std::error::Error for StartupError {}

/// A built, bound, not yet running emulator.
pub struct Application {
    addr: SocketAddr,
    https: bool,
    server: Server,
    db: Database,
    clock: Arc<Clock>,
    worker: Worker,
    journal: Arc<Journal>,
    writes: Arc<GroupWriter>,
}

impl Application {
    /// Opens and migrates the database, binds the listener (port 0 picks a free one) and builds the server.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let db = Database::open(
            &settings.database,
            settings.synchronous,
            settings.max_database_mb,
        )
        .await
        .map_err(StartupError::Database)?;
        crate::control::state::seed::apply(&db, &settings)
            .await
            .map_err(StartupError::Config)?;
        let (listener, addr) = bind(&settings)?;
        let security = Security::new(&settings, addr.ip()).map_err(StartupError::Config)?;
        let tls = crate::tls::server_config(&settings).map_err(StartupError::Config)?;
        let https = tls.is_some();
        let state = web::Data::new(shared_state(settings, db.clone(), security).await?);
        let (clock, journal, writes, due) = (
            state.clock.clone(),
            state.journal.clone(),
            state.writes.clone(),
            state.due.clone(),
        );
        let server = HttpServer::new(move || app(state.clone()));
        // Signals are handled by the binary (see `main.rs`), installed before the `listening on` line.
        let server = server
            .disable_signals()
            // Bounded work per client: at most this many open connections per worker (more wait in the backlog),
            // request heads within 5 s (bodies: see `graph::body::BODY_DEADLINE`).
            .max_connections(MAX_CONNECTIONS_PER_WORKER)
            .client_request_timeout(std::time::Duration::from_secs(5));
        let server = match tls {
            Some(config) => server.listen_rustls_0_23(listener, config),
            None => server.listen(listener),
        }
        .map_err(StartupError::Server)?
        .run();
        // Uploads that fell due while the emulator was down complete now.
        let worker = Worker::spawn(db.clone(), clock.clone(), due);
        Ok(Self {
            addr,
            https,
            server,
            db,
            clock,
            worker,
            journal,
            writes,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT` or `https://HOST:PORT`: what the `listening on` line says.
    pub fn url(&self) -> String {
        format!(
            "{}://{}",
            if self.https { "https" } else { "http" },
            self.addr
        )
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Stops the server (gracefully with `stop(true)`), as SIGTERM does.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// The emulator's clock, for tests that move time.
    pub fn clock(&self) -> Arc<Clock> {
        self.clock.clone()
    }

    /// Serves until SIGINT/SIGTERM or [`ServerHandle::stop`], lets requests in flight finish, stops the lifecycle
    /// task, then checkpoints the WAL and closes the database.
    pub async fn run_until_stopped(self) -> Result<(), StartupError> {
        let result = self.server.await.map_err(StartupError::Server);
        self.writes.stop().await;
        self.worker.stop().await;
        self.journal.stop().await;
        self.db.close().await;
        result
    }
}

/// Binds the listener; a listener beyond loopback needs an admin token.
fn bind(settings: &Settings) -> Result<(TcpListener, SocketAddr), StartupError> {
    let listener = TcpListener::bind(&settings.listen)
        .map_err(|e| StartupError::Bind(settings.listen.clone(), e))?;
    let addr = listener.local_addr().map_err(StartupError::Server)?;
    let admin_token = settings
        .admin_token
        .as_deref()
        .is_some_and(|t| !t.is_empty());
    if !addr.ip().is_loopback() && !admin_token {
        return Err(StartupError::Config(format!(
            "listening on {addr}, beyond loopback, needs --admin-token (EMULATOR_ADMIN_TOKEN): anyone who can \
             reach that address could otherwise read, reset and take over the emulator"
        )));
    }
    Ok((listener, addr))
}

/// Loads what the handlers share from the database (the clock offset, the signing secret, the fault rules, when the
/// next upload falls due) and starts the group writer and the journal's writer.
async fn shared_state(
    settings: Settings,
    db: Database,
    security: Security,
) -> Result<AppState, StartupError> {
    let offset_ms = stored_offset(&db).await?;
    let clock = Arc::new(Clock::default());
    clock.set_offset_ms(offset_ms);
    let secret = crate::identity::secret::load(&settings.database, &db)
        .await
        .map_err(|e| StartupError::Database(DbError(e)))?;
    let identity = Identity::new(&settings, &secret).map_err(StartupError::Config)?;
    let seed = settings.fault_seed.unwrap_or_else(random_seed);
    let faults = Faults::load(&db, seed).await.map_err(|e| {
        StartupError::Database(DbError(format!("cannot load the fault rules: {e}")))
    })?;
    let writes = Arc::new(GroupWriter::spawn(db.clone()));
    let due = Arc::new(DueHint::load(&db).await.map_err(|e| {
        StartupError::Database(DbError(format!("cannot read pending uploads: {e}")))
    })?);
    let journal = Arc::new(Journal::spawn(
        db.clone(),
        settings.journal_max,
        settings.journal_body_max,
    ));
    Ok(AppState {
        settings,
        db,
        clock,
        journal,
        faults,
        metrics: Metrics::default(),
        identity,
        security,
        writes,
        due,
    })
}

/// The clock offset a previous run stored (`POST /_emulator/clock`), cut to [`MAX_OFFSET_MS`] (a database written by
/// an earlier version may hold more).
async fn stored_offset(db: &Database) -> Result<i64, StartupError> {
    let offset = crate::control::store::clock_offset_ms(db)
        .await
        .map_err(|e| {
            StartupError::Database(DbError(format!("cannot read the emulator's state: {e}")))
        })?;
    if !(0..=MAX_OFFSET_MS).contains(&offset) {
        tracing::warn!(
            offset,
            "the stored clock offset is out of range; using 100 years"
        );
    }
    Ok(offset.clamp(0, MAX_OFFSET_MS))
}

/// A fault seed for runs that did not fix one.
fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}

/// The whole application: state, the protocol middleware, every route. JSON batching runs its items through another
/// instance of exactly this, so a batch item is handled as a direct request is.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state)
        .wrap(from_fn(protocol))
        .configure(routes)
}

/// Every route of the emulator: the control plane by path, everything else through the Graph router.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(crate::http::control::configure)
        .default_service(web::to(dispatch));
}
