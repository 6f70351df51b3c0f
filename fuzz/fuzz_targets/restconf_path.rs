//! Arbitrary RESTCONF api-paths: parsing, percent-decoding and resolution against the
//! cnc-config schema never panic, and resolved targets print back to a parseable path.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use uni_gateway::path::{parse_api_path, resolve};

fn schema() -> &'static tsn_yang::Schema {
    static S: OnceLock<tsn_yang::Schema> = OnceLock::new();
    S.get_or_init(|| tsn_yang::Schema::cnc_config().expect("modules load"))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(segments) = parse_api_path(&text) {
        if let Ok(target) = resolve(schema(), &segments) {
            let again = parse_api_path(&target.api_path()).expect("printed paths parse");
            assert_eq!(resolve(schema(), &again).expect("printed paths resolve"), target);
            let _ = target.xpath();
        }
    }
});
