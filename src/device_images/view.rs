//! The wire view of a device image for one API version (docs/api.md, docs/fidelity.md): the properties of
//! [`super::properties::PROPERTIES`] that the version has, in that order, enums projected for the version; and the
//! same view as SQL for reads, with `$select`.

use std::borrow::Cow;
use std::sync::LazyLock;

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::model::DeviceImage;
pub use super::properties::Property;
use super::properties::PROPERTIES;
use crate::graph::enums::{GraphEnum, ImageStatusDetails};
use crate::graph::resource::json_object_sql;
use crate::graph::resource::Described;
use crate::graph::{ApiVersion, GraphContext};

/// The four whole projections (version × the evolvable-enum preference), in [`projection`] order.
pub const PROJECTIONS: [(ApiVersion, bool); 4] = [
    (ApiVersion::V1, false),
    (ApiVersion::V1, true),
    (ApiVersion::Beta, false),
    (ApiVersion::Beta, true),
];

/// The index of a client's whole projection in [`PROJECTIONS`].
pub fn projection(version: ApiVersion, include_unknown: bool) -> usize {
    usize::from(version == ApiVersion::Beta) * 2 + usize::from(include_unknown)
}

/// The SQL expression that builds an image's JSON for a client of `version` inside SQLite: the same properties,
/// order and enum projection as [`ImageView`] (which answers creates), derived from the same description, and
/// `$select`. The four projections without `$select` are built once.
pub fn json_sql(
    version: ApiVersion,
    include_unknown: bool,
    select: Option<&[Property]>,
) -> Cow<'static, str> {
    static WHOLE: LazyLock<[String; 4]> = LazyLock::new(|| {
        PROJECTIONS.map(|(v, prefer)| json_object_sql::<Property>(v, prefer, |_| true))
    });
    match select {
        None => Cow::Borrowed(WHOLE[projection(version, include_unknown)].as_str()),
        Some(props) => Cow::Owned(json_object_sql::<Property>(version, include_unknown, |p| {
            props.contains(&p)
        })),
    }
}

/// One image as a client of `ctx.version` sees it.
pub struct ImageView<'a> {
    pub image: &'a DeviceImage,
    pub ctx: &'a GraphContext,
    /// `@odata.context`, on single-entity responses only (items in collections carry none).
    pub context: Option<&'a str>,
}

impl ImageView<'_> {
    fn project<E: GraphEnum>(&self, member: E) -> &'static str {
        member.project(self.ctx.version, self.ctx.include_unknown_enum_members)
    }

    fn write<M: SerializeMap>(&self, map: &mut M, property: Property) -> Result<(), M::Error> {
        let i = self.image;
        let name = property.name();
        match property {
            Property::Id => map.serialize_entry(name, &i.id.hyphenated()),
            Property::DisplayName => map.serialize_entry(name, &i.display_name),
            Property::ErrorCode => {
                map.serialize_entry(name, &i.error_code.map(|c| self.project(c)))
            }
            Property::ExpirationDate => map.serialize_entry(name, &i.expiration_date),
            Property::LastModifiedDateTime => map.serialize_entry(name, &i.last_modified_date_time),
            Property::OperatingSystem => map.serialize_entry(name, &i.operating_system),
            Property::OsBuildNumber => map.serialize_entry(name, &i.os_build_number),
            Property::OsStatus => map.serialize_entry(name, &i.os_status.map(|s| self.project(s))),
            Property::OsVersionNumber => map.serialize_entry(name, &i.os_version_number),
            Property::ScopeIds => map.serialize_entry(name, &i.scope_ids),
            Property::SizeInGb => map.serialize_entry(name, &i.size_in_gb),
            Property::SourceImageResourceId => {
                map.serialize_entry(name, &i.source_image_resource_id)
            }
            Property::Status => map.serialize_entry(name, self.project(i.status)),
            // The deprecated twin of errorCode: the same member where statusDetails has it, else the sentinel.
            Property::StatusDetails => map.serialize_entry(
                name,
                &i.error_code.map(|c| {
                    ImageStatusDetails::from_wire(c.wire())
                        .map_or(crate::graph::enums::UNKNOWN_FUTURE_VALUE, |d| {
                            self.project(d)
                        })
                }),
            ),
            Property::Version => map.serialize_entry(name, &i.version),
        }
    }
}

impl Serialize for ImageView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(context) = self.context {
            map.serialize_entry("@odata.context", context)?;
        }
        for property in PROPERTIES.iter().map(|d| d.property) {
            if property.in_version(self.ctx.version) {
                self.write(&mut map, property)?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::enums::{ImageErrorCode, ImageOsStatus, ImageStatus};
    use crate::graph::ApiVersion;

    fn image() -> DeviceImage {
        DeviceImage {
            seq: 1,
            tenant_id: "t".into(),
            id: uuid::Uuid::nil(),
            display_name: "Image".into(),
            version: "1.0.0".into(),
            source_image_resource_id: "/subscriptions/x".into(),
            operating_system: Some("Windows 11".into()),
            os_build_number: Some("22631".into()),
            os_version_number: Some("10.0.22631.1".into()),
            os_status: Some(ImageOsStatus::Supported),
            size_in_gb: Some(64),
            expiration_date: Some("2027-01-01".into()),
            status: ImageStatus::Failed,
            error_code: Some(ImageErrorCode::SourceImageNotFound),
            scope_ids: vec!["0".into()],
            last_modified_date_time: "2026-01-01T00:00:00Z".into(),
        }
    }

    /// Every property of the table is emitted, in the table's order, by exactly the versions that have it.
    #[test]
    fn every_described_property_is_emitted_in_its_versions() {
        let image = image();
        for version in [ApiVersion::V1, ApiVersion::Beta] {
            let ctx = GraphContext {
                version,
                tenant: "t".into(),
                base: "http://localhost/v1.0".into(),
                include_unknown_enum_members: true,
            };
            let view = ImageView {
                image: &image,
                ctx: &ctx,
                context: None,
            };
            let json = serde_json::to_value(&view).unwrap();
            let emitted: Vec<&str> = json
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            let described: Vec<&str> = PROPERTIES
                .iter()
                .filter(|d| d.property.in_version(version))
                .map(|d| d.name)
                .collect();
            let mut sorted = described.clone();
            sorted.sort_unstable();
            assert_eq!(emitted, sorted, "{version:?}");
            assert!(
                json.as_object().unwrap().values().all(|v| !v.is_null()),
                "{version:?}: {json}"
            );
        }
    }
}
