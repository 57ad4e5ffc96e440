//! The device image collection as the query layer sees it: columns, kinds and `$select`.

use super::domain::ENTITY_TYPE;
use super::view::Property;
use crate::error::ApiError;
use crate::graph::enums::{IMAGE_ERROR_CODE, IMAGE_OS_STATUS, IMAGE_STATUS, IMAGE_STATUS_DETAILS};
use crate::graph::odata::schema::{Field, Kind, QuerySchema};
use crate::graph::ApiVersion;

/// The query schema of `deviceImages`.
pub struct DeviceImageSchema;

/// The one instance.
pub static DEVICE_IMAGES: DeviceImageSchema = DeviceImageSchema;

/// A property's column and kind.
pub fn column(p: Property) -> (&'static str, Kind) {
    match p {
        Property::Id => ("id", Kind::Guid),
        // Compared on its stored case-fold, the same fold that decides uniqueness.
        Property::DisplayName => ("display_name_key", Kind::Folded),
        Property::ErrorCode => (
            "error_code",
            Kind::Enum {
                stored: &IMAGE_ERROR_CODE,
                shown: &IMAGE_ERROR_CODE,
            },
        ),
        Property::ExpirationDate => ("expiration_date", Kind::Date),
        Property::LastModifiedDateTime => ("last_modified_date_time", Kind::DateTime),
        Property::OperatingSystem => ("operating_system", Kind::Text),
        Property::OsBuildNumber => ("os_build_number", Kind::Text),
        Property::OsStatus => (
            "os_status",
            Kind::Enum {
                stored: &IMAGE_OS_STATUS,
                shown: &IMAGE_OS_STATUS,
            },
        ),
        Property::OsVersionNumber => ("os_version_number", Kind::Text),
        Property::ScopeIds => ("scope_ids", Kind::Collection),
        Property::SizeInGb => ("size_in_gb", Kind::Int),
        Property::SourceImageResourceId => ("source_image_resource_id", Kind::Text),
        Property::Status => (
            "status",
            Kind::Enum {
                stored: &IMAGE_STATUS,
                shown: &IMAGE_STATUS,
            },
        ),
        // Derived from errorCode on output, so filtered on error_code through statusDetails' members.
        Property::StatusDetails => (
            "error_code",
            Kind::Enum {
                stored: &IMAGE_ERROR_CODE,
                shown: &IMAGE_STATUS_DETAILS,
            },
        ),
        Property::Version => ("version", Kind::Text),
    }
}

fn field(p: Property) -> Field {
    let (column, kind) = column(p);
    Field {
        name: p.name(),
        column,
        kind,
    }
}

impl QuerySchema for DeviceImageSchema {
    fn type_name(&self) -> &'static str {
        ENTITY_TYPE
    }

    fn table(&self) -> &'static str {
        "device_images"
    }

    fn scope_column(&self) -> Option<&'static str> {
        Some("tenant_id")
    }

    fn field(&self, name: &str, version: ApiVersion) -> Option<Field> {
        Property::parse(name, version).map(field)
    }

    fn tie_breaker(&self) -> Field {
        field(Property::Id)
    }
}

/// Parses `$select`: property names (case-insensitive), comma-separated; `*` selects everything (`None`).
pub fn parse_select(value: &str, version: ApiVersion) -> Result<Option<Vec<Property>>, ApiError> {
    let mut selected = Vec::new();
    for name in value.split(',').map(str::trim) {
        if name == "*" {
            return Ok(None);
        }
        if name.is_empty() {
            return Err(ApiError::BadRequest(
                "Invalid $select: an empty property name.".into(),
            ));
        }
        let p = Property::parse(name, version)
            .ok_or_else(|| DEVICE_IMAGES.unknown(name, "$select", None))?;
        if !selected.contains(&p) {
            selected.push(p);
        }
    }
    Ok(Some(selected))
}

/// The `(id,displayName)` part of a context URL for a `$select`.
pub fn select_suffix(select: Option<&[Property]>) -> String {
    match select {
        None => String::new(),
        Some(props) => {
            let names: Vec<&str> = props.iter().map(|p| p.name()).collect();
            format!("({})", names.join(","))
        }
    }
}
