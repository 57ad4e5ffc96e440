//! State in (docs/state.md): a checked [`StateDocument`] written in one transaction, by `POST /_emulator/import` and
//! by `--seed` at start-up. Either everything in the document is stored, or nothing is.

pub mod document;
pub mod policies;
pub mod seed;

use sqlx::SqliteConnection;

pub use document::{named, ImageDefaults, ImportedImage, Scope, StateDocument};

use crate::control::faults::MAX_RULES;
use crate::control::store;
use crate::db::Database;
use crate::device_images::repository::{self, NewRow};
use crate::error::ApiError;
use crate::gallery_images::model::GalleryImage;
use crate::provisioning_policies::repository as policy_repository;

/// How an import meets what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Adds to it; an image whose id, or displayName and version, is taken is a 409, as a create would be.
    Merge,
    /// Clears it first (everything as a reset does, or the tenant's images), then adds.
    Replace,
}

/// How many entries an import stored.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Imported {
    pub images: usize,
    pub provisioning_policies: usize,
    pub source_images: usize,
    pub gallery_images: usize,
    pub faults: usize,
}

/// Writes the document in one transaction; the first clash rolls everything back. A replace of everything then
/// empties the journal too, as a reset does.
pub async fn apply(
    db: &Database,
    doc: &StateDocument,
    mode: Mode,
    scope: &Scope,
) -> Result<Imported, ApiError> {
    let imported = db.after_write::<_, ApiError>(
        async {
            let mut tx = db.writer.begin().await?;
            let imported = apply_in(&mut tx, doc, mode, scope).await?;
            tx.commit().await?;
            Ok(imported)
        }
        .await,
    )?;
    if mode == Mode::Replace && *scope == Scope::All {
        crate::control::journal::restart(db).await?;
    }
    Ok(imported)
}

/// [`apply`] inside the caller's transaction.
pub async fn apply_in(
    tx: &mut SqliteConnection,
    doc: &StateDocument,
    mode: Mode,
    scope: &Scope,
) -> Result<Imported, ApiError> {
    if mode == Mode::Replace {
        clear(tx, doc, scope).await?;
    }
    let mut imported = Imported::default();
    if let Some(offset) = doc.clock_offset_ms {
        store::set_clock_in(tx, offset).await?;
    }
    for (i, entry) in doc.source_images.iter().flatten().enumerate() {
        match crate::source_images::repository::insert_new_in(tx, entry).await? {
            None => imported.source_images += 1,
            Some(stored) if stored == with_seq(entry, stored.seq) => {}
            Some(_) => {
                return Err(ApiError::Conflict(format!(
                    "sourceImages[{i}]: the catalog has an entry with resourceId '{}' that differs from this one \
                     (import with ?mode=replace, or change it with PUT /_emulator/source-images)",
                    entry.resource_id
                )))
            }
        }
    }
    import_faults(tx, doc, &mut imported).await?;
    for (i, image) in doc.images.iter().enumerate() {
        let row = NewRow {
            tenant_id: &image.tenant_id,
            new: &image.new,
            now: &image.last_modified,
            upload_due_at: image.upload_due_at.as_deref(),
        };
        let id = image.new.id.unwrap_or_else(uuid::Uuid::now_v7);
        repository::insert_one(tx, &row, id)
            .await
            .map_err(|e| named(&format!("images[{i}]"), e))?;
        imported.images += 1;
    }
    import_gallery(tx, doc, &mut imported).await?;
    import_policies(tx, doc, &mut imported).await?;
    Ok(imported)
}

/// What a replace clears first: everything a reset does (and the catalogs the document holds), or the tenant's
/// images and policies.
async fn clear(
    tx: &mut SqliteConnection,
    doc: &StateDocument,
    scope: &Scope,
) -> Result<(), ApiError> {
    match scope {
        Scope::All => {
            store::reset_in(tx, false).await?;
            if doc.source_images.is_some() {
                sqlx::query("DELETE FROM source_images")
                    .execute(&mut *tx)
                    .await?;
            }
            if doc.gallery_images.is_some() {
                sqlx::query("DELETE FROM gallery_images")
                    .execute(&mut *tx)
                    .await?;
            }
        }
        Scope::Tenant(t) => {
            store::reset_tenant_in(tx, t).await?;
        }
    }
    Ok(())
}

/// The document's policies, after its images and gallery: a policy's image is checked as a create checks it.
async fn import_policies(
    tx: &mut SqliteConnection,
    doc: &StateDocument,
    imported: &mut Imported,
) -> Result<(), ApiError> {
    for (i, p) in doc.policies.iter().enumerate() {
        let at = format!("provisioningPolicies[{i}]");
        let (seq, id) = policy_repository::insert_in(
            tx,
            &p.tenant_id,
            p.new.clone(),
            &p.created,
            &p.last_modified,
        )
        .await
        .map_err(|e| named(&at, e))?;
        policy_repository::replace_assignments_in(tx, seq, &id, &p.assignments).await?;
        imported.provisioning_policies += 1;
    }
    Ok(())
}

/// The document's gallery images; an entry equal to the stored one is left alone (every export carries the seeded
/// gallery), a different one is a clash.
async fn import_gallery(
    tx: &mut SqliteConnection,
    doc: &StateDocument,
    imported: &mut Imported,
) -> Result<(), ApiError> {
    for (i, entry) in doc.gallery_images.iter().flatten().enumerate() {
        match crate::gallery_images::repository::insert_new_in(tx, entry).await? {
            None => imported.gallery_images += 1,
            Some(stored) if stored == GalleryImage { seq: stored.seq, ..entry.clone() } => {}
            Some(_) => {
                return Err(ApiError::Conflict(format!(
                    "galleryImages[{i}]: the gallery has an entry with id '{}' that differs from this one (import \
                     with ?mode=replace, or change it with PUT /_emulator/gallery-images)",
                    entry.id
                )))
            }
        }
    }
    Ok(())
}

/// The entry as it would read back with this `seq`.
fn with_seq(
    entry: &crate::source_images::model::SourceImage,
    seq: i64,
) -> crate::source_images::model::SourceImage {
    let mut e = entry.clone();
    e.seq = seq;
    e
}

async fn import_faults(
    tx: &mut SqliteConnection,
    doc: &StateDocument,
    imported: &mut Imported,
) -> Result<(), ApiError> {
    let Some(rules) = &doc.faults else {
        return Ok(());
    };
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM fault_rules")
        .fetch_one(&mut *tx)
        .await?;
    if stored + rules.len() as i64 > MAX_RULES {
        return Err(ApiError::BadRequest(format!(
            "faults: at most {MAX_RULES} fault rules may exist at once; {stored} exist and the document adds {}",
            rules.len()
        )));
    }
    for (i, rule) in rules.iter().enumerate() {
        if store::insert_fault_rule_in(tx, rule).await?.is_none() {
            return Err(ApiError::Conflict(format!(
                "faults[{i}]: a fault rule with id {} exists already",
                rule.id
            )));
        }
        imported.faults += 1;
    }
    Ok(())
}
