//! `$filter` on both versions, with and without the evolvable-enum preference: the properties of
//! `cloudpc_emulator::properties::check_filter`.
#![no_main]

use cloudpc_emulator::properties::{check_filter, shared_db};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(input) = std::str::from_utf8(data) {
        check_filter(&shared_db(), input);
    }
});
