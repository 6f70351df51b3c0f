//! Arbitrary bytes as `lldpcli -f json0` neighbour and chassis output.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(neighbors) = tsn_lldp::parse_neighbors(&text) {
        for n in &neighbors {
            // Mandatory fields are never accepted empty.
            assert!(!n.local_interface.is_empty());
            assert!(!n.chassis.id.value.is_empty());
            assert!(!n.port.id.value.is_empty());
        }
    }
    if let Ok(chassis) = tsn_lldp::parse_chassis(&text) {
        assert!(!chassis.id.value.is_empty());
    }
});
