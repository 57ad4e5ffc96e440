//! The control plane's SQL: fault rules and the emulator-wide state (`emulator_state`: the clock offset). Handlers
//! parse, call these, and answer; every write is one transaction on the writer connection.

use sqlx::sqlite::SqliteRow;
use sqlx::SqliteConnection;

use super::faults::{Action, FaultRule};
use crate::db::Database;
use crate::error::ApiError;

/// Every stored fault rule, oldest first.
pub async fn fault_rule_rows(db: &Database) -> Result<Vec<SqliteRow>, sqlx::Error> {
    sqlx::query("SELECT * FROM fault_rules ORDER BY id")
        .fetch_all(&db.reader)
        .await
}

/// A rule's action as its columns hold it: the action's name, and the parameters of that action (the others null).
#[derive(Default)]
struct ActionColumns<'a> {
    action: &'static str,
    status: Option<i64>,
    code: Option<&'a str>,
    message: Option<&'a str>,
    retry_after: Option<i64>,
    latency_ms: Option<i64>,
    limit: Option<i64>,
    window_seconds: Option<i64>,
}

impl<'a> ActionColumns<'a> {
    fn of(action: &'a Action) -> Self {
        let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        match action {
            Action::Error {
                status,
                code,
                message,
                retry_after,
            } => Self {
                action: "error",
                status: Some(i64::from(*status)),
                code: Some(code),
                message: Some(message),
                retry_after: retry_after.map(as_i64),
                ..Self::default()
            },
            Action::Latency { latency_ms } => Self {
                action: "latency",
                latency_ms: Some(as_i64(*latency_ms)),
                ..Self::default()
            },
            Action::Throttle {
                limit,
                window_seconds,
            } => Self {
                action: "throttle",
                limit: Some(i64::from(*limit)),
                window_seconds: Some(as_i64(*window_seconds)),
                ..Self::default()
            },
        }
    }
}

/// Stores a rule unless `max_rules` exist already (a 400); returns its id. The writer is one connection, so the
/// count and the insert cannot interleave with another add.
pub async fn insert_fault_rule(
    db: &Database,
    rule: &FaultRule,
    max_rules: i64,
) -> Result<i64, ApiError> {
    db.after_write(
        async {
            let mut tx = db.writer.begin().await?;
            // The writer is one connection, so the count and the insert cannot interleave with another add.
            let stored: Vec<i64> = sqlx::query_scalar("SELECT count(*) FROM fault_rules")
                .fetch_all(&mut *tx)
                .await?;
            if stored.first().copied().unwrap_or(0) >= max_rules {
                return Err(ApiError::BadRequest(format!(
                    "At most {max_rules} fault rules may exist at once; delete some first (DELETE /_emulator/faults)."
                )));
            }
            let id = insert_fault_rule_in(&mut tx, rule)
                .await?
                .ok_or_else(|| ApiError::internal("a new rule's id was taken"))?;
            tx.commit().await?;
            Ok(id)
        }
        .await,
    )
}

/// Deletes one rule, or every rule without an id; returns how many went.
pub async fn delete_fault_rules(db: &Database, id: Option<i64>) -> Result<u64, ApiError> {
    db.after_write(
        async {
            let mut tx = db.writer.begin().await?;
            let done = match id {
                Some(id) => {
                    sqlx::query("DELETE FROM fault_rules WHERE id = ?")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?
                }
                None => {
                    sqlx::query("DELETE FROM fault_rules")
                        .execute(&mut *tx)
                        .await?
                }
            };
            tx.commit().await?;
            Ok(done.rows_affected())
        }
        .await,
    )
}

/// Writes what firings changed: rules whose last firing it was are deleted, the others get their remaining count.
pub async fn write_fault_counts(
    db: &Database,
    expired: &[i64],
    counted: &[(i64, i64)],
) -> Result<(), sqlx::Error> {
    db.after_write(
        async {
            let mut tx = db.writer.begin().await?;
            for id in expired {
                sqlx::query("DELETE FROM fault_rules WHERE id = ?")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            for (id, left) in counted {
                sqlx::query("UPDATE fault_rules SET remaining = ? WHERE id = ?")
                    .bind(left)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        }
        .await,
    )
}

/// Moves the stored clock offset forward by `by_ms` unless that takes it past `max_ms`; the new offset, or `None`
/// when refused.
pub async fn advance_clock(
    db: &Database,
    by_ms: i64,
    max_ms: i64,
) -> Result<Option<i64>, ApiError> {
    db.after_write(
        async {
            let mut tx = db.writer.begin().await?;
            let offsets: Vec<i64> = sqlx::query_scalar(
                "UPDATE emulator_state SET clock_offset_ms = clock_offset_ms + ?1 \
                 WHERE id = 1 AND clock_offset_ms + ?1 <= ?2 RETURNING clock_offset_ms",
            )
            .bind(by_ms)
            .bind(max_ms)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(offsets.first().copied())
        }
        .await,
    )
}

/// Empties every image, provisioning policy and fault rule and sets the clock back, in one transaction, leaving the
/// database as a freshly migrated one (with `catalog`, the source catalog and the gallery return to their seeded
/// entries too); then empties the journal, in its own file, and numbers its next entry 1.
pub async fn reset(db: &Database, catalog: bool) -> Result<(), ApiError> {
    db.after_write::<_, ApiError>(
        async {
            let mut tx = db.writer.begin().await?;
            reset_in(&mut tx, catalog).await?;
            tx.commit().await?;
            Ok(())
        }
        .await,
    )?;
    crate::control::journal::restart(db).await
}

/// [`reset`] inside the caller's transaction, but for the journal: its file is not in the transaction, so the caller
/// calls [`crate::control::journal::restart`] once it committed.
pub async fn reset_in(tx: &mut SqliteConnection, catalog: bool) -> Result<(), sqlx::Error> {
    for sql in [
        // The assignments go with their policies (ON DELETE CASCADE).
        "DELETE FROM provisioning_policies",
        "DELETE FROM device_images",
        "DELETE FROM fault_rules",
        "UPDATE emulator_state SET clock_offset_ms = 0",
        "DELETE FROM sqlite_sequence WHERE name IN ('device_images', 'fault_rules', 'provisioning_policies')",
    ] {
        sqlx::query(sql).execute(&mut *tx).await?;
    }
    if catalog {
        for sql in [
            "DELETE FROM source_images",
            "DELETE FROM sqlite_sequence WHERE name = 'source_images'",
            "INSERT INTO source_images SELECT * FROM source_image_seeds",
            "DELETE FROM gallery_images",
            "DELETE FROM sqlite_sequence WHERE name = 'gallery_images'",
            "INSERT INTO gallery_images SELECT * FROM gallery_image_seeds",
        ] {
            sqlx::query(sql).execute(&mut *tx).await?;
        }
    }
    Ok(())
}

/// Deletes one tenant's images and provisioning policies (`POST /_emulator/reset?tenant=T`); how many images went.
pub async fn reset_tenant(db: &Database, tenant_id: &str) -> Result<u64, ApiError> {
    db.after_write(
        async {
            let mut tx = db.writer.begin().await?;
            let done = reset_tenant_in(&mut tx, tenant_id).await?;
            tx.commit().await?;
            Ok(done)
        }
        .await,
    )
}

/// [`reset_tenant`] inside the caller's transaction.
pub async fn reset_tenant_in(
    tx: &mut SqliteConnection,
    tenant_id: &str,
) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM provisioning_policies WHERE tenant_id = ?")
        .bind(tenant_id)
        .execute(&mut *tx)
        .await?;
    let done = sqlx::query("DELETE FROM device_images WHERE tenant_id = ?")
        .bind(tenant_id)
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected())
}

/// Stores a rule inside the caller's transaction, with its own id when it has one (else the next); `None` when that
/// id is taken.
pub async fn insert_fault_rule_in(
    tx: &mut SqliteConnection,
    rule: &FaultRule,
) -> Result<Option<i64>, sqlx::Error> {
    let c = ActionColumns::of(&rule.action);
    let inserted: Result<Vec<i64>, sqlx::Error> = sqlx::query_scalar(
        "INSERT INTO fault_rules (id, created, method, path_pattern, api_version, action, status, error_code, \
         message, retry_after, latency_ms, throttle_limit, throttle_window_s, probability, remaining) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind((rule.id > 0).then_some(rule.id))
    .bind(&rule.created)
    .bind(&rule.method)
    .bind(&rule.path)
    .bind(&rule.api_version)
    .bind(c.action)
    .bind(c.status)
    .bind(c.code)
    .bind(c.message)
    .bind(c.retry_after)
    .bind(c.latency_ms)
    .bind(c.limit)
    .bind(c.window_seconds)
    .bind(rule.probability)
    .bind(rule.remaining)
    .fetch_all(&mut *tx)
    .await;
    match inserted {
        Ok(ids) => Ok(ids.first().copied()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Sets the stored clock offset inside the caller's transaction.
pub async fn set_clock_in(tx: &mut SqliteConnection, offset_ms: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE emulator_state SET clock_offset_ms = ? WHERE id = 1")
        .bind(offset_ms)
        .execute(&mut *tx)
        .await
        .map(|_| ())
}

/// The clock offset a previous run stored (`POST /_emulator/clock`).
pub async fn clock_offset_ms(db: &Database) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT clock_offset_ms FROM emulator_state WHERE id = 1")
        .fetch_one(&db.reader)
        .await
}
