//! OData query options of collections (docs/querying.md): `$filter`, `$orderby`, `$top`, `$skip`, `$count` and
//! `$skiptoken`, typed against an entity's [`QuerySchema`] and turned into one SQL statement with bound parameters.
//! Options particular to one collection (`$select` of device images) are handed back to its handler.

pub mod compile;
pub mod fetch;
pub mod options;
pub mod order;
pub mod parser;
pub mod schema;

use serde_json::Value;

use crate::error::ApiError;
use crate::graph::odata::options::{parse_options, parse_top, unsupported, QueryOption};
use crate::graph::ApiVersion;

use compile::FilterCompiler;
use order::SortOrder;
use schema::{Param, QuerySchema, Statement};

/// A compiled `$filter`: a SQL condition and its parameters.
#[derive(Debug, Clone, Default)]
pub struct Condition {
    pub sql: String,
    pub params: Vec<Param>,
}

impl Condition {
    /// Parses and compiles a `$filter` value.
    pub fn parse(
        value: &str,
        schema: &'static dyn QuerySchema,
        version: ApiVersion,
        include_unknown: bool,
    ) -> Result<Self, ApiError> {
        let expr = parser::parse(value).map_err(ApiError::BadRequest)?;
        let mut compiler = FilterCompiler {
            schema,
            version,
            include_unknown,
            params: Vec::new(),
        };
        let sql = compiler.compile(&expr)?;
        Ok(Self {
            sql,
            params: compiler.params,
        })
    }
}

/// Everything a collection request asked for.
pub struct CollectionQuery {
    pub schema: &'static dyn QuerySchema,
    pub filter: Option<Condition>,
    pub order: SortOrder,
    pub top: Option<u32>,
    pub skip: u64,
    pub count: bool,
    /// Where the previous page ended (from `$skiptoken`).
    pub position: Option<Vec<Value>>,
    /// The options to repeat in `@odata.nextLink`: every one but `$skiptoken`.
    pub carried: Vec<QueryOption>,
    /// Options of `extra` the caller handles itself (also carried).
    pub extra: Vec<QueryOption>,
}

impl CollectionQuery {
    /// Parses a collection's query string; options named in `extra` are returned for the caller, any other unknown
    /// option is a 400.
    pub fn parse(
        raw_query: &str,
        schema: &'static dyn QuerySchema,
        version: ApiVersion,
        include_unknown: bool,
        extra: &[&str],
    ) -> Result<Self, ApiError> {
        let mut q = Self {
            schema,
            filter: None,
            order: SortOrder::creation(),
            top: None,
            skip: 0,
            count: false,
            position: None,
            carried: Vec::new(),
            extra: Vec::new(),
        };
        let mut token = None;
        for option in parse_options(raw_query, version)? {
            let v = option.value.as_str();
            match option.name.as_str() {
                "$filter" => {
                    q.filter = Some(Condition::parse(v, schema, version, include_unknown)?)
                }
                "$orderby" => q.order = SortOrder::parse(v, schema, version)?,
                "$top" => q.top = Some(parse_top(v)?),
                "$skip" => q.skip = parse_skip(v)?,
                "$count" => q.count = parse_bool("$count", v)?,
                "$skiptoken" => {
                    token = Some(option.value);
                    continue;
                }
                name if extra.contains(&name) => q.extra.push(option.clone()),
                _ => return Err(unsupported(&option)),
            }
            q.carried.push(option);
        }
        if let Some(token) = token {
            q.position = Some(q.order.position(&token)?);
        }
        Ok(q)
    }

    /// `FROM table WHERE …` of the scope's rows that match `$filter` (without the paging position).
    fn matching(&self, scope: &str, params: &mut Vec<Param>) -> String {
        let mut conditions = Vec::new();
        if let Some(column) = self.schema.scope_column() {
            params.push(Param::Text(scope.to_owned()));
            conditions.push(format!("{column} = ?"));
        }
        if let Some(f) = &self.filter {
            params.extend(f.params.iter().cloned());
            conditions.push(format!("({})", f.sql));
        }
        let table = self.schema.table();
        match conditions.is_empty() {
            true => format!("FROM {table}"),
            false => format!("FROM {table} WHERE {}", conditions.join(" AND ")),
        }
    }

    /// The statement of one page: at most `limit` rows after the position (or after `$skip` on the first page),
    /// each with its sort keys as `k0`, `k1`, ….
    pub fn page_statement(
        &self,
        scope: &str,
        columns: &str,
        limit: u32,
    ) -> Result<Statement, ApiError> {
        let mut params = Vec::new();
        let matching = self.matching(scope, &mut params);
        let mut sql = format!("SELECT {columns}{} {matching}", self.order.key_columns());
        if let Some(position) = &self.position {
            sql.push_str(if matching.contains(" WHERE ") {
                " AND "
            } else {
                " WHERE "
            });
            sql.push_str(&self.order.after(position, &mut params)?);
        }
        sql.push_str(&format!(" ORDER BY {} LIMIT ?", self.order.order_by()));
        params.push(Param::Int(i64::from(limit)));
        // $skip applies to the first page; a $skiptoken already points past the skipped rows.
        if self.position.is_none() && self.skip > 0 {
            sql.push_str(" OFFSET ?");
            params.push(Param::Int(i64::try_from(self.skip).unwrap_or(i64::MAX)));
        }
        Ok(Statement { sql, params })
    }

    /// `SELECT count(*)` of every row that matches `$filter`.
    pub fn count_statement(&self, scope: &str) -> Statement {
        let mut params = Vec::new();
        let sql = format!("SELECT count(*) {}", self.matching(scope, &mut params));
        Statement { sql, params }
    }

    /// The `@odata.nextLink` of a page that ended at `position`: `{collection_url}?{every option}&$skiptoken=…`.
    pub fn next_link(&self, collection_url: &str, position: &[Value]) -> String {
        let mut link = format!("{collection_url}?");
        for option in &self.carried {
            link.push_str(&option.name);
            link.push('=');
            link.push_str(&crate::graph::path::percent_encode_query(&option.value));
            link.push('&');
        }
        link.push_str("$skiptoken=");
        link.push_str(&self.order.token(position));
        link
    }
}

/// The options of a `$count` segment: only `$filter` (the segment counts; nothing pages or projects).
pub fn parse_count_query(
    raw_query: &str,
    schema: &'static dyn QuerySchema,
    version: ApiVersion,
    include_unknown: bool,
) -> Result<CollectionQuery, ApiError> {
    let options = parse_options(raw_query, version)?;
    if let Some(other) = options.iter().find(|o| o.name != "$filter") {
        return Err(match other.name.as_str() {
            "$search" | "$expand" => unsupported(other),
            name => ApiError::BadRequest(format!(
                "Query option '{name}' is not allowed on the $count segment; only $filter is."
            )),
        });
    }
    CollectionQuery::parse(raw_query, schema, version, include_unknown, &[])
}

fn parse_skip(value: &str) -> Result<u64, ApiError> {
    value.trim().parse::<u64>().map_err(|_| {
        ApiError::BadRequest(format!(
            "Invalid value '{value}' for query option '$skip': a non-negative integer is required."
        ))
    })
}

fn parse_bool(name: &str, value: &str) -> Result<bool, ApiError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::BadRequest(format!(
            "Invalid value '{value}' for query option '{name}': expected true or false."
        ))),
    }
}
