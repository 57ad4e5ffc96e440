//! The one description of `cloudPcGalleryImage`: every property with its JSON name, column, Graph type, the versions
//! that have it and how `$filter`/`$orderby` see it. The projection (built inside SQLite by
//! [`crate::graph::resource::json_object_sql`]), `$select` and the query schema ([`super::model::GALLERY_IMAGES`])
//! are derived from it. Beta adds its deprecated twins (`offer`, `publisher`, `sku` mirror the `…Name` columns) and
//! three display values.

use crate::graph::enums::GALLERY_IMAGE_STATUS;
use crate::graph::odata::schema::{enum_kind, Kind};
use crate::graph::resource::{Described, Edm, PropertyDef, Source, Versions};

/// A property of `cloudPcGalleryImage`, in [`PROPERTIES`]' order (the order of the JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GalleryProperty {
    Id,
    DisplayName,
    EndDate,
    ExpirationDate,
    Offer,
    OfferDisplayName,
    OfferName,
    OsVersionNumber,
    Publisher,
    PublisherName,
    RecommendedSku,
    SizeInGb,
    Sku,
    SkuDisplayName,
    SkuName,
    StartDate,
    Status,
}

/// A row of [`PROPERTIES`].
pub type Def = PropertyDef<GalleryProperty>;

use GalleryProperty as P;
use Versions::{All, BetaOnly};

const fn text(
    property: P,
    name: &'static str,
    col: &'static str,
    always_set: bool,
    versions: Versions,
) -> Def {
    Def::column(
        property,
        name,
        col,
        Edm::String,
        always_set,
        versions,
        Kind::Text,
    )
}

const fn date(property: P, name: &'static str, col: &'static str) -> Def {
    Def::column(property, name, col, Edm::Date, false, All, Kind::Date)
}

/// Beta's deprecated twin of a `…Name` property.
const fn twin(property: P, name: &'static str, of: P, col: &'static str) -> Def {
    PropertyDef {
        property,
        name,
        source: Source::DerivedFrom(of),
        edm: Edm::String,
        always_set: true,
        versions: BetaOnly,
        query: (col, Kind::Text),
    }
}

/// Every property of `cloudPcGalleryImage`.
pub static PROPERTIES: [Def; 17] = [
    text(P::Id, "id", "id", true, All),
    text(P::DisplayName, "displayName", "display_name", true, All),
    date(P::EndDate, "endDate", "end_date"),
    date(P::ExpirationDate, "expirationDate", "expiration_date"),
    twin(P::Offer, "offer", P::OfferName, "offer_name"),
    text(
        P::OfferDisplayName,
        "offerDisplayName",
        "offer_display_name",
        false,
        BetaOnly,
    ),
    text(P::OfferName, "offerName", "offer_name", true, All),
    text(
        P::OsVersionNumber,
        "osVersionNumber",
        "os_version_number",
        false,
        All,
    ),
    twin(
        P::Publisher,
        "publisher",
        P::PublisherName,
        "publisher_name",
    ),
    text(
        P::PublisherName,
        "publisherName",
        "publisher_name",
        true,
        All,
    ),
    text(
        P::RecommendedSku,
        "recommendedSku",
        "recommended_sku",
        false,
        BetaOnly,
    ),
    Def::column(
        P::SizeInGb,
        "sizeInGB",
        "size_in_gb",
        Edm::Int32,
        false,
        All,
        Kind::Int,
    ),
    twin(P::Sku, "sku", P::SkuName, "sku_name"),
    text(
        P::SkuDisplayName,
        "skuDisplayName",
        "sku_display_name",
        false,
        BetaOnly,
    ),
    text(P::SkuName, "skuName", "sku_name", true, All),
    date(P::StartDate, "startDate", "start_date"),
    Def::column(
        P::Status,
        "status",
        "status",
        Edm::Enum(&GALLERY_IMAGE_STATUS),
        true,
        All,
        enum_kind(&GALLERY_IMAGE_STATUS),
    ),
];

/// Columns of `gallery_images` that are no Graph property.
pub const CATALOG_COLUMNS: [&str; 2] = ["seq", "id_key"];

impl Described for GalleryProperty {
    const TABLE: &'static [Def] = &PROPERTIES;

    fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_of_gallery_images_is_described() {
        for (i, d) in PROPERTIES.iter().enumerate() {
            assert_eq!(d.property as usize, i, "{} is out of place", d.name);
        }
        crate::db::assert_described(
            "gallery_images",
            GalleryProperty::stored().map(|(p, c)| (c, p.def().always_set)),
            &CATALOG_COLUMNS,
        );
    }
}
