//! Group commit of creates and deletes (issue 8, bench/README.md): one task owns the writer connection for a batch,
//! takes every write that is waiting (up to [`BATCH`]), runs them in one transaction and answers each after the
//! `COMMIT`.
//! One fsync then covers the whole batch, so `synchronous=FULL` stays cheap, and every 201 still follows its commit.
//!
//! A uniqueness violation fails only its own `INSERT` (SQLite's default ABORT resolution rolls back the statement,
//! not the transaction), so that request gets its 409 and the rest of the batch commits.

use tokio::sync::{mpsc, oneshot, Mutex};
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::domain::NewDeviceImage;
use super::model::DeviceImage;
use super::repository::{self, NewRow};
use crate::db::{Database, StorageFailure};
use crate::error::ApiError;

/// Most creates one transaction commits.
const BATCH: usize = 256;

/// One write waiting for the writer.
enum Job {
    Insert {
        tenant_id: String,
        new: Box<NewDeviceImage>,
        now: String,
        upload_due_at: Option<String>,
        reply: oneshot::Sender<Result<DeviceImage, ApiError>>,
    },
    Delete {
        tenant_id: String,
        id: Uuid,
        reply: oneshot::Sender<Result<bool, ApiError>>,
    },
}

/// What a job did inside the transaction, answered after the commit.
enum Done {
    Inserted(Result<Box<DeviceImage>, ApiError>),
    Deleted(Result<bool, ApiError>),
}

/// The sending side of the create writer.
pub struct GroupWriter {
    sender: mpsc::Sender<Job>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl GroupWriter {
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
        let job = Job::Insert {
            tenant_id: tenant_id.to_owned(),
            new: Box::new(new),
            now,
            upload_due_at,
            reply,
        };
        self.send(job).await?;
        answer
            .await
            .map_err(|_| ApiError::internal("the writer stopped"))?
    }

    /// Deletes the tenant's image; false when there is none. Answers once the transaction committed.
    pub async fn delete(&self, tenant_id: &str, id: Uuid) -> Result<bool, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Delete {
            tenant_id: tenant_id.to_owned(),
            id,
            reply,
        })
        .await?;
        answer
            .await
            .map_err(|_| ApiError::internal("the writer stopped"))?
    }

    async fn send(&self, job: Job) -> Result<(), ApiError> {
        self.sender
            .send(job)
            .await
            .map_err(|_| ApiError::Unavailable("The emulator is shutting down.".into()))
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
            match (job, result) {
                (Job::Insert { reply, .. }, Done::Inserted(r)) => {
                    let _ = reply.send(r.map(|image| *image));
                }
                (Job::Delete { reply, .. }, Done::Deleted(r)) => {
                    let _ = reply.send(r);
                }
                _ => {}
            }
        }
    }
}

/// The create of an insert job.
fn new_row(job: &Job) -> Option<NewRow<'_>> {
    match job {
        Job::Insert {
            tenant_id,
            new,
            now,
            upload_due_at,
            ..
        } => Some(NewRow {
            tenant_id,
            new,
            now,
            upload_due_at: upload_due_at.as_deref(),
        }),
        Job::Delete { .. } => None,
    }
}

/// Runs every job in one transaction; each job's own result, or everyone's error when the commit fails. `results`
/// always holds the results of a prefix of `jobs`: what ran.
async fn commit_batch(db: &Database, jobs: &[Job]) -> Vec<Done> {
    let mut tx = match db.after_write(db.writer.begin().await) {
        Ok(tx) => tx,
        Err(e) => return jobs.iter().map(|job| failed(job, &e)).collect(),
    };
    let mut results = Vec::with_capacity(jobs.len());
    let mut rest = jobs;
    while let Some(first) = rest.first() {
        // Consecutive creates go in together (multi-row statements); a delete runs on its own, in its turn.
        let (ran, done): (usize, Vec<Done>) = match first {
            Job::Delete { tenant_id, id, .. } => (
                1,
                vec![Done::Deleted(
                    repository::delete_in(&mut tx, tenant_id, *id).await,
                )],
            ),
            Job::Insert { .. } => {
                let rows: Vec<NewRow<'_>> = rest.iter().map_while(new_row).collect();
                let done = repository::insert_many_in(&mut tx, &rows).await;
                (
                    rows.len(),
                    done.into_iter()
                        .map(|r| Done::Inserted(r.map(Box::new)))
                        .collect(),
                )
            }
        };
        rest = &rest[ran..];
        let storage_failed = done.iter().any(|d| {
            matches!(
                d,
                Done::Inserted(Err(ApiError::Unavailable(_)))
                    | Done::Deleted(Err(ApiError::Unavailable(_)))
            )
        });
        results.extend(done);
        // The transaction may be gone; running the rest would commit them one by one, outside it.
        if storage_failed {
            break;
        }
    }
    let committed = tx.commit().await;
    answers(db, jobs, results, committed)
}

/// A job's answer when the database failed it.
fn failed(job: &Job, e: &sqlx::Error) -> Done {
    match job {
        Job::Insert { .. } => Done::Inserted(Err(ApiError::from_db(e))),
        Job::Delete { .. } => Done::Deleted(Err(ApiError::from_db(e))),
    }
}

/// What each write of a batch is answered once the commit returned: `results` holds what ran, in order.
fn answers(
    db: &Database,
    jobs: &[Job],
    mut results: Vec<Done>,
    committed: Result<(), sqlx::Error>,
) -> Vec<Done> {
    // A storage failure (a 503) may have rolled the transaction back: see below how each write is answered.
    let storage = results.iter().find_map(|r| match r {
        Done::Inserted(Err(ApiError::Unavailable(m)))
        | Done::Deleted(Err(ApiError::Unavailable(m))) => Some(m.clone()),
        _ => None,
    });
    let unavailable = |job: &Job, message: &str| match job {
        Job::Insert { .. } => Done::Inserted(Err(ApiError::Unavailable(message.to_owned()))),
        Job::Delete { .. } => Done::Deleted(Err(ApiError::Unavailable(message.to_owned()))),
    };
    // The writer reacts to a storage failure here: its connection is replaced before the next batch.
    if storage.is_some()
        || committed
            .as_ref()
            .is_err_and(StorageFailure::is_storage_failure)
    {
        db.writer_failed();
    }
    match (committed, storage) {
        (Ok(()), None) => results,
        // Committed: what ran before the failure stands; what came after it never ran.
        (Ok(()), Some(message)) => {
            let ran = results.len();
            results.extend(jobs[ran..].iter().map(|job| unavailable(job, &message)));
            results
        }
        // Rolled back (SQLite does that by itself after a full disk or an I/O error): nothing of the batch stands.
        (Err(_), Some(message)) => jobs.iter().map(|job| unavailable(job, &message)).collect(),
        (Err(e), None) => jobs.iter().map(|job| failed(job, &e)).collect(),
    }
}
