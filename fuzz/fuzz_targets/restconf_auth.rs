//! Arbitrary client certificates (DER) and Authorization headers never panic the identity
//! extraction.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uni_gateway::auth::{parse_basic, subject_common_name};

fuzz_target!(|data: &[u8]| {
    let _ = subject_common_name(data);
    let _ = parse_basic(&String::from_utf8_lossy(data));
});
