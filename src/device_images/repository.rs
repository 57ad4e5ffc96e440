//! SQL of the device image store. Plain runtime queries with bound parameters; every write is one transaction on
//! the single writer connection, and every statement is stepped to completion (`fetch_all`/`execute`): a statement
//! left half-read keeps a read transaction open, which stops SQLite's WAL auto-checkpoint and lets the WAL grow.

use uuid::Uuid;

use super::domain::NewDeviceImage;
use super::model::{DeviceImage, DeviceImageRow, COLUMNS};
use crate::db::Database;
use crate::error::ApiError;

/// Inserts a new image inside the caller's transaction and reads the row back as stored. The caller commits: see
/// [`super::writer`], which answers only after the commit. (Not `INSERT … RETURNING`: SQLite buffers RETURNING rows in
/// an ephemeral table per statement, which a profile showed at ~12% of a create's instructions.)
pub async fn insert_in(
    tx: &mut sqlx::SqliteConnection,
    tenant_id: &str,
    new: &NewDeviceImage,
    now: &str,
    upload_due_at: Option<&str>,
) -> Result<DeviceImage, ApiError> {
    let id = new.id.unwrap_or_else(Uuid::new_v4);
    let sql = "INSERT INTO device_images (id, tenant_id, display_name, display_name_key, version, \
         source_image_resource_id, operating_system, os_build_number, os_version_number, os_status, size_in_gb, \
         expiration_date, status, error_code, scope_ids, last_modified_date_time, created_date_time, upload_due_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    let scope_ids = serde_json::to_string(&new.scope_ids).map_err(ApiError::internal)?;
    let done = sqlx::query(sql)
        .bind(id.hyphenated().to_string())
        .bind(tenant_id)
        .bind(new.display_name.as_str())
        .bind(new.display_name.key())
        .bind(new.version.as_str())
        .bind(new.source_image_resource_id.as_str())
        .bind(&new.operating_system)
        .bind(&new.os_build_number)
        .bind(&new.os_version_number)
        .bind(new.os_status)
        .bind(new.size_in_gb)
        .bind(
            new.expiration_date
                .map(|d| d.format("%Y-%m-%d").to_string()),
        )
        .bind(new.status)
        .bind(new.error_code)
        .bind(scope_ids)
        .bind(now)
        .bind(now)
        .bind(upload_due_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_or_internal(e, new, id))?;
    let read_back = format!("SELECT {COLUMNS} FROM device_images WHERE seq = ?");
    let rows = sqlx::query_as::<_, DeviceImageRow>(&read_back)
        .bind(done.last_insert_rowid())
        .fetch_all(&mut *tx)
        .await?;
    let row = rows
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("the inserted row could not be read back"))?;
    row.try_into()
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
    let sql = format!("SELECT {COLUMNS} FROM device_images WHERE tenant_id = ? AND id = ?");
    let rows = sqlx::query_as::<_, DeviceImageRow>(&sql)
        .bind(tenant_id)
        .bind(id.hyphenated().to_string())
        .fetch_all(&mut *db.read().await?)
        .await?;
    rows.into_iter()
        .next()
        .map(DeviceImage::try_from)
        .transpose()
}

/// Deletes the image inside the caller's transaction; false when the tenant has no image with this id.
pub async fn delete_in(
    tx: &mut sqlx::SqliteConnection,
    tenant_id: &str,
    id: Uuid,
) -> Result<bool, ApiError> {
    let done = sqlx::query("DELETE FROM device_images WHERE tenant_id = ? AND id = ?")
        .bind(tenant_id)
        .bind(id.hyphenated().to_string())
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected() == 1)
}
