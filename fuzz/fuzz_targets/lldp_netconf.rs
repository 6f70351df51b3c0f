//! Arbitrary bytes as an `ieee802-dot1ab-lldp` `<lldp>` tree from a NETCONF `<get>`; what
//! parses renders back and parses to the same records.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(lldp) = tsn_lldp::parse_lldp_xml(&text) {
        // Mandatory fields are never accepted empty.
        assert!(!lldp.chassis.id.value.is_empty());
        for n in &lldp.neighbors {
            assert!(!n.local_interface.trim().is_empty());
            assert!(!n.chassis.id.value.is_empty());
            assert!(!n.port.id.value.is_empty());
        }
        let again = tsn_lldp::parse_lldp_xml(&tsn_lldp::render_lldp_xml(&lldp)).expect("a rendered tree parses");
        assert_eq!(again.neighbors.len(), lldp.neighbors.len());
        assert_eq!(again.chassis.id, lldp.chassis.id);
    }
});
