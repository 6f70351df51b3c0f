//! Arbitrary bytes as a JSON problem and a JSON schedule.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(p) = tsn_formats::json::read_problem(&text) {
        let again = tsn_formats::json::read_problem(&tsn_formats::json::write_problem(&p));
        assert_eq!(again.as_ref(), Ok(&p));
    }
    if let Ok(s) = tsn_formats::json::read_schedule(&text) {
        let again = tsn_formats::json::read_schedule(&tsn_formats::json::write_schedule(&s));
        assert_eq!(again.as_ref(), Ok(&s));
    }
});
