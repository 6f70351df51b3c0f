//! The `ieee802-dot1ab-lldp` XML mapping: real lldpcli output rendered as the YANG tree
//! and parsed back gives the lldpcli parser's records; a tree written the way NETCONF
//! servers send it (prefixes, indentation, wrappers, augmentations) parses to the expected
//! records; and records rendered then parsed come back unchanged (proptest).

use std::net::IpAddr;

use proptest::prelude::*;
use tsn_lldp::dot1ab::{LocalPort, LLDP_NS, NEAREST_BRIDGE};
use tsn_lldp::{
    parse_chassis, parse_lldp_xml, parse_neighbors, render_lldp_xml, Capability, Chassis, IdSubtype, LldpData,
    LldpError, LldpId, Neighbor, RemotePort,
};

const NEIGHBOR_FIXTURES: [&str; 4] = [
    include_str!("data/neighbors-single.json"),
    include_str!("data/neighbors-shared-segment.json"),
    include_str!("data/neighbors-ifname-bridge.json"),
    include_str!("data/neighbors-none.json"),
];
const CHASSIS_FIXTURES: [&str; 2] =
    [include_str!("data/chassis-station.json"), include_str!("data/chassis-bridge.json")];

/// What the YANG model carries of an lldpcli record.
fn as_modelled(mut n: Neighbor) -> Neighbor {
    n.protocol = Some("LLDP".to_owned());
    n.age = None;
    n.port.ttl_s = None;
    n
}

#[test]
fn real_lldpcli_output_survives_the_yang_tree() {
    for chassis_text in CHASSIS_FIXTURES {
        for neighbors_text in NEIGHBOR_FIXTURES {
            let chassis = parse_chassis(chassis_text).unwrap();
            let neighbors = parse_neighbors(neighbors_text).unwrap();
            let data = LldpData::from_records(chassis.clone(), neighbors.clone());
            let xml = render_lldp_xml(&data);
            let back = parse_lldp_xml(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
            let want_chassis = Chassis { management_addresses: Vec::new(), ..chassis };
            assert_eq!(back.chassis, want_chassis);
            // lldpcli lists a port's neighbours together already.
            let want: Vec<Neighbor> = neighbors.into_iter().map(as_modelled).collect();
            assert_eq!(back.neighbors, want, "{xml}");
            assert!(back.ports.iter().all(|p| p.dest_mac == NEAREST_BRIDGE));
        }
    }
}

#[test]
fn a_tree_as_servers_send_it() {
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="7">
  <data>
    <interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"><interface><name>swp1</name></interface></interfaces>
    <l:lldp xmlns:l="{LLDP_NS}" xmlns:x="urn:example:augment">
      <l:message-tx-interval>30</l:message-tx-interval>
      <l:local-system-data>
        <l:chassis-id-subtype>mac-address</l:chassis-id-subtype>
        <l:chassis-id>00-1B-21-AA-BB-01</l:chassis-id>
        <l:system-name>sw1</l:system-name>
        <l:system-capabilities-supported>bridge router</l:system-capabilities-supported>
        <l:system-capabilities-enabled>bridge</l:system-capabilities-enabled>
      </l:local-system-data>
      <l:port>
        <l:name>swp1</l:name>
        <l:dest-mac-address>01-80-C2-00-00-0E</l:dest-mac-address>
        <l:port-id-subtype>interface-name</l:port-id-subtype>
        <l:port-id>swp1</l:port-id>
        <l:tx-statistics><l:total-frames>12</l:total-frames></l:tx-statistics>
        <l:remote-systems-data>
          <l:time-mark>1234</l:time-mark>
          <l:remote-index>3</l:remote-index>
          <l:chassis-id-subtype>local</l:chassis-id-subtype>
          <l:chassis-id>plc &amp; co</l:chassis-id>
          <l:port-id-subtype>mac-address</l:port-id-subtype>
          <l:port-id>02-00-00-00-00-07</l:port-id>
          <l:port-desc>eth0</l:port-desc>
          <l:system-name>plc7</l:system-name>
          <l:system-capabilities-supported>station-only two-port-mac-relay</l:system-capabilities-supported>
          <l:system-capabilities-enabled>station-only</l:system-capabilities-enabled>
          <l:management-address>
            <l:address-subtype xmlns:rt="urn:ietf:params:xml:ns:yang:ietf-routing">rt:ipv4</l:address-subtype>
            <l:address>0A000007</l:address>
            <l:if-subtype>system-port-number</l:if-subtype>
          </l:management-address>
          <l:management-address>
            <l:address-subtype xmlns:a="urn:ietf:params:xml:ns:yang:iana-afn">a:all-802</l:address-subtype>
            <l:address>020000000007</l:address>
          </l:management-address>
          <x:vendor-leaf>ignored</x:vendor-leaf>
        </l:remote-systems-data>
        <l:remote-systems-data>
          <l:time-mark>1300</l:time-mark>
          <l:remote-index>4</l:remote-index>
          <l:chassis-id-subtype>chassis-component</l:chassis-id-subtype>
          <l:chassis-id>slot-1</l:chassis-id>
          <l:port-id-subtype>interface-name</l:port-id-subtype>
          <l:port-id>ge-0/0/1</l:port-id>
        </l:remote-systems-data>
      </l:port>
      <l:port><l:name>swp2</l:name><l:dest-mac-address>01-80-C2-00-00-03</l:dest-mac-address></l:port>
    </l:lldp>
  </data>
</rpc-reply>"#
    );
    let lldp = parse_lldp_xml(&xml).unwrap();
    assert_eq!(lldp.chassis.id, LldpId { subtype: IdSubtype::Mac, value: "00:1b:21:aa:bb:01".into() });
    assert_eq!(lldp.chassis.name.as_deref(), Some("sw1"));
    assert!(lldp.chassis.is_bridge() && !lldp.chassis.capability_enabled("router"));
    assert_eq!(lldp.ports.len(), 2);
    assert_eq!(lldp.ports[0].id, Some(LldpId { subtype: IdSubtype::IfName, value: "swp1".into() }));
    assert_eq!(lldp.ports[1].dest_mac, "01:80:c2:00:00:03");
    assert_eq!(lldp.neighbors.len(), 2);
    let plc = &lldp.neighbors[0];
    assert_eq!(plc.local_interface, "swp1");
    assert_eq!(plc.chassis.id, LldpId { subtype: IdSubtype::Local, value: "plc & co".into() });
    assert_eq!(plc.port.id, LldpId { subtype: IdSubtype::Mac, value: "02:00:00:00:00:07".into() });
    assert_eq!(plc.port.description.as_deref(), Some("eth0"));
    assert!(plc.chassis.is_station() && !plc.chassis.is_bridge());
    assert_eq!(
        plc.chassis.capabilities,
        vec![Capability { name: "Station".into(), enabled: true }, Capability { name: "TPMR".into(), enabled: false }]
    );
    assert_eq!(plc.chassis.management_addresses, vec!["10.0.0.7".parse::<IpAddr>().unwrap()], "MAC family skipped");
    let other = &lldp.neighbors[1];
    assert_eq!(other.chassis.id.subtype, IdSubtype::Other("chassis-component".into()));
    assert_eq!(other.chassis.name, None);
    assert_eq!(other.port.id.value, "ge-0/0/1");
}

#[test]
fn errors_name_the_problem() {
    let e = parse_lldp_xml("<lldp>").unwrap_err();
    assert!(matches!(e, LldpError::Xml(_)), "{e}");
    let e = parse_lldp_xml("<lldp xmlns=\"urn:other\"/>").unwrap_err();
    assert!(e.to_string().contains(LLDP_NS), "wrong namespace: {e}");
    assert!(parse_lldp_xml("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>").is_err(), "no DTDs");
    let e = parse_lldp_xml(&format!("<lldp xmlns=\"{LLDP_NS}\"/>")).unwrap_err();
    assert_eq!(e, LldpError::Missing { context: "local system".into(), field: "local-system-data" });
    let tree = |remote: &str| {
        format!(
            "<lldp xmlns=\"{LLDP_NS}\"><local-system-data><chassis-id>b0</chassis-id></local-system-data>\
             <port><name>p3</name><remote-systems-data>{remote}</remote-systems-data></port></lldp>"
        )
    };
    assert_eq!(
        parse_lldp_xml(&tree("<chassis-id>x</chassis-id>")).unwrap_err(),
        LldpError::Missing { context: "neighbour on p3".into(), field: "port id" }
    );
    assert_eq!(
        parse_lldp_xml(&tree("<port-id>p1</port-id><chassis-id></chassis-id>")).unwrap_err(),
        LldpError::Missing { context: "neighbour on p3".into(), field: "chassis id" }
    );
    // A subtype the model does not define (or none) leaves an opaque local id.
    let odd = parse_lldp_xml(&tree(
        "<chassis-id-subtype>mac-addre3s</chassis-id-subtype><chassis-id>x</chassis-id><port-id>p1</port-id>",
    ))
    .unwrap();
    assert_eq!(odd.neighbors[0].chassis.id.subtype, IdSubtype::Local);
    assert_eq!(odd.neighbors[0].port.id.subtype, IdSubtype::Local);
    let e = parse_lldp_xml(&tree(
        "<chassis-id>x</chassis-id><port-id>p1</port-id><management-address>\
         <address-subtype>ipv4</address-subtype><address>zz</address></management-address>",
    ))
    .unwrap_err();
    assert!(e.to_string().contains("management address") && e.to_string().contains("zz"), "{e}");
}

// ---- round trip ----

/// Text XML can carry (no control characters but tab, line feed and carriage return).
const TEXT: &str = "[^\\x{0}-\\x{8}\\x{b}\\x{c}\\x{e}-\\x{1f}\\x{fffe}\\x{ffff}]";

fn text(max: usize) -> BoxedStrategy<String> {
    proptest::string::string_regex(&format!("{TEXT}{{0,{max}}}")).unwrap().boxed()
}

fn nonempty_text(max: usize) -> BoxedStrategy<String> {
    proptest::string::string_regex(&format!("{TEXT}{{1,{max}}}")).unwrap().boxed()
}

fn mac() -> impl Strategy<Value = String> {
    any::<[u8; 6]>().prop_map(|b| b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":"))
}

fn lldp_id(chassis: bool) -> impl Strategy<Value = LldpId> {
    let odd = if chassis { "chassis-component" } else { "agent-circuit-id" };
    prop_oneof![
        mac().prop_map(|value| LldpId { subtype: IdSubtype::Mac, value }),
        nonempty_text(16).prop_map(|value| LldpId { subtype: IdSubtype::IfName, value }),
        nonempty_text(16).prop_map(|value| LldpId { subtype: IdSubtype::IfAlias, value }),
        nonempty_text(16).prop_map(|value| LldpId { subtype: IdSubtype::Local, value }),
        nonempty_text(16).prop_map(|value| LldpId { subtype: IdSubtype::Ip, value }),
        nonempty_text(16).prop_map(move |value| LldpId { subtype: IdSubtype::Other(odd.to_owned()), value }),
    ]
}

fn capabilities() -> impl Strategy<Value = Vec<Capability>> {
    let names = vec!["Other", "Repeater", "Bridge", "Wlan", "Router", "Tel", "Docsis", "Station"];
    (prop::sample::subsequence(names, 0..=8), prop::collection::vec(any::<bool>(), 8)).prop_map(|(names, on)| {
        names.into_iter().zip(on).map(|(n, enabled)| Capability { name: n.to_owned(), enabled }).collect()
    })
}

fn chassis(remote: bool) -> impl Strategy<Value = Chassis> {
    let addresses = if remote { prop::collection::vec(any::<IpAddr>(), 0..3).boxed() } else { Just(vec![]).boxed() };
    (lldp_id(true), prop::option::of(text(20)), prop::option::of(text(40)), addresses, capabilities()).prop_map(
        |(id, name, description, management_addresses, capabilities)| Chassis {
            id,
            name,
            description,
            management_addresses,
            capabilities,
        },
    )
}

fn remote() -> impl Strategy<Value = (Chassis, RemotePort)> {
    (chassis(true), lldp_id(false), prop::option::of(text(20)))
        .prop_map(|(c, id, description)| (c, RemotePort { id, description, ttl_s: None }))
}

fn lldp_data() -> impl Strategy<Value = LldpData> {
    let port = (
        prop_oneof![Just(NEAREST_BRIDGE.to_owned()), mac()],
        prop::option::of(lldp_id(false)),
        prop::option::of(text(20)),
        prop::collection::vec(remote(), 0..3),
    );
    (chassis(false), prop::collection::btree_map("[a-z][a-z0-9]{0,6}", port, 0..5)).prop_map(|(chassis, ports)| {
        let mut data = LldpData { chassis, ports: Vec::new(), neighbors: Vec::new() };
        for (name, (dest_mac, id, description, remotes)) in ports {
            for (c, p) in remotes {
                data.neighbors.push(Neighbor {
                    local_interface: name.clone(),
                    protocol: Some("LLDP".to_owned()),
                    age: None,
                    chassis: c,
                    port: p,
                });
            }
            data.ports.push(LocalPort { name, dest_mac, id, description });
        }
        data
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn rendered_trees_parse_back_to_the_same_records(data in lldp_data()) {
        let xml = render_lldp_xml(&data);
        let back = parse_lldp_xml(&xml).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        prop_assert_eq!(back, data);
    }

    #[test]
    fn wrapped_in_netconf_data_too(data in lldp_data()) {
        let xml = format!("<data xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\">{}</data>", render_lldp_xml(&data));
        prop_assert_eq!(parse_lldp_xml(&xml).unwrap(), data);
    }
}
