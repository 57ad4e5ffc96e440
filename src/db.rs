//! The SQLite store: migrations (refinery, through rusqlite) and the sqlx pools every query uses.
//!
//! Writes go through one writer connection: SQLite allows one writer at a time anyway, and a single writer keeps
//! the WAL auto-checkpoint working (bench/README.md). Reads use a small pool of read-only connections, which in
//! WAL mode never wait for the writer.
//!
//! Durability: `synchronous=FULL` by default, so a `201` (sent only after `COMMIT` returned) survives power loss;
//! `--synchronous normal` keeps it across a crash of the process but not of the machine.

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};

use sqlx::Connection;

use crate::config::Synchronous;

refinery::embed_migrations!("migrations");

/// An in-memory database with every migration applied, for unit tests and the fuzz targets (`fuzz/`) that prepare
/// SQL against the real schema.
#[doc(hidden)]
pub fn migrated_rusqlite_for_tests() -> rusqlite::Connection {
    let mut conn = rusqlite::Connection::open_in_memory().expect("an in-memory database");
    migrations::runner()
        .run(&mut conn)
        .expect("migrations apply");
    conn
}

mod requests;
pub use requests::Requests;

#[cfg(test)]
mod described;
#[cfg(test)]
pub use described::assert_described;

/// How many migrations this build carries (a ready database has applied them all).
pub fn migration_count() -> usize {
    migrations::runner().get_migrations().len()
}

/// The pools of one database.
#[derive(Debug, Clone)]
pub struct Database {
    /// One connection: every write.
    pub writer: SqlitePool,
    /// Read-only connections (the writer itself for `:memory:`).
    pub reader: SqlitePool,
    /// Read-only connections for the hot read paths (get and list), taken without a pool (see [`Database::read`]).
    fast: Option<Arc<FastReaders>>,
    /// Storage failures of writes ([`Database::after_write`]); the writer's `before_acquire` hook remembers the
    /// count it last saw and replaces its connection when the count moved.
    failed_writes: Arc<AtomicU64>,
    /// The request journal's own file (`<database>-requests`).
    pub requests: Requests,
}

/// A few read-only connections, each behind an async mutex. sqlx's pool costs a task spawn and a semaphore per
/// acquire; a free connection here costs one `try_lock` (measured early on: a connection per worker served ~60% more
/// reads than a pool).
#[derive(Debug)]
struct FastReaders {
    /// `None` once closed ([`Database::close`]).
    conns: Vec<tokio::sync::Mutex<Option<SqliteConnection>>>,
    next: AtomicUsize,
}

/// A read-only connection, however it was obtained; dereferences to the connection, so `&mut *guard` executes.
pub enum ReadConn<'a> {
    Fast(tokio::sync::MappedMutexGuard<'a, SqliteConnection>),
    Pooled(sqlx::pool::PoolConnection<sqlx::Sqlite>),
}

impl std::ops::Deref for ReadConn<'_> {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        match self {
            Self::Fast(conn) => conn,
            Self::Pooled(conn) => conn,
        }
    }
}

impl std::ops::DerefMut for ReadConn<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        match self {
            Self::Fast(conn) => &mut *conn,
            Self::Pooled(conn) => &mut *conn,
        }
    }
}

/// Why the database could not be opened.
#[derive(Debug)]
pub struct DbError(pub String);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbError {}

const READERS: u32 = 2;
/// SQLite's default page size, which the emulator keeps.
const PAGE_SIZE: u64 = 4096;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a database error is a storage failure (a read-only or missing file, an I/O error, a full disk), or `None`.
/// Busy and locked are not: they pass.
pub fn storage_failure(e: &sqlx::Error) -> Option<&'static str> {
    let sqlx::Error::Database(db) = e else {
        return None;
    };
    match db.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0) & 0xff {
        8 => Some("the database is read-only"),
        10 | 14 | 15 => Some("the database cannot be read or written"),
        13 => Some("the disk is full"),
        _ => None,
    }
}

/// An error that tells whether a write failed for a storage reason, after which the writer's connection is replaced.
pub trait StorageFailure {
    fn is_storage_failure(&self) -> bool;
}

impl StorageFailure for sqlx::Error {
    fn is_storage_failure(&self) -> bool {
        storage_failure(self).is_some()
    }
}

/// Whether the idle writer connection may serve the next write. Not after a storage failure, and not when sqlx
/// still counts a transaction as open: after a failed `COMMIT` SQLite may have rolled the transaction back by
/// itself while sqlx still counts it, so the next `begin` would only open a savepoint, and its "commit" would
/// release the savepoint inside a transaction that never commits: a 201 for a row that is not stored. Such a
/// connection is closed instead and the pool opens a fresh one, as late as possible (when the connection is taken,
/// not when it is given back), once the cause may be gone.
async fn keep_writer(
    conn: &mut sqlx::SqliteConnection,
    failed: &AtomicU64,
    seen: &AtomicU64,
) -> Result<bool, sqlx::Error> {
    use sqlx::TransactionManager;
    // A ping waits for the worker to run what is queued before it (a dropped transaction's rollback).
    sqlx::Connection::ping(conn).await?;
    let depth = sqlx::sqlite::SqliteTransactionManager::get_transaction_depth(conn);
    let failures = failed.load(Ordering::Acquire);
    let suspect = seen.swap(failures, Ordering::AcqRel) != failures;
    if suspect || depth != 0 {
        tracing::warn!(
            depth,
            "replacing the writer connection after a storage failure"
        );
        return Ok(false);
    }
    Ok(true)
}

/// Creates the database's folder and, empty with mode 0600 before SQLite opens it, its file: SQLite gives the WAL
/// and shared-memory files the database file's mode, so none of the three is readable by other users.
fn create_private(path: &Path) -> Result<(), DbError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| DbError(format!("cannot create the folder {}: {e}", dir.display())))?;
    }
    match crate::files::private_file(path) {
        Ok(_) => {}
        // A file of an earlier version, which created it with the default mode: made private now, with its
        // WAL and shared-memory files.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            for suffix in ["", "-wal", "-shm"] {
                let file = format!("{}{suffix}", path.display());
                if let Err(e) = crate::files::make_private(Path::new(&file)) {
                    tracing::warn!(error = %e, file, "cannot make the database file private");
                }
            }
        }
        Err(e) => return Err(DbError(format!("cannot create {}: {e}", path.display()))),
    }
    Ok(())
}

/// Counts a storage failure of `result` in `failed`, which the writer's `before_acquire` hook watches.
fn report<T, E: StorageFailure>(failed: &AtomicU64, result: Result<T, E>) -> Result<T, E> {
    if let Err(e) = &result {
        if e.is_storage_failure() {
            failed.fetch_add(1, Ordering::AcqRel);
        }
    }
    result
}

/// The writer pool: one connection, replaced before a write when `failed` moved since it last looked.
async fn open_writer(
    base: &SqliteConnectOptions,
    synchronous: Synchronous,
    max_mb: Option<u64>,
    failed: Arc<AtomicU64>,
) -> Result<SqlitePool, sqlx::Error> {
    writer_pool(failed)
        .connect_with(writer_options(base, synchronous, max_mb))
        .await
}

/// A writer connection's options: `base` at `synchronous`, within `max_mb`.
fn writer_options(
    base: &SqliteConnectOptions,
    synchronous: Synchronous,
    max_mb: Option<u64>,
) -> SqliteConnectOptions {
    let options = base.clone().synchronous(match synchronous {
        Synchronous::Full => SqliteSynchronous::Full,
        Synchronous::Normal => SqliteSynchronous::Normal,
    });
    match max_mb {
        // A quota, as a full disk would impose one: writes past it fail with SQLITE_FULL (a 503).
        Some(mb) => options.pragma("max_page_count", (mb * 1024 * 1024 / PAGE_SIZE).to_string()),
        None => options,
    }
}

/// The options of a writer pool ([`open_writer`]).
fn writer_pool(failed: Arc<AtomicU64>) -> SqlitePoolOptions {
    let seen = Arc::new(AtomicU64::new(0));
    SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        // `keep_writer` checks what matters; sqlx's own ping before every acquire costs a round trip to the
        // connection's thread (a context switch each way on one core) and finds nothing it does not.
        .test_before_acquire(false)
        .before_acquire(move |conn, _| {
            let (failed, seen) = (failed.clone(), seen.clone());
            Box::pin(async move { keep_writer(conn, &failed, &seen).await })
        })
}

impl Database {
    /// Opens (creating folder and file) and migrates the database at `location`, or a private in-memory one for
    /// `:memory:`.
    pub async fn open(
        location: &str,
        synchronous: Synchronous,
        max_mb: Option<u64>,
    ) -> Result<Self, DbError> {
        if location == ":memory:" {
            return Self::open_in_memory().await;
        }
        let path = Path::new(location);
        create_private(path)?;
        migrate_file(path)?;
        let base = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let failed = Arc::new(AtomicU64::new(0));
        let writer = open_writer(&base, synchronous, max_mb, failed.clone())
            .await
            .map_err(|e| DbError(format!("cannot open {location}: {e}")))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            // No ping before every read: a round trip to the connection's thread per request, for a read-only
            // connection that has nothing to lose between uses.
            .test_before_acquire(false)
            .connect_with(base.clone().read_only(true))
            .await
            .map_err(|e| DbError(format!("cannot open {location} for reading: {e}")))?;
        let mut conns = Vec::new();
        for _ in 0..READERS {
            // A whole page (up to 999 rows and the look-ahead row) crosses from the connection's thread without
            // the thread stopping for the handler to catch up (sqlx's default buffer is 50 rows).
            let options = base.clone().read_only(true).row_buffer_size(1024);
            let conn = SqliteConnection::connect_with(&options)
                .await
                .map_err(|e| DbError(format!("cannot open {location} for reading: {e}")))?;
            conns.push(tokio::sync::Mutex::new(Some(conn)));
        }
        Ok(Self {
            writer,
            reader,
            fast: Some(Arc::new(FastReaders {
                conns,
                next: AtomicUsize::new(0),
            })),
            failed_writes: failed,
            requests: requests::open(path).await?,
        })
    }

    /// Every write reports its outcome here. After a storage failure (a read-only or missing file, an I/O error, a
    /// full disk) the writer's connection may be unusable even once the cause is gone (one opened while its WAL file
    /// could not be written stays read-only for good), so it is replaced before the next write.
    pub fn after_write<T, E: StorageFailure>(&self, result: Result<T, E>) -> Result<T, E> {
        report(&self.failed_writes, result)
    }

    /// Runs one statement with one text parameter in a transaction of its own on the writer (reporting its outcome
    /// to [`Database::after_write`]); how many rows it changed.
    pub async fn write_one(&self, sql: &str, value: &str) -> Result<u64, sqlx::Error> {
        self.after_write(
            async {
                let mut tx = self.writer.begin().await?;
                let done = sqlx::query(sql).bind(value).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(done.rows_affected())
            }
            .await,
        )
    }

    /// The writer's connection is replaced before the next write (see [`Database::after_write`]).
    pub fn writer_failed(&self) {
        self.failed_writes.fetch_add(1, Ordering::AcqRel);
    }

    /// A consistent copy of the whole database written into the (empty) file at `path` (`VACUUM INTO`), read on a
    /// reader so writes go on meanwhile.
    pub async fn copy_into(&self, path: &str) -> Result<(), sqlx::Error> {
        sqlx::query("VACUUM INTO ?")
            .bind(path)
            .execute(&self.reader)
            .await
            .map(|_| ())
    }

    /// How many migrations the database carries.
    pub async fn applied_migrations(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT count(*) FROM refinery_schema_history")
            .fetch_one(&self.reader)
            .await
    }

    /// A read-only connection for a hot read: a free one at once, else the next in turn when it is free.
    pub async fn read(&self) -> Result<ReadConn<'_>, sqlx::Error> {
        let Some(fast) = &self.fast else {
            return Ok(ReadConn::Pooled(self.reader.acquire().await?));
        };
        let free = fast.conns.iter().find_map(|conn| conn.try_lock().ok());
        let guard = match free {
            Some(guard) => guard,
            None => {
                let turn = fast.next.fetch_add(1, Ordering::Relaxed) % fast.conns.len();
                fast.conns[turn].lock().await
            }
        };
        tokio::sync::MutexGuard::try_map(guard, Option::as_mut)
            .map(ReadConn::Fast)
            .map_err(|_| sqlx::Error::PoolClosed)
    }

    /// An in-memory database, read and written through one connection ([`memory_pool`]).
    async fn open_in_memory() -> Result<Self, DbError> {
        let pool = memory_pool("cloudpc-emulator", migrations::runner()).await?;
        Ok(Self {
            writer: pool.clone(),
            reader: pool,
            fast: None,
            failed_writes: Arc::new(AtomicU64::new(0)),
            requests: requests::open_in_memory().await?,
        })
    }

    /// Checkpoints the WAL into the main file and closes every connection (graceful shutdown).
    pub async fn close(&self) {
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.writer)
            .await
        {
            tracing::warn!(error = %e, "WAL checkpoint at shutdown failed");
        }
        self.reader.close().await;
        // The writer closes last: the last connection to a WAL database removes the -wal and -shm files.
        if let Some(fast) = &self.fast {
            for conn in &fast.conns {
                if let Some(conn) = conn.lock().await.take() {
                    let _ = conn.close().await;
                }
            }
        }
        self.writer.close().await;
        requests::close(&self.requests).await;
    }
}

/// An in-memory database lives as long as one connection to it does: migrated by `runner` through a shared-cache
/// name, then kept open for good by a pool of one sqlx connection, for reads and writes alike.
async fn memory_pool(label: &str, runner: refinery::Runner) -> Result<SqlitePool, DbError> {
    let name = format!(
        "file:{label}-{}?mode=memory&cache=shared",
        uuid::Uuid::new_v4().simple()
    );
    let failed =
        |e: &dyn std::fmt::Display| DbError(format!("cannot open an in-memory database: {e}"));
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
        | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
        | rusqlite::OpenFlags::SQLITE_OPEN_URI;
    let mut conn = rusqlite::Connection::open_with_flags(&name, flags).map_err(|e| failed(&e))?;
    runner.run(&mut conn).map_err(|e| failed(&e))?;
    let options = SqliteConnectOptions::from_str(&format!("sqlite:{name}"))
        .map_err(|e| failed(&e))?
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
        .map_err(|e| failed(&e))?;
    drop(conn);
    Ok(pool)
}

/// Applies the embedded migrations and switches the file to WAL (a persistent setting of the file).
fn migrate_file(path: &Path) -> Result<(), DbError> {
    let mut conn = rusqlite::Connection::open(path)
        .map_err(|e| DbError(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| DbError(e.to_string()))?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(|e| {
            DbError(format!(
                "{} is not a usable SQLite database: {e}",
                path.display()
            ))
        })?;
    let failed =
        |e: refinery::Error| DbError(format!("migrations of {} failed: {e}", path.display()));
    // The journal moves to its own file between the main file's V9 and V10 (db/requests.rs).
    migrations::runner()
        .set_target(refinery::Target::Version(requests::MAIN_BEFORE_MOVE))
        .run(&mut conn)
        .map_err(failed)?;
    requests::prepare(path, &conn)?;
    migrations::runner().run(&mut conn).map_err(failed)?;
    Ok(())
}

#[cfg(test)]
mod tests;
