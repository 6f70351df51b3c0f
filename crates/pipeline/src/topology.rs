//! `topology.changed` bodies: [`v1::TopologySnapshot`] ⇄ [`tsn_model::Topology`].

use tsn_model::{Link, LinkPorts, Node, NodeId, NodeKind, Topology};

use crate::{v1, DecodeError};

/// A snapshot body of `version` for `topology`, listing `unreachable` devices (name, reason).
pub fn to_pb(version: u64, topology: &Topology, unreachable: &[(String, String)]) -> v1::TopologySnapshot {
    v1::TopologySnapshot {
        version,
        nodes: topology
            .nodes
            .iter()
            .map(|n| v1::Node {
                id: n.id.0.clone(),
                kind: match n.kind {
                    NodeKind::Bridge => v1::NodeKind::Bridge,
                    NodeKind::EndStation => v1::NodeKind::EndStation,
                } as i32,
            })
            .collect(),
        links: topology
            .links
            .iter()
            .map(|l| v1::Link {
                from: l.from.0.clone(),
                to: l.to.0.clone(),
                rate_bps: l.rate_bps,
                propagation_delay_ns: l.propagation_delay_ns,
                processing_delay_ns: l.processing_delay_ns,
                scheduled_queues: u32::from(l.scheduled_queues),
                gcl_max_entries: l.gcl_max_entries,
                from_port: l.ports.from_port.clone().unwrap_or_default(),
                from_mac: l.ports.from_mac.clone().unwrap_or_default(),
                to_port: l.ports.to_port.clone().unwrap_or_default(),
                to_mac: l.ports.to_mac.clone().unwrap_or_default(),
            })
            .collect(),
        unreachable: unreachable
            .iter()
            .map(|(device, reason)| v1::UnreachableDevice { device: device.clone(), reason: reason.clone() })
            .collect(),
    }
}

/// The topology of a snapshot body, checked with [`Topology::validate`].
pub fn from_pb(snapshot: &v1::TopologySnapshot) -> Result<Topology, DecodeError> {
    let bad = |detail: String| DecodeError { kind: crate::TOPOLOGY_CHANGED.into(), detail };
    let mut topology = Topology::default();
    for n in &snapshot.nodes {
        let kind = match v1::NodeKind::try_from(n.kind) {
            Ok(v1::NodeKind::Bridge) => NodeKind::Bridge,
            Ok(v1::NodeKind::EndStation) => NodeKind::EndStation,
            _ => return Err(bad(format!("node {:?} has no valid kind ({})", n.id, n.kind))),
        };
        topology.nodes.push(Node { id: NodeId(n.id.clone()), kind });
    }
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    for l in &snapshot.links {
        let scheduled_queues = match l.scheduled_queues {
            0 => 1,
            q @ 1..=8 => q as u8,
            q => return Err(bad(format!("link {}→{} has {q} scheduled queues (1..=8)", l.from, l.to))),
        };
        topology.links.push(Link {
            from: NodeId(l.from.clone()),
            to: NodeId(l.to.clone()),
            rate_bps: l.rate_bps,
            propagation_delay_ns: l.propagation_delay_ns,
            processing_delay_ns: l.processing_delay_ns,
            scheduled_queues,
            gcl_max_entries: if l.gcl_max_entries == 0 { 1024 } else { l.gcl_max_entries },
            ports: LinkPorts {
                from_port: opt(&l.from_port),
                from_mac: opt(&l.from_mac),
                to_port: opt(&l.to_port),
                to_mac: opt(&l.to_mac),
            },
        });
    }
    topology.validate().map_err(|e| bad(e.to_string()))?;
    Ok(topology)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_round_trips_and_keeps_port_names() {
        let mut topology = tsn_workloads_free_line();
        topology.links[0].ports.from_mac = Some("02:00:00:00:00:01".into());
        topology.links[0].ports.from_port = Some("eth0".into());
        let pb = to_pb(7, &topology, &[("br9".into(), "host key mismatch".into())]);
        assert_eq!(pb.version, 7);
        assert_eq!(pb.unreachable[0].reason, "host key mismatch");
        assert_eq!(from_pb(&pb).unwrap(), topology);
    }

    #[test]
    fn bad_snapshots_are_refused_with_the_reason() {
        let topology = tsn_workloads_free_line();
        let mut pb = to_pb(1, &topology, &[]);
        pb.nodes[0].kind = 0;
        assert!(from_pb(&pb).unwrap_err().detail.contains("no valid kind"));
        let mut pb = to_pb(1, &topology, &[]);
        pb.links[0].scheduled_queues = 9;
        assert!(from_pb(&pb).unwrap_err().detail.contains("9 scheduled queues"));
        let mut pb = to_pb(1, &topology, &[]);
        pb.links[0].to = "nowhere".into();
        assert!(from_pb(&pb).is_err());
    }

    /// talker — bridge — listener, both directions.
    fn tsn_workloads_free_line() -> Topology {
        let mut t = Topology::default();
        for (id, kind) in [("t", NodeKind::EndStation), ("b", NodeKind::Bridge), ("l", NodeKind::EndStation)] {
            t.nodes.push(Node { id: id.into(), kind });
        }
        for (a, b) in [("t", "b"), ("b", "l")] {
            for (from, to) in [(a, b), (b, a)] {
                t.links.push(Link {
                    from: from.into(),
                    to: to.into(),
                    rate_bps: 1_000_000_000,
                    propagation_delay_ns: 50,
                    processing_delay_ns: 2_000,
                    scheduled_queues: 2,
                    gcl_max_entries: 64,
                    ports: LinkPorts::default(),
                });
            }
        }
        t
    }
}
