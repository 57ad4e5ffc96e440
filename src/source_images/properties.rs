//! The one description of `cloudPcSourceDeviceImage`, the type `getSourceImages` returns: every property with its
//! JSON name, column, Graph type, the versions that have it and how `$filter` sees it. The projection
//! (`http/graph/source_images.rs`) and the query schema ([`super::model::SourceImageSchema`]) are derived from it.
//! The catalog's other columns (how an upload of the source ends) are the emulator's own and no Graph property.

use crate::graph::enums::SOURCE_IMAGE_CATEGORY;
use crate::graph::odata::schema::{enum_kind, Kind};
use crate::graph::resource::{Described, Edm, PropertyDef, Source, Versions};

/// A property of `cloudPcSourceDeviceImage`, in [`PROPERTIES`]' order (the order of the JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceProperty {
    Category,
    DisplayName,
    Id,
    ResourceId,
    SubscriptionDisplayName,
    SubscriptionId,
}

/// A row of [`PROPERTIES`].
pub type Def = PropertyDef<SourceProperty>;

use SourceProperty as P;
use Versions::{All, BetaOnly};

const fn text(
    property: P,
    name: &'static str,
    column: &'static str,
    always_set: bool,
    versions: Versions,
) -> Def {
    PropertyDef {
        property,
        name,
        source: Source::Column(column),
        edm: Edm::String,
        always_set,
        versions,
        query: (column, Kind::Text),
    }
}

/// Every property of `cloudPcSourceDeviceImage`.
pub static PROPERTIES: [Def; 6] = [
    PropertyDef {
        property: P::Category,
        name: "category",
        source: Source::Column("category"),
        edm: Edm::Enum(&SOURCE_IMAGE_CATEGORY),
        always_set: true,
        versions: BetaOnly,
        query: ("category", enum_kind(&SOURCE_IMAGE_CATEGORY)),
    },
    text(P::DisplayName, "displayName", "display_name", true, All),
    // Beta's deprecated id holds the resource id.
    PropertyDef {
        property: P::Id,
        name: "id",
        source: Source::DerivedFrom(P::ResourceId),
        edm: Edm::String,
        always_set: true,
        versions: BetaOnly,
        query: ("resource_id", Kind::Text),
    },
    text(P::ResourceId, "resourceId", "resource_id", true, All),
    text(
        P::SubscriptionDisplayName,
        "subscriptionDisplayName",
        "subscription_display_name",
        true,
        All,
    ),
    text(
        P::SubscriptionId,
        "subscriptionId",
        "subscription_id",
        true,
        All,
    ),
];

/// Columns of `source_images` that are no Graph property: bookkeeping, and how an upload of the source ends.
pub const CATALOG_COLUMNS: [&str; 10] = [
    "seq",
    "resource_id_key",
    "outcome",
    "error_code",
    "operating_system",
    "os_build_number",
    "os_version_number",
    "os_status",
    "size_in_gb",
    "expiration_date",
];

impl Described for SourceProperty {
    const TABLE: &'static [Def] = &PROPERTIES;
    const NOT_NULLABLE: &'static [Self] = &[P::ResourceId];

    fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_of_source_images_is_described() {
        for (i, d) in PROPERTIES.iter().enumerate() {
            assert_eq!(d.property as usize, i, "{} is out of place", d.name);
        }
        let db = crate::db::migrated_rusqlite_for_tests();
        let mut statement = db
            .prepare("SELECT name FROM pragma_table_info('source_images')")
            .unwrap();
        let columns: Vec<String> = statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let described: Vec<&str> = SourceProperty::stored()
            .map(|(_, c)| c)
            .chain(CATALOG_COLUMNS)
            .collect();
        for column in &columns {
            assert!(
                described.contains(&column.as_str()),
                "source_images.{column} is described nowhere"
            );
        }
        for column in described {
            assert!(
                columns.iter().any(|c| c == column),
                "{column} is not in source_images"
            );
        }
    }
}
