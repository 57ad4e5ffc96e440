//! A create's body, as bytes, through the JSON object parser and the domain validation on both versions: never a
//! panic, and every refusal with a message.
#![no_main]

use cloudpc_emulator::device_images::domain::{CreateDeviceImageRequest, NewDeviceImage};
use cloudpc_emulator::graph::body::parse_object;
use cloudpc_emulator::graph::ApiVersion;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for version in [ApiVersion::Beta, ApiVersion::V1] {
        for include_unknown in [false, true] {
            let body = match parse_object(data) {
                Ok(body) => body,
                Err(e) => {
                    assert!(e.to_string().len() > "badRequest: ".len(), "an empty message");
                    return;
                }
            };
            let request = CreateDeviceImageRequest {
                body,
                version,
                include_unknown,
            };
            if let Err(e) = NewDeviceImage::try_from(request) {
                assert!(e.to_string().len() > "badRequest: ".len(), "an empty message");
            }
        }
    }
});
