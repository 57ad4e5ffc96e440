//! `$skiptoken` against several sort orders: the properties of
//! `cloudpc_emulator::properties::check_skiptoken`.
#![no_main]

use cloudpc_emulator::properties::{check_skiptoken, shared_db};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(input) = std::str::from_utf8(data) {
        check_skiptoken(&shared_db(), input.trim());
    }
});
