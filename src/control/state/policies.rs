//! The provisioning policies and gallery images of a state document (docs/state.md, docs/policies.md): a policy is
//! checked as a beta create with every enum member checks one, plus `tenantId`, its times and its `assignments`
//! (checked as `assign` checks them); a gallery image as `PUT /_emulator/gallery-images` checks one. Whether a
//! policy's image exists is checked when it is written, after the document's images.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::document::{named, object, tenant_of, timestamp, Scope};
use crate::clock::format_timestamp;
use crate::error::ApiError;
use crate::gallery_images::model::GalleryImage;
use crate::graph::body::JsonObject;
use crate::graph::ApiVersion;
use crate::provisioning_policies::complex::{parse_assign, AssignmentTarget};
use crate::provisioning_policies::domain::{Changes, NewPolicy};

/// One policy of a document, ready to insert.
#[derive(Debug)]
pub struct ImportedPolicy {
    pub tenant_id: String,
    /// Its id is always set: given, or a new one.
    pub new: NewPolicy,
    /// RFC 3339 UTC with milliseconds and `Z`.
    pub created: String,
    pub last_modified: String,
    pub assignments: Vec<AssignmentTarget>,
}

/// A policy entry.
pub fn policy(
    at: &str,
    value: &Value,
    scope: &Scope,
    now: DateTime<Utc>,
) -> Result<ImportedPolicy, ApiError> {
    let mut body = Vec::new();
    let (mut tenant, mut created, mut modified, mut assignments) = (None, None, None, Vec::new());
    for (name, value) in object(at, value)? {
        match name.as_str() {
            _ if value.is_null() => body.push((name, value)),
            "tenantId" => tenant = Some(tenant_of(at, &value)?),
            "createdDateTime" => created = Some(timestamp(at, &name, &value)?),
            "lastModifiedDateTime" => modified = Some(timestamp(at, &name, &value)?),
            "assignments" => {
                let action = JsonObject(vec![("assignments".to_owned(), value)]);
                assignments = parse_assign(&action).map_err(|e| named(at, e))?;
            }
            _ => body.push((name, value)),
        }
    }
    let tenant_id = scope.tenant_for(at, tenant)?;
    let changes =
        Changes::parse(&JsonObject(body), ApiVersion::Beta, true).map_err(|e| named(at, e))?;
    let mut new = changes.create().map_err(|e| named(at, e))?;
    new.id = Some(new.id.unwrap_or_else(uuid::Uuid::new_v4));
    let now = format_timestamp(now);
    Ok(ImportedPolicy {
        tenant_id,
        new,
        created: created.unwrap_or_else(|| now.clone()),
        last_modified: modified.unwrap_or(now),
        assignments,
    })
}

/// A gallery image, checked as `PUT /_emulator/gallery-images` checks one.
pub fn gallery_image(at: &str, value: &Value) -> Result<GalleryImage, ApiError> {
    crate::gallery_images::model::parse_entry(JsonObject(object(at, value)?), None)
        .map_err(|e| named(at, e))
}
