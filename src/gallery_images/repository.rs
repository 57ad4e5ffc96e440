//! SQL of the gallery (`gallery_images`, see `migrations/V9__provisioning_policies_and_gallery_images.sql`). Every
//! write is one transaction on the writer connection; every statement is read to completion.

use super::model::{GalleryImage, COLUMNS};
use crate::db::Database;
use crate::error::ApiError;
use crate::graph::enums::GraphEnum;

/// Every entry, in creation order.
pub async fn all(db: &Database) -> Result<Vec<GalleryImage>, ApiError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM gallery_images ORDER BY seq"
    ))
    .fetch_all(&db.reader)
    .await?;
    rows.iter().map(GalleryImage::from_row).collect()
}

/// The entry with this id (compared case-insensitively).
pub async fn find(db: &Database, id: &str) -> Result<Option<GalleryImage>, ApiError> {
    find_in(&mut *db.read().await?, id).await
}

/// The entry with this id (compared case-insensitively), inside the caller's transaction or on a reader.
pub async fn find_in(
    conn: &mut sqlx::SqliteConnection,
    id: &str,
) -> Result<Option<GalleryImage>, ApiError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM gallery_images WHERE id_key = lower(?)"
    ))
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.first().map(GalleryImage::from_row).transpose()
}

/// The entry with this id (compared case-insensitively) as the SQL expression `json` builds it.
pub async fn find_json(db: &Database, id: &str, json: &str) -> Result<Option<String>, ApiError> {
    let sql = format!("SELECT {json} FROM gallery_images WHERE id_key = lower(?)");
    let rows: Vec<String> = sqlx::query_scalar(&sql)
        .bind(id)
        .fetch_all(&mut *db.read().await?)
        .await?;
    Ok(rows.into_iter().next())
}

/// Inserts the entry, or replaces the one with its id (keeping its place in the listing order).
pub async fn upsert(db: &Database, e: &GalleryImage) -> Result<GalleryImage, ApiError> {
    db.after_write(
        async {
            let sql = format!(
                "{INSERT} VALUES {VALUES} ON CONFLICT (id_key) DO UPDATE SET id = excluded.id, \
                 display_name = excluded.display_name, publisher_name = excluded.publisher_name, \
                 offer_name = excluded.offer_name, sku_name = excluded.sku_name, \
                 offer_display_name = excluded.offer_display_name, sku_display_name = excluded.sku_display_name, \
                 recommended_sku = excluded.recommended_sku, os_version_number = excluded.os_version_number, \
                 size_in_gb = excluded.size_in_gb, start_date = excluded.start_date, end_date = excluded.end_date, \
                 expiration_date = excluded.expiration_date, status = excluded.status RETURNING {COLUMNS}"
            );
            let mut tx = db.writer.begin().await?;
            let rows = bind_entry(sqlx::query(&sql), e).fetch_all(&mut *tx).await?;
            tx.commit().await?;
            rows.first()
                .map(GalleryImage::from_row)
                .transpose()?
                .ok_or_else(|| ApiError::internal("upsert returned no row"))
        }
        .await,
    )
}

/// Deletes the entry with this id; false when there is none. Policies that name it keep their imageId (Graph's
/// gallery retires images under existing policies too).
pub async fn remove(db: &Database, id: &str) -> Result<bool, ApiError> {
    let sql = "DELETE FROM gallery_images WHERE id_key = lower(?)";
    Ok(db.write_one(sql, id).await? > 0)
}

/// Inserts the entry inside the caller's transaction unless one with its id exists; the stored entry when one did
/// (an import decides whether that is a clash).
pub async fn insert_new_in(
    tx: &mut sqlx::SqliteConnection,
    e: &GalleryImage,
) -> Result<Option<GalleryImage>, ApiError> {
    if let Some(stored) = find_in(tx, &e.id).await? {
        return Ok(Some(stored));
    }
    let sql = format!("{INSERT} VALUES {VALUES}");
    bind_entry(sqlx::query(&sql), e).execute(&mut *tx).await?;
    Ok(None)
}

/// The insert's columns, and their placeholders in [`bind_entry`]'s order.
const INSERT: &str = "INSERT INTO gallery_images (id, id_key, display_name, publisher_name, offer_name, sku_name, \
     offer_display_name, sku_display_name, recommended_sku, os_version_number, size_in_gb, start_date, end_date, \
     expiration_date, status)";
const VALUES: &str = "(?, lower(?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// Binds an entry's values in [`INSERT`]'s column order.
fn bind_entry<'q>(
    query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    e: &'q GalleryImage,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    query
        .bind(&e.id)
        .bind(&e.id)
        .bind(&e.display_name)
        .bind(&e.publisher_name)
        .bind(&e.offer_name)
        .bind(&e.sku_name)
        .bind(&e.offer_display_name)
        .bind(&e.sku_display_name)
        .bind(&e.recommended_sku)
        .bind(&e.os_version_number)
        .bind(e.size_in_gb)
        .bind(&e.start_date)
        .bind(&e.end_date)
        .bind(&e.expiration_date)
        .bind(e.status.wire())
}
