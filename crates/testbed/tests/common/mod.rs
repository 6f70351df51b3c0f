//! Shared by the integration tests. They need root and `ip netns`: without them they fail
//! (never skip) with the reason, because CI runs them as root.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::time::Duration;

use tsn_testbed::Testbed;

/// Generous: the CI machine has 2 cores and builds other crates at the same time.
pub const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(25);

pub fn require_prerequisites() {
    if let Err(e) = tsn_testbed::check_prerequisites() {
        panic!("these tests need root, iproute2 with `ip netns` and lldpd (run scripts/setup as root): {e}");
    }
}

/// (local port, remote system name, remote port id) as the testbed's cables predict them
/// for `node`.
pub fn expected_neighbours(tb: &Testbed, node: &str) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for c in tb.cables() {
        for (me, other) in [(&c.a, &c.b), (&c.b, &c.a)] {
            if me.node.0 == node {
                out.insert((me.port.clone(), other.node.0.clone(), other.port.clone()));
            }
        }
    }
    out
}

/// The same triple, from the node's LLDP table parsed by tsn-lldp.
pub fn seen_neighbours(tb: &Testbed, node: &str) -> Option<BTreeSet<(String, String, String)>> {
    let neighbours = tb.lldp_neighbors(node).ok()?;
    Some(
        neighbours
            .into_iter()
            .map(|n| (n.local_interface, n.chassis.name.unwrap_or_default(), n.port.id.value))
            .collect(),
    )
}
