//! A small emulated network (tsn-testbed: namespaces, veth cables, lldpd, OpenSSH) and the
//! inventory the topology service binary discovers it with.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use tsn_model::{Link, LinkPorts, NodeKind, Topology};
use tsn_testbed::{LldpdOptions, Testbed};

/// Propagation delay and bridge delay the inventory sets (LLDP does not carry them).
pub const PROPAGATION_NS: u64 = 50;
/// Forwarding delay of every bridge in the inventory.
pub const BRIDGE_DELAY_NS: u64 = 2_000;

/// An end station of the network: its name, interface and MAC (IEEE form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Station {
    /// Node name.
    pub name: String,
    /// Its interface.
    pub interface: String,
    /// That interface's MAC (`02-..`, upper case).
    pub mac: String,
    /// The bridge it is cabled to.
    pub bridge: String,
}

/// A testbed whose bridges run lldpd (tx-interval 1 s) and sshd, whose stations are known
/// from the inventory only, and the topology service's inventory for it.
#[derive(Debug)]
pub struct Network {
    /// The testbed (torn down on drop).
    pub tb: Testbed,
    /// The stations.
    pub stations: Vec<Station>,
    /// The topology service's configuration file (TOML, without `bus` and `ops`).
    pub inventory: PathBuf,
    /// The link attributes the inventory declares.
    pub links: LinkAttributes,
}

/// Link attributes an inventory declares (LLDP carries none of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkAttributes {
    /// Rate of every port, bit/s (`port_rates`/station `rate_bps`); None = what the kernel
    /// reports (10 Gbit/s for veth).
    pub rate_bps: Option<u64>,
    /// Propagation delay of every cable.
    pub propagation_ns: u64,
    /// Forwarding delay of every bridge.
    pub bridge_delay_ns: u64,
}

impl Default for LinkAttributes {
    fn default() -> Self {
        LinkAttributes { rate_bps: None, propagation_ns: PROPAGATION_NS, bridge_delay_ns: BRIDGE_DELAY_NS }
    }
}

/// A ring of bridges `b0..b{bridges}` with `per_bridge` stations each (`e{b}{k}`), started:
/// lldpd on the bridges, sshd on the bridges with a pinned host key and a client key.
pub fn ring(bridges: usize, per_bridge: usize) -> Network {
    ring_with(bridges, per_bridge, LinkAttributes::default(), "")
}

/// [`ring`] with the inventory declaring `links`; `prefix` (may be empty) names the
/// testbed's namespaces (`tsnctl testbed` uses one so that it can find them again).
pub fn ring_with(bridges: usize, per_bridge: usize, links: LinkAttributes, prefix: &str) -> Network {
    tsn_testbed::check_prerequisites().expect("the testbed needs root, `ip netns`, lldpd and OpenSSH (scripts/setup)");
    let mut b = Testbed::builder();
    for i in 0..bridges {
        b = b.bridge(&format!("b{i}"));
    }
    for i in 0..bridges {
        b = b.cable(&format!("b{i}"), &format!("b{}", (i + 1) % bridges));
    }
    let mut station_names = Vec::new();
    for i in 0..bridges {
        for k in 0..per_bridge {
            let s = format!("e{i}{k}");
            b = b.station(&s).cable(&s, &format!("b{i}"));
            station_names.push(s);
        }
    }
    if !prefix.is_empty() {
        b = b.prefix(prefix);
    }
    let mut tb = b.management_network().build().expect("build the testbed");
    tb.start_lldpd(&LldpdOptions { tx_interval_s: 1, except: station_names.clone(), ..LldpdOptions::default() })
        .expect("start lldpd");
    let (key, public) = tb.generate_client_key("topology_client").expect("client key");
    let mut toml = String::new();
    let q = |s: &str| serde_json::to_string(s).expect("a TOML basic string");
    let _ = writeln!(toml, "interval_s = 1\nssh_timeout_s = 15\ndevice_timeout_s = 30");
    let _ = writeln!(toml, "state_file = {}", q(&tb.dir().join("topology-state.json").display().to_string()));
    let _ = writeln!(
        toml,
        "[defaults]\npropagation_delay_ns = {}\nbridge_processing_delay_ns = {}\n",
        links.propagation_ns, links.bridge_delay_ns
    );
    for i in 0..bridges {
        let name = format!("b{i}");
        let ep = tb.start_sshd(&name, &public).expect("start sshd");
        let socket = ep.lldpcli_socket.clone().expect("lldpd socket");
        let _ = writeln!(
            toml,
            "[[devices]]\nname = {}\nhost = {}\nuser = {}\nkey = {}\nhost_key = {}\nlldpcli = {}\n",
            q(&name),
            q(&ep.host),
            q(&ep.user),
            q(&key.display().to_string()),
            q(&ep.host_public_key),
            q(&format!("lldpcli -u {}", socket.display())),
        );
        if let Some(rate) = links.rate_bps {
            let node = tb.node(&name).expect("bridge node");
            let _ = writeln!(toml, "[devices.port_rates]");
            for p in &node.ports {
                let _ = writeln!(toml, "{} = {rate}", q(p));
            }
            let _ = writeln!(toml);
        }
    }
    let mut stations = Vec::new();
    for s in &station_names {
        let cable = tb.cables().iter().find(|c| c.a.node.0 == *s || c.b.node.0 == *s).expect("cabled").clone();
        let (me, other) = if cable.a.node.0 == *s { (&cable.a, &cable.b) } else { (&cable.b, &cable.a) };
        let mac = tb.interface_mac(s, &me.port).expect("station mac");
        let _ = writeln!(
            toml,
            "[[stations]]\nname = {}\nattached_to = {}\nport = {}\ninterface = {}\nmac = {}\n",
            q(s),
            q(&other.node.0),
            q(&other.port),
            q(&me.port),
            q(&mac),
        );
        if let Some(rate) = links.rate_bps {
            let _ = writeln!(toml, "rate_bps = {rate}\n");
        }
        stations.push(Station {
            name: s.clone(),
            interface: me.port.clone(),
            mac: crate::restconf::ieee_mac(&mac),
            bridge: other.node.0.clone(),
        });
    }
    let inventory = tb.dir().join("topology.toml");
    std::fs::write(&inventory, toml).expect("inventory");
    Network { tb, stations, inventory, links }
}

impl Network {
    /// The testbed as built (cables that are up), with the attributes of the inventory.
    pub fn expected(&self) -> Topology {
        let template = Link {
            from: "x".into(),
            to: "y".into(),
            rate_bps: self.links.rate_bps.unwrap_or(10_000_000_000),
            propagation_delay_ns: self.links.propagation_ns,
            processing_delay_ns: 0,
            scheduled_queues: 1,
            gcl_max_entries: 1024,
            ports: LinkPorts::default(),
        };
        let mut t = self.tb.built_topology(&template).expect("built topology");
        let bridges: BTreeSet<String> =
            t.nodes.iter().filter(|n| n.kind == NodeKind::Bridge).map(|n| n.id.0.clone()).collect();
        for l in &mut t.links {
            if bridges.contains(&l.from.0) {
                l.processing_delay_ns = self.links.bridge_delay_ns;
            }
        }
        t
    }

    /// The inventory file.
    pub fn inventory(&self) -> &Path {
        &self.inventory
    }
}

/// The directed links of `t` as (from, to) pairs.
pub fn link_pairs(t: &Topology) -> BTreeSet<(String, String)> {
    t.links.iter().map(|l| (l.from.0.clone(), l.to.0.clone())).collect()
}
