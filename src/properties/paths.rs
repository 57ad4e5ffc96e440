//! The property test of the request-path splitter (`graph::path::Segments`), beside the cargo-fuzz target `path`:
//! the committed corpus, then paths generated from route prefixes and pieces that need decoding, each checked by
//! [`check_path`](super::check_path) against a plain split and decode.

use super::check_path;
use super::fuzz::{corpus, Rng};

#[test]
fn paths_split_as_a_plain_split_and_decode_would() {
    const PIECES: &[&str] = &[
        "/",
        "//",
        "v1.0",
        "BETA",
        "deviceManagement",
        "virtualEndpoint",
        "deviceImages",
        "_emulator",
        "%2F",
        "%2f",
        "%",
        "%4",
        "%zz",
        "%41",
        "%ff",
        "%C3%A9",
        "é",
        "$count",
        "a",
        "",
    ];
    for bytes in corpus("path") {
        check_path(&String::from_utf8_lossy(&bytes));
    }
    const PREFIXES: &[&str] = &[
        "",
        "/v1.0/deviceManagement/virtualEndpoint/deviceImages",
        "/_emulator",
    ];
    let mut labels = std::collections::BTreeSet::new();
    let mut rng = Rng(0x9A7E);
    for _ in 0..20_000 {
        let mut path = PREFIXES[rng.below(PREFIXES.len())].to_owned();
        for _ in 0..rng.below(8) {
            if rng.below(4) > 0 {
                path.push('/');
            }
            path.push_str(PIECES[rng.below(PIECES.len())]);
        }
        labels.insert(check_path(&path));
    }
    // The generated paths reach real routes, not only "other".
    for label in [
        "deviceImages",
        "deviceImages/{id}",
        "deviceImages/$count",
        "/_emulator",
    ] {
        assert!(labels.contains(label), "{label} not reached: {labels:?}");
    }
}
