//! The parser on real `lldpcli -f json0` output captured from lldpd 1.0.16 (Debian 12)
//! running in network namespaces (see `data/`).

use tsn_lldp::{parse_chassis, parse_neighbors, IdSubtype, LldpError};

fn data(name: &str) -> String {
    let path = format!(
        "{}/tests/data/{name}",
        std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR is set by cargo test")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn a_single_neighbour_with_default_settings() {
    let n = parse_neighbors(&data("neighbors-single.json")).unwrap();
    assert_eq!(n.len(), 1);
    let n = &n[0];
    assert_eq!(n.local_interface, "p0");
    assert_eq!(n.protocol.as_deref(), Some("LLDP"));
    assert_eq!(n.chassis.id.subtype, IdSubtype::Mac);
    assert_eq!(n.chassis.id.value, "4a:cd:a6:f8:a7:3c");
    assert_eq!(n.chassis.name.as_deref(), Some("nodeb"));
    assert!(n.chassis.is_station());
    assert!(!n.chassis.is_bridge());
    assert_eq!(n.chassis.management_addresses, vec!["fe80::48cd:a6ff:fef8:a73c".parse::<std::net::IpAddr>().unwrap()]);
    assert_eq!(n.port.id.subtype, IdSubtype::Mac);
    assert_eq!(n.port.description.as_deref(), Some("p0"));
    assert_eq!(n.port.ttl_s, Some(4));
}

#[test]
fn several_neighbours_on_one_port() {
    // p1 is on a shared segment (a Linux bridge forwarding LLDP) with two other systems.
    let n = parse_neighbors(&data("neighbors-shared-segment.json")).unwrap();
    let seen: Vec<(&str, &str, Option<u32>)> =
        n.iter().map(|n| (n.local_interface.as_str(), n.chassis.name.as_deref().unwrap(), n.port.ttl_s)).collect();
    assert_eq!(seen, vec![("p0", "nodeb", Some(4)), ("p1", "nodeb", Some(4)), ("p1", "nodec", Some(120))]);
}

#[test]
fn ifname_port_ids_and_bridge_capability() {
    let n = parse_neighbors(&data("neighbors-ifname-bridge.json")).unwrap();
    assert_eq!(n.len(), 3);
    assert_eq!(n[0].chassis.name.as_deref(), Some("nodea"));
    assert!(n[0].chassis.is_bridge());
    assert!(!n[0].chassis.is_station());
    assert_eq!(n[0].port.id.subtype, IdSubtype::IfName);
    assert_eq!(n[0].port.id.value, "p0");
    assert_eq!(n[1].port.id.value, "p1");
    assert_eq!(n[2].port.id.subtype, IdSubtype::Mac);
}

#[test]
fn no_neighbours_is_an_empty_list() {
    assert_eq!(parse_neighbors(&data("neighbors-none.json")).unwrap(), vec![]);
}

#[test]
fn local_chassis() {
    let c = parse_chassis(&data("chassis-station.json")).unwrap();
    assert_eq!(c.id.subtype, IdSubtype::Mac);
    assert_eq!(c.id.value, "f2:60:fe:2e:20:3e");
    assert_eq!(c.name.as_deref(), Some("nodea"));
    assert!(c.is_station());
    let c = parse_chassis(&data("chassis-bridge.json")).unwrap();
    assert!(c.is_bridge());
}

#[test]
fn errors_name_the_problem() {
    let not_json0 = r#"{"lldp": {"interface": {"p0": {}}}}"#;
    let e = parse_neighbors(not_json0).unwrap_err();
    assert!(matches!(e, LldpError::Shape { .. }), "{e}");
    assert!(e.to_string().contains("json0"), "{e}");

    let e = parse_neighbors(&data("chassis-station.json")).unwrap_err();
    assert!(e.to_string().contains("local-chassis"), "{e}");

    let no_port_id = r#"{"lldp":[{"interface":[{"name":"p3","chassis":[{"id":[{"type":"mac","value":"aa"}]}],
        "port":[{"descr":[{"value":"x"}]}]}]}]}"#;
    assert_eq!(
        parse_neighbors(no_port_id).unwrap_err(),
        LldpError::Missing { context: "neighbour on p3".into(), field: "port id" }
    );

    let bad_ttl = r#"{"lldp":[{"interface":[{"name":"p0","chassis":[{"id":[{"type":"mac","value":"aa"}]}],
        "port":[{"id":[{"type":"ifname","value":"p1"}],"ttl":[{"value":"soon"}]}]}]}]}"#;
    let e = parse_neighbors(bad_ttl).unwrap_err();
    assert!(e.to_string().contains("ttl") && e.to_string().contains("soon"), "{e}");

    assert!(matches!(parse_chassis(""), Err(LldpError::Shape { .. })));
    assert!(matches!(parse_chassis(r#"{"local-chassis":[]}"#), Err(LldpError::Missing { .. })));
}
