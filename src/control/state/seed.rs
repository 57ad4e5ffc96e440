//! `--seed FILE` (docs/state.md#seed): a state document applied at start-up, before the emulator listens. By default
//! only at the first start of a new database; with `--seed-mode always` at every start, after a reset. The seed and
//! the database's "seed pending" flag are written in one transaction, so a bad seed changes nothing and a start
//! killed half-way applies it again.

use std::path::Path;

use super::{apply_in, ImageDefaults, Imported, Mode, Scope, StateDocument};
use crate::config::{SeedMode, Settings};
use crate::db::Database;
use crate::graph::body::{parse_object, JsonObject};

/// Applies the seed the settings name, if it is due; what it stored, `None` when nothing was applied. The error is
/// the sentence the binary prints before it exits.
pub async fn apply(db: &Database, settings: &Settings) -> Result<Option<Imported>, String> {
    let pending: bool = sqlx::query_scalar("SELECT seed_pending FROM emulator_state WHERE id = 1")
        .fetch_one(&db.reader)
        .await
        .map_err(|e| format!("cannot read the emulator's state: {e}"))?;
    let due = match (&settings.seed, settings.seed_mode) {
        (None, _) => None,
        (Some(_), SeedMode::New) if !pending => {
            tracing::info!("the seed is not applied: the database is not new (see --seed-mode)");
            None
        }
        (Some(file), _) => Some(read(file, settings).await?),
    };
    if due.is_none() && !pending {
        return Ok(None);
    }
    let outcome = async {
        let mut tx = db.writer.begin().await?;
        let imported = match &due {
            // The seed is the state: a reset (the catalog too, when the seed has one), then the seed.
            Some(doc) => Some(apply_in(&mut tx, doc, Mode::Replace, &Scope::All).await?),
            None => None,
        };
        sqlx::query("UPDATE emulator_state SET seed_pending = 0 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(imported)
    }
    .await;
    let imported = db
        .after_write(outcome)
        .map_err(|e: crate::error::ApiError| {
            format!("seed {}: {}", seed_name(settings), reason(&e))
        })?;
    if let Some(n) = &imported {
        // The seed replaced everything, as a reset does: the journal starts again too.
        crate::control::journal::restart(db)
            .await
            .map_err(|e| format!("seed {}: {}", seed_name(settings), reason(&e)))?;
        tracing::info!(
            images = n.images,
            source_images = n.source_images,
            faults = n.faults,
            "seed applied"
        );
    }
    Ok(imported)
}

fn seed_name(settings: &Settings) -> String {
    settings.seed.clone().unwrap_or_default()
}

/// Reads and checks the seed file: JSON, or YAML when its name ends in `.yaml` or `.yml`.
async fn read(file: &str, settings: &Settings) -> Result<StateDocument, String> {
    let fail = |what: String| format!("seed {file}: {what}");
    let text = std::fs::read_to_string(file).map_err(|e| fail(format!("cannot read it: {e}")))?;
    let yaml = Path::new(file)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    let body = if yaml {
        let value: serde_json::Value =
            serde_yaml::from_str(&text).map_err(|e| fail(format!("not valid YAML: {e}")))?;
        match value {
            serde_json::Value::Object(map) => JsonObject(map.into_iter().collect()),
            _ => {
                return Err(fail(
                    "must be a mapping (images, sourceImages, faults, clock)".into(),
                ))
            }
        }
    } else {
        parse_object(text.as_bytes()).map_err(|e| fail(e.message()))?
    };
    let defaults = ImageDefaults {
        wall: chrono::Utc::now(),
        offset_ms: 0,
        upload_seconds: settings.upload_duration,
    };
    StateDocument::parse(body, &Scope::All, &defaults).map_err(|e| fail(e.message()))
}

/// What went wrong, for the operator: an internal cause is shown here (it goes to the terminal, not to a client).
fn reason(e: &crate::error::ApiError) -> String {
    match e {
        crate::error::ApiError::Internal(cause) => cause.clone(),
        other => other.message(),
    }
}
