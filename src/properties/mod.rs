//! The properties the fuzzers check (issues 9 and 21), shared by the property tests in `cargo test` (`fuzz.rs`) and
//! the cargo-fuzz targets (`fuzz/fuzz_targets/`): nothing panics, every refusal carries a message, every accepted
//! `$filter` compiles to SQL that SQLite prepares against the real schema, with every literal a bound parameter, every
//! accepted `$skiptoken` is a position that prepares as a bound keyset condition and round-trips, and a `$batch` body
//! is either refused with a message or runs in an order where every item follows its dependencies, and a state
//! document is refused naming its part, or accepted keeping what the database relies on. A request path splits
//! into the segments a plain split and decode would give, joined into its normalized path.
//! Each check panics when a property fails, which is how both fuzzers see a failure.

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod paths;

use crate::device_images::domain::{CreateDeviceImageRequest, NewDeviceImage};
use crate::device_images::query::DEVICE_IMAGES;
use crate::error::ApiError;
use crate::graph::body::parse_object;
use crate::graph::odata::Condition;
use crate::graph::ApiVersion;

/// One migrated in-memory database per process, shared by a fuzz target's runs (opening one per input would be most
/// of the work).
pub fn shared_db() -> std::sync::MutexGuard<'static, rusqlite::Connection> {
    static DB: std::sync::OnceLock<std::sync::Mutex<rusqlite::Connection>> =
        std::sync::OnceLock::new();
    DB.get_or_init(|| std::sync::Mutex::new(crate::db::migrated_rusqlite_for_tests()))
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

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

/// A request body, as bytes, through the JSON object parser and every parser of a body: an image's create, a
/// provisioning policy's create and update, and `assign`. Nothing panics, every refusal is a message, and an
/// accepted `assign` names each group once, as a lower-case GUID.
pub fn check_body(bytes: &[u8]) {
    use crate::provisioning_policies::complex::parse_assign;
    use crate::provisioning_policies::domain::Changes;
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
        for prefer in [false, true] {
            match Changes::parse(&object, version, prefer).and_then(Changes::create) {
                Ok(new) => assert!(!new.values.display_name.as_str().trim().is_empty()),
                Err(e) => drop(message(&e)),
            }
        }
    }
    match parse_assign(&object) {
        Ok(targets) => {
            let mut groups: Vec<&str> = targets.iter().map(|t| t.group_id.as_str()).collect();
            assert!(groups
                .iter()
                .all(|g| g.len() == 36 && *g == g.to_lowercase()));
            groups.sort_unstable();
            groups.dedup();
            assert_eq!(groups.len(), targets.len(), "a group assigned twice");
        }
        Err(e) => drop(message(&e)),
    }
}

/// A state document (`POST /_emulator/import`, `--seed`), as bytes, checked for all tenants and for one: nothing
/// panics, a refusal names the part it is about, and what is accepted keeps the rules the database relies on (a
/// tenant's import holds only that tenant's images and policies; a due time exactly on pending images; every image
/// and policy has an id).
pub fn check_state_document(bytes: &[u8]) {
    use crate::control::state::{ImageDefaults, Scope, StateDocument};
    use crate::graph::enums::ImageStatus;
    let Ok(object) = parse_object(bytes).map_err(|e| message(&e)) else {
        return;
    };
    let defaults = ImageDefaults {
        wall: chrono::DateTime::from_timestamp(1_764_000_000, 0).unwrap_or_default(),
        offset_ms: 0,
        upload_seconds: 60,
    };
    for scope in [Scope::All, Scope::Tenant("contoso".into())] {
        match StateDocument::parse(object_clone(&object), &scope, &defaults) {
            Err(e) => {
                let text = message(&e);
                let part = text.split_once(": ").map_or("", |(_, m)| m);
                assert!(
                    [
                        "images",
                        "provisioningPolicies",
                        "sourceImages",
                        "galleryImages",
                        "faults",
                        "clock"
                    ]
                    .iter()
                    .any(|p| part.starts_with(p))
                        || part.contains("a state document has"),
                    "a refusal that names no part: {text}"
                );
            }
            Ok(doc) => {
                for image in &doc.images {
                    assert!(image.new.id.is_some());
                    let pending = image.new.status == ImageStatus::Pending;
                    assert_eq!(pending, image.upload_due_at.is_some(), "{image:?}");
                    if let Scope::Tenant(t) = &scope {
                        assert_eq!(&image.tenant_id, t);
                    }
                }
                for policy in &doc.policies {
                    assert!(policy.new.id.is_some());
                    if let Scope::Tenant(t) = &scope {
                        assert_eq!(&policy.tenant_id, t);
                    }
                }
            }
        }
    }
}

fn object_clone(o: &crate::graph::body::JsonObject) -> crate::graph::body::JsonObject {
    crate::graph::body::JsonObject(o.0.clone())
}

/// The orders a `$skiptoken` is checked against: the default and a few `$orderby`s of every key kind.
const ORDERS: &[&str] = &[
    "",
    "displayName desc",
    "sizeInGB,version desc",
    "status,expirationDate desc",
];

/// The sort orders of [`ORDERS`].
pub fn orders() -> Vec<crate::graph::odata::order::SortOrder> {
    use crate::graph::odata::order::SortOrder;
    ORDERS
        .iter()
        .map(|order| match *order {
            "" => SortOrder::creation(),
            o => SortOrder::parse(o, &DEVICE_IMAGES, ApiVersion::Beta).expect("a valid $orderby"),
        })
        .collect()
}

/// Checks one `$skiptoken` against several orders: refused with a message, or a position that round-trips through
/// [`SortOrder::token`] and compiles to a keyset condition SQLite prepares with one bound value per key.
pub fn check_skiptoken(db: &rusqlite::Connection, token: &str) -> usize {
    let mut accepted = 0;
    for order in orders() {
        let position = match order.position(token) {
            Err(e) => {
                message(&e);
                continue;
            }
            Ok(position) => position,
        };
        assert_eq!(position.len(), order.keys.len(), "{token:?}");
        let again = order.token(&position);
        assert_eq!(
            order.position(&again).ok(),
            Some(position.clone()),
            "{token:?}"
        );
        let mut params = Vec::new();
        let condition = order.after(&position, &mut params).expect("a condition");
        let sql = format!("SELECT count(*) FROM device_images WHERE {condition}");
        let statement = db
            .prepare(&sql)
            .unwrap_or_else(|e| panic!("{token:?} -> {sql}: {e}"));
        assert_eq!(statement.parameter_count(), params.len(), "{token:?}");
        accepted += 1;
    }
    accepted
}

/// Checks one `$batch` body: refused with a message, or items in an order where each follows what it depends on.
/// Returns whether it was planned.
pub fn check_batch(bytes: &[u8]) -> bool {
    match crate::http::graph::batch::plan(bytes) {
        Err(e) => {
            message(&e);
            false
        }
        Ok(plan) => {
            assert!((1..=crate::http::graph::batch::MAX_ITEMS).contains(&plan.len()));
            for (at, (target, depends_on)) in plan.iter().enumerate() {
                match target {
                    Ok(path) => {
                        assert!(path.starts_with("/beta/"), "{path}");
                        assert!(path.parse::<actix_web::http::Uri>().is_ok(), "{path}");
                    }
                    Err(why) => assert!(!why.is_empty()),
                }
                for dep in depends_on {
                    assert!(*dep < at, "an item runs before what it depends on");
                }
            }
            true
        }
    }
}

/// Checks one request path's split ([`Segments`](crate::graph::path::Segments), hand-written index code every request
/// runs): its segments are what `str::split` and a decode of each give, none empty, and its normalized path is `/`
/// and the segments joined by `/`. Returns the path's route label (which must not panic either).
pub fn check_path(raw: &str) -> &'static str {
    let segments = crate::graph::path::Segments::parse(raw);
    let parts = segments.to_vec();
    let expected: Vec<String> = raw
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| crate::graph::path::percent_decode(s, false))
        .collect();
    assert_eq!(parts, expected, "{raw:?}");
    assert_eq!(segments.len(), parts.len());
    assert_eq!(segments.is_empty(), parts.is_empty());
    assert_eq!(segments.first(), parts.first().copied());
    assert!(parts.iter().all(|p| !p.is_empty()), "{raw:?}");
    let joined: String = parts.iter().flat_map(|p| ["/", p]).collect();
    let normalized = if parts.is_empty() { "/" } else { &joined };
    assert_eq!(segments.normalized(), normalized, "{raw:?}");
    crate::control::metrics::route_of(&segments)
}
