//! The wire view of a device image for one API version (docs/api.md, docs/fidelity.md): which properties exist, how enums are
//! projected, and `$select`. Version differences live here and in [`crate::graph::enums`], nowhere else.

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::model::DeviceImage;
use crate::graph::enums::{
    EnumType, IMAGE_ERROR_CODE, IMAGE_OS_STATUS, IMAGE_STATUS, IMAGE_STATUS_DETAILS,
};
use crate::graph::{ApiVersion, GraphContext};

/// A property of `cloudPcDeviceImage`, in the order the emulator emits them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Property {
    Id,
    DisplayName,
    ErrorCode,
    ExpirationDate,
    LastModifiedDateTime,
    OperatingSystem,
    OsBuildNumber,
    OsStatus,
    OsVersionNumber,
    ScopeIds,
    SizeInGb,
    SourceImageResourceId,
    Status,
    StatusDetails,
    Version,
}

impl Property {
    pub const ALL: [Property; 15] = [
        Self::Id,
        Self::DisplayName,
        Self::ErrorCode,
        Self::ExpirationDate,
        Self::LastModifiedDateTime,
        Self::OperatingSystem,
        Self::OsBuildNumber,
        Self::OsStatus,
        Self::OsVersionNumber,
        Self::ScopeIds,
        Self::SizeInGb,
        Self::SourceImageResourceId,
        Self::Status,
        Self::StatusDetails,
        Self::Version,
    ];

    /// The JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::DisplayName => "displayName",
            Self::ErrorCode => "errorCode",
            Self::ExpirationDate => "expirationDate",
            Self::LastModifiedDateTime => "lastModifiedDateTime",
            Self::OperatingSystem => "operatingSystem",
            Self::OsBuildNumber => "osBuildNumber",
            Self::OsStatus => "osStatus",
            Self::OsVersionNumber => "osVersionNumber",
            Self::ScopeIds => "scopeIds",
            Self::SizeInGb => "sizeInGB",
            Self::SourceImageResourceId => "sourceImageResourceId",
            Self::Status => "status",
            Self::StatusDetails => "statusDetails",
            Self::Version => "version",
        }
    }

    /// v1.0 has neither `scopeIds` nor the deprecated `statusDetails`.
    pub fn in_version(self, version: ApiVersion) -> bool {
        version == ApiVersion::Beta || !matches!(self, Self::ScopeIds | Self::StatusDetails)
    }

    /// Looks a property up by name, case-insensitively (docs/fidelity.md#paging-and-query-options), within a version.
    pub fn parse(name: &str, version: ApiVersion) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name) && p.in_version(version))
    }
}

/// One image as a client of `ctx.version` sees it.
pub struct ImageView<'a> {
    pub image: &'a DeviceImage,
    pub ctx: &'a GraphContext,
    /// `$select`; `None` emits every property of the version.
    pub select: Option<&'a [Property]>,
    /// `@odata.context`, on single-entity responses only (items in collections carry none).
    pub context: Option<&'a str>,
}

impl ImageView<'_> {
    fn project(&self, ty: &EnumType, stored: &str) -> &'static str {
        ty.project(
            stored,
            self.ctx.version,
            self.ctx.include_unknown_enum_members,
        )
    }

    fn write<M: SerializeMap>(&self, map: &mut M, property: Property) -> Result<(), M::Error> {
        let i = self.image;
        let name = property.name();
        match property {
            Property::Id => map.serialize_entry(name, &i.id.hyphenated()),
            Property::DisplayName => map.serialize_entry(name, &i.display_name),
            Property::ErrorCode => map.serialize_entry(
                name,
                &i.error_code.map(|c| self.project(&IMAGE_ERROR_CODE, c)),
            ),
            Property::ExpirationDate => map.serialize_entry(name, &i.expiration_date),
            Property::LastModifiedDateTime => map.serialize_entry(name, &i.last_modified_date_time),
            Property::OperatingSystem => map.serialize_entry(name, &i.operating_system),
            Property::OsBuildNumber => map.serialize_entry(name, &i.os_build_number),
            Property::OsStatus => map.serialize_entry(
                name,
                &i.os_status.map(|s| self.project(&IMAGE_OS_STATUS, s)),
            ),
            Property::OsVersionNumber => map.serialize_entry(name, &i.os_version_number),
            Property::ScopeIds => map.serialize_entry(name, &i.scope_ids),
            Property::SizeInGb => map.serialize_entry(name, &i.size_in_gb),
            Property::SourceImageResourceId => {
                map.serialize_entry(name, &i.source_image_resource_id)
            }
            Property::Status => map.serialize_entry(name, self.project(&IMAGE_STATUS, i.status)),
            // The deprecated twin of errorCode: the same member where statusDetails has it, else the sentinel.
            Property::StatusDetails => map.serialize_entry(
                name,
                &i.error_code.map(|c| self.project(&IMAGE_STATUS_DETAILS, c)),
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
        for property in Property::ALL {
            let selected = self.select.is_none_or(|s| s.contains(&property));
            if selected && property.in_version(self.ctx.version) {
                self.write(&mut map, property)?;
            }
        }
        map.end()
    }
}
