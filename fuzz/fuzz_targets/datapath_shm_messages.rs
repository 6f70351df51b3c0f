//! Arbitrary bytes as the shim/agent negotiation messages: decoding never panics and an
//! accepted offer always describes a consistent region layout.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsn_datapath::shm::{Hello, Layout, RegionOffer};

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = Hello::decode(data) {
        assert_eq!(Hello::decode(&h.encode()).ok(), Some(h));
    }
    if let Ok(o) = RegionOffer::decode(data) {
        if o.status == 0 {
            let l = Layout::new(o.slot_count, o.slot_size).expect("accepted geometry");
            assert_eq!(l.len as u64, o.region_len);
        }
    }
});
