//! What the query layer knows about an entity: its table, its scope column, and for each property the column it is
//! stored in and how its values compare. This is the fixed whitelist every query is compiled against: no user text
//! ever becomes SQL, only these static fragments do.

use sqlx::sqlite::SqliteArguments;
use sqlx::Arguments;

use crate::error::ApiError;
use crate::graph::enums::EnumType;
use crate::graph::ApiVersion;

/// How a property's values compare.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Lower-case GUID text; literals are lower-cased.
    Guid,
    /// Text compared case-insensitively (ASCII, SQLite's NOCASE).
    Text,
    /// Text compared on a stored Unicode case-fold; literals are folded the same way.
    Folded,
    /// An enum stored in `stored`'s spelling and shown through `shown` (they differ only where one property is
    /// derived from another, as statusDetails from errorCode).
    Enum {
        stored: &'static EnumType,
        shown: &'static EnumType,
    },
    Int,
    /// `Edm.Boolean` stored as 0 or 1; compared with `true` and `false`.
    Bool,
    /// `YYYY-MM-DD` text.
    Date,
    /// RFC 3339 text with milliseconds and `Z`: text order is time order.
    DateTime,
    /// A collection: neither filterable nor sortable.
    Collection,
}

/// One queryable property.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The property's JSON name.
    pub name: &'static str,
    pub column: &'static str,
    pub kind: Kind,
}

/// An entity set the query layer can filter, sort and page.
pub trait QuerySchema: Sync {
    /// The OData type name, for messages (`microsoft.graph.cloudPcDeviceImage`).
    fn type_name(&self) -> &'static str;
    /// The table.
    fn table(&self) -> &'static str;
    /// The column every query is scoped by (the tenant), if any.
    fn scope_column(&self) -> Option<&'static str>;
    /// The property with this name (case-insensitive) in this version.
    fn field(&self, name: &str, version: ApiVersion) -> Option<Field>;
    /// The unique property that ends every `$orderby`.
    fn tie_breaker(&self) -> Field;

    /// [`Self::field`], or the 400 that names the missing property and the option it was used in.
    fn resolve(
        &self,
        name: &str,
        version: ApiVersion,
        option: &str,
        pos: Option<usize>,
    ) -> Result<Field, ApiError> {
        self.field(name, version)
            .ok_or_else(|| self.unknown(name, option, pos))
    }

    /// The 400 for a property the type does not have.
    fn unknown(&self, name: &str, option: &str, pos: Option<usize>) -> ApiError {
        let at = pos.map(|p| format!(" at position {p}")).unwrap_or_default();
        ApiError::BadRequest(format!(
            "Could not find a property named '{name}' on type '{}' ({option}{at}).",
            self.type_name()
        ))
    }
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

/// An enum column's query kind: stored and shown through the same enum.
pub const fn enum_kind(ty: &'static EnumType) -> Kind {
    Kind::Enum {
        stored: ty,
        shown: ty,
    }
}
