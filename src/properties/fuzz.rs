//! Property tests over the `$filter` compiler and the body parser (issue 9), beside the cargo-fuzz targets in `fuzz/`:
//! deterministic, so they run in `cargo test`. See `fuzz/README.md`: the committed corpus is replayed, then a fixed-seed
//! generator builds thousands of inputs. Nothing may panic, every refusal carries a message, and every accepted
//! filter compiles to SQL that SQLite prepares, with every literal a bound parameter.

use std::path::Path;

use super::{check_batch, check_body, check_filter, check_skiptoken};

const TOKENS: &[&str] = &[
    "status",
    "displayName",
    "sizeInGB",
    "errorCode",
    "statusDetails",
    "scopeIds",
    "id",
    "expirationDate",
    "lastModifiedDateTime",
    "eq",
    "ne",
    "gt",
    "le",
    "and",
    "or",
    "not",
    "in",
    "(",
    ")",
    ",",
    "'x'",
    "'it''s'",
    "''",
    "'",
    "1",
    "-5",
    "1.5",
    "1e400",
    "99999999999999999999",
    "2026-01-01",
    "2026-01-01T00:00:00Z",
    "null",
    "true",
    "startswith(",
    "endswith(",
    "contains(",
    "tolower(",
    "ready",
    "'ready'",
    "'warning'",
    "'unknownFutureValue'",
    "microsoft.graph.cloudPcDeviceImageStatus'ready'",
    "é",
    "\u{0}",
    ";",
    "%",
    "_",
    "--",
    "/*",
    "$",
    "\\",
];

pub(super) struct Rng(pub(super) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Deletes, inserts, swaps or truncates at random places.
    fn mutate(&mut self, input: &str) -> String {
        let mut chars: Vec<char> = input.chars().collect();
        for _ in 0..=self.below(4) {
            let at = if chars.is_empty() {
                0
            } else {
                self.below(chars.len())
            };
            match self.below(4) {
                0 if !chars.is_empty() => {
                    chars.remove(at);
                }
                1 => {
                    let token = TOKENS[self.below(TOKENS.len())];
                    for (k, c) in token.chars().enumerate() {
                        chars.insert((at + k).min(chars.len()), c);
                    }
                }
                2 if chars.len() > 1 => {
                    let other = self.below(chars.len());
                    chars.swap(at, other);
                }
                _ => chars.truncate(at),
            }
        }
        chars.into_iter().collect()
    }
}

/// A well-typed comparison or function call, joined to others by and/or, sometimes negated.
fn structured(rng: &mut Rng) -> String {
    const PARTS: &[&str] = &[
        "status eq 'ready'",
        "status in ('pending', 'failed')",
        "errorCode eq null",
        "sizeInGB ge 64",
        "sizeInGB lt 1.5",
        "displayName eq 'O''Brien'",
        "startswith(displayName, '%_')",
        "contains(version, '1.')",
        "endswith(sourceImageResourceId, 'x')",
        "expirationDate gt 2026-01-01",
        "lastModifiedDateTime le 2026-11-29T12:00:00+01:00",
        "osStatus ne 'unknown'",
        "id eq 'ABC'",
        "true",
        "status eq 'unknownFutureValue'",
        "errorCode eq 'vmAlreadyAzureAdjoined'",
        "statusDetails ne null",
    ];
    let n = 1 + rng.below(4);
    let mut out = String::new();
    for i in 0..n {
        if i > 0 {
            out.push_str(if rng.below(2) == 0 { " and " } else { " or " });
        }
        let part = PARTS[rng.below(PARTS.len())];
        if rng.below(4) == 0 {
            out.push_str(&format!("not ({part})"));
        } else {
            out.push_str(part);
        }
    }
    out
}

pub(super) fn corpus(kind: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(kind);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

#[test]
fn filters_never_panic_and_compile_only_to_parameterised_sql() {
    let db = crate::db::migrated_rusqlite_for_tests();
    let seeds: Vec<String> = corpus("filter")
        .into_iter()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect();
    let mut compiled = 0;
    for input in &seeds {
        compiled += check_filter(&db, input);
    }
    let mut rng = Rng(0x00C1_0D9C);
    for _ in 0..6000 {
        let input = if rng.below(3) == 0 {
            structured(&mut rng)
        } else if rng.below(2) == 0 {
            let n = 1 + rng.below(12);
            (0..n)
                .map(|_| TOKENS[rng.below(TOKENS.len())])
                .collect::<Vec<_>>()
                .join(if rng.below(3) == 0 { "" } else { " " })
        } else {
            let seed = rng.below(seeds.len());
            rng.mutate(&seeds[seed])
        };
        compiled += check_filter(&db, &input);
    }
    assert!(
        compiled > 2000,
        "the generator must also reach valid filters: {compiled}"
    );
}

#[test]
fn bodies_never_panic_and_every_refusal_says_why() {
    let seeds = corpus("body");
    for bytes in &seeds {
        check_body(bytes);
    }
    let valid = r#"{"displayName":"a","version":"1.0.0","sourceImageResourceId":"/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0/resourceGroups/rg/providers/Microsoft.Compute/images/x","status":"failed","errorCode":"sourceImageInvalid","sizeInGB":64,"scopeIds":["1"]}"#;
    let policy = r#"{"displayName":"P","imageId":"microsoftwindowsdesktop_windows-ent-cpc_win11-24h2-ent-cpc","imageType":"gallery","domainJoinConfigurations":[{"domainJoinType":"azureADJoin","regionGroup":"usEast"}],"windowsSetting":{"locale":"en-US"},"cloudPcNamingTemplate":"CPC-%RAND:5%","enableSingleSignOn":false}"#;
    let mut rng = Rng(0xB0D1);
    for _ in 0..3000 {
        let base = match rng.below(3) {
            0 => {
                let seed = rng.below(seeds.len());
                String::from_utf8_lossy(&seeds[seed]).into_owned()
            }
            1 => policy.to_owned(),
            _ => valid.to_owned(),
        };
        check_body(rng.mutate(&base).as_bytes());
    }
}

#[test]
fn state_documents_are_refused_naming_the_part_or_keep_the_databases_rules() {
    let seeds = corpus("state");
    for bytes in &seeds {
        super::check_state_document(bytes);
    }
    let mut rng = Rng(0x57A7E);
    for _ in 0..3000 {
        let seed = rng.below(seeds.len());
        let base = String::from_utf8_lossy(&seeds[seed]).into_owned();
        super::check_state_document(rng.mutate(&base).as_bytes());
    }
}

/// Rows that exercise every kind of value a filter meets: NULLs in every optional column, each status, names with
/// quotes and LIKE's wildcards, sizes and dates on both sides of the generator's constants. It is long because it is
/// a table of rows.
fn seeded() -> rusqlite::Connection {
    let db = crate::db::migrated_rusqlite_for_tests();
    #[allow(clippy::type_complexity)]
    let rows: &[(
        &str,
        &str,
        Option<&str>,
        Option<i64>,
        Option<&str>,
        Option<&str>,
        &str,
        &str,
    )] = &[
        // name, status, error code, size, expiration, os status, version, source suffix
        (
            "O'Brien",
            "ready",
            None,
            Some(64),
            Some("2027-01-01"),
            Some("supported"),
            "1.0.0",
            "x",
        ),
        ("%_wild", "pending", None, None, None, None, "2.1.0", "y"),
        (
            "plain",
            "failed",
            Some("sourceImageInvalid"),
            Some(1),
            Some("2025-06-30"),
            Some("unknown"),
            "1.5.3",
            "x",
        ),
        (
            "Ünïcode",
            "warning",
            Some("vmAlreadyAzureAdjoined"),
            Some(128),
            None,
            Some("supportedWithWarning"),
            "10.0.1",
            "z",
        ),
        (
            "abc",
            "failed",
            None,
            Some(0),
            Some("2026-01-01"),
            None,
            "1.0.10",
            "xx",
        ),
        (
            "ABC",
            "ready",
            None,
            Some(65),
            None,
            Some("unknown"),
            "0.0.1",
            "w",
        ),
    ];
    for (n, (name, status, error, size, expires, os, version, suffix)) in rows.iter().enumerate() {
        db.execute(
            "INSERT INTO device_images (id, tenant_id, display_name, display_name_key, version, \
             source_image_resource_id, os_status, size_in_gb, expiration_date, status, error_code, scope_ids, \
             last_modified_date_time, created_date_time) \
             VALUES (?1, 't', ?2, lower(?2), ?3, ?4, ?5, ?6, ?7, ?8, ?9, '[]', ?10, ?10)",
            rusqlite::params![
                format!("0000000{n}-0000-4000-8000-000000000000"),
                name,
                version,
                format!("/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/images/{suffix}"),
                os,
                size,
                expires,
                status,
                error,
                format!("2026-11-29T1{n}:00:00.000Z"),
            ],
        )
        .unwrap();
    }
    db
}

/// How many seeded rows a compiled filter selects.
fn selected(db: &rusqlite::Connection, c: &super::Condition) -> usize {
    use crate::graph::odata::schema::Param;
    let params: Vec<rusqlite::types::Value> = c
        .params
        .iter()
        .map(|p| match p {
            Param::Text(s) => rusqlite::types::Value::Text(s.clone()),
            Param::Int(i) => rusqlite::types::Value::Integer(*i),
            Param::Real(r) => rusqlite::types::Value::Real(*r),
        })
        .collect();
    let sql = format!(
        "SELECT count(*) FROM device_images WHERE tenant_id = 't' AND ({})",
        c.sql
    );
    db.query_row(&sql, rusqlite::params_from_iter(params), |r| {
        r.get::<_, i64>(0)
    })
    .unwrap_or_else(|e| panic!("{sql}: {e}")) as usize
}

/// The semantics, checked without a second evaluator (metamorphic): OData's logic is two-valued (a comparison with
/// null is false, `not` of false is true), so for every accepted filter `f` the rows of `f` and of `not (f)` partition
/// the tenant's rows, `f or not (f)` selects them all, `f and not (f)` none, and `(f)` the same as `f`. A NULL leaking
/// SQL's three-valued logic into a result breaks the partition.
#[test]
fn filters_and_their_negations_partition_the_rows() {
    use super::Condition;
    use crate::device_images::query::DEVICE_IMAGES;
    use crate::graph::ApiVersion;
    let db = seeded();
    let total: usize = db
        .query_row("SELECT count(*) FROM device_images", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap() as usize;
    let parse = |f: &str| Condition::parse(f, &DEVICE_IMAGES, ApiVersion::Beta, true);
    let mut rng = Rng(0x5E4A);
    let mut checked = 0;
    let mut selective = 0;
    for _ in 0..3000 {
        let f = structured(&mut rng);
        let Ok(plain) = parse(&f) else { continue };
        let negated = parse(&format!("not ({f})")).unwrap_or_else(|e| panic!("not ({f}): {e}"));
        let (yes, no) = (selected(&db, &plain), selected(&db, &negated));
        assert_eq!(
            yes + no,
            total,
            "{f}: {yes} rows, its negation {no}, of {total}"
        );
        let all = parse(&format!("({f}) or not ({f})")).unwrap();
        assert_eq!(selected(&db, &all), total, "{f} or its negation");
        let none = parse(&format!("({f}) and not ({f})")).unwrap();
        assert_eq!(selected(&db, &none), 0, "{f} and its negation");
        assert_eq!(
            selected(&db, &parse(&format!("({f})")).unwrap()),
            yes,
            "({f})"
        );
        checked += 1;
        selective += usize::from(yes > 0 && yes < total);
    }
    assert!(checked > 1000, "{checked}");
    assert!(
        selective > 300,
        "most filters must split the rows: {selective}"
    );
}

/// Hex of a text, as the emulator writes a `$skiptoken`.
fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn skiptokens_are_refused_with_a_message_or_round_trip() {
    let db = crate::db::migrated_rusqlite_for_tests();
    let seeds: Vec<String> = corpus("skiptoken")
        .into_iter()
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .collect();
    let mut rng = Rng(0x5_1C1F);
    let mut accepted = 0;
    for token in &seeds {
        accepted += check_skiptoken(&db, token);
    }
    for _ in 0..4000 {
        let token = match rng.below(4) {
            // A token the emulator could have written, for a random position of values of any JSON type.
            3 => {
                let orders = super::orders();
                let order = &orders[rng.below(orders.len())];
                let len = (order.keys.len() + rng.below(3)).saturating_sub(1);
                let position: Vec<serde_json::Value> = (0..len)
                    .map(|_| match rng.below(6) {
                        0 => serde_json::json!(rng.next() as i64),
                        1 => serde_json::json!(TOKENS[rng.below(TOKENS.len())]),
                        2 => serde_json::Value::Null,
                        3 => serde_json::json!(1.5),
                        4 => serde_json::json!(true),
                        _ => serde_json::json!(rng.below(100)),
                    })
                    .collect();
                order.token(&position)
            }
            // A token's JSON, mutated, re-encoded: reaches the decoder's checks.
            0 => {
                let seed = String::from_utf8(
                    (0..seeds[0].len() / 2)
                        .map(|i| u8::from_str_radix(&seeds[0][2 * i..2 * i + 2], 16).unwrap())
                        .collect(),
                )
                .unwrap();
                hex(&rng.mutate(&seed))
            }
            1 => {
                let seed = rng.below(seeds.len());
                rng.mutate(&seeds[seed])
            }
            _ => (0..rng.below(40))
                .map(|_| TOKENS[rng.below(TOKENS.len())])
                .collect(),
        };
        accepted += check_skiptoken(&db, &token);
    }
    assert!(
        accepted > 50,
        "the generator must also reach valid tokens: {accepted}"
    );
}

#[test]
fn batches_are_refused_with_a_message_or_planned_in_dependency_order() {
    let seeds = corpus("batch");
    let mut planned = 0;
    for bytes in &seeds {
        planned += usize::from(check_batch(bytes));
    }
    let mut rng = Rng(0xBA7C);
    for _ in 0..3000 {
        let seed = String::from_utf8_lossy(&seeds[rng.below(seeds.len())]).into_owned();
        planned += usize::from(check_batch(rng.mutate(&seed).as_bytes()));
    }
    assert!(
        planned > 100,
        "the generator must also reach valid batches: {planned}"
    );
}
