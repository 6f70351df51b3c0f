//! From what the devices report to a directed graph (pure: no I/O).
//!
//! - **Nodes**: every reachable inventory device (bridge or station by its inventory kind,
//!   else by the LLDP bridge capability it advertises); every LLDP neighbour that is not in
//!   the inventory (named by its LLDP system name, else its chassis id; kind from its
//!   capabilities); every static station whose device is reachable. Devices that could not
//!   be read are **left out with their links** and listed as unreachable: nothing they
//!   would say, or that is said about them, is trusted.
//! - **Cables**: each LLDP record is one observation "port P of D hears port Q of R",
//!   attributed by the record's own local interface (never by list position). Both ends'
//!   observations of a cable merge into one; a cable is kept if a managed end's port is not
//!   operationally down. Several neighbours on one port (a shared segment behind a hub or
//!   an unmanaged switch) give one cable per neighbour and a warning.
//! - **Links**: two directed links per cable. The rate of `A → B` is, first found: the
//!   inventory's port rate of either end; the speed the kernel reports for A's port, else
//!   B's (one cable, one negotiated speed); the inventory default rate of A or B; the global
//!   default (1 Gbit/s). Delays, queues and GCL length come from the inventory.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use tsn_lldp::{IdSubtype, Neighbor, PortState};
use tsn_model::{Link, LinkPorts, Node, NodeId, NodeKind, Topology};

use crate::config::{Device, TopologyConfig};
use crate::source::DeviceReport;

/// The outcome of one discovery round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovery {
    /// The directed graph, nodes sorted by name, links by (from, to).
    pub topology: Topology,
    /// Devices that could not be read, with why, sorted by name.
    pub unreachable: Vec<(String, String)>,
    /// Things an operator should look at (shared segments, parallel cables, ...).
    pub warnings: Vec<String>,
}

/// One end of a cable: node and interface name (empty = unknown).
type End = (String, String);

#[derive(Clone, Debug, Default)]
struct EndFacts {
    mac: Option<String>,
    speed_bps: Option<u64>,
}

#[derive(Clone, Debug, Default)]
struct Cable {
    facts: [EndFacts; 2],
    /// Rate fixed by a static station entry.
    rate_bps: Option<u64>,
}

struct Managed<'a> {
    device: &'a Device,
    report: &'a DeviceReport,
    kind: NodeKind,
}

impl Managed<'_> {
    fn port(&self, name: &str) -> Option<&PortState> {
        self.report.ports.iter().find(|p| p.name == name)
    }

    fn port_by_mac(&self, mac: &str) -> Option<&PortState> {
        self.report.ports.iter().find(|p| p.mac.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(mac)))
    }
}

enum Remote<'a> {
    Managed(&'a str),
    Unreachable,
    Unmanaged(String, NodeKind),
}

/// Builds the graph from each inventory device's report (`Err(reason)` for devices that
/// could not be read; a device missing from `reports` counts as not read).
pub fn build(config: &TopologyConfig, reports: &BTreeMap<String, Result<DeviceReport, String>>) -> Discovery {
    let mut warnings = Vec::new();
    let mut unreachable = Vec::new();
    let mut managed: BTreeMap<&str, Managed<'_>> = BTreeMap::new();
    for d in &config.devices {
        match reports.get(&d.name) {
            Some(Ok(report)) => {
                let kind =
                    d.kind.unwrap_or(if report.chassis.is_bridge() { NodeKind::Bridge } else { NodeKind::EndStation });
                managed.insert(&d.name, Managed { device: d, report, kind });
            }
            Some(Err(reason)) => unreachable.push((d.name.clone(), reason.clone())),
            None => unreachable.push((d.name.clone(), "not read".to_owned())),
        }
    }
    unreachable.sort();
    let unreachable_names: BTreeSet<&str> = unreachable.iter().map(|(n, _)| n.as_str()).collect();
    let by_chassis: HashMap<String, &str> =
        managed.iter().map(|(name, m)| (m.report.chassis.id.value.to_ascii_lowercase(), *name)).collect();
    let resolve = |n: &Neighbor| -> Remote<'_> {
        if let Some(sys) = n.chassis.name.as_deref() {
            if let Some((name, _)) = managed.get_key_value(sys) {
                return Remote::Managed(name);
            }
            if unreachable_names.contains(sys) {
                return Remote::Unreachable;
            }
        }
        if let Some(name) = by_chassis.get(&n.chassis.id.value.to_ascii_lowercase()) {
            return Remote::Managed(name);
        }
        let name = n.chassis.name.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| n.chassis.id.value.clone());
        if unreachable_names.contains(name.as_str()) {
            return Remote::Unreachable;
        }
        let kind = if n.chassis.is_bridge() { NodeKind::Bridge } else { NodeKind::EndStation };
        Remote::Unmanaged(name, kind)
    };

    let mut nodes: BTreeMap<String, NodeKind> = managed.iter().map(|(n, m)| ((*n).to_owned(), m.kind)).collect();
    let mut cables: BTreeMap<(End, End), Cable> = BTreeMap::new();
    let mut heard_on: BTreeMap<End, BTreeSet<String>> = BTreeMap::new();

    for (&name, m) in &managed {
        for n in &m.report.neighbours {
            let local = m.port(&n.local_interface);
            if local.is_some_and(|p| !p.is_up()) {
                continue;
            }
            let (remote, remote_port, remote_facts) = match resolve(n) {
                Remote::Unreachable => continue,
                Remote::Managed(r) if r == name => continue,
                Remote::Managed(r) => {
                    let rm = &managed[r];
                    let port = match n.port.id.subtype {
                        IdSubtype::Mac => rm.port_by_mac(&n.port.id.value).map(|p| p.name.clone()),
                        _ => rm.port(&n.port.id.value).map(|p| p.name.clone()),
                    }
                    .or_else(|| n.port.description.clone().filter(|d| rm.port(d).is_some()))
                    .unwrap_or_else(|| n.port.id.value.clone());
                    let state = rm.port(&port);
                    if state.is_some_and(|p| !p.is_up()) {
                        continue;
                    }
                    let facts =
                        EndFacts { mac: state.and_then(|p| p.mac.clone()), speed_bps: state.and_then(|p| p.speed_bps) };
                    (r.to_owned(), port, facts)
                }
                Remote::Unmanaged(r, kind) => {
                    nodes.entry(r.clone()).or_insert(kind);
                    let (port, mac) = match n.port.id.subtype {
                        IdSubtype::Mac => (
                            n.port.description.clone().unwrap_or_else(|| n.port.id.value.clone()),
                            Some(n.port.id.value.to_ascii_lowercase()),
                        ),
                        _ => (n.port.id.value.clone(), None),
                    };
                    (r, port, EndFacts { mac, speed_bps: None })
                }
            };
            let here = (name.to_owned(), n.local_interface.clone());
            let there = (remote.clone(), remote_port);
            heard_on.entry(here.clone()).or_default().insert(remote);
            let here_facts =
                EndFacts { mac: local.and_then(|p| p.mac.clone()), speed_bps: local.and_then(|p| p.speed_bps) };
            merge_cable(&mut cables, (here, here_facts), (there, remote_facts), None);
        }
    }
    for (port, remotes) in &heard_on {
        if remotes.len() > 1 {
            warnings.push(format!(
                "port {} of {} hears {} neighbours ({}): a shared segment, not a point-to-point cable",
                port.1,
                port.0,
                remotes.len(),
                remotes.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
    }

    for s in &config.stations {
        let Some(m) = managed.get(s.attached_to.as_str()) else {
            warnings.push(format!("station {} left out: its device {} is unreachable", s.name, s.attached_to));
            continue;
        };
        nodes.entry(s.name.clone()).or_insert(NodeKind::EndStation);
        let state = m.port(&s.port);
        if state.is_some_and(|p| !p.is_up()) {
            continue;
        }
        let here = (s.attached_to.clone(), s.port.clone());
        if cables.keys().any(|(a, b)| *a == here || *b == here) {
            warnings.push(format!(
                "station {}: port {} of {} already has an LLDP neighbour",
                s.name, s.port, s.attached_to
            ));
            continue;
        }
        let here_facts =
            EndFacts { mac: state.and_then(|p| p.mac.clone()), speed_bps: state.and_then(|p| p.speed_bps) };
        let there = (s.name.clone(), s.interface.clone().unwrap_or_default());
        let there_facts = EndFacts { mac: s.mac.as_ref().map(|m| m.to_ascii_lowercase()), speed_bps: None };
        merge_cable(&mut cables, (here, here_facts), (there, there_facts), s.rate_bps);
    }

    let mut topology = Topology {
        nodes: nodes.iter().map(|(n, k)| Node { id: NodeId(n.clone()), kind: *k }).collect(),
        links: Vec::new(),
    };
    let mut seen = BTreeSet::new();
    for ((a, b), cable) in &cables {
        for (from, to, ff, tf) in [(a, b, &cable.facts[0], &cable.facts[1]), (b, a, &cable.facts[1], &cable.facts[0])] {
            if !seen.insert((from.0.clone(), to.0.clone())) {
                warnings.push(format!(
                    "parallel cable {}:{} – {}:{} left out (one directed link per node pair)",
                    from.0, from.1, to.0, to.1
                ));
                continue;
            }
            let device = managed.get(from.0.as_str()).map(|m| m.device);
            let peer = managed.get(to.0.as_str()).map(|m| m.device);
            let kind = nodes.get(&from.0).copied().unwrap_or(NodeKind::EndStation);
            let d = &config.defaults;
            let rate_bps = cable
                .rate_bps
                .or_else(|| device.and_then(|x| x.port_rates.get(&from.1).copied()))
                .or_else(|| peer.and_then(|x| x.port_rates.get(&to.1).copied()))
                .or(ff.speed_bps)
                .or(tf.speed_bps)
                .or_else(|| device.and_then(|x| x.default_rate_bps))
                .or_else(|| peer.and_then(|x| x.default_rate_bps))
                .unwrap_or(d.rate_bps);
            let processing_delay_ns = device.and_then(|x| x.processing_delay_ns).unwrap_or(match kind {
                NodeKind::Bridge => d.bridge_processing_delay_ns,
                NodeKind::EndStation => d.station_processing_delay_ns,
            });
            let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
            topology.links.push(Link {
                from: NodeId(from.0.clone()),
                to: NodeId(to.0.clone()),
                rate_bps,
                propagation_delay_ns: d.propagation_delay_ns,
                processing_delay_ns,
                scheduled_queues: device.and_then(|x| x.scheduled_queues).unwrap_or(d.scheduled_queues),
                gcl_max_entries: device.and_then(|x| x.gcl_max_entries).unwrap_or(d.gcl_max_entries),
                ports: LinkPorts {
                    from_port: opt(&from.1),
                    from_mac: ff.mac.clone(),
                    to_port: opt(&to.1),
                    to_mac: tf.mac.clone(),
                },
            });
        }
    }
    topology.links.sort_by(|x, y| (&x.from, &x.to).cmp(&(&y.from, &y.to)));
    if let Err(e) = topology.validate() {
        // Inputs are validated; this would be a bug here, so say so loudly.
        warnings.push(format!("discovered topology does not validate: {e}"));
    }
    Discovery { topology, unreachable, warnings }
}

fn merge_cable(
    cables: &mut BTreeMap<(End, End), Cable>,
    (x, xf): (End, EndFacts),
    (y, yf): (End, EndFacts),
    rate_bps: Option<u64>,
) {
    let (key, facts) = if x <= y { ((x, y), [xf, yf]) } else { ((y, x), [yf, xf]) };
    let cable = cables.entry(key).or_default();
    for (have, new) in cable.facts.iter_mut().zip(facts) {
        have.mac = have.mac.take().or(new.mac);
        have.speed_bps = have.speed_bps.or(new.speed_bps);
    }
    cable.rate_bps = cable.rate_bps.or(rate_bps);
}
