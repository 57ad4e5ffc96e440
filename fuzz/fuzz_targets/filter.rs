//! `$filter` on both versions, with and without the evolvable-enum preference: never a panic, every refusal with a
//! message, and every accepted filter compiled to SQL that SQLite prepares, with every literal a bound parameter.
#![no_main]

use std::sync::OnceLock;

use cloudpc_emulator::device_images::query::DEVICE_IMAGES;
use cloudpc_emulator::graph::odata::Condition;
use cloudpc_emulator::graph::ApiVersion;
use libfuzzer_sys::fuzz_target;

static DB: OnceLock<std::sync::Mutex<rusqlite::Connection>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let db = DB
        .get_or_init(|| std::sync::Mutex::new(cloudpc_emulator::db::migrated_rusqlite_for_tests()))
        .lock()
        .unwrap();
    for version in [ApiVersion::Beta, ApiVersion::V1] {
        for prefer in [false, true] {
            match Condition::parse(input, &DEVICE_IMAGES, version, prefer) {
                Err(e) => assert!(e.to_string().len() > "badRequest: ".len(), "an empty message"),
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
                }
            }
        }
    }
});
