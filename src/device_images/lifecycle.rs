//! The upload lifecycle (docs/lifecycle.md): `pending → ready | failed`.
//!
//! A pending image stores when its upload finishes (`upload_due_at`, on the emulator's clock). Transitions are applied
//! by a background task, and by every read before it reads, so no client ever sees a pending image past its due time;
//! because the due time is in the row, a restart loses no upload in progress. The outcome comes from the source image
//! catalog (`source_images`), looked up case-insensitively when the upload finishes.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::clock::{format_timestamp, Clock};
use crate::db::Database;
use crate::error::ApiError;

/// Most images one transaction moves, so a flood of due uploads never holds the writer for long.
const BATCH: i64 = 500;
/// How often the background task looks for due uploads.
const TICK: Duration = Duration::from_millis(200);

/// The due uploads of one batch, ended as their source says. `lastModifiedDateTime` becomes the due time: the
/// moment the upload finished, even when the transition is applied later (after a restart).
const FINISH_FROM_CATALOG: &str = "
    UPDATE device_images SET
        status = s.outcome,
        error_code = s.error_code,
        operating_system = CASE WHEN s.outcome = 'ready' THEN coalesce(device_images.operating_system, s.operating_system) ELSE device_images.operating_system END,
        os_build_number = CASE WHEN s.outcome = 'ready' THEN coalesce(device_images.os_build_number, s.os_build_number) ELSE device_images.os_build_number END,
        os_version_number = CASE WHEN s.outcome = 'ready' THEN coalesce(device_images.os_version_number, s.os_version_number) ELSE device_images.os_version_number END,
        os_status = CASE WHEN s.outcome = 'ready' THEN coalesce(device_images.os_status, s.os_status) ELSE device_images.os_status END,
        size_in_gb = CASE WHEN s.outcome = 'ready' THEN coalesce(device_images.size_in_gb, s.size_in_gb) ELSE device_images.size_in_gb END,
        expiration_date = CASE WHEN s.outcome = 'ready' THEN coalesce(device_images.expiration_date, s.expiration_date) ELSE device_images.expiration_date END,
        last_modified_date_time = device_images.upload_due_at,
        upload_due_at = NULL
    FROM source_images AS s
    WHERE s.resource_id_key = lower(device_images.source_image_resource_id)
      AND device_images.seq IN (SELECT seq FROM due)";

/// Due uploads whose source is not in the catalog fail with `sourceImageNotFound`.
const FINISH_NOT_FOUND: &str = "
    UPDATE device_images SET
        status = 'failed',
        error_code = 'sourceImageNotFound',
        last_modified_date_time = upload_due_at,
        upload_due_at = NULL
    WHERE seq IN (SELECT seq FROM due)
      AND NOT EXISTS (SELECT 1 FROM source_images AS s
                      WHERE s.resource_id_key = lower(device_images.source_image_resource_id))";

/// The earliest due time of any pending upload, kept in memory so that a read need not ask the database whether
/// anything is due. Every due time the emulator writes is noted here after its commit; after transitions the hint is
/// read anew from the database, under a lock that keeps a note from slipping between that read and the store.
#[derive(Debug)]
pub struct DueHint {
    /// Milliseconds since the epoch (emulator time); `i64::MAX` when nothing is pending.
    earliest_ms: AtomicI64,
    refresh: tokio::sync::Mutex<()>,
    /// Held by the read that applies due transitions.
    applying: tokio::sync::Mutex<()>,
}

impl DueHint {
    /// The hint as the database has it now.
    pub async fn load(db: &Database) -> Result<Self, sqlx::Error> {
        let hint = Self {
            earliest_ms: AtomicI64::new(i64::MAX),
            refresh: tokio::sync::Mutex::new(()),
            applying: tokio::sync::Mutex::new(()),
        };
        hint.earliest_ms
            .store(earliest_due(db).await?, Ordering::SeqCst);
        Ok(hint)
    }

    /// A due time was committed.
    pub async fn note(&self, due: DateTime<Utc>) {
        let _guard = self.refresh.lock().await;
        self.earliest_ms
            .fetch_min(due.timestamp_millis(), Ordering::SeqCst);
    }

    /// Whether something may be due at `now`.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        now.timestamp_millis() >= self.earliest_ms.load(Ordering::SeqCst)
    }

    async fn refresh(&self, db: &Database) -> Result<(), sqlx::Error> {
        let _guard = self.refresh.lock().await;
        self.earliest_ms
            .store(earliest_due(db).await?, Ordering::SeqCst);
        Ok(())
    }
}

async fn earliest_due(db: &Database) -> Result<i64, sqlx::Error> {
    let dues: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT min(upload_due_at) FROM device_images WHERE upload_due_at IS NOT NULL",
    )
    .fetch_all(&db.writer)
    .await?;
    Ok(dues
        .into_iter()
        .flatten()
        .next()
        .and_then(|d| DateTime::parse_from_rfc3339(&d).ok())
        .map_or(i64::MAX, |d| d.timestamp_millis()))
}

/// Applies every transition due at the emulator's `now` and refreshes the hint; returns how many images changed.
pub async fn apply_due(db: &Database, hint: &DueHint, now: &str) -> Result<u64, ApiError> {
    let changed = apply_due_rows(db, now).await?;
    hint.refresh(db).await?;
    Ok(changed)
}

async fn apply_due_rows(db: &Database, now: &str) -> Result<u64, ApiError> {
    let due = "WITH due AS (SELECT seq FROM device_images WHERE upload_due_at <= ? ORDER BY upload_due_at LIMIT ?)";
    let mut total = 0;
    loop {
        let mut tx = db.writer.begin().await?;
        let found = sqlx::query(&format!("{due}{FINISH_FROM_CATALOG}"))
            .bind(now)
            .bind(BATCH)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let missing = sqlx::query(&format!("{due}{FINISH_NOT_FOUND}"))
            .bind(now)
            .bind(BATCH)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        total += found + missing;
        if found + missing < BATCH as u64 {
            return Ok(total);
        }
    }
}

/// Brings the database up to the emulator's now before a read; free unless the hint says something is due. Reads
/// that find something due at once apply it one at a time: the first does the work, the others then find it done.
pub async fn settle(db: &Database, clock: &Clock, due: &DueHint) -> Result<(), ApiError> {
    if !due.is_due(clock.now()) {
        return Ok(());
    }
    let _one_at_a_time = due.applying.lock().await;
    let now = clock.now();
    if due.is_due(now) {
        apply_due(db, due, &format_timestamp(now)).await?;
    }
    Ok(())
}

/// `retryUpload`/`reupload`: a failed image goes back to `pending` with its error cleared and a new due time, after
/// `upload`. Returns false when the image is not failed (the caller tells 404 from 400).
pub async fn retry(
    db: &Database,
    clock: &Clock,
    due: &DueHint,
    upload: chrono::Duration,
    tenant_id: &str,
    id: Uuid,
) -> Result<bool, ApiError> {
    settle(db, clock, due).await?;
    let now = clock.now();
    let due_at = now + upload;
    let retried = super::repository::restart_upload(
        db,
        tenant_id,
        id,
        &format_timestamp(now),
        &format_timestamp(due_at),
    )
    .await?;
    if retried {
        due.note(due_at).await;
    }
    Ok(retried)
}

/// The background task that applies due transitions, so the SQLite file is current even when nobody reads.
pub struct Worker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Worker {
    /// Starts the task; it applies what is due at once (a restart completes overdue uploads), then every tick.
    pub fn spawn(db: Database, clock: Arc<Clock>, hint: Arc<DueHint>) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                let now = clock.now();
                if hint.is_due(now) {
                    if let Err(e) = apply_due(&db, &hint, &format_timestamp(now)).await {
                        tracing::warn!(error = %e, "applying due uploads failed; retrying");
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(TICK) => {}
                    _ = stopped.changed() => return,
                }
            }
        });
        Self { stop, task }
    }

    /// Stops the task and waits for it, before the database closes.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
