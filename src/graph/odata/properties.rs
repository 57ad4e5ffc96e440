//! The properties the fuzzers check (issue 9), shared by the property tests in `cargo test` (`fuzz.rs`) and the
//! cargo-fuzz targets (`fuzz/fuzz_targets/`): nothing panics, every refusal carries a message, and every accepted
//! `$filter` compiles to SQL that SQLite prepares against the real schema, with every literal a bound parameter.
//! Each check panics when a property fails, which is how both fuzzers see a failure.

use super::Condition;
use crate::device_images::domain::{CreateDeviceImageRequest, NewDeviceImage};
use crate::device_images::query::DEVICE_IMAGES;
use crate::error::ApiError;
use crate::graph::body::parse_object;
use crate::graph::ApiVersion;

pub fn message(e: &ApiError) -> String {
    let text = e.to_string();
    assert!(
        text.len() > "badRequest: ".len(),
        "an empty message: {text:?}"
    );
    text
}

/// Checks one filter on both versions, with and without the evolvable-enum preference; returns how many compiled.
pub fn check_filter(db: &rusqlite::Connection, input: &str) -> usize {
    let mut compiled = 0;
    for version in [ApiVersion::Beta, ApiVersion::V1] {
        for prefer in [false, true] {
            match Condition::parse(input, &DEVICE_IMAGES, version, prefer) {
                Err(e) => {
                    message(&e);
                }
                Ok(c) => {
                    assert!(
                        !c.sql.replace("ESCAPE '\\'", "").contains('\''),
                        "a literal in SQL: {input:?} -> {}",
                        c.sql
                    );
                    let sql = format!("SELECT count(*) FROM device_images WHERE {}", c.sql);
                    let statement = db
                        .prepare(&sql)
                        .unwrap_or_else(|e| panic!("{input:?} -> {sql}: {e}"));
                    assert_eq!(statement.parameter_count(), c.params.len(), "{input:?}");
                    compiled += 1;
                }
            }
        }
    }
    compiled
}

pub fn check_body(bytes: &[u8]) {
    let Ok(object) = parse_object(bytes).map_err(|e| message(&e)) else {
        return;
    };
    for version in [ApiVersion::Beta, ApiVersion::V1] {
        let body = parse_object(bytes).unwrap_or_else(|_| object_clone(&object));
        if let Err(e) = NewDeviceImage::try_from(CreateDeviceImageRequest {
            body,
            version,
            include_unknown: true,
        }) {
            message(&e);
        }
    }
}

fn object_clone(o: &crate::graph::body::JsonObject) -> crate::graph::body::JsonObject {
    crate::graph::body::JsonObject(o.0.clone())
}
