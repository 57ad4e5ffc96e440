//! How each property of `cloudPcDeviceImage` is stored, filtered and sorted: the fixed whitelist of columns every
//! query is compiled against. No user text ever becomes SQL; only these static fragments do.

use sqlx::sqlite::SqliteArguments;
use sqlx::Arguments;

use crate::device_images::domain::ENTITY_TYPE;
use crate::device_images::view::Property;
use crate::error::ApiError;
use crate::graph::enums::{
    EnumType, IMAGE_ERROR_CODE, IMAGE_OS_STATUS, IMAGE_STATUS, IMAGE_STATUS_DETAILS,
};
use crate::graph::ApiVersion;

/// How a property's values compare.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Lower-case GUID text; literals are lower-cased.
    Guid,
    /// Text compared case-insensitively (ASCII, SQLite's NOCASE).
    Text,
    /// displayName: compared on its stored Unicode case-fold (`display_name_key`); literals are folded the same way.
    Folded,
    /// An enum stored in `stored`'s spelling and shown through `shown` (they differ only for statusDetails, which
    /// is derived from errorCode).
    Enum {
        stored: &'static EnumType,
        shown: &'static EnumType,
    },
    Int,
    /// `YYYY-MM-DD` text.
    Date,
    /// RFC 3339 text with milliseconds and `Z`: text order is time order.
    DateTime,
    /// scopeIds: neither filterable nor sortable.
    Collection,
}

/// A property's column and kind.
pub fn column(p: Property) -> (&'static str, Kind) {
    match p {
        Property::Id => ("id", Kind::Guid),
        Property::DisplayName => ("display_name_key", Kind::Folded),
        Property::ErrorCode => (
            "error_code",
            Kind::Enum {
                stored: &IMAGE_ERROR_CODE,
                shown: &IMAGE_ERROR_CODE,
            },
        ),
        Property::ExpirationDate => ("expiration_date", Kind::Date),
        Property::LastModifiedDateTime => ("last_modified_date_time", Kind::DateTime),
        Property::OperatingSystem => ("operating_system", Kind::Text),
        Property::OsBuildNumber => ("os_build_number", Kind::Text),
        Property::OsStatus => (
            "os_status",
            Kind::Enum {
                stored: &IMAGE_OS_STATUS,
                shown: &IMAGE_OS_STATUS,
            },
        ),
        Property::OsVersionNumber => ("os_version_number", Kind::Text),
        Property::ScopeIds => ("scope_ids", Kind::Collection),
        Property::SizeInGb => ("size_in_gb", Kind::Int),
        Property::SourceImageResourceId => ("source_image_resource_id", Kind::Text),
        Property::Status => (
            "status",
            Kind::Enum {
                stored: &IMAGE_STATUS,
                shown: &IMAGE_STATUS,
            },
        ),
        Property::StatusDetails => (
            "error_code",
            Kind::Enum {
                stored: &IMAGE_ERROR_CODE,
                shown: &IMAGE_STATUS_DETAILS,
            },
        ),
        Property::Version => ("version", Kind::Text),
    }
}

/// Resolves a property name of a query option (case-insensitively, within the version).
pub fn property(
    name: &str,
    version: ApiVersion,
    option: &str,
    pos: Option<usize>,
) -> Result<Property, ApiError> {
    Property::parse(name, version).ok_or_else(|| {
        let at = pos.map(|p| format!(" at position {p}")).unwrap_or_default();
        ApiError::BadRequest(format!(
            "Could not find a property named '{name}' on type '{ENTITY_TYPE}' ({option}{at})."
        ))
    })
}

/// A value bound to a `?` placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Text(String),
    Int(i64),
    Real(f64),
}

/// A compiled statement: static SQL with placeholders, and the values for them in order.
#[derive(Debug, Clone, Default)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<Param>,
}

impl Statement {
    /// The values as sqlx arguments.
    pub fn arguments(&self) -> Result<SqliteArguments<'static>, ApiError> {
        let mut args = SqliteArguments::default();
        for p in &self.params {
            match p {
                Param::Text(s) => args.add(s.clone()),
                Param::Int(n) => args.add(*n),
                Param::Real(f) => args.add(*f),
            }
            .map_err(ApiError::internal)?;
        }
        Ok(args)
    }
}
