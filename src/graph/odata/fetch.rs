//! Running a [`CollectionQuery`]: one page of rows with their keyset positions, the count, and the next link.

use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::CollectionQuery;
use crate::db::Database;
use crate::error::ApiError;

/// One page of a collection, ready to be projected.
pub struct Page<T> {
    pub items: Vec<T>,
    /// `@odata.count`, when `$count=true`.
    pub count: Option<i64>,
    pub next_link: Option<String>,
}

/// Fetches the page the query asks for: at most `page_size` (and `$top`) rows of `columns`, each turned into a `T`
/// by `map`; `collection_url` is the absolute URL the next link continues.
pub async fn fetch_page<T>(
    db: &Database,
    query: &CollectionQuery,
    scope: &str,
    columns: &str,
    page_size: u32,
    collection_url: &str,
    map: impl Fn(&SqliteRow) -> Result<T, ApiError>,
) -> Result<Page<T>, ApiError> {
    let limit = query.top.unwrap_or(page_size).min(page_size);
    let statement = query.page_statement(scope, columns, limit + 1)?;
    // fetch_all steps every statement to its end, so no read transaction stays open (the WAL can checkpoint).
    let rows = sqlx::query_with(&statement.sql, statement.arguments()?)
        .fetch_all(&mut *db.read().await?)
        .await?;
    let more = rows.len() > limit as usize;
    let kept = &rows[..rows.len().min(limit as usize)];
    let next_link = match kept.last() {
        Some(last) if more => Some(query.next_link(collection_url, &position(query, last)?)),
        _ => None,
    };
    let count = match query.count {
        true => Some(count(db, query, scope).await?),
        false => None,
    };
    let items = kept.iter().map(map).collect::<Result<_, _>>()?;
    Ok(Page {
        items,
        count,
        next_link,
    })
}

/// How many rows match the query's `$filter`.
pub async fn count(db: &Database, query: &CollectionQuery, scope: &str) -> Result<i64, ApiError> {
    let statement = query.count_statement(scope);
    let counts: Vec<i64> = sqlx::query_scalar_with(&statement.sql, statement.arguments()?)
        .fetch_all(&mut *db.read().await?)
        .await?;
    counts
        .first()
        .copied()
        .ok_or_else(|| ApiError::internal("count(*) returned no row"))
}

/// The keyset position of a row: the values of its sort keys, selected as `k0`, `k1`, ….
fn position(query: &CollectionQuery, row: &SqliteRow) -> Result<Vec<Value>, ApiError> {
    let mut position = Vec::with_capacity(query.order.keys.len());
    for (i, key) in query.order.keys.iter().enumerate() {
        let name = format!("k{i}");
        position.push(if key.integer {
            row.try_get::<Option<i64>, _>(name.as_str())?
                .map_or(Value::Null, Value::from)
        } else {
            row.try_get::<Option<String>, _>(name.as_str())?
                .map_or(Value::Null, Value::from)
        });
    }
    Ok(position)
}
