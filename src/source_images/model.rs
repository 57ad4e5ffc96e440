//! A catalog entry as stored (`source_images`, see `migrations/V3__lifecycle_and_source_catalog.sql`), its checked
//! form for writes, and its query schema.

use serde::Serialize;
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use crate::device_images::domain::SourceImageResourceId;
use crate::error::ApiError;
use crate::graph::body::JsonObject;
use crate::graph::enums::{EnumType, IMAGE_ERROR_CODE, IMAGE_OS_STATUS, SOURCE_IMAGE_CATEGORY};
use crate::graph::odata::schema::{Field, Kind, QuerySchema};
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
    pub category: String,
    /// How an upload of this source ends: `ready` or `failed`.
    pub outcome: String,
    pub error_code: Option<String>,
    pub operating_system: Option<String>,
    pub os_build_number: Option<String>,
    pub os_version_number: Option<String>,
    pub os_status: Option<String>,
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
            category: row.try_get("category")?,
            outcome: row.try_get("outcome")?,
            error_code: row.try_get("error_code")?,
            operating_system: row.try_get("operating_system")?,
            os_build_number: row.try_get("os_build_number")?,
            os_version_number: row.try_get("os_version_number")?,
            os_status: row.try_get("os_status")?,
            size_in_gb: row.try_get("size_in_gb")?,
            expiration_date: row.try_get("expiration_date")?,
        })
    }
}

/// The subscription name of entries that do not give one.
const DEFAULT_SUBSCRIPTION_NAME: &str = "Emulated subscription";

/// Builds a checked entry from a control-plane body; `path_id` is the resource id of a `PUT`'s path.
pub fn parse_entry(body: JsonObject, path_id: Option<&str>) -> Result<SourceImage, ApiError> {
    let mut fields: Vec<(String, Value)> = body.0;
    let take = |fields: &mut Vec<(String, Value)>, name: &str| {
        fields
            .iter()
            .position(|(k, _)| k == name)
            .map(|i| fields.remove(i).1)
            .filter(|v| !v.is_null())
    };
    let given_id = take(&mut fields, "resourceId")
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
    let segments: Vec<&str> = id.as_str().split('/').collect();
    let gallery = segments.len() == 13;
    let derived_name = if gallery {
        format!("{} {}", segments[10], segments[12])
    } else {
        segments[8].to_owned()
    };
    let mut entry = SourceImage {
        seq: 0,
        resource_id: id.as_str().to_owned(),
        display_name: derived_name,
        subscription_id: segments[2].to_ascii_lowercase(),
        subscription_display_name: DEFAULT_SUBSCRIPTION_NAME.to_owned(),
        category: if gallery {
            "azureComputeGallery"
        } else {
            "managedImage"
        }
        .to_owned(),
        outcome: String::new(),
        error_code: None,
        operating_system: None,
        os_build_number: None,
        os_version_number: None,
        os_status: None,
        size_in_gb: None,
        expiration_date: None,
    };
    for (name, value) in fields.into_iter().filter(|(_, v)| !v.is_null()) {
        match name.as_str() {
            "displayName" => entry.display_name = non_empty(&name, text(&name, &value)?)?,
            "subscriptionDisplayName" => {
                entry.subscription_display_name = non_empty(&name, text(&name, &value)?)?
            }
            "subscriptionId" | "category" => derived(&name, &value, &entry)?,
            "outcome" => entry.outcome = member(&OUTCOME, &name, &value)?,
            "errorCode" => entry.error_code = Some(member(&IMAGE_ERROR_CODE, &name, &value)?),
            "operatingSystem" => entry.operating_system = Some(text(&name, &value)?),
            "osBuildNumber" => entry.os_build_number = Some(text(&name, &value)?),
            "osVersionNumber" => entry.os_version_number = Some(text(&name, &value)?),
            "osStatus" => entry.os_status = Some(member(&IMAGE_OS_STATUS, &name, &value)?),
            "sizeInGB" => entry.size_in_gb = Some(i64::from(int32(&name, &value)?)),
            "expirationDate" => {
                entry.expiration_date = Some(date(&name, &value)?.format("%Y-%m-%d").to_string())
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "The property '{other}' does not exist on a source image catalog entry."
                )))
            }
        }
    }
    match (entry.outcome.as_str(), &entry.error_code) {
        ("", _) => Err(ApiError::invalid(
            "outcome",
            "the property is required: 'ready' or 'failed'",
        )),
        ("failed", None) => Err(ApiError::invalid(
            "errorCode",
            "a failing entry needs the error code its uploads end with",
        )),
        ("ready", Some(_)) => Err(ApiError::invalid(
            "errorCode",
            "only a failing entry has an error code",
        )),
        _ => Ok(entry),
    }
}

/// The two ends of an upload.
static OUTCOME: EnumType = EnumType {
    name: "outcome",
    members: &[
        crate::graph::enums::Member {
            wire: "ready",
            v1: true,
            evolvable: false,
        },
        crate::graph::enums::Member {
            wire: "failed",
            v1: true,
            evolvable: false,
        },
    ],
};

/// Any member of the enum, evolvable ones included: the control plane is not a Graph version.
fn member(ty: &'static EnumType, name: &str, value: &Value) -> Result<String, ApiError> {
    let s = string(name, value)?;
    ty.parse(s, ApiVersion::Beta, true)
        .map(str::to_owned)
        .map_err(|e| ApiError::invalid(name, e))
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
        &entry.category
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
        let beta = version == ApiVersion::Beta;
        let category = Kind::Enum {
            stored: &SOURCE_IMAGE_CATEGORY,
            shown: &SOURCE_IMAGE_CATEGORY,
        };
        let (name, column, kind) = [
            ("resourceId", "resource_id", Kind::Text, true),
            ("displayName", "display_name", Kind::Text, true),
            ("subscriptionId", "subscription_id", Kind::Text, true),
            (
                "subscriptionDisplayName",
                "subscription_display_name",
                Kind::Text,
                true,
            ),
            ("category", "category", category, beta),
            // The deprecated id of beta holds the resource id.
            ("id", "resource_id", Kind::Text, beta),
        ]
        .into_iter()
        .find(|(n, _, _, present)| *present && n.eq_ignore_ascii_case(name))
        .map(|(n, c, k, _)| (n, c, k))?;
        Some(Field { name, column, kind })
    }

    fn tie_breaker(&self) -> Field {
        Field {
            name: "resourceId",
            column: "resource_id",
            kind: Kind::Text,
        }
    }
}
