//! The device image collection as the query layer sees it (columns and kinds from [`super::properties`]) and
//! `$select`.

use super::domain::ENTITY_TYPE;
use super::view::Property;
use crate::error::ApiError;
use crate::graph::odata::schema::{Field, QuerySchema};
use crate::graph::resource::Described;
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
