//! The stored device image: the domain value read from a row of `device_images`, decoded by the positions that
//! [`super::properties`] gives each column.

use std::sync::LazyLock;

use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, Row};
use uuid::Uuid;

use super::properties::{Property, PROPERTIES};
use crate::graph::enums::{GraphEnum, ImageErrorCode, ImageOsStatus, ImageStatus};

/// A stored device image, every value known good.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceImage {
    /// Creation order (the keyset of paging).
    pub seq: i64,
    pub tenant_id: String,
    pub id: Uuid,
    pub display_name: String,
    pub version: String,
    pub source_image_resource_id: String,
    pub operating_system: Option<String>,
    pub os_build_number: Option<String>,
    pub os_version_number: Option<String>,
    pub os_status: Option<ImageOsStatus>,
    pub size_in_gb: Option<i64>,
    /// `YYYY-MM-DD`.
    pub expiration_date: Option<String>,
    pub status: ImageStatus,
    pub error_code: Option<ImageErrorCode>,
    pub scope_ids: Vec<String>,
    /// RFC 3339 UTC with `Z`.
    pub last_modified_date_time: String,
}

/// Each property's position in [`super::properties::SELECT_COLUMNS`] (unused for a derived property).
static POSITIONS: LazyLock<[usize; PROPERTIES.len()]> = LazyLock::new(|| {
    let mut positions = [usize::MAX; PROPERTIES.len()];
    for def in &PROPERTIES {
        if let Some(at) = def.property.position() {
            positions[def.property as usize] = at;
        }
    }
    positions
});

/// A stored enum member, or a decode error that names the row.
fn member<E: GraphEnum>(seq: i64, stored: &str) -> Result<E, sqlx::Error> {
    E::from_wire(stored).ok_or_else(|| {
        sqlx::Error::Decode(format!("row {seq}: '{stored}' is not in {}", E::TYPE.name).into())
    })
}

fn optional<E: GraphEnum>(seq: i64, stored: Option<&str>) -> Result<Option<E>, sqlx::Error> {
    stored.map(|s| member(seq, s)).transpose()
}

/// By position: queries select `SELECT_COLUMNS` first; anything they add (keyset positions) follows.
impl<'r> FromRow<'r, SqliteRow> for DeviceImage {
    fn from_row(row: &'r SqliteRow) -> Result<Self, sqlx::Error> {
        use Property as P;
        let at = |p: P| POSITIONS[p as usize];
        let seq: i64 = row.try_get(0)?;
        let id: &str = row.try_get(at(P::Id))?;
        let scope_ids: &str = row.try_get(at(P::ScopeIds))?;
        Ok(Self {
            seq,
            tenant_id: row.try_get(1)?,
            id: Uuid::try_parse(id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            display_name: row.try_get(at(P::DisplayName))?,
            version: row.try_get(at(P::Version))?,
            source_image_resource_id: row.try_get(at(P::SourceImageResourceId))?,
            operating_system: row.try_get(at(P::OperatingSystem))?,
            os_build_number: row.try_get(at(P::OsBuildNumber))?,
            os_version_number: row.try_get(at(P::OsVersionNumber))?,
            os_status: optional(seq, row.try_get(at(P::OsStatus))?)?,
            size_in_gb: row.try_get(at(P::SizeInGb))?,
            expiration_date: row.try_get(at(P::ExpirationDate))?,
            status: member(seq, row.try_get(at(P::Status))?)?,
            error_code: optional(seq, row.try_get(at(P::ErrorCode))?)?,
            scope_ids: serde_json::from_str(scope_ids)
                .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            last_modified_date_time: row.try_get(at(P::LastModifiedDateTime))?,
        })
    }
}
