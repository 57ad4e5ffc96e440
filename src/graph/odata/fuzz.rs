//! Property tests over the `$filter` compiler and the body parser (issue 9), beside the cargo-fuzz targets in `fuzz/`:
//! deterministic, so they run in `cargo test`. See `fuzz/README.md`: the committed corpus is replayed, then a fixed-seed
//! generator builds thousands of inputs. Nothing may panic, every refusal carries a message, and every accepted
//! filter compiles to SQL that SQLite prepares, with every literal a bound parameter.

use std::path::Path;

use super::properties::{check_body, check_filter};

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

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
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

fn corpus(kind: &str) -> Vec<Vec<u8>> {
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
    let mut rng = Rng(0xB0D1);
    for _ in 0..3000 {
        let base = if rng.below(3) == 0 {
            let seed = rng.below(seeds.len());
            String::from_utf8_lossy(&seeds[seed]).into_owned()
        } else {
            valid.to_owned()
        };
        check_body(rng.mutate(&base).as_bytes());
    }
}
