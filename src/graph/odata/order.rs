//! `$orderby` and keyset paging. A page ends at a position in the sort order; the `$skiptoken` carries that position
//! (the sort keys of the last image sent), and the next page starts strictly after it. Unlike an offset, this returns
//! every image that existed throughout a walk exactly once, whatever is inserted or deleted between pages.

use serde_json::Value;

use crate::error::ApiError;
use crate::graph::ApiVersion;

use super::schema::{Field, Kind, Param, QuerySchema};

/// One sort key: a static SQL expression over the whitelisted columns.
#[derive(Debug, Clone)]
pub struct SortKey {
    /// The name in the token's signature.
    name: &'static str,
    pub sql: String,
    pub descending: bool,
    /// The key's values are integers (else text).
    pub integer: bool,
}

/// The sort order of a list: the `$orderby` keys and a unique tie-breaker.
#[derive(Debug, Clone)]
pub struct SortOrder {
    pub keys: Vec<SortKey>,
}

impl SortOrder {
    /// Without `$orderby`: creation order.
    pub fn creation() -> Self {
        Self {
            keys: vec![SortKey {
                name: "seq",
                sql: "seq".into(),
                descending: false,
                integer: true,
            }],
        }
    }

    /// Parses `$orderby`: `property [asc|desc]`, comma-separated; the schema's unique key breaks ties.
    pub fn parse(
        value: &str,
        schema: &dyn QuerySchema,
        version: ApiVersion,
    ) -> Result<Self, ApiError> {
        let mut keys: Vec<SortKey> = Vec::new();
        for item in value.split(',') {
            let mut words = item.split_whitespace();
            let name = words.next().ok_or_else(|| {
                ApiError::BadRequest(
                    "Invalid $orderby: an empty item; expected 'property [asc|desc]'.".into(),
                )
            })?;
            let descending = match words.next().map(str::to_ascii_lowercase).as_deref() {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(other) => {
                    return Err(ApiError::BadRequest(format!(
                    "Invalid $orderby: expected 'asc' or 'desc' after '{name}', found '{other}'."
                )))
                }
            };
            if let Some(extra) = words.next() {
                return Err(ApiError::BadRequest(format!(
                    "Invalid $orderby: unexpected '{extra}' after '{item}'."
                )));
            }
            let field = schema.resolve(name, version, "$orderby", None)?;
            if keys.iter().any(|k| k.name == field.name) {
                return Err(ApiError::BadRequest(format!(
                    "Invalid $orderby: '{}' is listed twice.",
                    field.name
                )));
            }
            keys.push(key(field, descending)?);
        }
        // The unique key breaks ties, in the direction of the last key, so an index on (key, id) serves the whole
        // order.
        let tie = schema.tie_breaker();
        if let Some(last) = keys
            .last()
            .filter(|_| !keys.iter().any(|k| k.name == tie.name))
        {
            let descending = last.descending;
            keys.push(key(tie, descending)?);
        }
        Ok(Self { keys })
    }

    /// `ORDER BY …`.
    pub fn order_by(&self) -> String {
        let parts: Vec<String> = self
            .keys
            .iter()
            .map(|k| format!("{}{}", k.sql, if k.descending { " DESC" } else { "" }))
            .collect();
        parts.join(", ")
    }

    /// The select-list items that return each key's value (`k0`, `k1`, …).
    pub fn key_columns(&self) -> String {
        self.keys
            .iter()
            .enumerate()
            .map(|(i, k)| format!(", {} AS k{i}", k.sql))
            .collect()
    }

    /// Identifies the order, so a token from another `$orderby` is refused.
    fn signature(&self) -> String {
        let parts: Vec<String> = self
            .keys
            .iter()
            .map(|k| format!("{}{}", k.name, if k.descending { "-" } else { "+" }))
            .collect();
        parts.join(",")
    }

    /// The condition "strictly after `position`" in this order, and its parameters.
    pub fn after(&self, position: &[Value], params: &mut Vec<Param>) -> Result<String, ApiError> {
        let mut alternatives = Vec::new();
        for (i, key) in self.keys.iter().enumerate() {
            let mut terms = Vec::new();
            for (k, v) in self.keys[..i].iter().zip(position) {
                terms.push(match bind(v, params)? {
                    Some(ph) => format!("{} IS {ph}", k.sql),
                    None => format!("{} IS NULL", k.sql),
                });
            }
            // NULL sorts first ascending and last descending, as SQLite orders it.
            let beyond = match (bind(&position[i], params)?, key.descending) {
                (None, false) => format!("{} IS NOT NULL", key.sql),
                (None, true) => "0".to_owned(),
                (Some(ph), false) => format!("{} > {ph}", key.sql),
                (Some(ph), true) => format!("({} < {ph} OR {} IS NULL)", key.sql, key.sql),
            };
            terms.push(beyond);
            alternatives.push(format!("({})", terms.join(" AND ")));
        }
        Ok(format!("({})", alternatives.join(" OR ")))
    }

    /// The opaque `$skiptoken` for a page that ended at `position`.
    pub fn token(&self, position: &[Value]) -> String {
        let text = serde_json::json!({ "o": self.signature(), "k": position }).to_string();
        text.bytes().map(|b| format!("{b:02x}")).collect()
    }

    /// The position a `$skiptoken` of this order holds.
    pub fn position(&self, token: &str) -> Result<Vec<Value>, ApiError> {
        let invalid = || {
            ApiError::BadRequest("The $skiptoken is not valid for this request; use the @odata.nextLink as returned.".into())
        };
        if token.len() % 2 != 0 || token.len() > 8192 {
            return Err(invalid());
        }
        let bytes: Option<Vec<u8>> = (0..token.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
            .collect();
        let parsed: Value =
            serde_json::from_slice(&bytes.ok_or_else(invalid)?).map_err(|_| invalid())?;
        let keys = parsed["k"].as_array().ok_or_else(invalid)?;
        let fits = keys.len() == self.keys.len()
            && keys
                .iter()
                .zip(&self.keys)
                .all(|(v, k)| v.is_null() || if k.integer { v.is_i64() } else { v.is_string() });
        if parsed["o"] != self.signature() || !fits {
            return Err(invalid());
        }
        Ok(keys.clone())
    }
}

fn bind(v: &Value, params: &mut Vec<Param>) -> Result<Option<&'static str>, ApiError> {
    let p = match v {
        Value::Null => return Ok(None),
        Value::String(s) => Param::Text(s.clone()),
        Value::Number(n) => Param::Int(
            n.as_i64()
                .ok_or_else(|| ApiError::internal("non-integer key"))?,
        ),
        _ => return Err(ApiError::internal("unexpected key value")),
    };
    params.push(p);
    Ok(Some("?"))
}

fn key(field: Field, descending: bool) -> Result<SortKey, ApiError> {
    let (col, kind) = (field.column, field.kind);
    let (sql, integer) = match kind {
        Kind::Text => (format!("{col} COLLATE NOCASE"), false),
        Kind::Guid | Kind::Folded | Kind::Date | Kind::DateTime => (col.to_owned(), false),
        Kind::Int | Kind::Bool => (col.to_owned(), true),
        // Enums sort by their members' order in the schema (their numeric values), not alphabetically.
        Kind::Enum { stored, .. } => {
            let whens: String = stored
                .members
                .iter()
                .enumerate()
                .map(|(i, m)| format!(" WHEN '{}' THEN {i}", m.wire))
                .collect();
            (format!("(CASE {col}{whens} END)"), true)
        }
        Kind::Collection => {
            return Err(ApiError::BadRequest(format!(
                "Invalid $orderby: the collection property '{}' cannot be sorted on.",
                field.name
            )))
        }
    };
    Ok(SortKey {
        name: field.name,
        sql,
        descending,
        integer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device_images::query::DEVICE_IMAGES;
    use serde_json::json;

    #[test]
    fn tokens_round_trip_only_for_their_own_order() {
        let by_name =
            SortOrder::parse("displayName desc, sizeInGB", &DEVICE_IMAGES, ApiVersion::V1).unwrap();
        assert_eq!(by_name.keys.len(), 3, "id is added as the tie-breaker");
        let position = vec![
            json!("b"),
            Value::Null,
            json!("6f9619ff-8b86-d011-b42d-00cf4fc964ff"),
        ];
        let token = by_name.token(&position);
        assert_eq!(by_name.position(&token).unwrap(), position);
        assert!(SortOrder::creation().position(&token).is_err());
        for bad in ["", "zz", "7b7d", &"0".repeat(9000)] {
            assert!(by_name.position(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn orderby_errors() {
        for bad in [
            "colour",
            "displayName up",
            "displayName asc desc",
            "id,id",
            ",",
            "scopeIds",
        ] {
            assert!(
                SortOrder::parse(bad, &DEVICE_IMAGES, ApiVersion::Beta).is_err(),
                "{bad}"
            );
        }
        assert!(SortOrder::parse("statusDetails", &DEVICE_IMAGES, ApiVersion::V1).is_err());
        assert!(SortOrder::parse("STATUS DESC, id", &DEVICE_IMAGES, ApiVersion::V1).is_ok());
    }
}
