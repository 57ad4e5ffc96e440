//! `$skiptoken` against several sort orders: the properties of
//! `cloudpc_emulator::graph::odata::properties::check_skiptoken`.
#![no_main]

use std::sync::{Mutex, OnceLock};

use cloudpc_emulator::graph::odata::properties::check_skiptoken;
use libfuzzer_sys::fuzz_target;

static DB: OnceLock<Mutex<rusqlite::Connection>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    if let Ok(input) = std::str::from_utf8(data) {
        let db = DB
            .get_or_init(|| Mutex::new(cloudpc_emulator::db::migrated_rusqlite_for_tests()))
            .lock()
            .unwrap();
        check_skiptoken(&db, input.trim());
    }
});
