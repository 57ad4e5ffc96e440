//! OData query options of the device image collection (CONTRACT §6): `$filter`, `$select`, `$orderby`, `$top`,
//! `$skip`, `$count` and `$skiptoken`, turned into one SQL statement with bound parameters.

pub mod filter;
pub mod order;
pub mod schema;

use serde_json::Value;

use crate::device_images::view::Property;
use crate::error::ApiError;
use crate::graph::filter as odata_filter;
use crate::graph::query::{parse_options, parse_top, unsupported, QueryOption};
use crate::graph::ApiVersion;

use filter::FilterCompiler;
use order::SortOrder;
use schema::{property, Param, Statement};

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
        version: ApiVersion,
        include_unknown: bool,
    ) -> Result<Self, ApiError> {
        let expr = odata_filter::parse(value).map_err(ApiError::BadRequest)?;
        let mut compiler = FilterCompiler {
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

/// Parses `$select`: property names (case-insensitive), comma-separated; `*` selects everything (`None`).
pub fn parse_select(value: &str, version: ApiVersion) -> Result<Option<Vec<Property>>, ApiError> {
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
        let p = property(name, version, "$select", None)?;
        if !selected.contains(&p) {
            selected.push(p);
        }
    }
    Ok(Some(selected))
}

/// The `(id,displayName)` part of a context URL for a `$select`.
pub fn select_suffix(select: Option<&[Property]>) -> String {
    match select {
        None => String::new(),
        Some(props) => {
            let names: Vec<&str> = props.iter().map(|p| p.name()).collect();
            format!("({})", names.join(","))
        }
    }
}

/// Everything a list request asked for.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: Option<Condition>,
    pub select: Option<Vec<Property>>,
    pub order: SortOrder,
    pub top: Option<u32>,
    pub skip: u64,
    pub count: bool,
    /// Where the previous page ended (from `$skiptoken`).
    pub position: Option<Vec<Value>>,
    /// The options to repeat in `@odata.nextLink`: every one but `$skiptoken`.
    pub carried: Vec<QueryOption>,
}

impl ListQuery {
    /// Parses the query string of a list request.
    pub fn parse(
        raw_query: &str,
        version: ApiVersion,
        include_unknown: bool,
    ) -> Result<Self, ApiError> {
        let mut q = Self {
            filter: None,
            select: None,
            order: SortOrder::creation(),
            top: None,
            skip: 0,
            count: false,
            position: None,
            carried: Vec::new(),
        };
        let mut token = None;
        for option in parse_options(raw_query, version)? {
            let v = option.value.as_str();
            match option.name.as_str() {
                "$filter" => q.filter = Some(Condition::parse(v, version, include_unknown)?),
                "$select" => q.select = parse_select(v, version)?,
                "$orderby" => q.order = SortOrder::parse(v, version)?,
                "$top" => q.top = Some(parse_top(v)?),
                "$skip" => q.skip = parse_skip(v)?,
                "$count" => q.count = parse_bool("$count", v)?,
                "$skiptoken" => {
                    token = Some(option.value);
                    continue;
                }
                _ => return Err(unsupported(&option)),
            }
            q.carried.push(option);
        }
        if let Some(token) = token {
            q.position = Some(q.order.position(&token)?);
        }
        Ok(q)
    }

    /// `WHERE …` of the tenant's images that match `$filter` (without the paging position).
    fn matching(&self, tenant_id: &str, params: &mut Vec<Param>) -> String {
        params.push(Param::Text(tenant_id.to_owned()));
        match &self.filter {
            Some(f) => {
                params.extend(f.params.iter().cloned());
                format!("WHERE tenant_id = ? AND ({})", f.sql)
            }
            None => "WHERE tenant_id = ?".to_owned(),
        }
    }

    /// The statement of one page: at most `limit` images after the position (or after `$skip` on the first page),
    /// each row with its sort keys as `k0`, `k1`, ….
    pub fn page_statement(
        &self,
        tenant_id: &str,
        columns: &str,
        limit: u32,
    ) -> Result<Statement, ApiError> {
        let mut params = Vec::new();
        let mut sql = format!(
            "SELECT {columns}{} FROM device_images {}",
            self.order.key_columns(),
            self.matching(tenant_id, &mut params)
        );
        if let Some(position) = &self.position {
            sql.push_str(" AND ");
            sql.push_str(&self.order.after(position, &mut params)?);
        }
        sql.push_str(&format!(" ORDER BY {} LIMIT ?", self.order.order_by()));
        params.push(Param::Int(i64::from(limit)));
        // $skip applies to the first page; a $skiptoken already points past the skipped images.
        if self.position.is_none() && self.skip > 0 {
            sql.push_str(" OFFSET ?");
            params.push(Param::Int(i64::try_from(self.skip).unwrap_or(i64::MAX)));
        }
        Ok(Statement { sql, params })
    }

    /// `SELECT count(*)` of every image that matches `$filter`.
    pub fn count_statement(&self, tenant_id: &str) -> Statement {
        let mut params = Vec::new();
        let sql = format!(
            "SELECT count(*) FROM device_images {}",
            self.matching(tenant_id, &mut params)
        );
        Statement { sql, params }
    }
}

/// The options of `GET …/deviceImages/$count`: only `$filter` (the segment counts; nothing pages or projects).
pub fn parse_count_query(
    raw_query: &str,
    version: ApiVersion,
    include_unknown: bool,
) -> Result<ListQuery, ApiError> {
    let options = parse_options(raw_query, version)?;
    if let Some(other) = options.iter().find(|o| o.name != "$filter") {
        return Err(match other.name.as_str() {
            "$search" | "$expand" => unsupported(other),
            name => ApiError::BadRequest(format!(
                "Query option '{name}' is not allowed on the $count segment; only $filter is."
            )),
        });
    }
    ListQuery::parse(raw_query, version, include_unknown)
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
