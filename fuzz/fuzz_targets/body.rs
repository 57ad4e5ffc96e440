//! A create's body, as bytes, through the JSON object parser and the domain validation on both versions: the
//! properties of `cloudpc_emulator::properties::check_body`.
#![no_main]

use cloudpc_emulator::properties::check_body;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| check_body(data));
