//! lldpd in every namespace discovers exactly the cables the testbed built, and forgets a
//! cable that is cut.

mod common;

use common::{expected_neighbours, require_prerequisites, seen_neighbours, DISCOVERY_TIMEOUT};
use tsn_lldp::IdSubtype;
use tsn_testbed::{poll_until, LldpdOptions, Testbed};

/// b0 — b1 — b2 in a line, each with one end station e<i>.
fn line_of_three() -> Testbed {
    Testbed::builder()
        .bridge("b0")
        .bridge("b1")
        .bridge("b2")
        .station("e0")
        .station("e1")
        .station("e2")
        .cable("b0", "b1")
        .cable("b1", "b2")
        .cable("e0", "b0")
        .cable("e1", "b1")
        .cable("e2", "b2")
        .build()
        .expect("build the testbed")
}

#[test]
fn every_bridge_sees_exactly_its_cables() {
    require_prerequisites();
    let mut tb = line_of_three();
    tb.start_lldpd(&LldpdOptions { tx_interval_s: 1, ..LldpdOptions::default() }).expect("start lldpd");
    for node in ["b0", "b1", "b2", "e0", "e1", "e2"] {
        let expected = expected_neighbours(&tb, node);
        let mut last = None;
        let seen = poll_until(DISCOVERY_TIMEOUT, &format!("{node}'s LLDP neighbours"), || {
            last = seen_neighbours(&tb, node);
            last.clone().filter(|s| *s == expected)
        });
        assert!(seen.is_ok(), "{node}: expected {expected:?}, last seen {last:?}");
    }
    assert_eq!(expected_neighbours(&tb, "b1").len(), 3);
    // The records carry what the topology service needs beyond names.
    for n in tb.lldp_neighbors("b1").expect("b1 neighbours") {
        let name = n.chassis.name.clone().unwrap_or_default();
        assert_eq!(n.port.id.subtype, IdSubtype::IfName);
        assert_eq!(n.chassis.id.subtype, IdSubtype::Mac);
        assert_eq!(n.chassis.is_bridge(), name.starts_with('b'), "{n:?}");
        assert_eq!(n.chassis.is_station(), name.starts_with('e'), "{n:?}");
        assert_eq!(n.port.ttl_s, Some(4), "TTL = 4 × tx-interval");
    }
    tb.teardown().expect("teardown");
}

#[test]
fn a_cut_cable_disappears_and_comes_back() {
    require_prerequisites();
    let mut tb = Testbed::builder()
        .bridge("b0")
        .bridge("b1")
        .station("e0")
        .cable("b0", "b1")
        .cable("e0", "b0")
        .build()
        .expect("build the testbed");
    tb.start_lldpd(&LldpdOptions::default()).expect("start lldpd");
    let full = expected_neighbours(&tb, "b0");
    poll_until(DISCOVERY_TIMEOUT, "b0 to see b1 and e0", || seen_neighbours(&tb, "b0").filter(|s| *s == full))
        .expect("initial discovery");

    tb.set_link_down("b0", "b1").expect("cut b0–b1");
    let without_b1: std::collections::BTreeSet<_> = full.iter().filter(|(_, n, _)| n != "b1").cloned().collect();
    for (node, expected) in [("b0", without_b1), ("b1", Default::default())] {
        let mut last = None;
        let r = poll_until(DISCOVERY_TIMEOUT, &format!("{node} to forget the cut cable"), || {
            last = seen_neighbours(&tb, node);
            last.clone().filter(|s| *s == expected)
        });
        assert!(r.is_ok(), "{node}: expected {expected:?}, last seen {last:?}");
    }

    tb.set_link_up("b0", "b1").expect("restore b0–b1");
    poll_until(DISCOVERY_TIMEOUT, "b0 to see b1 again", || seen_neighbours(&tb, "b0").filter(|s| *s == full))
        .expect("rediscovery");
}
