//! Arbitrary request bodies: the strict JSON reader and libyang (as configuration, a
//! configuration fragment, RPC input and XML) never panic, and whatever libyang accepts it
//! prints and re-parses to the same document.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tsn_yang::{DataKind, Encoding, Schema};

fn schema() -> &'static Schema {
    static S: OnceLock<Schema> = OnceLock::new();
    S.get_or_init(|| Schema::cnc_config().expect("modules load"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = uni_gateway::tree::parse_json_strict(text);
    for (enc, kind) in [
        (Encoding::Json, DataKind::Config),
        (Encoding::Json, DataKind::ConfigFragment),
        (Encoding::Json, DataKind::RpcInput),
        (Encoding::Xml, DataKind::ConfigFragment),
    ] {
        if let Ok(doc) = schema().parse(text, enc, kind) {
            let printed = doc.print(Encoding::Json).expect("accepted documents print");
            if kind != DataKind::RpcInput {
                let again = schema().parse(&printed, Encoding::Json, kind).expect("printed documents parse");
                assert_eq!(again.print(Encoding::Json).unwrap(), printed);
            }
        }
    }
});
