//! The request journal's own SQLite file, `<database>-requests` (docs/control-plane.md).
//!
//! The journal stores a batch of up to megabytes every 100 ms. In the main file that batch held the single writer
//! connection ~8 ms in every 100 and went into the WAL that every image commit syncs: creates ran 7% faster without
//! it (bench/README.md). In a file of its own it has its own lock and its own WAL, and its commits are not synced
//! (`synchronous=NORMAL`: a stored batch survives a crash of the process, not one of the machine; the journal is
//! diagnostics, not an acknowledged write).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool};

use super::{
    create_private, memory_pool, report, writer_options, writer_pool, DbError, StorageFailure,
    BUSY_TIMEOUT,
};
use crate::config::Synchronous;

refinery::embed_migrations!("src/db/requests");

/// Batches are up to 4 MiB of text: large pages chain fewer overflow pages per batch.
const PAGE_SIZE: u32 = 65536;
/// The WAL is checkpointed at 4 MiB: at SQLite's default of 1,000 pages, 64 MiB here, it reached 50 MB in 5 s of
/// creates.
const CHECKPOINT_PAGES: u32 = 64;

/// The last migration of the main file that still holds the journal (its V10 drops it).
pub(super) const MAIN_BEFORE_MOVE: i32 = 9;

/// The journal's store: one connection, for its writes and its (rare) reads alike.
#[derive(Debug, Clone)]
pub struct Requests {
    pub pool: SqlitePool,
    /// Storage failures of writes; the connection is replaced before the next write after one.
    failed: Arc<AtomicU64>,
}

impl Requests {
    /// Reports a write's outcome: after a storage failure the connection is replaced (see `Database::after_write`).
    pub fn after_write<T, E: StorageFailure>(&self, result: Result<T, E>) -> Result<T, E> {
        report(&self.failed, result)
    }
}

/// Where the journal of the database at `database` is stored: the same path with `-requests` appended.
pub(super) fn path_of(database: &Path) -> PathBuf {
    let mut path = database.as_os_str().to_owned();
    path.push("-requests");
    PathBuf::from(path)
}

/// Creates (with mode 0600) and migrates the journal's file beside the main one, and moves into it the journal that
/// a main file migrated before V10 still holds. `main` is the main file's connection, migrated up to
/// [`MAIN_BEFORE_MOVE`].
pub(super) fn prepare(main_path: &Path, main: &rusqlite::Connection) -> Result<(), DbError> {
    let path = path_of(main_path);
    create_private(&path)?;
    let mut conn = rusqlite::Connection::open(&path)
        .map_err(|e| DbError(format!("cannot open {}: {e}", path.display())))?;
    let unusable = |e: rusqlite::Error| {
        DbError(format!(
            "{} is not a usable SQLite database: {e}",
            path.display()
        ))
    };
    conn.busy_timeout(BUSY_TIMEOUT).map_err(unusable)?;
    // Only a new, empty file takes the page size; WAL is a setting of the file, kept from here on.
    conn.pragma_update(None, "page_size", PAGE_SIZE)
        .map_err(unusable)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(unusable)?;
    migrations::runner()
        .run(&mut conn)
        .map_err(|e| DbError(format!("migrations of {} failed: {e}", path.display())))?;
    drop(conn);
    move_journal(main, &path).map_err(|e| {
        DbError(format!(
            "cannot move the request journal into {}: {e}",
            path.display()
        ))
    })
}

/// Copies the batches and id counters of a journal the main file holds into the journal's file, replacing what that
/// holds: the main file's V10 drops them afterwards. Run again after a crash between the two, it copies the same.
fn move_journal(main: &rusqlite::Connection, path: &Path) -> rusqlite::Result<()> {
    let held: bool = main.query_row(
        "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'request_journal_batches'",
        [],
        |row| row.get(0),
    )?;
    if !held {
        return Ok(());
    }
    main.execute("ATTACH DATABASE ?1 AS requests", [path.to_string_lossy()])?;
    let copied = main.execute_batch(
        "BEGIN IMMEDIATE;
         DELETE FROM requests.request_journal_batches;
         INSERT INTO requests.request_journal_batches (first_id, last_id, entries)
             SELECT first_id, last_id, entries FROM main.request_journal_batches;
         UPDATE requests.request_journal_meta
             SET (next_id, first_kept) = (SELECT next_id, first_kept FROM main.request_journal_meta);
         COMMIT;",
    );
    if copied.is_err() && !main.is_autocommit() {
        let _ = main.execute_batch("ROLLBACK");
    }
    let detached = main.execute_batch("DETACH DATABASE requests");
    copied.and(detached)
}

/// The journal's store on its migrated file.
pub(super) async fn open(main_path: &Path) -> Result<Requests, DbError> {
    let path = path_of(main_path);
    let base = SqliteConnectOptions::new()
        .filename(&path)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(BUSY_TIMEOUT)
        .pragma("wal_autocheckpoint", CHECKPOINT_PAGES.to_string());
    let failed = Arc::new(AtomicU64::new(0));
    let pool = writer_pool(failed.clone())
        // SQLite (built with SQLITE_ENABLE_MEMORY_MANAGEMENT) keeps every connection's pages in one pool bounded by
        // their count, not their bytes, and a connection past its own `cache_size` takes the oldest page of any
        // other. Kept, this file's 64-KB pages took the slots of the image connections' aging 4-KB pages and held
        // ~14 MB at a million images (bench/README.md). A batch needs a handful of them again, a read of the journal
        // those it reads: whatever the connection did, its pages are released when it is given back. A connection
        // that cannot release them is closed, and the next use opens another.
        .after_release(|conn, _| {
            Box::pin(async move {
                sqlx::query("PRAGMA shrink_memory").execute(conn).await?;
                Ok(true)
            })
        })
        .connect_with(writer_options(&base, Synchronous::Normal, None))
        .await
        .map_err(|e| DbError(format!("cannot open {}: {e}", path.display())))?;
    Ok(Requests { pool, failed })
}

/// A private in-memory journal beside an in-memory database.
pub(super) async fn open_in_memory() -> Result<Requests, DbError> {
    Ok(Requests {
        pool: memory_pool("cloudpc-emulator-requests", migrations::runner()).await?,
        failed: Arc::new(AtomicU64::new(0)),
    })
}

/// Checkpoints the journal's WAL into its file and closes the connection (graceful shutdown).
pub(super) async fn close(requests: &Requests) {
    if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&requests.pool)
        .await
    {
        tracing::warn!(error = %e, "the journal's WAL checkpoint at shutdown failed");
    }
    requests.pool.close().await;
}
