//! How a resource describes itself: one table of its properties (JSON name, column, Graph type, nullability, the
//! versions that have it, how queries see it), from which the resource module derives its row decoding, its insert,
//! its projection per version and its query schema, and from which Graph's metadata can be written.

use super::enums::EnumType;
use super::odata::schema::{Field, Kind, QuerySchema};
use super::ApiVersion;
use crate::error::ApiError;

/// A property's type in Graph's schema (its CSDL `Type`).
#[derive(Debug, Clone, Copy)]
pub enum Edm {
    String,
    Int32,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339 UTC with `Z`.
    DateTimeOffset,
    /// `Collection(Edm.String)`, stored as a JSON array.
    StringCollection,
    Enum(&'static EnumType),
    /// `Edm.Boolean`, stored as 0 or 1.
    Boolean,
    /// A complex type (`graph.{name}`), stored as the JSON object Graph returns.
    Complex(&'static str),
    /// `Collection(graph.{name})` of a complex type, stored as a JSON array.
    ComplexCollection(&'static str),
}

/// Which API versions have a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versions {
    All,
    BetaOnly,
}

/// Where a property's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<P> {
    /// Its own column.
    Column(&'static str),
    /// Computed on output from another property's column (the deprecated `statusDetails` mirrors `errorCode`).
    DerivedFrom(P),
}

/// One property of a resource's description: `P` is the resource's own enum of properties.
#[derive(Debug, Clone, Copy)]
pub struct PropertyDef<P: 'static> {
    pub property: P,
    /// The JSON name, as Graph spells it.
    pub name: &'static str,
    pub source: Source<P>,
    pub edm: Edm,
    /// The value is never null in what the emulator stores and emits (the column is `NOT NULL`). Graph's own schema
    /// declares every property but the key nullable.
    pub always_set: bool,
    pub versions: Versions,
    /// The column and kind `$filter` and `$orderby` compare: usually the property's own column, typed from its
    /// Graph type; `displayName` compares its case-folded key.
    pub query: (&'static str, Kind),
}

impl<P: Copy> PropertyDef<P> {
    /// A property stored in its own column, compared by `$filter` and `$orderby` on that column as `kind`.
    pub const fn column(
        property: P,
        name: &'static str,
        column: &'static str,
        edm: Edm,
        always_set: bool,
        versions: Versions,
        kind: Kind,
    ) -> Self {
        PropertyDef {
            property,
            name,
            source: Source::Column(column),
            edm,
            always_set,
            versions,
            query: (column, kind),
        }
    }

    /// The same property, compared by `$filter` and `$orderby` on another column (a case-folded key).
    pub const fn compared_on(self, column: &'static str) -> Self {
        let mut def = self;
        def.query.0 = column;
        def
    }
}

/// A resource's enum of properties, with its table: the lookups every resource needs, derived from the table.
pub trait Described: Copy + Eq + 'static {
    /// Every property, in the enum's order.
    const TABLE: &'static [PropertyDef<Self>];
    /// The properties Graph's metadata declares `Nullable="false"` (an entity's key aside, which `graph.entity`
    /// declares). Graph declares almost every property nullable, whatever the emulator stores (`always_set`).
    const NOT_NULLABLE: &'static [Self] = &[];

    /// The position in the enum (`self as usize`).
    fn index(self) -> usize;

    /// This property's row.
    fn def(self) -> &'static PropertyDef<Self> {
        &Self::TABLE[self.index()]
    }

    /// The JSON name.
    fn name(self) -> &'static str {
        self.def().name
    }

    /// Whether clients of `version` see the property.
    fn in_version(self, version: ApiVersion) -> bool {
        version == ApiVersion::Beta || self.def().versions == Versions::All
    }

    /// Looks a property up by name, case-insensitively (docs/fidelity.md#paging-and-query-options), within a version.
    fn parse(name: &str, version: ApiVersion) -> Option<Self> {
        Self::TABLE
            .iter()
            .map(|d| d.property)
            .find(|p| p.name().eq_ignore_ascii_case(name) && p.in_version(version))
    }

    /// The property as `$filter` and `$orderby` see it.
    fn field(self) -> Field {
        let (column, kind) = self.def().query;
        Field {
            name: self.name(),
            column,
            kind,
        }
    }

    /// The properties with a column of their own, in table order, with that column.
    fn stored() -> impl Iterator<Item = (Self, &'static str)> {
        Self::TABLE.iter().filter_map(|d| match d.source {
            Source::Column(column) => Some((d.property, column)),
            Source::DerivedFrom(_) => None,
        })
    }
}

/// SQL that builds a resource's Graph JSON inside SQLite, one `json_object(…)` per row, for clients of `version`
/// with or without `Prefer: include-unknown-enum-members`: the properties of the resource's table that the version
/// has and `selected` keeps, in table order, each enum member the client may not see turned into `unknownFutureValue`, a
/// collection embedded as JSON. The same projection as a resource's view, derived from the same description, so a
/// page crosses from SQLite as one value per row instead of one per property (docs/performance.md).
pub fn json_object_sql<P: Described>(
    version: ApiVersion,
    include_unknown: bool,
    selected: impl Fn(P) -> bool,
) -> String {
    let mut args = Vec::new();
    for def in P::TABLE {
        if !def.property.in_version(version) || !selected(def.property) {
            continue;
        }
        let column = match def.source {
            Source::Column(column) => column,
            Source::DerivedFrom(p) => match p.def().source {
                Source::Column(column) => column,
                Source::DerivedFrom(_) => continue,
            },
        };
        let value = match def.edm {
            Edm::StringCollection | Edm::Complex(_) | Edm::ComplexCollection(_) => {
                format!("json({column})")
            }
            Edm::Boolean => format!(
                "CASE {column} WHEN 1 THEN json('true') WHEN 0 THEN json('false') ELSE NULL END"
            ),
            // A chain of comparisons, not `IN (…)`: for a list of constants SQLite builds an ephemeral index on
            // every execution, which cost a GET by id a fifth of its instructions (bench/README.md).
            Edm::Enum(ty) => {
                let visible: String = ty
                    .listed(version, include_unknown)
                    .iter()
                    .map(|m| format!(" WHEN '{m}' THEN '{m}'"))
                    .collect();
                format!(
                    "CASE WHEN {column} IS NULL THEN NULL ELSE CASE {column}{visible} ELSE '{}' END END",
                    super::enums::UNKNOWN_FUTURE_VALUE
                )
            }
            Edm::String | Edm::Int32 | Edm::Date | Edm::DateTimeOffset => column.to_owned(),
        };
        args.push(format!("'{}', {value}", def.name));
    }
    format!("json_object({})", args.join(", "))
}

/// Parses `$select` against a resource's description: property names (case-insensitive), comma-separated, each
/// kept once; `*` selects everything (`None`).
pub fn parse_select<P: Described>(
    value: &str,
    version: ApiVersion,
    schema: &dyn QuerySchema,
) -> Result<Option<Vec<P>>, ApiError> {
    let mut selected = Vec::new();
    for name in value.split(',').map(str::trim) {
        if name == "*" {
            return Ok(None);
        }
        if name.is_empty() {
            return Err(ApiError::BadRequest(
                "Invalid $select: an empty property name.".into(),
            ));
        }
        let p = P::parse(name, version).ok_or_else(|| schema.unknown(name, "$select", None))?;
        if !selected.contains(&p) {
            selected.push(p);
        }
    }
    Ok(Some(selected))
}

/// The `(id,displayName)` part of a context URL for a `$select`.
pub fn select_suffix<P: Described>(select: Option<&[P]>) -> String {
    match select {
        None => String::new(),
        Some(props) => {
            let names: Vec<&str> = props.iter().map(|p| p.name()).collect();
            format!("({})", names.join(","))
        }
    }
}
