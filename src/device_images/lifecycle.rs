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

use super::repository;
use crate::clock::{format_timestamp, Clock};
use crate::db::Database;
use crate::error::ApiError;

/// Most images one transaction moves, so a flood of due uploads never holds the writer for long.
const BATCH: i64 = 500;
/// How often the background task looks for due uploads.
const TICK: Duration = Duration::from_millis(200);

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
            .store(repository::earliest_due_ms(db).await?, Ordering::SeqCst);
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

    pub async fn refresh(&self, db: &Database) -> Result<(), sqlx::Error> {
        let _guard = self.refresh.lock().await;
        self.earliest_ms
            .store(repository::earliest_due_ms(db).await?, Ordering::SeqCst);
        Ok(())
    }
}

/// Applies every transition due at the emulator's `now` and refreshes the hint; returns how many images changed.
pub async fn apply_due(db: &Database, hint: &DueHint, now: &str) -> Result<u64, ApiError> {
    let changed = repository::finish_due_uploads(db, now, BATCH).await?;
    hint.refresh(db).await?;
    Ok(changed)
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
    let retried = repository::restart_upload(
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
