//! `$filter` on both versions, with and without the evolvable-enum preference: the properties of
//! `cloudpc_emulator::graph::odata::properties::check_filter`.
#![no_main]

use std::sync::{Mutex, OnceLock};

use cloudpc_emulator::graph::odata::properties::check_filter;
use libfuzzer_sys::fuzz_target;

static DB: OnceLock<Mutex<rusqlite::Connection>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    if let Ok(input) = std::str::from_utf8(data) {
        let db = DB
            .get_or_init(|| Mutex::new(cloudpc_emulator::db::migrated_rusqlite_for_tests()))
            .lock()
            .unwrap();
        check_filter(&db, input);
    }
});
