//! Arbitrary text as `/proc/net/arp`: parsing never panics and keeps only usable entries.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for n in tsn_datapath::neigh::parse_arp_table(&text) {
        assert_ne!(n.mac, [0u8; 6]);
    }
});
