//! The device image collection as the query layer sees it (columns and kinds from [`super::properties`]) and
//! `$select`.

use super::domain::ENTITY_TYPE;
use super::view::Property;
use crate::error::ApiError;
use crate::graph::odata::schema::{Field, QuerySchema};
use crate::graph::resource::{self, Described};
use crate::graph::ApiVersion;

/// The query schema of `deviceImages`.
pub struct DeviceImageSchema;

/// The one instance.
pub static DEVICE_IMAGES: DeviceImageSchema = DeviceImageSchema;

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
        Property::parse(name, version).map(Property::field)
    }

    fn tie_breaker(&self) -> Field {
        Property::Id.field()
    }
}

/// Parses `$select`: property names (case-insensitive), comma-separated; `*` selects everything (`None`).
pub fn parse_select(value: &str, version: ApiVersion) -> Result<Option<Vec<Property>>, ApiError> {
    resource::parse_select(value, version, &DEVICE_IMAGES)
}

/// The `(id,displayName)` part of a context URL for a `$select`.
pub fn select_suffix(select: Option<&[Property]>) -> String {
    resource::select_suffix(select)
}
