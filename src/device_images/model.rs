//! The stored device image: the row as SQLite holds it, and the domain value read from it.

use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, Row};
use uuid::Uuid;

use crate::error::ApiError;
use crate::graph::enums::{EnumType, IMAGE_ERROR_CODE, IMAGE_OS_STATUS, IMAGE_STATUS};

/// The columns every query selects, in [`DeviceImageRow`]'s order.
pub const COLUMNS: &str = "seq, id, tenant_id, display_name, version, source_image_resource_id, operating_system, \
    os_build_number, os_version_number, os_status, size_in_gb, expiration_date, status, error_code, scope_ids, \
    last_modified_date_time";

/// One row of `device_images` (see `migrations/V1__device_images.sql`).
#[derive(Debug)]
pub struct DeviceImageRow {
    pub seq: i64,
    pub id: String,
    pub tenant_id: String,
    pub display_name: String,
    pub version: String,
    pub source_image_resource_id: String,
    pub operating_system: Option<String>,
    pub os_build_number: Option<String>,
    pub os_version_number: Option<String>,
    pub os_status: Option<String>,
    pub size_in_gb: Option<i64>,
    pub expiration_date: Option<String>,
    pub status: String,
    pub error_code: Option<String>,
    pub scope_ids: String,
    pub last_modified_date_time: String,
}

/// By position, in [`COLUMNS`] order: a lookup by name hashes the name for every value of every row (a profile of a
/// 100-image page showed it at ~4%). Queries select `COLUMNS` first; anything they add (keyset positions) follows.
impl<'r> FromRow<'r, SqliteRow> for DeviceImageRow {
    fn from_row(row: &'r SqliteRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            seq: row.try_get(0)?,
            id: row.try_get(1)?,
            tenant_id: row.try_get(2)?,
            display_name: row.try_get(3)?,
            version: row.try_get(4)?,
            source_image_resource_id: row.try_get(5)?,
            operating_system: row.try_get(6)?,
            os_build_number: row.try_get(7)?,
            os_version_number: row.try_get(8)?,
            os_status: row.try_get(9)?,
            size_in_gb: row.try_get(10)?,
            expiration_date: row.try_get(11)?,
            status: row.try_get(12)?,
            error_code: row.try_get(13)?,
            scope_ids: row.try_get(14)?,
            last_modified_date_time: row.try_get(15)?,
        })
    }
}

/// A stored device image, every value known good.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceImage {
    /// Creation order (the keyset of paging).
    pub seq: i64,
    pub id: Uuid,
    pub tenant_id: String,
    pub display_name: String,
    pub version: String,
    pub source_image_resource_id: String,
    pub operating_system: Option<String>,
    pub os_build_number: Option<String>,
    pub os_version_number: Option<String>,
    pub os_status: Option<&'static str>,
    pub size_in_gb: Option<i64>,
    /// `YYYY-MM-DD`.
    pub expiration_date: Option<String>,
    pub status: &'static str,
    pub error_code: Option<&'static str>,
    pub scope_ids: Vec<String>,
    /// RFC 3339 UTC with `Z`.
    pub last_modified_date_time: String,
}

impl TryFrom<DeviceImageRow> for DeviceImage {
    type Error = ApiError;

    fn try_from(row: DeviceImageRow) -> Result<Self, ApiError> {
        let seq = row.seq;
        let member = |ty: &EnumType, value: &str| {
            ty.member(value).map(|m| m.wire).ok_or_else(|| {
                ApiError::internal(format!("row {seq}: '{value}' is not in {}", ty.name))
            })
        };
        let optional = |ty: &EnumType, value: &Option<String>| {
            value.as_deref().map(|v| member(ty, v)).transpose()
        };
        Ok(Self {
            seq: row.seq,
            id: Uuid::try_parse(&row.id).map_err(ApiError::internal)?,
            os_status: optional(&IMAGE_OS_STATUS, &row.os_status)?,
            status: member(&IMAGE_STATUS, &row.status)?,
            error_code: optional(&IMAGE_ERROR_CODE, &row.error_code)?,
            scope_ids: serde_json::from_str(&row.scope_ids).map_err(ApiError::internal)?,
            tenant_id: row.tenant_id,
            display_name: row.display_name,
            version: row.version,
            source_image_resource_id: row.source_image_resource_id,
            operating_system: row.operating_system,
            os_build_number: row.os_build_number,
            os_version_number: row.os_version_number,
            size_in_gb: row.size_in_gb,
            expiration_date: row.expiration_date,
            last_modified_date_time: row.last_modified_date_time,
        })
    }
}
