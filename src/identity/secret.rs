//! The HS256 signing secret of the tokens the emulator mints and (in `--auth jwt`) accepts, when `--jwt-secret` is
//! not given. It lives in a file of its own beside the database, `DATABASE.jwt-secret`, created with mode 0600, and
//! never in the database: a snapshot, a state export or a copy of the database file cannot forge tokens.
//!
//! Databases of earlier versions kept it in `emulator_state.jwt_secret` (V5); the first start moves it to the file
//! and blanks the column, so tokens minted before stay valid.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::db::Database;
use crate::files::private_file;

/// The secret file of a database file; `None` for `:memory:`.
pub fn path(database: &str) -> Option<PathBuf> {
    (database != ":memory:").then(|| PathBuf::from(format!("{database}.jwt-secret")))
}

/// The secret of the database at `database`: read from its file, else moved there from the database's column, else
/// made anew.
pub async fn load(database: &str, db: &Database) -> Result<String, String> {
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT jwt_secret FROM emulator_state WHERE id = 1")
            .fetch_all(&db.reader)
            .await
            .map_err(|e| format!("cannot read the emulator's state: {e}"))?;
    let in_column = stored.into_iter().next().filter(|s| !s.is_empty());
    let Some(file) = path(database) else {
        return Ok(in_column.unwrap_or_else(random));
    };
    let secret = match read(&file)? {
        Some(secret) => secret,
        None => {
            let secret = in_column.clone().unwrap_or_else(random);
            write_new(&file, &secret)?;
            secret
        }
    };
    if in_column.is_some() {
        let mut tx = db.writer.begin().await.map_err(|e| e.to_string())?;
        sqlx::query("UPDATE emulator_state SET jwt_secret = '' WHERE id = 1")
            .execute(&mut *tx)
            .await
            .map_err(|e| format!("cannot move the token secret out of the database: {e}"))?;
        tx.commit().await.map_err(|e| e.to_string())?;
    }
    Ok(secret)
}

/// The secret in `file`, if it exists and holds one.
pub fn read(file: &Path) -> Result<Option<String>, String> {
    match std::fs::read_to_string(file) {
        Ok(text) => Ok(Some(text.trim().to_owned()).filter(|s| !s.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", file.display())),
    }
}

/// 256 random bits as hex.
fn random() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Writes the secret to a new file that only the owner can read from the moment it exists: a temporary file created
/// exclusively with mode 0600, synced, then renamed into place.
fn write_new(file: &Path, secret: &str) -> Result<(), String> {
    let temp = file.with_extension(format!("jwt-secret.{}", uuid::Uuid::new_v4().simple()));
    let fail = |e: std::io::Error| format!("cannot write {}: {e}", file.display());
    let mut f = private_file(&temp).map_err(fail)?;
    let written = f
        .write_all(secret.as_bytes())
        .and_then(|()| f.sync_all())
        .and_then(|()| std::fs::rename(&temp, file));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(fail(e));
    }
    Ok(())
}

/// The secret earlier versions kept in the database file at `database` (opened read-only, for `token print`).
pub async fn legacy_secret(database: &str) -> Result<String, String> {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(database)
        .read_only(true);
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(|e| format!("cannot open {database}: {e}"))?;
    let secrets: Vec<String> =
        sqlx::query_scalar("SELECT jwt_secret FROM emulator_state WHERE id = 1")
            .fetch_all(&pool)
            .await
            .map_err(|e| format!("{database} has no token secret: {e}"))?;
    pool.close().await;
    secrets
        .into_iter()
        .next()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("{database} has no token secret"))
}
