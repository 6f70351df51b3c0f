//! The discovered topology equals the built one: a line, a ring and a tree of 6 bridges and
//! 6 stations, each a real testbed (namespaces, veth, lldpd with a 1 s tx-interval, sshd),
//! read over SSH with pinned host keys.

mod common;

use common::{converge, discoverer, expected, start, Managed, Net};
use tsn_model::NodeKind;
use tsn_testbed::{Testbed, TestbedBuilder};

const BRIDGES: usize = 6;

/// Bridges b0..b5 joined by `bridge_cables`, station e<i> on bridge b<i>.
fn shape(bridge_cables: &[(usize, usize)]) -> TestbedBuilder {
    let mut b = Testbed::builder();
    for i in 0..BRIDGES {
        b = b.bridge(&format!("b{i}"));
    }
    for i in 0..BRIDGES {
        b = b.station(&format!("e{i}"));
    }
    for &(x, y) in bridge_cables {
        b = b.cable(&format!("b{x}"), &format!("b{y}"));
    }
    for i in 0..BRIDGES {
        b = b.cable(&format!("e{i}"), &format!("b{i}"));
    }
    b
}

async fn check(net: Net, shape_name: &str) {
    let want = expected(&net);
    assert_eq!(want.nodes.len(), 12);
    let d = discoverer(&net);
    let (got, elapsed) = converge(&d, &want).await;
    let bridges = got.topology.nodes.iter().filter(|n| n.kind == NodeKind::Bridge).count();
    assert_eq!(bridges, BRIDGES);
    assert!(got.topology.links.iter().all(|l| l.ports.from_mac.is_some() && l.ports.to_mac.is_some()));
    println!(
        "{shape_name}: {} nodes, {} directed links discovered = built, {:.1} s after lldpd start",
        got.topology.nodes.len(),
        got.topology.links.len(),
        elapsed.as_secs_f64()
    );
    net.tb.teardown().expect("teardown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_of_six_bridges_is_discovered_as_built() {
    let cables: Vec<(usize, usize)> = (0..BRIDGES - 1).map(|i| (i, i + 1)).collect();
    check(start(shape(&cables), |_| Managed::Ssh, false), "line").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ring_of_six_bridges_is_discovered_as_built() {
    let cables: Vec<(usize, usize)> = (0..BRIDGES).map(|i| (i, (i + 1) % BRIDGES)).collect();
    // Port ids advertised as MAC addresses: mapped back to interface names.
    check(start(shape(&cables), |_| Managed::Ssh, true), "ring").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_with_unmanaged_and_static_stations_is_discovered_as_built() {
    // b0 root; b1, b2 its children; b3, b4 under b1; b5 under b2.
    let cables = [(0, 1), (0, 2), (1, 3), (1, 4), (2, 5)];
    // e4 runs LLDP but is not logged into (MAC port id → its MAC and interface name);
    // e5 runs no LLDP at all and comes from the inventory.
    let managed = |n: &str| match n {
        "e4" => Managed::LldpOnly,
        "e5" => Managed::Static,
        _ => Managed::Ssh,
    };
    check(start(shape(&cables), managed, true), "tree").await;
}
