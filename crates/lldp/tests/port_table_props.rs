//! Property tests of the sysfs port-table parser: arbitrary text never panics, and tables
//! rendered the way the remote command prints them parse back to the same ports.

use proptest::prelude::*;
use tsn_lldp::{parse_port_table, PortState};

fn port() -> impl Strategy<Value = PortState> {
    (
        "[a-z][a-z0-9@._-]{0,14}",
        prop::option::of(prop::array::uniform6(any::<u8>())),
        prop::option::of(1u64..=400_000),
        prop::sample::select(vec!["up", "down", "lowerlayerdown", "unknown", "dormant"]),
    )
        .prop_map(|(name, mac, speed_mbps, operstate)| PortState {
            name,
            mac: mac.map(|m| m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")),
            speed_bps: speed_mbps.map(|s| s * 1_000_000),
            operstate: operstate.to_owned(),
        })
}

fn render(ports: &[PortState]) -> String {
    ports
        .iter()
        .map(|p| {
            let speed = p.speed_bps.map_or("-1".to_owned(), |s| (s / 1_000_000).to_string());
            format!("{}|{}|{}|{}\n", p.name, p.mac.clone().unwrap_or_default(), speed, p.operstate)
        })
        .collect()
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "(?s).{0,300}") {
        let _ = parse_port_table(&text);
    }

    #[test]
    fn near_miss_lines_never_panic(text in "[a-z0-9|:\\- \n]{0,120}") {
        if let Ok(ports) = parse_port_table(&text) {
            for p in ports {
                prop_assert!(!p.name.is_empty());
            }
        }
    }

    #[test]
    fn rendered_tables_round_trip(ports in prop::collection::vec(port(), 0..12)) {
        prop_assert_eq!(parse_port_table(&render(&ports)).unwrap(), ports);
    }
}
