//! SQL of the source image catalog (`source_images`, see `migrations/V3__lifecycle_and_source_catalog.sql`). Every
//! write is one transaction on the writer connection; every statement is read to completion.

use super::model::{SourceImage, COLUMNS};
use crate::db::Database;
use crate::error::ApiError;
use crate::graph::enums::GraphEnum;

/// Every entry, in creation order.
pub async fn all(db: &Database) -> Result<Vec<SourceImage>, ApiError> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM source_images ORDER BY seq"))
        .fetch_all(&db.reader)
        .await?;
    rows.iter().map(SourceImage::from_row).collect()
}

/// The entry with this resource id (compared case-insensitively).
pub async fn find(db: &Database, id: &str) -> Result<Option<SourceImage>, ApiError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM source_images WHERE resource_id_key = lower(?)"
    ))
    .bind(id)
    .fetch_all(&db.reader)
    .await?;
    rows.first().map(SourceImage::from_row).transpose()
}

/// Inserts the entry, or replaces the one with its resource id (keeping its place in the listing order).
pub async fn upsert(db: &Database, e: &SourceImage) -> Result<SourceImage, ApiError> {
    db.after_write(
        async {
            let sql = format!(
                "{INSERT} VALUES {VALUES} \
                 ON CONFLICT (resource_id_key) DO UPDATE SET resource_id = excluded.resource_id, \
                 display_name = excluded.display_name, subscription_id = excluded.subscription_id, \
                 subscription_display_name = excluded.subscription_display_name, category = excluded.category, \
                 outcome = excluded.outcome, error_code = excluded.error_code, operating_system = excluded.operating_system, \
                 os_build_number = excluded.os_build_number, os_version_number = excluded.os_version_number, \
                 os_status = excluded.os_status, size_in_gb = excluded.size_in_gb, expiration_date = excluded.expiration_date \
                 RETURNING {COLUMNS}"
            );
            let mut tx = db.writer.begin().await?;
            let rows = bind_entry(sqlx::query(&sql), e).fetch_all(&mut *tx).await?;
            tx.commit().await?;
            rows.first()
                .map(SourceImage::from_row)
                .transpose()?
                .ok_or_else(|| ApiError::internal("upsert returned no row"))
        }
        .await,
    )
}

/// Deletes the entry with this resource id; false when there is none.
pub async fn remove(db: &Database, id: &str) -> Result<bool, ApiError> {
    let sql = "DELETE FROM source_images WHERE resource_id_key = lower(?)";
    Ok(db.write_one(sql, id).await? > 0)
}

/// Inserts the entry inside the caller's transaction unless one with its resource id exists; the stored entry when
/// one did (an import decides whether that is a clash).
pub async fn insert_new_in(
    tx: &mut sqlx::SqliteConnection,
    e: &SourceImage,
) -> Result<Option<SourceImage>, ApiError> {
    let existing = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM source_images WHERE resource_id_key = lower(?)"
    ))
    .bind(&e.resource_id)
    .fetch_all(&mut *tx)
    .await?;
    if let Some(row) = existing.first() {
        return SourceImage::from_row(row).map(Some);
    }
    let sql = format!("{INSERT} VALUES {VALUES}");
    bind_entry(sqlx::query(&sql), e).execute(&mut *tx).await?;
    Ok(None)
}

/// The insert's columns, and their placeholders in [`bind_entry`]'s order.
const INSERT: &str =
    "INSERT INTO source_images (resource_id, resource_id_key, display_name, subscription_id, \
     subscription_display_name, category, outcome, error_code, operating_system, os_build_number, \
     os_version_number, os_status, size_in_gb, expiration_date)";
const VALUES: &str = "(?, lower(?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// Binds an entry's values in [`INSERT`]'s column order.
fn bind_entry<'q>(
    query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    e: &'q SourceImage,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    query
        .bind(&e.resource_id)
        .bind(&e.resource_id)
        .bind(&e.display_name)
        .bind(&e.subscription_id)
        .bind(&e.subscription_display_name)
        .bind(e.category.wire())
        .bind(e.outcome.wire())
        .bind(e.error_code.map(GraphEnum::wire))
        .bind(&e.operating_system)
        .bind(&e.os_build_number)
        .bind(&e.os_version_number)
        .bind(e.os_status.map(GraphEnum::wire))
        .bind(e.size_in_gb)
        .bind(&e.expiration_date)
}
