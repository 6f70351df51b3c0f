//! Arbitrary bytes as the sysfs port table the topology service reads over SSH.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(ports) = tsn_lldp::parse_port_table(&text) {
        for p in &ports {
            assert!(!p.name.is_empty());
            assert!(p.mac.as_deref().is_none_or(tsn_lldp::ports::is_mac));
            assert!(p.speed_bps.is_none_or(|s| s > 0));
        }
    }
});
