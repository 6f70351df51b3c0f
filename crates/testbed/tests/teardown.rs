//! Teardown leaves nothing behind: no namespace, no veth, no process, also when the test
//! body panics.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::require_prerequisites;
use tsn_testbed::{cleanup_stale, list_host_interfaces, list_namespaces, process_alive, LldpdOptions, Testbed};

struct Footprint {
    prefix: String,
    namespaces: Vec<String>,
    pids: Vec<u32>,
}

fn build_and_start() -> (Testbed, Footprint) {
    let mut tb = Testbed::builder()
        .bridge("b0")
        .station("e0")
        .station("e1")
        .cable("e0", "b0")
        .cable("e1", "b0")
        .management_network()
        .build()
        .expect("build the testbed");
    tb.start_lldpd(&LldpdOptions::default()).expect("start lldpd");
    let mut pids = tb.namespace_pids().expect("namespace pids");
    pids.extend(tb.daemon_pids());
    let namespaces = tb.nodes().iter().map(|n| n.namespace.clone()).collect();
    let footprint = Footprint { prefix: tb.prefix().to_owned(), namespaces, pids };
    (tb, footprint)
}

fn assert_gone(f: &Footprint) {
    assert!(!f.pids.is_empty(), "the testbed ran no process?");
    assert_eq!(f.namespaces.len(), 3);
    let namespaces = list_namespaces().expect("ip netns list");
    let left: Vec<_> = namespaces.iter().filter(|n| n.starts_with(&f.prefix)).collect();
    assert!(left.is_empty(), "namespaces left: {left:?}");
    let links = list_host_interfaces().expect("ip link");
    let left: Vec<_> = links.iter().filter(|n| n.starts_with(&f.prefix)).collect();
    assert!(left.is_empty(), "root-namespace interfaces left: {left:?}");
    let alive: Vec<_> = f.pids.iter().filter(|&&p| process_alive(p)).collect();
    assert!(alive.is_empty(), "processes left: {alive:?}");
    assert!(!std::path::Path::new(&format!("/tmp/tsn-testbed-{}", f.prefix)).exists(), "directory left");
}

#[test]
fn drop_removes_everything() {
    require_prerequisites();
    let (tb, footprint) = build_and_start();
    assert!(footprint.pids.iter().all(|&p| process_alive(p)));
    let host = &tb.nodes()[0].management.as_ref().expect("management link").host_interface;
    assert!(list_host_interfaces().unwrap().contains(host));
    drop(tb);
    assert_gone(&footprint);
}

#[test]
fn a_panicking_test_body_still_cleans_up() {
    require_prerequisites();
    let mut footprint = None;
    let result = catch_unwind(AssertUnwindSafe(|| {
        let (_tb, f) = build_and_start();
        footprint = Some(f);
        panic!("test body fails while the testbed runs");
    }));
    assert!(result.is_err());
    assert_gone(&footprint.expect("the body ran"));
}

#[test]
fn cleanup_stale_removes_what_a_crash_left() {
    require_prerequisites();
    let (tb, footprint) = build_and_start();
    // A crash: the testbed is never dropped, its daemons keep running.
    std::mem::forget(tb);
    let report = cleanup_stale(&footprint.prefix).expect("cleanup_stale");
    assert_eq!(report.namespaces.len(), 3);
    assert!(report.processes_killed > 0);
    assert_gone(&footprint);
}
