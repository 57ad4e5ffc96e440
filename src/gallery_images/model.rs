//! A gallery image as stored (`gallery_images`, see `migrations/V9__provisioning_policies_and_gallery_images.sql`),
//! its checked form for the control plane, and the collection's query schema.

use serde::Serialize;
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::properties::GalleryProperty;
use crate::error::ApiError;
use crate::graph::body::JsonObject;
use crate::graph::enums::{GalleryImageStatus, GraphEnum};
use crate::graph::odata::schema::{Field, QuerySchema};
use crate::graph::resource::Described;
use crate::graph::values::{date, int32, string, text};
use crate::graph::ApiVersion;

/// The entity type's name, as Graph's messages spell it.
pub const ENTITY_TYPE: &str = "microsoft.graph.cloudPcGalleryImage";

/// The columns every control-plane query selects.
pub const COLUMNS: &str = "seq, id, display_name, publisher_name, offer_name, sku_name, offer_display_name, \
    sku_display_name, recommended_sku, os_version_number, size_in_gb, start_date, end_date, expiration_date, status";

/// A gallery image, as `/_emulator/gallery-images` and the state document show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryImage {
    #[serde(skip)]
    pub seq: i64,
    pub id: String,
    pub display_name: String,
    pub publisher_name: String,
    pub offer_name: String,
    pub sku_name: String,
    pub offer_display_name: Option<String>,
    pub sku_display_name: Option<String>,
    pub recommended_sku: Option<String>,
    pub os_version_number: Option<String>,
    #[serde(rename = "sizeInGB")]
    pub size_in_gb: Option<i64>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub expiration_date: Option<String>,
    pub status: GalleryImageStatus,
}

impl GalleryImage {
    /// An entry with only its names: the display name is the id, the status `supported`.
    fn named(id: String, publisher: String, offer: String, sku: String) -> Self {
        Self {
            seq: 0,
            display_name: id.clone(),
            id,
            publisher_name: publisher,
            offer_name: offer,
            sku_name: sku,
            offer_display_name: None,
            sku_display_name: None,
            recommended_sku: None,
            os_version_number: None,
            size_in_gb: None,
            start_date: None,
            end_date: None,
            expiration_date: None,
            status: GalleryImageStatus::Supported,
        }
    }

    pub fn from_row(row: &SqliteRow) -> Result<Self, ApiError> {
        let status: &str = row.try_get("status")?;
        Ok(Self {
            seq: row.try_get("seq")?,
            id: row.try_get("id")?,
            display_name: row.try_get("display_name")?,
            publisher_name: row.try_get("publisher_name")?,
            offer_name: row.try_get("offer_name")?,
            sku_name: row.try_get("sku_name")?,
            offer_display_name: row.try_get("offer_display_name")?,
            sku_display_name: row.try_get("sku_display_name")?,
            recommended_sku: row.try_get("recommended_sku")?,
            os_version_number: row.try_get("os_version_number")?,
            size_in_gb: row.try_get("size_in_gb")?,
            start_date: row.try_get("start_date")?,
            end_date: row.try_get("end_date")?,
            expiration_date: row.try_get("expiration_date")?,
            status: GalleryImageStatus::from_wire(status).ok_or_else(|| {
                ApiError::internal(format!("'{status}' is not a gallery image status"))
            })?,
        })
    }
}

/// Builds a checked entry from a control-plane body; `path_id` is the id of a `PUT`'s path. The id is
/// `{publisherName}_{offerName}_{skuName}`: a body gives the three names, or the id alone and they follow from it.
pub fn parse_entry(body: JsonObject, path_id: Option<&str>) -> Result<GalleryImage, ApiError> {
    let mut fields: Vec<(String, Value)> =
        body.0.into_iter().filter(|(_, v)| !v.is_null()).collect();
    let mut take = |name: &str| -> Result<Option<String>, ApiError> {
        match fields.iter().position(|(k, _)| k == name) {
            Some(i) => Ok(Some(part(name, &fields.remove(i).1)?)),
            None => Ok(None),
        }
    };
    let given_id = take("id")?;
    let names = [take("publisherName")?, take("offerName")?, take("skuName")?];
    let id = match (path_id, given_id) {
        (Some(p), Some(g)) if !p.eq_ignore_ascii_case(&g) => {
            return Err(ApiError::invalid("id", "differs from the id in the path"))
        }
        (Some(p), _) => Some(p.to_owned()),
        (None, given) => given,
    };
    let [publisher, offer, sku] = match (names, &id) {
        ([Some(p), Some(o), Some(s)], _) => [p, o, s],
        ([None, None, None], Some(id)) => split_id(id)?,
        _ => {
            return Err(ApiError::invalid(
                "publisherName",
                "give publisherName, offerName and skuName, or an id '{publisher}_{offer}_{sku}' they follow from",
            ))
        }
    };
    let derived = format!("{publisher}_{offer}_{sku}");
    let id = match id {
        Some(id) if !id.eq_ignore_ascii_case(&derived) => {
            return Err(ApiError::invalid(
                "id",
                format!("must be '{{publisherName}}_{{offerName}}_{{skuName}}', here '{derived}'"),
            ))
        }
        Some(id) => id,
        None => derived,
    };
    let mut entry = GalleryImage::named(id, publisher, offer, sku);
    for (name, value) in fields {
        set(&mut entry, &name, &value)?;
    }
    Ok(entry)
}

/// `publisherName`, `offerName`, `skuName` (and the id's parts): 1-80 letters, digits, `.`, `-`.
fn part(name: &str, value: &Value) -> Result<String, ApiError> {
    let s = string(name, value)?;
    let ok = |p: &str| {
        (1..=80).contains(&p.len())
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    };
    let valid = if name == "id" {
        s.split('_').count() == 3 && s.split('_').all(ok)
    } else {
        ok(s)
    };
    if !valid {
        return Err(ApiError::invalid(
            name,
            "must be 1-80 letters, digits, '.' or '-' (an id: three of them joined by '_')",
        ));
    }
    Ok(s.to_owned())
}

fn split_id(id: &str) -> Result<[String; 3], ApiError> {
    let parts: Vec<&str> = id.split('_').collect();
    match parts.as_slice() {
        [p, o, s] => Ok([p.to_string(), o.to_string(), s.to_string()]),
        _ => Err(ApiError::invalid(
            "id",
            "must be '{publisher}_{offer}_{sku}'",
        )),
    }
}

/// Sets one property of a body on the entry.
fn set(entry: &mut GalleryImage, name: &str, value: &Value) -> Result<(), ApiError> {
    let ymd = |v: &Value| date(name, v).map(|d| Some(d.format("%Y-%m-%d").to_string()));
    match name {
        "displayName" => {
            let s = text(name, value)?;
            if s.trim().is_empty() {
                return Err(ApiError::invalid(name, "must not be empty"));
            }
            entry.display_name = s;
        }
        "offerDisplayName" => entry.offer_display_name = Some(text(name, value)?),
        "skuDisplayName" => entry.sku_display_name = Some(text(name, value)?),
        "recommendedSku" => entry.recommended_sku = Some(text(name, value)?),
        "osVersionNumber" => entry.os_version_number = Some(text(name, value)?),
        "sizeInGB" => entry.size_in_gb = Some(i64::from(int32(name, value)?)),
        "startDate" => entry.start_date = ymd(value)?,
        "endDate" => entry.end_date = ymd(value)?,
        "expirationDate" => entry.expiration_date = ymd(value)?,
        "status" => {
            entry.status = GalleryImageStatus::parse(string(name, value)?, ApiVersion::Beta, true)
                .map_err(|e| ApiError::invalid(name, e))?
        }
        other => {
            return Err(ApiError::BadRequest(format!(
                "The property '{other}' does not exist on a gallery image entry."
            )))
        }
    }
    Ok(())
}

/// The query schema of `galleryImages`.
pub struct GalleryImageSchema;

/// The one instance.
pub static GALLERY_IMAGES: GalleryImageSchema = GalleryImageSchema;

impl QuerySchema for GalleryImageSchema {
    fn type_name(&self) -> &'static str {
        ENTITY_TYPE
    }

    fn table(&self) -> &'static str {
        "gallery_images"
    }

    fn scope_column(&self) -> Option<&'static str> {
        None
    }

    fn field(&self, name: &str, version: ApiVersion) -> Option<Field> {
        GalleryProperty::parse(name, version).map(GalleryProperty::field)
    }

    fn tie_breaker(&self) -> Field {
        GalleryProperty::Id.field()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> JsonObject {
        JsonObject(v.as_object().unwrap().clone().into_iter().collect())
    }

    #[test]
    fn entries() {
        let e = parse_entry(
            body(json!({"status": "notSupported"})),
            Some("pub_offer_sku-1"),
        )
        .unwrap();
        assert_eq!(
            (e.publisher_name.as_str(), e.sku_name.as_str()),
            ("pub", "sku-1")
        );
        assert_eq!(e.status, GalleryImageStatus::NotSupported);
        let e = parse_entry(
            body(
                json!({"publisherName": "p", "offerName": "o", "skuName": "s", "displayName": "W"}),
            ),
            None,
        )
        .unwrap();
        assert_eq!(e.id, "p_o_s");
        for bad in [
            json!({"id": "a_b"}),
            json!({"id": "a_b_c", "publisherName": "x", "offerName": "b", "skuName": "c"}),
            json!({"id": "a_b_c", "status": "gone"}),
            json!({"id": "a_b_c", "colour": "red"}),
            json!({"id": "a b_c_d"}),
        ] {
            assert!(parse_entry(body(bad.clone()), None).is_err(), "{bad}");
        }
    }
}
