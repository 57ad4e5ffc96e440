//! SQL of the device image store. Plain runtime queries with bound parameters; every write is one transaction on
//! the single writer connection, and every statement is stepped to completion (`fetch_all`/`execute`): a statement
//! left half-read keeps a read transaction open, which stops SQLite's WAL auto-checkpoint and lets the WAL grow.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use uuid::Uuid;

use super::domain::NewDeviceImage;
use super::model::DeviceImage;
use super::properties::{Property, SELECTED_FIRST, SELECT_COLUMNS};
use super::view::{json_sql, projection, PROJECTIONS};
use crate::db::Database;
use crate::error::ApiError;
use crate::graph::enums::GraphEnum;
use crate::graph::resource::Described;
use crate::graph::ApiVersion;

/// The bookkeeping columns a create writes after the properties' own, in the order [`bind_row`] binds them.
const INSERT_INTERNAL: [&str; 4] = [
    "tenant_id",
    "display_name_key",
    "created_date_time",
    "upload_due_at",
];

/// The columns a create writes: every stored property's (in [`PROPERTIES`](super::properties::PROPERTIES) order),
/// then [`INSERT_INTERNAL`].
static INSERT_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    Property::stored()
        .map(|(_, column)| column)
        .chain(INSERT_INTERNAL)
        .collect::<Vec<_>>()
        .join(", ")
});

/// One row's placeholders.
static INSERT_ROW: LazyLock<String> = LazyLock::new(|| {
    let n = Property::stored().count() + INSERT_INTERNAL.len();
    format!("({})", vec!["?"; n].join(", "))
});

/// Most rows one multi-row `INSERT` carries: 18 parameters each, and few distinct statements for sqlx's cache.
const ROWS_PER_INSERT: usize = 32;

type RowQuery<'q> =
    sqlx::query::QueryAs<'q, sqlx::Sqlite, DeviceImage, sqlx::sqlite::SqliteArguments<'q>>;

/// One create of a batch.
pub struct NewRow<'a> {
    pub tenant_id: &'a str,
    pub new: &'a NewDeviceImage,
    pub now: &'a str,
    pub upload_due_at: Option<&'a str>,
}

/// Binds one row's values in [`INSERT_COLUMNS`] order.
fn bind_row<'q>(
    mut query: RowQuery<'q>,
    row: &NewRow<'q>,
    id: Uuid,
) -> Result<RowQuery<'q>, ApiError> {
    let new = row.new;
    for (property, _) in Property::stored() {
        query = match property {
            Property::Id => query.bind(id.hyphenated().to_string()),
            Property::DisplayName => query.bind(new.display_name.as_str()),
            Property::ErrorCode => query.bind(new.error_code.map(GraphEnum::wire)),
            Property::ExpirationDate => query.bind(
                new.expiration_date
                    .map(|d| d.format("%Y-%m-%d").to_string()),
            ),
            // A create is the image's first modification.
            Property::LastModifiedDateTime => query.bind(row.now),
            Property::OperatingSystem => query.bind(&new.operating_system),
            Property::OsBuildNumber => query.bind(&new.os_build_number),
            Property::OsStatus => query.bind(new.os_status.map(GraphEnum::wire)),
            Property::OsVersionNumber => query.bind(&new.os_version_number),
            Property::ScopeIds => {
                query.bind(serde_json::to_string(&new.scope_ids).map_err(ApiError::internal)?)
            }
            Property::SizeInGb => query.bind(new.size_in_gb),
            Property::SourceImageResourceId => query.bind(new.source_image_resource_id.as_str()),
            Property::Status => query.bind(new.status.wire()),
            Property::Version => query.bind(new.version.as_str()),
            // Derived on output: no column.
            Property::StatusDetails => query,
        };
    }
    Ok(query
        .bind(row.tenant_id)
        .bind(new.display_name.key())
        .bind(row.now)
        .bind(row.upload_due_at))
}

/// Inserts new images inside the caller's transaction and reads each back as stored; results in `rows` order. The
/// caller commits: see [`super::writer`], which answers only after the commit.
///
/// One multi-row `INSERT OR IGNORE … RETURNING` per [`ROWS_PER_INSERT`] creates, instead of an `INSERT` and a
/// `SELECT` per create: every statement is a round trip to sqlx's connection thread (a pair of context switches),
/// and `RETURNING`'s ephemeral table is paid once per statement. A create SQLite skipped (a uniqueness conflict,
/// which only the database decides) is inserted again on its own with plain `INSERT`, so it gets its own error
/// (409) exactly as a create alone would, and the others are unaffected.
pub async fn insert_many_in(
    tx: &mut sqlx::SqliteConnection,
    rows: &[NewRow<'_>],
) -> Vec<Result<DeviceImage, ApiError>> {
    let mut results = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        insert_chunk(tx, chunk, &mut results).await;
        // A storage failure may have ended the transaction: the writer answers the rest.
        if matches!(results.last(), Some(Err(ApiError::Unavailable(_)))) {
            break;
        }
    }
    results
}

/// Appends the results of one chunk: all of them, or those before a storage failure and that failure.
async fn insert_chunk(
    tx: &mut sqlx::SqliteConnection,
    chunk: &[NewRow<'_>],
    results: &mut Vec<Result<DeviceImage, ApiError>>,
) {
    // New ids are time-ordered GUIDs (UUIDv7, docs/fidelity.md#choices-where-graph-is-silent): each lands at the
    // right edge of the id index, where the last insert left a page in the cache, instead of on a random leaf.
    let ids: Vec<Uuid> = chunk
        .iter()
        .map(|row| row.new.id.unwrap_or_else(Uuid::now_v7))
        .collect();
    let stored = match insert_or_ignore(tx, chunk, &ids).await {
        Ok(stored) => stored,
        Err(e) => {
            // The statement failed as a whole: no create of the chunk is stored. After a storage failure the
            // writer answers the rest of the batch itself.
            if matches!(e, ApiError::Unavailable(_)) {
                results.push(Err(e));
            } else {
                results.extend(chunk.iter().map(|_| Err(e.clone())));
            }
            return;
        }
    };
    // RETURNING's order is unspecified: match by tenant and id (an id is unique per tenant only). Of two creates
    // with one id in one tenant the first took it (SQLite inserts in VALUES order) and the second finds nothing left
    // here.
    let mut by_id: HashMap<(String, Uuid), DeviceImage> = stored
        .into_iter()
        .map(|image| ((image.tenant_id.clone(), image.id), image))
        .collect();
    for (row, id) in chunk.iter().zip(&ids) {
        let key = (row.tenant_id.to_owned(), *id);
        let result = match by_id.remove(&key) {
            Some(stored) => Ok(stored),
            None => insert_one(tx, row, *id).await,
        };
        let storage = matches!(result, Err(ApiError::Unavailable(_)));
        results.push(result);
        if storage {
            return;
        }
    }
}

async fn insert_or_ignore(
    tx: &mut sqlx::SqliteConnection,
    chunk: &[NewRow<'_>],
    ids: &[Uuid],
) -> Result<Vec<DeviceImage>, ApiError> {
    let values = vec![INSERT_ROW.as_str(); chunk.len()].join(", ");
    let sql = format!(
        "INSERT OR IGNORE INTO device_images ({}) VALUES {values} RETURNING {}",
        *INSERT_COLUMNS, *SELECT_COLUMNS
    );
    let mut query = sqlx::query_as::<_, DeviceImage>(&sql);
    for (row, id) in chunk.iter().zip(ids) {
        query = bind_row(query, row, *id)?;
    }
    Ok(query.fetch_all(&mut *tx).await?)
}

/// One plain `INSERT` inside the caller's transaction: its error is the create's own (a skipped row of a batch comes
/// here, and so does each image of an import).
pub async fn insert_one(
    tx: &mut sqlx::SqliteConnection,
    row: &NewRow<'_>,
    id: Uuid,
) -> Result<DeviceImage, ApiError> {
    let sql = format!(
        "INSERT INTO device_images ({}) VALUES {} RETURNING {}",
        *INSERT_COLUMNS, *INSERT_ROW, *SELECT_COLUMNS
    );
    let stored = bind_row(sqlx::query_as::<_, DeviceImage>(&sql), row, id)?
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| conflict_or_internal(e, row.new, id))?;
    stored
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("the inserted row could not be read back"))
}

/// A uniqueness violation is the client's 409; anything else is ours.
fn conflict_or_internal(e: sqlx::Error, new: &NewDeviceImage, id: Uuid) -> ApiError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            if db.message().contains("device_images.id") {
                ApiError::Conflict(format!("A device image with id '{id}' already exists."))
            } else {
                ApiError::Conflict(format!(
                    "A device image with displayName '{}' and version '{}' already exists; displayName and \
                     version identify an image.",
                    new.display_name.as_str(),
                    new.version.as_str()
                ))
            }
        }
        _ => ApiError::from(e),
    }
}

/// The image with this id in the tenant.
pub async fn get(
    db: &Database,
    tenant_id: &str,
    id: Uuid,
) -> Result<Option<DeviceImage>, ApiError> {
    let sql = format!(
        "SELECT {} FROM device_images WHERE tenant_id = ? AND id = ?",
        *SELECT_COLUMNS
    );
    let rows = sqlx::query_as::<_, DeviceImage>(&sql)
        .bind(tenant_id)
        .bind(id.hyphenated().to_string())
        .fetch_all(&mut *db.read().await?)
        .await?;
    Ok(rows.into_iter().next())
}

/// The image with this id in the tenant as JSON built inside SQLite for a client of `version` (with `$select`; see
/// [`json_sql`]): one value crosses the driver instead of a column each. The four statements without `$select` are
/// built once.
pub async fn get_json(
    db: &Database,
    tenant_id: &str,
    id: Uuid,
    (version, include_unknown): (ApiVersion, bool),
    select: Option<&[Property]>,
) -> Result<Option<String>, ApiError> {
    fn statement(json: &str) -> String {
        format!("SELECT {json} FROM device_images WHERE tenant_id = ? AND id = ?")
    }
    static WHOLE: LazyLock<[String; 4]> =
        LazyLock::new(|| PROJECTIONS.map(|(v, prefer)| statement(&json_sql(v, prefer, None))));
    let sql = match select {
        None => Cow::Borrowed(WHOLE[projection(version, include_unknown)].as_str()),
        Some(_) => Cow::Owned(statement(&json_sql(version, include_unknown, select))),
    };
    let rows: Vec<String> = sqlx::query_scalar(&sql)
        .bind(tenant_id)
        .bind(id.hyphenated().to_string())
        .fetch_all(&mut *db.read().await?)
        .await?;
    Ok(rows.into_iter().next())
}

/// Deletes the image inside the caller's transaction; false when the tenant has no image with this id. An image a
/// provisioning policy of the tenant uses is refused (Graph: "Device images being used in a provisioning policy
/// can't be deleted"): the check and the delete share the transaction, so no policy create can slip in between.
pub async fn delete_in(
    tx: &mut sqlx::SqliteConnection,
    tenant_id: &str,
    id: Uuid,
) -> Result<bool, ApiError> {
    let id = id.hyphenated().to_string();
    let users =
        crate::provisioning_policies::repository::using_image_in(tx, tenant_id, &id).await?;
    if !users.is_empty() {
        let names: Vec<String> = users.iter().take(10).map(|n| format!("'{n}'")).collect();
        return Err(ApiError::BadRequest(format!(
            "The device image '{id}' is used by {} provisioning policy(ies) ({}); device images being used in a \
             provisioning policy can't be deleted. Delete the provisioning policy first and then the device image.",
            users.len(),
            names.join(", ")
        )));
    }
    let done = sqlx::query("DELETE FROM device_images WHERE tenant_id = ? AND id = ?")
        .bind(tenant_id)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A failed image of the tenant goes back to `pending`, its error cleared, due at `due_at`; false when there is no
/// such failed image.
pub async fn restart_upload(
    db: &Database,
    tenant_id: &str,
    id: Uuid,
    now: &str,
    due_at: &str,
) -> Result<bool, ApiError> {
    db.after_write(
        async {
            let mut tx = db.writer.begin().await?;
            let done = sqlx::query(
                "UPDATE device_images SET status = 'pending', error_code = NULL, upload_due_at = ?, \
                 last_modified_date_time = ? WHERE tenant_id = ? AND id = ? AND status = 'failed'",
            )
            .bind(due_at)
            .bind(now)
            .bind(tenant_id)
            .bind(id.hyphenated().to_string())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(done.rows_affected() == 1)
        }
        .await,
    )
}

/// Every image of every tenant (or of one) in creation order, each with when its upload falls due, read in one
/// statement (so the two always belong together).
pub async fn all_with_due(
    db: &Database,
    tenant_id: Option<&str>,
) -> Result<Vec<(DeviceImage, Option<String>)>, ApiError> {
    use sqlx::{FromRow, Row};
    let rows = sqlx::query(&format!(
        "SELECT {}, upload_due_at FROM device_images WHERE ?1 IS NULL OR tenant_id = ?1 ORDER BY seq",
        *SELECT_COLUMNS
    ))
    .bind(tenant_id)
    .fetch_all(&db.reader)
    .await?;
    // upload_due_at follows the selected columns.
    let due_at = SELECTED_FIRST.len() + Property::stored().count();
    rows.iter()
        .map(|row| {
            let image = DeviceImage::from_row(row)?;
            let due: Option<String> = row.try_get(due_at)?;
            Ok((image, due))
        })
        .collect()
}

/// Every tenant that holds an image, in order. A skip-scan over the `(tenant_id, seq)` index: one seek per tenant, so
/// it stays quick at a million images.
pub async fn tenants(db: &Database) -> Result<Vec<String>, ApiError> {
    let tenants: Vec<Option<String>> = sqlx::query_scalar(
        "WITH RECURSIVE t(id) AS ( \
             SELECT min(tenant_id) FROM device_images \
             UNION ALL \
             SELECT (SELECT min(tenant_id) FROM device_images WHERE tenant_id > t.id) FROM t WHERE t.id IS NOT NULL) \
         SELECT id FROM t WHERE id IS NOT NULL",
    )
    .fetch_all(&db.reader)
    .await?;
    Ok(tenants.into_iter().flatten().collect())
}

/// How many images there are of each status, across tenants.
pub async fn count_by_status(db: &Database) -> Result<Vec<(String, i64)>, ApiError> {
    Ok(
        sqlx::query_as(
            "SELECT status, count(*) FROM device_images GROUP BY status ORDER BY status",
        )
        .fetch_all(&db.reader)
        .await?,
    )
}

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

/// The earliest due time of any pending upload, in milliseconds since the epoch; `i64::MAX` when none is pending.
/// Read on the writer, which the transitions and creates that change it go through.
pub async fn earliest_due_ms(db: &Database) -> Result<i64, sqlx::Error> {
    let dues: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT min(upload_due_at) FROM device_images WHERE upload_due_at IS NOT NULL",
    )
    .fetch_all(&db.writer)
    .await?;
    Ok(dues
        .into_iter()
        .flatten()
        .next()
        .and_then(|d| chrono::DateTime::parse_from_rfc3339(&d).ok())
        .map_or(i64::MAX, |d| d.timestamp_millis()))
}

/// Ends every upload due at `now` as its source in the catalog says, `batch` images a transaction, so a flood of due
/// uploads never holds the writer for long; returns how many images changed (docs/lifecycle.md).
pub async fn finish_due_uploads(db: &Database, now: &str, batch: i64) -> Result<u64, ApiError> {
    db.after_write(
        async {
            let due = "WITH due AS (SELECT seq FROM device_images WHERE upload_due_at <= ? ORDER BY upload_due_at LIMIT ?)";
            let mut total = 0;
            loop {
                let mut tx = db.writer.begin().await?;
                let found = sqlx::query(&format!("{due}{FINISH_FROM_CATALOG}"))
                    .bind(now)
                    .bind(batch)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let missing = sqlx::query(&format!("{due}{FINISH_NOT_FOUND}"))
                    .bind(now)
                    .bind(batch)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                total += found + missing;
                if found + missing < batch.unsigned_abs() {
                    return Ok(total);
                }
            }
        }
        .await,
    )
}
