//! The graph builder on hand-made and generated device reports (no network): pairing by
//! each record's own interface, both ends merged into one cable, rates and MACs, shared
//! segments, unreachable devices, ports that are down, stations without LLDP; and a
//! property test that any network's reports rebuild exactly that network.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tsn_lldp::{Capability, Chassis, IdSubtype, LldpId, Neighbor, PortState, RemotePort};
use tsn_model::{Link, LinkPorts, Node, NodeId, NodeKind, Topology};
use tsn_topology::config::{Device, StaticStation, TopologyConfig};
use tsn_topology::graph::build;
use tsn_topology::DeviceReport;

fn mac(node: usize, port: usize) -> String {
    format!("02:00:00:00:{node:02x}:{port:02x}")
}

fn chassis(name: &str, index: usize, bridge: bool) -> Chassis {
    Chassis {
        id: LldpId { subtype: IdSubtype::Mac, value: format!("02:00:00:00:{index:02x}:ff") },
        name: Some(name.to_owned()),
        description: None,
        management_addresses: Vec::new(),
        capabilities: vec![
            Capability { name: "Bridge".into(), enabled: bridge },
            Capability { name: "Station".into(), enabled: !bridge },
        ],
    }
}

fn neighbour(local: &str, remote: Chassis, port_id: LldpId, descr: Option<&str>) -> Neighbor {
    Neighbor {
        local_interface: local.to_owned(),
        protocol: Some("LLDP".into()),
        age: None,
        chassis: remote,
        port: RemotePort { id: port_id, description: descr.map(str::to_owned), ttl_s: Some(4) },
    }
}

fn ifname(p: &str) -> LldpId {
    LldpId { subtype: IdSubtype::IfName, value: p.to_owned() }
}

fn port(name: &str, mac: String, speed_bps: Option<u64>, up: bool) -> PortState {
    PortState { name: name.into(), mac: Some(mac), speed_bps, operstate: if up { "up" } else { "down" }.into() }
}

fn device(name: &str) -> Device {
    Device::new(name, "h", "u", "/k")
}

fn link(topology: &Topology, from: &str, to: &str) -> Link {
    topology
        .links
        .iter()
        .find(|l| l.from.0 == from && l.to.0 == to)
        .cloned()
        .unwrap_or_else(|| panic!("no link {from} → {to} in {topology:#?}"))
}

/// b0 and b1 (managed bridges, b0 p1 — b1 p0), e0 (LLDP only, MAC port id) on b0 p0,
/// s1 (no LLDP) on b1 p1.
fn small() -> (TopologyConfig, BTreeMap<String, Result<DeviceReport, String>>) {
    let mut config = TopologyConfig {
        devices: vec![device("b0"), device("b1")],
        stations: vec![StaticStation {
            name: "s1".into(),
            attached_to: "b1".into(),
            port: "p1".into(),
            interface: Some("eth0".into()),
            mac: Some("02:AA:00:00:00:01".into()),
            rate_bps: Some(100_000_000),
        }],
        ..TopologyConfig::default()
    };
    config.devices[1].port_rates.insert("p0".into(), 2_500_000_000);
    config.defaults.bridge_processing_delay_ns = 2_000;
    config.defaults.propagation_delay_ns = 50;
    let e0 = chassis("e0", 9, false);
    let b0 = DeviceReport {
        chassis: chassis("b0", 0, true),
        neighbours: vec![
            neighbour("p0", e0, LldpId { subtype: IdSubtype::Mac, value: "02:EE:00:00:00:00".into() }, Some("eth7")),
            neighbour("p1", chassis("b1", 1, true), ifname("p0"), None),
        ],
        ports: vec![port("p0", mac(0, 0), None, true), port("p1", mac(0, 1), Some(10_000_000_000), true)],
    };
    // b1 identifies b0's port by MAC: it is mapped back to the name through b0's ports.
    let b1 = DeviceReport {
        chassis: chassis("b1", 1, true),
        neighbours: vec![neighbour(
            "p0",
            chassis("b0", 0, true),
            LldpId { subtype: IdSubtype::Mac, value: mac(0, 1) },
            Some("p1"),
        )],
        ports: vec![port("p0", mac(1, 0), Some(10_000_000_000), true), port("p1", mac(1, 1), None, true)],
    };
    let reports = [("b0".to_owned(), Ok(b0)), ("b1".to_owned(), Ok(b1))].into_iter().collect();
    (config, reports)
}

#[test]
fn both_views_of_a_cable_make_two_directed_links() {
    let (config, reports) = small();
    let d = build(&config, &reports);
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    assert!(d.unreachable.is_empty());
    let t = &d.topology;
    t.validate().unwrap();
    let kinds: Vec<(&str, NodeKind)> = t.nodes.iter().map(|n| (n.id.0.as_str(), n.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("b0", NodeKind::Bridge),
            ("b1", NodeKind::Bridge),
            ("e0", NodeKind::EndStation),
            ("s1", NodeKind::EndStation)
        ]
    );
    assert_eq!(t.links.len(), 6, "three cables: {:#?}", t.links);

    let l = link(t, "b0", "b1");
    assert_eq!(
        l.ports,
        LinkPorts {
            from_port: Some("p1".into()),
            from_mac: Some(mac(0, 1)),
            to_port: Some("p0".into()),
            to_mac: Some(mac(1, 0)),
        }
    );
    // The inventory's rate of b1 p0 applies to the whole cable; otherwise the kernel's.
    assert_eq!(l.rate_bps, 2_500_000_000);
    assert_eq!(link(t, "b1", "b0").rate_bps, 2_500_000_000);
    assert_eq!((l.processing_delay_ns, l.propagation_delay_ns), (2_000, 50));

    // e0 is not managed: its MAC port id gives its MAC, the description its interface.
    let l = link(t, "e0", "b0");
    assert_eq!(l.ports.from_port.as_deref(), Some("eth7"));
    assert_eq!(l.ports.from_mac.as_deref(), Some("02:ee:00:00:00:00"));
    assert_eq!(l.processing_delay_ns, 0);
    // Neither end knows the speed: the default rate.
    assert_eq!(l.rate_bps, 1_000_000_000);

    // s1 comes from the inventory alone.
    let l = link(t, "s1", "b1");
    assert_eq!(l.rate_bps, 100_000_000);
    assert_eq!(l.ports.from_mac.as_deref(), Some("02:aa:00:00:00:01"));
    assert_eq!(l.ports.from_port.as_deref(), Some("eth0"));
    assert_eq!(l.ports.to_port.as_deref(), Some("p1"));
}

#[test]
fn a_one_sided_view_still_makes_the_cable() {
    let (config, mut reports) = small();
    if let Some(Ok(b1)) = reports.get_mut("b1") {
        b1.neighbours.clear();
    }
    let d = build(&config, &reports);
    let l = link(&d.topology, "b1", "b0");
    assert_eq!(l.ports.from_mac, Some(mac(1, 0)), "b1's own facts still fill its end");
}

#[test]
fn unreachable_devices_are_left_out_with_their_links() {
    let (config, mut reports) = small();
    reports.insert("b1".into(), Err("host key mismatch for b1: expected SHA256:a, got SHA256:b".into()));
    let d = build(&config, &reports);
    assert_eq!(
        d.unreachable,
        vec![("b1".to_owned(), "host key mismatch for b1: expected SHA256:a, got SHA256:b".to_owned())]
    );
    let names: Vec<&str> = d.topology.nodes.iter().map(|n| n.id.0.as_str()).collect();
    assert_eq!(names, ["b0", "e0"], "b1 and the station hanging off it are gone");
    assert!(d.topology.links.iter().all(|l| l.from.0 != "b1" && l.to.0 != "b1"));
    assert_eq!(d.topology.links.len(), 2);
    assert!(d.warnings.iter().any(|w| w.contains("s1")), "{:?}", d.warnings);
}

#[test]
fn ports_that_are_down_carry_nothing() {
    let (config, mut reports) = small();
    if let Some(Ok(b1)) = reports.get_mut("b1") {
        b1.ports[0].operstate = "lowerlayerdown".into();
        b1.ports[1].operstate = "down".into();
    }
    let d = build(&config, &reports);
    // b0 still lists b1 (its TTL has not expired), but b1's port is down.
    assert!(d.topology.links.iter().all(|l| l.from.0 != "b1" && l.to.0 != "b1"), "{:#?}", d.topology.links);
    assert_eq!(d.topology.nodes.len(), 4, "nodes stay; their links go");
}

#[test]
fn several_neighbours_on_one_port_are_paired_by_their_own_records() {
    // Real lldpd output: p0 hears nodeb; p1 hears nodeb and nodec (a shared segment).
    let text = include_str!("../../../crates/lldp/tests/data/neighbors-shared-segment.json");
    let neighbours = tsn_lldp::parse_neighbors(text).unwrap();
    let config = TopologyConfig { devices: vec![device("a")], ..TopologyConfig::default() };
    let report = DeviceReport {
        chassis: chassis("a", 0, true),
        neighbours,
        ports: vec![port("p0", mac(0, 0), Some(10_000_000_000), true), port("p1", mac(0, 1), None, true)],
    };
    let d = build(&config, &[("a".to_owned(), Ok(report))].into_iter().collect());
    let mut pairs: Vec<(String, String, String)> = d
        .topology
        .links
        .iter()
        .filter(|l| l.from.0 == "a")
        .map(|l| (l.ports.from_port.clone().unwrap(), l.to.0.clone(), l.ports.to_mac.clone().unwrap_or_default()))
        .collect();
    pairs.sort();
    // nodeb is heard on both ports: one directed link per node pair is kept (p0, the
    // first), and the parallel one is reported.
    assert_eq!(
        pairs,
        [
            ("p0".to_owned(), "nodeb".to_owned(), "4a:cd:a6:f8:a7:3c".to_owned()),
            ("p1".to_owned(), "nodec".to_owned(), "fa:bc:ac:64:b8:79".to_owned()),
        ]
    );
    assert!(d.warnings.iter().any(|w| w.contains("port p1 of a hears 2 neighbours")), "{:?}", d.warnings);
    assert!(d.warnings.iter().any(|w| w.contains("parallel cable")), "{:?}", d.warnings);
}

/// A random network of managed devices: node kinds, cables between distinct pairs (ports
/// numbered per node in cable order), per port a speed or none, and per device whether it
/// names ports by MAC or by interface name.
#[derive(Debug, Clone)]
struct Net {
    bridges: Vec<bool>,
    cables: Vec<(usize, usize)>,
    speeds: Vec<Option<u64>>,
    mac_ids: Vec<bool>,
}

fn net() -> impl Strategy<Value = Net> {
    (2usize..7).prop_flat_map(|n| {
        let pairs: Vec<(usize, usize)> = (0..n).flat_map(|a| (a + 1..n).map(move |b| (a, b))).collect();
        (
            prop::collection::vec(any::<bool>(), n),
            prop::sample::subsequence(pairs.clone(), 0..=pairs.len()).prop_shuffle(),
            prop::collection::vec(prop::option::of(prop::sample::select(vec![100u64, 1_000, 10_000])), 2 * pairs.len()),
            prop::collection::vec(any::<bool>(), n),
        )
            .prop_map(|(bridges, cables, speeds, mac_ids)| Net { bridges, cables, speeds, mac_ids })
    })
}

proptest! {
    #[test]
    fn any_network_is_rebuilt_exactly_from_its_reports(net in net()) {
        let n = net.bridges.len();
        let name = |i: usize| format!("d{i}");
        let mut ports: Vec<Vec<PortState>> = vec![Vec::new(); n];
        let mut ends = Vec::new();
        for (c, &(a, b)) in net.cables.iter().enumerate() {
            let pa = ports[a].len();
            let pb = ports[b].len();
            let speed = |k: usize| net.speeds[2 * c + k].map(|m| m * 1_000_000);
            ports[a].push(port(&format!("p{pa}"), mac(a, pa), speed(0), true));
            ports[b].push(port(&format!("p{pb}"), mac(b, pb), speed(1), true));
            ends.push(((a, pa), (b, pb)));
        }
        let mut expected = Topology::default();
        for i in 0..n {
            let kind = if net.bridges[i] { NodeKind::Bridge } else { NodeKind::EndStation };
            expected.nodes.push(Node { id: NodeId(name(i)), kind });
        }
        let mut neighbours: Vec<Vec<Neighbor>> = vec![Vec::new(); n];
        for &((a, pa), (b, pb)) in &ends {
            for ((x, px), (y, py)) in [((a, pa), (b, pb)), ((b, pb), (a, pa))] {
                let id = if net.mac_ids[y] {
                    LldpId { subtype: IdSubtype::Mac, value: mac(y, py).to_uppercase() }
                } else {
                    ifname(&format!("p{py}"))
                };
                neighbours[x].push(neighbour(&format!("p{px}"), chassis(&name(y), y, net.bridges[y]), id, None));
                let rate = ports[x][px].speed_bps.or(ports[y][py].speed_bps).unwrap_or(1_000_000_000);
                expected.links.push(Link {
                    from: NodeId(name(x)),
                    to: NodeId(name(y)),
                    rate_bps: rate,
                    propagation_delay_ns: 0,
                    processing_delay_ns: 0,
                    scheduled_queues: 1,
                    gcl_max_entries: 1024,
                    ports: LinkPorts {
                        from_port: Some(format!("p{px}")),
                        from_mac: Some(mac(x, px)),
                        to_port: Some(format!("p{py}")),
                        to_mac: Some(mac(y, py)),
                    },
                });
            }
        }
        expected.links.sort_by(|x, y| (&x.from, &x.to).cmp(&(&y.from, &y.to)));
        let config = TopologyConfig { devices: (0..n).map(|i| device(&name(i))).collect(), ..TopologyConfig::default() };
        let reports = (0..n)
            .map(|i| {
                // lldpd lists neighbours in no particular order.
                let mut nb = neighbours[i].clone();
                nb.reverse();
                (name(i), Ok(DeviceReport { chassis: chassis(&name(i), i, net.bridges[i]), neighbours: nb, ports: ports[i].clone() }))
            })
            .collect();
        let d = build(&config, &reports);
        prop_assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        prop_assert_eq!(d.topology, expected);
    }
}
