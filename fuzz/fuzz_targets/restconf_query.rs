//! Arbitrary query strings: splitting, decoding, depth/fields/content parsing never panic,
//! and a parsed `fields` applies to a document without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uni_gateway::query::{apply_depth, apply_fields, data_query, parse_fields, split_query};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(params) = split_query(Some(&text)) {
        let _ = data_query(&params);
    }
    if let Ok(f) = parse_fields(&text) {
        let doc = serde_json::json!({"domain": [{"domain-id": "d", "cuc": [{"cuc-id": "c", "stream": [{"stream-id": "s"}]}]}]});
        let keys = |_: &str| vec!["domain-id".to_string()];
        let v = apply_fields(&doc, &f, &keys);
        let _ = apply_depth(&v, 3, &keys, &[]);
    }
});
