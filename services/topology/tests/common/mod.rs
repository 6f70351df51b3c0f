//! Shared by the testbed tests: a testbed whose nodes run lldpd (tx-interval 1 s) and
//! OpenSSH, and the inventory that manages them. The tests need root and namespaces; without
//! them they fail with the reason (CI runs them as root).

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tsn_model::{Link, LinkPorts, NodeKind, Topology};
use tsn_testbed::{LldpdOptions, SshEndpoint, Testbed, TestbedBuilder};
use tsn_topology::{Device, Discoverer, Discovery, LldpcliOverSsh, StaticStation, TopologyConfig};

/// What veth reports as its speed (Mb/s) when up.
pub const VETH_RATE_BPS: u64 = 10_000_000_000;
/// Generous: CI has 2 shared cores.
pub const CONVERGE_TIMEOUT: Duration = Duration::from_secs(40);

/// How a node is known to the topology service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Managed {
    /// Logged into over SSH, runs lldpd.
    Ssh,
    /// Runs lldpd, not logged into (an LLDP-only neighbour).
    LldpOnly,
    /// Neither: a static station of the inventory.
    Static,
}

pub struct Net {
    pub tb: Testbed,
    pub config: TopologyConfig,
    pub endpoints: Vec<SshEndpoint>,
}

pub fn require_prerequisites() {
    if let Err(e) = tsn_testbed::check_prerequisites() {
        panic!("these tests need root, iproute2 with `ip netns`, lldpd and openssh (scripts/setup): {e}");
    }
}

/// Builds `builder` with a management network, starts lldpd everywhere but on static
/// stations and sshd on the SSH-managed nodes, and writes the inventory: host keys pinned
/// in the inventory, static stations attached where the testbed cabled them.
pub fn start(builder: TestbedBuilder, managed: impl Fn(&str) -> Managed, port_id_mac: bool) -> Net {
    require_prerequisites();
    let mut tb = builder.management_network().build().expect("build the testbed");
    let names: Vec<String> = tb.nodes().iter().map(|n| n.id.0.clone()).collect();
    let except: Vec<String> = names.iter().filter(|n| managed(n) == Managed::Static).cloned().collect();
    tb.start_lldpd(&LldpdOptions { tx_interval_s: 1, except, port_id_mac, ..LldpdOptions::default() })
        .expect("start lldpd");
    let (key, public) = tb.generate_client_key("topology_client").expect("client key");
    let mut config =
        TopologyConfig { interval_s: 1, ssh_timeout_s: 15, device_timeout_s: 30, ..TopologyConfig::default() };
    config.defaults.bridge_processing_delay_ns = 2_000;
    config.defaults.propagation_delay_ns = 50;
    let mut endpoints = Vec::new();
    for name in &names {
        match managed(name) {
            Managed::Ssh => {
                let ep = tb.start_sshd(name, &public).expect("start sshd");
                let mut d = Device::new(name, &ep.host, &ep.user, key.clone());
                d.host_key = Some(ep.host_public_key.clone());
                let socket = ep.lldpcli_socket.clone().expect("lldpd socket");
                d.lldpcli = format!("lldpcli -u {}", socket.display());
                config.devices.push(d);
                endpoints.push(ep);
            }
            Managed::LldpOnly => {}
            Managed::Static => {}
        }
    }
    for name in &names {
        if managed(name) != Managed::Static {
            continue;
        }
        let cable = tb.cables().iter().find(|c| c.a.node.0 == *name || c.b.node.0 == *name).expect("cabled").clone();
        let (me, other) = if cable.a.node.0 == *name { (&cable.a, &cable.b) } else { (&cable.b, &cable.a) };
        config.stations.push(StaticStation {
            name: name.clone(),
            attached_to: other.node.0.clone(),
            port: other.port.clone(),
            interface: Some(me.port.clone()),
            mac: Some(tb.interface_mac(name, &me.port).expect("station mac")),
            rate_bps: None,
        });
    }
    Net { tb, config, endpoints }
}

/// The testbed as built (cables that are up), with the link attributes the inventory sets:
/// veth speed, 50 ns propagation, 2 µs in bridges.
pub fn expected(net: &Net) -> Topology {
    let template = Link {
        from: "x".into(),
        to: "y".into(),
        rate_bps: VETH_RATE_BPS,
        propagation_delay_ns: 50,
        processing_delay_ns: 0,
        scheduled_queues: 1,
        gcl_max_entries: 1024,
        ports: LinkPorts::default(),
    };
    let mut t = net.tb.built_topology(&template).expect("built topology");
    let bridges: BTreeSet<String> =
        t.nodes.iter().filter(|n| n.kind == NodeKind::Bridge).map(|n| n.id.0.clone()).collect();
    for l in &mut t.links {
        if bridges.contains(&l.from.0) {
            l.processing_delay_ns = 2_000;
        }
    }
    t
}

pub fn discoverer(net: &Net) -> Discoverer {
    let source = LldpcliOverSsh::from_file(net.config.known_hosts.as_ref(), Duration::from_secs(15)).expect("source");
    Discoverer::new(net.config.clone(), Arc::new(source))
}

/// Runs discovery rounds until the result equals `expected` (then returns it and the time
/// taken), or fails showing the last difference.
pub async fn converge(d: &Discoverer, expected: &Topology) -> (Discovery, Duration) {
    let started = Instant::now();
    let mut rounds = 0;
    loop {
        let round = Instant::now();
        let got = d.discover().await;
        rounds += 1;
        if std::env::var_os("TSN_TOPOLOGY_TEST_TRACE").is_some() {
            let missing: Vec<String> = expected
                .links
                .iter()
                .filter(|l| !got.topology.links.contains(l))
                .map(|l| format!("{}→{}", l.from, l.to))
                .collect();
            eprintln!(
                "round {rounds}: {:?}, {} links, unreachable {:?}, missing {missing:?}",
                round.elapsed(),
                got.topology.links.len(),
                got.unreachable
            );
        }
        if got.topology == *expected && got.unreachable.is_empty() {
            return (got, started.elapsed());
        }
        if started.elapsed() > CONVERGE_TIMEOUT {
            assert!(got.unreachable.is_empty(), "unreachable devices: {:?}", got.unreachable);
            assert_eq!(
                got.topology, *expected,
                "discovery did not converge in {rounds} rounds; warnings: {:?}",
                got.warnings
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
