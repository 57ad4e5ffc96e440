//! Group commit of creates (issue 8, PERFORMANCE-NOTES): one task owns the writer connection for a batch, takes every
//! create that is waiting (up to [`BATCH`]), inserts them in one transaction and answers each after the `COMMIT`.
//! One fsync then covers the whole batch, so `synchronous=FULL` stays cheap, and every 201 still follows its commit.
//!
//! A uniqueness violation fails only its own `INSERT` (SQLite's default ABORT resolution rolls back the statement,
//! not the transaction), so that request gets its 409 and the rest of the batch commits.

use tokio::sync::{mpsc, oneshot, Mutex};
use tokio::task::JoinHandle;

use super::domain::NewDeviceImage;
use super::model::DeviceImage;
use super::repository;
use crate::db::Database;
use crate::error::ApiError;

/// Most creates one transaction commits.
const BATCH: usize = 256;

/// One create waiting for the writer.
struct Job {
    tenant_id: String,
    new: NewDeviceImage,
    now: String,
    upload_due_at: Option<String>,
    reply: oneshot::Sender<Result<DeviceImage, ApiError>>,
}

/// The sending side of the create writer.
pub struct CreateWriter {
    sender: mpsc::Sender<Job>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl CreateWriter {
    pub fn spawn(db: Database) -> Self {
        let (sender, receiver) = mpsc::channel(4 * BATCH);
        let task = tokio::spawn(write_loop(db, receiver));
        Self {
            sender,
            task: Mutex::new(Some(task)),
        }
    }

    /// Inserts the image; answers once its transaction committed (or with its own error).
    pub async fn insert(
        &self,
        tenant_id: &str,
        new: NewDeviceImage,
        now: String,
        upload_due_at: Option<String>,
    ) -> Result<DeviceImage, ApiError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            tenant_id: tenant_id.to_owned(),
            new,
            now,
            upload_due_at,
            reply,
        };
        self.sender
            .send(job)
            .await
            .map_err(|_| ApiError::Unavailable("The emulator is shutting down.".into()))?;
        answer
            .await
            .map_err(|_| ApiError::internal("the create writer stopped"))?
    }

    /// Stops the writer. Called once the server has stopped, when every create in flight has been answered.
    pub async fn stop(&self) {
        if let Some(task) = self.task.lock().await.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

async fn write_loop(db: Database, mut receiver: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(BATCH);
    while receiver.recv_many(&mut jobs, BATCH).await > 0 {
        let results = commit_batch(&db, &jobs).await;
        for (job, result) in jobs.drain(..).zip(results) {
            let _ = job.reply.send(result);
        }
    }
}

/// Inserts every job in one transaction; each job's own result, or everyone's error when the commit fails.
async fn commit_batch(db: &Database, jobs: &[Job]) -> Vec<Result<DeviceImage, ApiError>> {
    let all_failed =
        |e: &dyn std::fmt::Display| jobs.iter().map(|_| Err(ApiError::internal(e))).collect();
    let mut tx = match db.writer.begin().await {
        Ok(tx) => tx,
        Err(e) => return all_failed(&e),
    };
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        let result = repository::insert_in(
            &mut tx,
            &job.tenant_id,
            &job.new,
            &job.now,
            job.upload_due_at.as_deref(),
        )
        .await;
        results.push(result);
    }
    match tx.commit().await {
        Ok(()) => results,
        Err(e) => all_failed(&e),
    }
}
