//! A `$batch` body, as bytes, through the batch parser and planner: the properties of
//! `cloudpc_emulator::properties::check_batch`.
#![no_main]

use cloudpc_emulator::properties::check_batch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check_batch(data);
});
