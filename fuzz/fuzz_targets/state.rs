//! A state document (`POST /_emulator/import`, `--seed`), as bytes, through the JSON object parser and the document's
//! checks for all tenants and for one: the properties of `cloudpc_emulator::properties::check_state_document`.
#![no_main]

use cloudpc_emulator::properties::check_state_document;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| check_state_document(data));
