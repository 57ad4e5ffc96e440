//! The request journal (`request_journal`): what clients sent and what they got, for tests and people debugging a
//! client. Entries leave the request path through a bounded channel (a full channel drops the entry and counts it,
//! it never blocks a request); one task writes them in batches, one transaction each, and prunes the oldest rows
//! beyond `--journal-max`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use tokio::sync::{mpsc, oneshot, Mutex, Notify};
use tokio::task::JoinHandle;

use crate::db::Database;
use crate::error::ApiError;

mod text;
pub use text::{body_text, request_body_text, selected_headers};

/// Entries waiting for the writer before new ones are dropped.
const CAPACITY: usize = 16384;
/// Most entries one transaction writes.
const BATCH: usize = 4096;
/// How long a batch may gather before it is written.
const GATHER: std::time::Duration = std::time::Duration::from_millis(100);

/// One answered request.
#[derive(Debug, Clone)]
pub struct JournalEntry {
    pub time: String,
    pub method: String,
    pub path: String,
    pub query: String,
    pub api_version: Option<&'static str>,
    pub status: u16,
    pub duration_us: i64,
    pub request_id: String,
    pub client_request_id: String,
    /// A JSON object of selected headers.
    pub request_headers: String,
    pub request_body: Option<String>,
    pub response_body: Option<String>,
    pub image_id: Option<String>,
    pub fault_id: Option<i64>,
}

enum Msg {
    Entry(Box<JournalEntry>),
    /// Answered once everything sent before it is committed.
    Flush(oneshot::Sender<()>),
}

/// The journal's sending side and its writer task.
pub struct Journal {
    sender: Option<mpsc::Sender<Msg>>,
    /// Ends the writer's gathering at once when a flush is waiting (entries do not wake it).
    flushing: Arc<Notify>,
    task: Mutex<Option<JoinHandle<()>>>,
    /// Entries lost to a full channel.
    pub dropped: AtomicU64,
    /// Longest body kept, in bytes.
    pub body_max: usize,
}

impl Journal {
    /// Starts the writer; with `max` 0 the journal is off and records nothing.
    pub fn spawn(db: Database, max: u64, body_max: usize) -> Self {
        if max == 0 {
            return Self {
                sender: None,
                flushing: Arc::default(),
                task: Mutex::new(None),
                dropped: AtomicU64::new(0),
                body_max,
            };
        }
        let (sender, receiver) = mpsc::channel(CAPACITY);
        let flushing = Arc::new(Notify::new());
        let task = tokio::spawn(write_loop(db, receiver, max, flushing.clone()));
        Self {
            sender: Some(sender),
            flushing,
            task: Mutex::new(Some(task)),
            dropped: AtomicU64::new(0),
            body_max,
        }
    }

    pub fn enabled(&self) -> bool {
        self.sender.is_some()
    }

    /// Queues an entry without waiting.
    pub fn record(&self, entry: JournalEntry) {
        if let Some(sender) = &self.sender {
            if sender.try_send(Msg::Entry(Box::new(entry))).is_err() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Waits until every entry queued so far is in the database.
    pub async fn flush(&self) {
        if let Some(sender) = &self.sender {
            let (done, wait) = oneshot::channel();
            if sender.send(Msg::Flush(done)).await.is_ok() {
                self.flushing.notify_one();
                let _ = wait.await;
            }
        }
    }

    /// Writes what is queued and stops the writer (shutdown).
    pub async fn stop(&self) {
        self.flush().await;
        if let Some(task) = self.task.lock().await.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

async fn write_loop(
    db: Database,
    mut receiver: mpsc::Receiver<Msg>,
    max: u64,
    flushing: Arc<Notify>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while receiver.recv_many(&mut batch, BATCH).await > 0 {
        // Let a batch gather: a transaction per entry or two would cost more than the requests themselves. A flush
        // does not wait.
        if batch.len() < BATCH && !batch.iter().any(|m| matches!(m, Msg::Flush(_))) {
            tokio::select! {
                () = tokio::time::sleep(GATHER) => {}
                () = flushing.notified() => {}
            }
            while batch.len() < BATCH {
                match receiver.try_recv() {
                    Ok(msg) => batch.push(msg),
                    Err(_) => break,
                }
            }
        }
        let mut entries = Vec::new();
        let mut waiting = Vec::new();
        for msg in batch.drain(..) {
            match msg {
                Msg::Entry(e) => entries.push(e),
                Msg::Flush(done) => waiting.push(done),
            }
        }
        if !entries.is_empty() {
            if let Err(e) = write(&db, &entries, max).await {
                tracing::warn!(error = %e, lost = entries.len(), "journal write failed");
            }
        }
        for done in waiting {
            let _ = done.send(());
        }
    }
}

/// How many requests the journal holds, counted from the batches' id ranges (stepped to completion, as every
/// statement here).
pub async fn stored_rows(db: &Database) -> Result<i64, ApiError> {
    let rows: Vec<i64> = sqlx::query_scalar(
        "SELECT coalesce(sum(b.last_id - max(b.first_id, m.first_kept) + 1), 0) \
         FROM request_journal_batches AS b, request_journal_meta AS m WHERE b.last_id >= m.first_kept",
    )
    .fetch_all(&db.reader)
    .await?;
    Ok(rows.first().copied().unwrap_or(0))
}

async fn write(db: &Database, entries: &[Box<JournalEntry>], max: u64) -> Result<(), sqlx::Error> {
    // The journal is diagnostics, not an acknowledged write: its commits skip the fsync (synchronous=NORMAL, which
    // in WAL mode still syncs every checkpoint, so acknowledged images stay safe and the file cannot corrupt). The
    // next image commit (synchronous=FULL) syncs the WAL, journal frames included.
    let mut conn = db.writer.acquire().await?;
    sqlx::query("PRAGMA synchronous = NORMAL")
        .execute(&mut *conn)
        .await?;
    let result = db.after_write(write_batch(&mut conn, entries, max).await);
    let restore = format!("PRAGMA synchronous = {}", db.synchronous);
    sqlx::query(&restore).execute(&mut *conn).await?;
    result
}

/// Stores a batch as one row (a row per entry cost a third of a GET by id: bench/README.md), numbers its entries
/// after the last ones and drops the batches whose entries are all beyond `max`.
async fn write_batch(
    conn: &mut sqlx::SqliteConnection,
    entries: &[Box<JournalEntry>],
    max: u64,
) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    let count = i64::try_from(entries.len()).unwrap_or(i64::MAX);
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
    .bind(text::batch_json(entries))
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
/// (migration V7), filtered by `?1`..`?4` (see [`EntryFilter`]), newest first, at most `?5`. The view cannot be used
/// here: it would expand every batch before the range is applied.
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
        .fetch_all(&db.reader)
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
            .fetch_all(&db.reader)
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
    db.after_write(
        async {
            let mut tx = db.writer.begin().await?;
            for sql in [
                "DELETE FROM request_journal_batches",
                "UPDATE request_journal_meta SET first_kept = next_id",
            ] {
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
mod tests {
    use super::*;

    /// Power-loss durability rests on every image commit running with `synchronous=FULL`: the writer connection must
    /// have it from the start, and again after the journal's own transactions, which relax it for themselves.
    #[tokio::test]
    async fn the_writer_is_back_to_full_sync_after_journal_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.db");
        let db = Database::open(
            path.to_str().unwrap(),
            crate::config::Synchronous::Full,
            None,
        )
        .await
        .unwrap();
        let level = |db: Database| async move {
            sqlx::query_scalar::<_, i64>("PRAGMA synchronous")
                .fetch_one(&db.writer)
                .await
                .unwrap()
        };
        assert_eq!(level(db.clone()).await, 2, "FULL when opened");
        let journal = Journal::spawn(db.clone(), 100, 1000);
        for n in 0..3 {
            journal.record(JournalEntry {
                time: "2026-12-02T00:00:00.000Z".into(),
                method: "GET".into(),
                path: format!("/beta/{n}"),
                query: String::new(),
                api_version: Some("beta"),
                status: 200,
                duration_us: 1,
                request_id: "r".into(),
                client_request_id: "c".into(),
                request_headers: "{}".into(),
                request_body: None,
                response_body: None,
                image_id: None,
                fault_id: None,
            });
            journal.flush().await;
        }
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM request_journal")
            .fetch_one(&db.writer)
            .await
            .unwrap();
        assert_eq!(rows, 3, "the journal wrote");
        assert_eq!(
            level(db.clone()).await,
            2,
            "FULL after the journal's writes"
        );
        journal.stop().await;
        db.close().await;
    }
}
