//! Query strings: OData system query options (docs/querying.md). Option names match case-insensitively, and on beta the
//! `$` is optional (docs/fidelity.md#paging-and-query-options).

use crate::error::ApiError;
use crate::graph::path::percent_decode;
use crate::graph::ApiVersion;

/// A system query option as the emulator knows it, with its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryOption {
    /// The canonical name: lower case with `$` (`$filter`).
    pub name: String,
    pub value: String,
}

/// The system query options of a request, each at most once. Parameters that are not system query options (custom
/// parameters without `$` on v1.0) are ignored, as Graph ignores them.
pub fn parse_options(raw_query: &str, version: ApiVersion) -> Result<Vec<QueryOption>, ApiError> {
    let mut options: Vec<QueryOption> = Vec::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(raw_name, true).trim().to_ascii_lowercase();
        let name = if name.starts_with('$') {
            name
        } else if version == ApiVersion::Beta && KNOWN.contains(&format!("${name}").as_str()) {
            format!("${name}")
        } else {
            continue;
        };
        if options.iter().any(|o| o.name == name) {
            return Err(ApiError::BadRequest(format!(
                "Query option '{name}' was specified more than once, but it must be specified at most once."
            )));
        }
        let value = percent_decode(raw_value, true);
        options.push(QueryOption { name, value });
    }
    Ok(options)
}

/// Every system query option name OData defines (so that an unsupported one gets a precise message).
const KNOWN: &[&str] = &[
    "$filter",
    "$select",
    "$orderby",
    "$top",
    "$skip",
    "$count",
    "$skiptoken",
    "$expand",
    "$search",
    "$format",
    "$apply",
    "$compute",
    "$index",
    "$levels",
    "$deltatoken",
    "$schemaversion",
];

/// Refuses an option this resource does not support, with a message that says why.
pub fn unsupported(option: &QueryOption) -> ApiError {
    match option.name.as_str() {
        "$expand" => ApiError::BadRequest(
            "Query option '$expand' is not supported: cloudPcDeviceImage has no navigation properties.".into(),
        ),
        "$search" => ApiError::BadRequest(
            "Query option '$search' is not supported on this resource; use $filter.".into(),
        ),
        name if KNOWN.contains(&name) => {
            ApiError::BadRequest(format!("Query option '{name}' is not supported on this resource."))
        }
        name => ApiError::BadRequest(format!("Query option '{name}' is not a known OData system query option.")),
    }
}

/// Parses `$top`: an integer from 1 to 999 (docs/querying.md).
pub fn parse_top(value: &str) -> Result<u32, ApiError> {
    match value.trim().parse::<i64>() {
        Ok(n) if (1..=999).contains(&n) => Ok(n as u32),
        Ok(n) => Err(ApiError::BadRequest(format!(
            "Invalid value '{n}' for query option '$top': it must be between 1 and 999."
        ))),
        Err(_) => Err(ApiError::BadRequest(format!(
            "Invalid value '{value}' for query option '$top': an integer is required."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_per_version() {
        let o = parse_options("%24Top=5&$SKIPTOKEN=ab&foo=1", ApiVersion::V1).unwrap();
        assert_eq!(o.len(), 2);
        assert_eq!(o[0].name, "$top");
        assert_eq!(o[1].name, "$skiptoken");
        let o = parse_options("top=5&filter=a+eq+'b'", ApiVersion::Beta).unwrap();
        assert_eq!(o[0].name, "$top");
        assert_eq!(o[1].value, "a eq 'b'");
        assert!(parse_options("top=5", ApiVersion::V1).unwrap().is_empty());
        assert!(parse_options("$top=1&$TOP=2", ApiVersion::V1).is_err());
    }

    #[test]
    fn top_range() {
        assert_eq!(parse_top("999").unwrap(), 999);
        for bad in ["0", "1000", "-1", "x", "", "99999999999999999999"] {
            assert!(parse_top(bad).is_err(), "{bad}");
        }
    }
}
