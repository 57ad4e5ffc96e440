//! The one description of `cloudPcDeviceImage`: every property with its JSON name, column, Graph type, nullability,
//! the versions that have it and how `$filter`/`$orderby` see it. The row decoding and the insert ([`super::model`],
//! [`super::repository`]), the projection per version ([`super::view`]) and the query schema ([`super::query`]) are
//! derived from [`PROPERTIES`]; adding a property is a row here, a column in a migration, and the compiler pointing at
//! each `match` on [`Property`] that must say what the new one does (docs/ARCHITECTURE.md#how-to-add).

use std::sync::LazyLock;

use crate::graph::enums::{IMAGE_ERROR_CODE, IMAGE_OS_STATUS, IMAGE_STATUS, IMAGE_STATUS_DETAILS};
use crate::graph::odata::schema::{enum_kind, Kind};
use crate::graph::resource::{Described, Edm, PropertyDef, Source, Versions};

/// A property of `cloudPcDeviceImage`. The declaration order is [`PROPERTIES`]' order and the order of the JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

const fn def(
    property: Property,
    name: &'static str,
    source: Source<Property>,
    edm: Edm,
    always_set: bool,
    versions: Versions,
    query: (&'static str, Kind),
) -> Def {
    PropertyDef {
        property,
        name,
        source,
        edm,
        always_set,
        versions,
        query,
    }
}

/// A row of [`PROPERTIES`].
pub type Def = PropertyDef<Property>;

use Property as P;
use Source::{Column, DerivedFrom};
use Versions::{All, BetaOnly};

/// Every property of `cloudPcDeviceImage`, in [`Property`]'s order.
pub static PROPERTIES: [Def; 15] = [
    def(
        P::Id,
        "id",
        Column("id"),
        Edm::String,
        true,
        All,
        ("id", Kind::Guid),
    ),
    def(
        P::DisplayName,
        "displayName",
        Column("display_name"),
        Edm::String,
        true,
        All,
        // Compared on its stored case-fold, the same fold that decides uniqueness.
        ("display_name_key", Kind::Folded),
    ),
    def(
        P::ErrorCode,
        "errorCode",
        Column("error_code"),
        Edm::Enum(&IMAGE_ERROR_CODE),
        false,
        All,
        ("error_code", enum_kind(&IMAGE_ERROR_CODE)),
    ),
    def(
        P::ExpirationDate,
        "expirationDate",
        Column("expiration_date"),
        Edm::Date,
        false,
        All,
        ("expiration_date", Kind::Date),
    ),
    def(
        P::LastModifiedDateTime,
        "lastModifiedDateTime",
        Column("last_modified_date_time"),
        Edm::DateTimeOffset,
        true,
        All,
        ("last_modified_date_time", Kind::DateTime),
    ),
    def(
        P::OperatingSystem,
        "operatingSystem",
        Column("operating_system"),
        Edm::String,
        false,
        All,
        ("operating_system", Kind::Text),
    ),
    def(
        P::OsBuildNumber,
        "osBuildNumber",
        Column("os_build_number"),
        Edm::String,
        false,
        All,
        ("os_build_number", Kind::Text),
    ),
    def(
        P::OsStatus,
        "osStatus",
        Column("os_status"),
        Edm::Enum(&IMAGE_OS_STATUS),
        false,
        All,
        ("os_status", enum_kind(&IMAGE_OS_STATUS)),
    ),
    def(
        P::OsVersionNumber,
        "osVersionNumber",
        Column("os_version_number"),
        Edm::String,
        false,
        All,
        ("os_version_number", Kind::Text),
    ),
    def(
        P::ScopeIds,
        "scopeIds",
        Column("scope_ids"),
        Edm::StringCollection,
        true,
        BetaOnly,
        ("scope_ids", Kind::Collection),
    ),
    def(
        P::SizeInGb,
        "sizeInGB",
        Column("size_in_gb"),
        Edm::Int32,
        false,
        All,
        ("size_in_gb", Kind::Int),
    ),
    def(
        P::SourceImageResourceId,
        "sourceImageResourceId",
        Column("source_image_resource_id"),
        Edm::String,
        true,
        All,
        ("source_image_resource_id", Kind::Text),
    ),
    def(
        P::Status,
        "status",
        Column("status"),
        Edm::Enum(&IMAGE_STATUS),
        true,
        All,
        ("status", enum_kind(&IMAGE_STATUS)),
    ),
    def(
        P::StatusDetails,
        "statusDetails",
        DerivedFrom(P::ErrorCode),
        Edm::Enum(&IMAGE_STATUS_DETAILS),
        false,
        BetaOnly,
        // Filtered on error_code through statusDetails' members.
        (
            "error_code",
            Kind::Enum {
                stored: &IMAGE_ERROR_CODE,
                shown: &IMAGE_STATUS_DETAILS,
            },
        ),
    ),
    def(
        P::Version,
        "version",
        Column("version"),
        Edm::String,
        true,
        All,
        ("version", Kind::Text),
    ),
];

/// Columns of `device_images` that are no property: bookkeeping of the emulator's own (see the migrations).
pub const INTERNAL_COLUMNS: [&str; 5] = [
    "seq",
    "tenant_id",
    "display_name_key",
    "created_date_time",
    "upload_due_at",
];

impl Described for Property {
    const TABLE: &'static [Def] = &PROPERTIES;

    fn index(self) -> usize {
        self as usize
    }
}

impl Property {
    /// The position of this property's column in [`SELECT_COLUMNS`] (a derived property has none).
    pub fn position(self) -> Option<usize> {
        Self::stored()
            .position(|(p, _)| p == self)
            .map(|i| i + SELECTED_FIRST.len())
    }
}

/// What every select of images starts with, before the properties' columns.
pub const SELECTED_FIRST: [&str; 2] = ["seq", "tenant_id"];

/// The columns every query of images selects: [`SELECTED_FIRST`], then each stored property's column in order.
/// Decoding is by position (a lookup by name hashes the name for every value of every row; a profile of a 100-image
/// page showed it at ~4%), so queries select these first and add anything else (keyset positions) after them.
pub static SELECT_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    SELECTED_FIRST
        .into_iter()
        .chain(Property::stored().map(|(_, column)| column))
        .collect::<Vec<_>>()
        .join(", ")
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_declaration_order_with_unique_names_and_columns() {
        for (i, d) in PROPERTIES.iter().enumerate() {
            assert_eq!(d.property as usize, i, "{} is out of place", d.name);
        }
        let mut names: Vec<&str> = PROPERTIES.iter().map(|d| d.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), PROPERTIES.len());
        let mut columns: Vec<&str> = Property::stored().map(|(_, c)| c).collect();
        columns.extend(INTERNAL_COLUMNS);
        let count = columns.len();
        columns.sort_unstable();
        columns.dedup();
        assert_eq!(columns.len(), count, "a column is described twice");
    }

    /// Every column of the migrated `device_images` is described (as a property or as bookkeeping), every described
    /// column exists, and `NOT NULL` columns are exactly the properties that are always set.
    #[test]
    fn every_column_of_device_images_is_described() {
        crate::db::assert_described(
            "device_images",
            Property::stored().map(|(p, c)| (c, p.def().always_set)),
            &INTERNAL_COLUMNS,
        );
    }
}
