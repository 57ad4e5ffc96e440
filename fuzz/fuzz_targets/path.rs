//! A request path, as text, through the splitter every request runs and the route label: the properties of
//! `cloudpc_emulator::properties::check_path`.
#![no_main]

use cloudpc_emulator::properties::check_path;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(path) = std::str::from_utf8(data) {
        check_path(path);
    }
});
