//! The request journal (`request_journal`): what clients sent and what they got, for tests and people debugging a
//! client. A request's entry is written as its JSON text straight into the pending batch, under a lock held for that
//! append only (an entry with large bodies is escaped before it), on the request's own thread: no entry value is
//! allocated, sent to another thread or freed there (that hop cost more than the text itself: bench/README.md). A
//! full batch drops the entry and counts it, it never blocks a request. One task takes the pending batch every 100 ms
//! (sooner when it is large or a flush waits), writes it as one row in one transaction and prunes the oldest rows
//! beyond `--journal-max`, in the journal's own file (`<database>-requests`, `db::Requests`), so that it never holds
//! the image writer's lock nor adds to its syncs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};

use actix_web::http::header::HeaderMap;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use tokio::sync::{watch, Mutex, Notify};
use tokio::task::JoinHandle;

use crate::db::Database;
use crate::error::ApiError;

mod text;
pub use text::{body_text, request_body_text};

/// Entries waiting for the writer before new ones are dropped.
const CAPACITY: usize = 16384;
/// Bytes of entry text waiting for the writer before new entries are dropped (bodies are up to 1 MiB each).
const CAPACITY_BYTES: usize = 64 << 20;
/// A batch this many entries or bytes long is written without waiting for the rest of [`GATHER`].
const BATCH: usize = 4096;
const BATCH_BYTES: usize = 4 << 20;
/// Bodies longer than this (together) are escaped before the batch's lock is taken.
const ESCAPE_OUTSIDE: usize = 4096;
/// How long a batch may gather before it is written.
const GATHER: std::time::Duration = std::time::Duration::from_millis(100);

/// The longest a flush waits for the writer.
const FLUSH_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// One answered request, borrowed from the request and its answer.
#[derive(Debug)]
pub struct JournalEntry<'a> {
    pub time: DateTime<Utc>,
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub api_version: Option<&'static str>,
    pub status: u16,
    pub duration_us: i64,
    pub request_id: &'a str,
    pub client_request_id: &'a str,
    /// The journal keeps a few of them (`text::KEPT_HEADERS`).
    pub request_headers: &'a HeaderMap,
    pub request_body: Option<&'a str>,
    pub response_body: Option<&'a str>,
    pub image_id: Option<&'a str>,
    pub fault_id: Option<i64>,
}

/// The batch being gathered.
#[derive(Default)]
struct Pending {
    /// `[` and the entries' JSON arrays, comma-separated (empty when no entry waits).
    text: Vec<u8>,
    count: usize,
    /// Entries ever appended: a flush waits until the writer has stored this many.
    recorded: u64,
}

/// What the requests and the writer share.
struct Shared {
    pending: std::sync::Mutex<Pending>,
    /// The first entry of a batch arrived (the writer waits for it when nothing is pending).
    arrived: Notify,
    /// A batch is full or a flush waits: the writer stops gathering.
    hurry: Notify,
    /// Entries stored so far (as counted by [`Pending::recorded`]).
    written: watch::Sender<u64>,
}

/// The journal's recording side and its writer task.
pub struct Journal {
    shared: Option<Arc<Shared>>,
    task: Mutex<Option<JoinHandle<()>>>,
    /// Entries lost to a full batch.
    pub dropped: AtomicU64,
    /// Longest body kept, in bytes.
    pub body_max: usize,
}

impl Journal {
    /// Starts the writer; with `max` 0 the journal is off and records nothing.
    pub fn spawn(db: Database, max: u64, body_max: usize) -> Self {
        let (shared, task) = if max == 0 {
            (None, None)
        } else {
            let shared = Arc::new(Shared {
                pending: std::sync::Mutex::default(),
                arrived: Notify::new(),
                hurry: Notify::new(),
                written: watch::Sender::new(0),
            });
            let task = tokio::spawn(write_loop(db, shared.clone(), max));
            (Some(shared), Some(task))
        };
        Self {
            shared,
            task: Mutex::new(task),
            dropped: AtomicU64::new(0),
            body_max,
        }
    }

    pub fn enabled(&self) -> bool {
        self.shared.is_some()
    }

    /// Appends an entry to the pending batch without waiting for the writer.
    pub fn record(&self, entry: &JournalEntry<'_>) {
        let Some(shared) = &self.shared else { return };
        // Large bodies are escaped before the lock is taken, so that another worker's request never waits for that.
        let bodies =
            entry.request_body.map_or(0, str::len) + entry.response_body.map_or(0, str::len);
        let escaped = (bodies > ESCAPE_OUTSIDE).then(|| {
            let mut text = Vec::with_capacity(bodies + 512);
            text::write_entry(&mut text, entry);
            text
        });
        let mut pending = shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if pending.count >= CAPACITY || pending.text.len() >= CAPACITY_BYTES {
            drop(pending);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let first = pending.count == 0;
        pending.text.push(if first { b'[' } else { b',' });
        match &escaped {
            Some(text) => pending.text.extend_from_slice(text),
            None => text::write_entry(&mut pending.text, entry),
        }
        pending.count += 1;
        pending.recorded += 1;
        let full = pending.count >= BATCH || pending.text.len() >= BATCH_BYTES;
        drop(pending);
        if first {
            shared.arrived.notify_one();
        }
        if full {
            shared.hurry.notify_one();
        }
    }

    /// Waits until every entry recorded so far is in the database.
    pub async fn flush(&self) {
        let Some(shared) = &self.shared else { return };
        let target = shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recorded;
        let mut written = shared.written.subscribe();
        if *written.borrow_and_update() >= target {
            return;
        }
        shared.hurry.notify_one();
        // The writer always catches up (a failed write counts as written, and is logged); the bound only keeps a
        // caller from waiting forever should its task have died.
        let _ = tokio::time::timeout(FLUSH_WAIT, written.wait_for(|&n| n >= target)).await;
    }

    /// Writes what is pending and stops the writer (shutdown).
    pub async fn stop(&self) {
        self.flush().await;
        if let Some(task) = self.task.lock().await.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

/// Takes the pending batch whenever one has gathered and writes it. The taken text is swapped for the writer's
/// emptied buffer, so neither side allocates once both have grown to a batch's size.
async fn write_loop(db: Database, shared: Arc<Shared>, max: u64) {
    let mut buffer = Vec::new();
    loop {
        shared.arrived.notified().await;
        // Let a batch gather: a transaction per entry or two would cost more than the requests themselves.
        tokio::select! {
            () = tokio::time::sleep(GATHER) => {}
            () = shared.hurry.notified() => {}
        }
        let (count, recorded) = {
            let mut pending = shared
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            std::mem::swap(&mut pending.text, &mut buffer);
            let count = std::mem::take(&mut pending.count);
            (count, pending.recorded)
        };
        if count > 0 {
            buffer.push(b']');
            if let Err(e) = write(&db, &buffer, count, max).await {
                tracing::warn!(error = %e, lost = count, "journal write failed");
            }
            buffer.clear();
            // A burst of large bodies must not keep its memory for good: both buffers pass through here in turn.
            if buffer.capacity() > 2 * BATCH_BYTES {
                buffer.shrink_to(BATCH_BYTES);
            }
        }
        shared.written.send_replace(recorded);
    }
}

/// How many requests the journal holds, counted from the batches' id ranges (stepped to completion, as every
/// statement here).
pub async fn stored_rows(db: &Database) -> Result<i64, ApiError> {
    let rows: Vec<i64> = sqlx::query_scalar(
        "SELECT coalesce(sum(b.last_id - max(b.first_id, m.first_kept) + 1), 0) \
         FROM request_journal_batches AS b, request_journal_meta AS m WHERE b.last_id >= m.first_kept",
    )
    .fetch_all(&db.requests.pool)
    .await?;
    Ok(rows.first().copied().unwrap_or(0))
}

/// Stores a batch's text (`count` entries) in one transaction, in the journal's own file (`db::Requests`).
async fn write(db: &Database, batch: &[u8], count: usize, max: u64) -> Result<(), sqlx::Error> {
    let requests = &db.requests;
    let mut conn = requests.pool.acquire().await?;
    requests.after_write(write_batch(&mut conn, batch, count, max).await)
}

/// Stores a batch as one row (a row per entry cost a third of a GET by id: bench/README.md), numbers its entries
/// after the last ones and drops the batches whose entries are all beyond `max`.
async fn write_batch(
    conn: &mut sqlx::SqliteConnection,
    batch: &[u8],
    count: usize,
    max: u64,
) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    // Every piece of an entry is written as UTF-8.
    let batch = std::str::from_utf8(batch).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    let mut tx = conn.begin().await?;
    // Read, then update: `UPDATE … RETURNING` would build SQLite's ephemeral table for the returned row (a temporary
    // b-tree and its page cache) on every batch. The writer connection is the only writer.
    let ids: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT next_id, max(first_kept, next_id + ?1 - ?2) FROM request_journal_meta",
    )
    .bind(count)
    .bind(i64::try_from(max).unwrap_or(i64::MAX))
    .fetch_all(&mut *tx)
    .await?;
    let Some(&(first_id, first_kept)) = ids.first() else {
        return Err(sqlx::Error::RowNotFound);
    };
    sqlx::query("UPDATE request_journal_meta SET next_id = ?, first_kept = ?")
        .bind(first_id + count)
        .bind(first_kept)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO request_journal_batches (first_id, last_id, entries) VALUES (?, ?, ?)",
    )
    .bind(first_id)
    .bind(first_id + count - 1)
    .bind(batch)
    .execute(&mut *tx)
    .await?;
    // `first_id < ?1` walks the primary key from the oldest batch; `last_id` has no index.
    sqlx::query("DELETE FROM request_journal_batches WHERE first_id < ?1 AND last_id < ?1")
        .bind(first_kept)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Which entries `/_emulator/requests` wants: each filter that is set narrows the list.
#[derive(Debug, Default)]
pub struct EntryFilter {
    /// Upper case.
    pub method: Option<String>,
    /// A substring of the path, compared case-insensitively.
    pub path: Option<String>,
    pub status: Option<i64>,
    /// RFC 3339 UTC with `Z`, as the journal stores times.
    pub since: Option<String>,
    /// 1 to 1000.
    pub limit: i64,
}

/// The entries of the batches whose first ids are in `?6 ..= ?7`, as the `request_journal` view shows them
/// (`src/db/requests/V1`), filtered by `?1`..`?4` (see [`EntryFilter`]), newest first, at most `?5`. The view cannot
/// be used here: it would expand every batch before the range is applied.
const ENTRIES_OF_BATCHES: &str = "SELECT * FROM (SELECT id, v ->> 0 AS time, v ->> 1 AS method, v ->> 2 AS path, \
     v ->> 3 AS query, v ->> 4 AS api_version, v ->> 5 AS status, v ->> 6 AS duration_us, v ->> 7 AS request_id, \
     v ->> 8 AS client_request_id, v -> 9 AS request_headers, v ->> 10 AS request_body, v ->> 11 AS response_body, \
     v ->> 12 AS image_id, v ->> 13 AS fault_id \
     FROM (SELECT b.first_id + e.key AS id, e.value AS v FROM request_journal_batches AS b, json_each(b.entries) AS e \
           WHERE b.first_id BETWEEN ?6 AND ?7) \
     WHERE id >= (SELECT first_kept FROM request_journal_meta)) \
     WHERE (?1 IS NULL OR method = ?1) AND (?2 IS NULL OR instr(lower(path), lower(?2)) > 0) \
     AND (?3 IS NULL OR status = ?3) AND (?4 IS NULL OR time >= ?4) ORDER BY id DESC LIMIT ?5";

/// Batches one step of [`entries`] expands.
const BATCHES_PER_STEP: i64 = 16;

/// The entries a filter selects, newest first: batches are expanded newest first, a few at a time, until the limit is
/// reached, so a look at the latest requests does not read the whole journal.
pub async fn entries(db: &Database, filter: &EntryFilter) -> Result<Vec<StoredEntry>, ApiError> {
    let mut found = Vec::new();
    let mut before = i64::MAX;
    while (found.len() as i64) < filter.limit {
        let batches: Vec<i64> = sqlx::query_scalar(
            "SELECT first_id FROM request_journal_batches WHERE first_id < ? ORDER BY first_id DESC LIMIT ?",
        )
        .bind(before)
        .bind(BATCHES_PER_STEP)
        .fetch_all(&db.requests.pool)
        .await?;
        let (Some(&newest), Some(&oldest)) = (batches.first(), batches.last()) else {
            break;
        };
        let rows = sqlx::query(ENTRIES_OF_BATCHES)
            .bind(&filter.method)
            .bind(&filter.path)
            .bind(filter.status)
            .bind(&filter.since)
            .bind(filter.limit - found.len() as i64)
            .bind(oldest)
            .bind(newest)
            .fetch_all(&db.requests.pool)
            .await?;
        for row in &rows {
            found.push(StoredEntry::from_row(row)?);
        }
        before = oldest;
    }
    Ok(found)
}

/// Deletes every entry; ids go on from where they were.
pub async fn clear(db: &Database) -> Result<(), ApiError> {
    empty(db, "UPDATE request_journal_meta SET first_kept = next_id").await
}

/// Deletes every entry and numbers the next one 1 (a reset, or an import that replaces everything).
pub async fn restart(db: &Database) -> Result<(), ApiError> {
    empty(
        db,
        "UPDATE request_journal_meta SET next_id = 1, first_kept = 1",
    )
    .await
}

/// Deletes every batch and sets the id counters by `counters`, in one transaction.
async fn empty(db: &Database, counters: &str) -> Result<(), ApiError> {
    let requests = &db.requests;
    requests.after_write(
        async {
            let mut tx = requests.pool.begin().await?;
            for sql in ["DELETE FROM request_journal_batches", counters] {
                sqlx::query(sql).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        }
        .await,
    )
}

/// A journal row as `/_emulator/requests` shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredEntry {
    pub id: i64,
    pub time: String,
    pub method: String,
    pub path: String,
    pub query: String,
    pub api_version: Option<String>,
    pub status: i64,
    pub duration_ms: f64,
    pub request_id: String,
    pub client_request_id: String,
    pub request_headers: Value,
    pub request_body: Option<String>,
    pub response_body: Option<String>,
    pub image_id: Option<String>,
    pub fault_id: Option<i64>,
}

impl StoredEntry {
    fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Self, ApiError> {
        let headers: String = row.try_get("request_headers")?;
        Ok(Self {
            id: row.try_get("id")?,
            time: row.try_get("time")?,
            method: row.try_get("method")?,
            path: row.try_get("path")?,
            query: row.try_get("query")?,
            api_version: row.try_get("api_version")?,
            status: row.try_get("status")?,
            duration_ms: row.try_get::<i64, _>("duration_us")? as f64 / 1000.0,
            request_id: row.try_get("request_id")?,
            client_request_id: row.try_get("client_request_id")?,
            request_headers: serde_json::from_str(&headers).map_err(ApiError::internal)?,
            request_body: row.try_get("request_body")?,
            response_body: row.try_get("response_body")?,
            image_id: row.try_get("image_id")?,
            fault_id: row.try_get("fault_id")?,
        })
    }
}

#[cfg(test)]
mod tests;
