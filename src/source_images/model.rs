//! A catalog entry as stored (`source_images`, see `migrations/V3__lifecycle_and_source_catalog.sql`), its checked
//! form for writes, and its query schema.

use serde::Serialize;
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::properties::SourceProperty;
use crate::device_images::domain::SourceImageResourceId;
use crate::error::ApiError;
use crate::graph::body::JsonObject;
use crate::graph::enums::{
    GraphEnum, ImageErrorCode, ImageOsStatus, ImageStatus, SourceImageCategory,
};
use crate::graph::odata::schema::{Field, QuerySchema};
use crate::graph::resource::Described;
use crate::graph::values::{date, int32, string, text};
use crate::graph::ApiVersion;

/// The columns every query selects.
pub const COLUMNS: &str = "seq, resource_id, display_name, subscription_id, subscription_display_name, category, \
    outcome, error_code, operating_system, os_build_number, os_version_number, os_status, size_in_gb, expiration_date";

/// A catalog entry, as `/_emulator/source-images` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceImage {
    #[serde(skip)]
    pub seq: i64,
    pub resource_id: String,
    pub display_name: String,
    pub subscription_id: String,
    pub subscription_display_name: String,
    pub category: SourceImageCategory,
    /// How an upload of this source ends: `ready` or `failed`.
    pub outcome: ImageStatus,
    pub error_code: Option<ImageErrorCode>,
    pub operating_system: Option<String>,
    pub os_build_number: Option<String>,
    pub os_version_number: Option<String>,
    pub os_status: Option<ImageOsStatus>,
    #[serde(rename = "sizeInGB")]
    pub size_in_gb: Option<i64>,
    pub expiration_date: Option<String>,
}

impl SourceImage {
    pub fn from_row(row: &SqliteRow) -> Result<Self, ApiError> {
        Ok(Self {
            seq: row.try_get("seq")?,
            resource_id: row.try_get("resource_id")?,
            display_name: row.try_get("display_name")?,
            subscription_id: row.try_get("subscription_id")?,
            subscription_display_name: row.try_get("subscription_display_name")?,
            category: stored(row.try_get("category")?)?,
            outcome: stored(row.try_get("outcome")?)?,
            error_code: row
                .try_get::<Option<&str>, _>("error_code")?
                .map(stored)
                .transpose()?,
            operating_system: row.try_get("operating_system")?,
            os_build_number: row.try_get("os_build_number")?,
            os_version_number: row.try_get("os_version_number")?,
            os_status: row
                .try_get::<Option<&str>, _>("os_status")?
                .map(stored)
                .transpose()?,
            size_in_gb: row.try_get("size_in_gb")?,
            expiration_date: row.try_get("expiration_date")?,
        })
    }
}

/// The subscription name of entries that do not give one.
const DEFAULT_SUBSCRIPTION_NAME: &str = "Emulated subscription";

/// A stored enum member, or an internal error.
fn stored<E: GraphEnum>(wire: &str) -> Result<E, ApiError> {
    E::from_wire(wire)
        .ok_or_else(|| ApiError::internal(format!("'{wire}' is not in {}", E::TYPE.name)))
}

/// Builds a checked entry from a control-plane body; `path_id` is the resource id of a `PUT`'s path.
pub fn parse_entry(body: JsonObject, path_id: Option<&str>) -> Result<SourceImage, ApiError> {
    let mut fields: Vec<(String, Value)> = body.0;
    let given_id = fields
        .iter()
        .position(|(k, _)| k == "resourceId")
        .map(|i| fields.remove(i).1)
        .filter(|v| !v.is_null())
        .map(|v| string("resourceId", &v).map(str::to_owned))
        .transpose()?;
    let raw_id = match (path_id, given_id) {
        (Some(p), Some(g)) if !p.eq_ignore_ascii_case(&g) => {
            return Err(ApiError::invalid(
                "resourceId",
                "differs from the resource id in the path",
            ))
        }
        (Some(p), _) => p.to_owned(),
        (None, Some(g)) => g,
        (None, None) => return Err(ApiError::invalid("resourceId", "the property is required")),
    };
    let id = SourceImageResourceId::parse(&raw_id)
        .map_err(|rule| ApiError::invalid("resourceId", rule))?;
    let mut entry = entry_for(&id);
    let mut outcome = None;
    for (name, value) in fields.into_iter().filter(|(_, v)| !v.is_null()) {
        if name == "outcome" {
            outcome = Some(match member::<ImageStatus>(&name, &value)? {
                o @ (ImageStatus::Ready | ImageStatus::Failed) => o,
                _ => return Err(ApiError::invalid(&name, "must be 'ready' or 'failed'")),
            });
        } else {
            set(&mut entry, &name, &value)?;
        }
    }
    entry.outcome = outcome.ok_or_else(|| {
        ApiError::invalid("outcome", "the property is required: 'ready' or 'failed'")
    })?;
    match (entry.outcome, &entry.error_code) {
        (ImageStatus::Failed, None) => Err(ApiError::invalid(
            "errorCode",
            "a failing entry needs the error code its uploads end with",
        )),
        (ImageStatus::Ready, Some(_)) => Err(ApiError::invalid(
            "errorCode",
            "only a failing entry has an error code",
        )),
        _ => Ok(entry),
    }
}

/// The entry a resource id alone makes: its name, subscription and category follow from the id.
fn entry_for(id: &SourceImageResourceId) -> SourceImage {
    let segments: Vec<&str> = id.as_str().split('/').collect();
    let gallery = segments.len() == 13;
    SourceImage {
        seq: 0,
        resource_id: id.as_str().to_owned(),
        display_name: if gallery {
            format!("{} {}", segments[10], segments[12])
        } else {
            segments[8].to_owned()
        },
        subscription_id: segments[2].to_ascii_lowercase(),
        subscription_display_name: DEFAULT_SUBSCRIPTION_NAME.to_owned(),
        category: if gallery {
            SourceImageCategory::AzureComputeGallery
        } else {
            SourceImageCategory::ManagedImage
        },
        outcome: ImageStatus::Pending,
        error_code: None,
        operating_system: None,
        os_build_number: None,
        os_version_number: None,
        os_status: None,
        size_in_gb: None,
        expiration_date: None,
    }
}

/// Sets one property of a body on the entry.
fn set(entry: &mut SourceImage, name: &str, value: &Value) -> Result<(), ApiError> {
    match name {
        "displayName" => entry.display_name = non_empty(name, text(name, value)?)?,
        "subscriptionDisplayName" => {
            entry.subscription_display_name = non_empty(name, text(name, value)?)?
        }
        "subscriptionId" | "category" => derived(name, value, entry)?,
        "errorCode" => entry.error_code = Some(member(name, value)?),
        "operatingSystem" => entry.operating_system = Some(text(name, value)?),
        "osBuildNumber" => entry.os_build_number = Some(text(name, value)?),
        "osVersionNumber" => entry.os_version_number = Some(text(name, value)?),
        "osStatus" => entry.os_status = Some(member(name, value)?),
        "sizeInGB" => entry.size_in_gb = Some(i64::from(int32(name, value)?)),
        "expirationDate" => {
            entry.expiration_date = Some(date(name, value)?.format("%Y-%m-%d").to_string())
        }
        other => {
            return Err(ApiError::BadRequest(format!(
                "The property '{other}' does not exist on a source image catalog entry."
            )))
        }
    }
    Ok(())
}

/// Any member of the enum, evolvable ones included: the control plane is not a Graph version.
fn member<E: GraphEnum>(name: &str, value: &Value) -> Result<E, ApiError> {
    E::parse(string(name, value)?, ApiVersion::Beta, true).map_err(|e| ApiError::invalid(name, e))
}

fn non_empty(name: &str, s: String) -> Result<String, ApiError> {
    if s.trim().is_empty() {
        return Err(ApiError::invalid(name, "must not be empty"));
    }
    Ok(s)
}

/// `subscriptionId` and `category` follow from the resource id; a body may repeat them but not contradict them.
fn derived(name: &str, value: &Value, entry: &SourceImage) -> Result<(), ApiError> {
    let expected = if name == "category" {
        entry.category.wire()
    } else {
        &entry.subscription_id
    };
    match value.as_str() {
        Some(s) if s.eq_ignore_ascii_case(expected) => Ok(()),
        _ => Err(ApiError::invalid(
            name,
            format!("follows from resourceId and is '{expected}'"),
        )),
    }
}

/// The query schema of `getSourceImages`.
pub struct SourceImageSchema;

/// The one instance.
pub static SOURCE_IMAGES: SourceImageSchema = SourceImageSchema;

impl QuerySchema for SourceImageSchema {
    fn type_name(&self) -> &'static str {
        "microsoft.graph.cloudPcSourceDeviceImage"
    }

    fn table(&self) -> &'static str {
        "source_images"
    }

    fn scope_column(&self) -> Option<&'static str> {
        None
    }

    fn field(&self, name: &str, version: ApiVersion) -> Option<Field> {
        SourceProperty::parse(name, version).map(SourceProperty::field)
    }

    fn tie_breaker(&self) -> Field {
        SourceProperty::ResourceId.field()
    }
}
