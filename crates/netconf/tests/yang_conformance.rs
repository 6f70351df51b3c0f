//! Rendered sched-bridge configuration validates with yanglint (libyang) under the
//! product's own modules (`yang/`) and, with `../shared`, under the official IEEE/IETF
//! modules (`scripts/check-shared` runs the ignored test).

mod common;

use std::path::{Path, PathBuf};

use common::*;
use tsn_netconf::render::{render, PortLimits, RenderOptions, SchedVariant};
use tsn_netconf::validate::{yanglint_config, BRIDGE_MODULES};

fn rendered(dir: &Path) -> PathBuf {
    let ports = [gcl("br0", "swp1", 8), gcl("br0", "swp2", 2), gcl("br0", "swp3", 64)];
    let opts = RenderOptions {
        for_edit: false,
        limits: PortLimits { list_max: 64, cycle_max_ns: 1_000_000_000, interval_max_ns: 1_000_000 },
        ..RenderOptions::new(SchedVariant::Qcw2023, 1_700_000_000_123_456_789)
    };
    let file = dir.join("sched-bridge.xml");
    std::fs::write(&file, render(&ports, &opts).unwrap().to_xml()).unwrap();
    file
}

const IMPLEMENTED: &[&str] = &[
    "ietf-interfaces@2018-02-20.yang",
    "iana-if-type@2023-01-26.yang",
    "ieee802-dot1q-bridge@2023-10-26.yang",
    "ieee802-dot1q-sched@2023-10-22.yang",
    "ieee802-dot1q-sched-bridge@2023-10-26.yang",
];

#[test]
fn rendered_gate_tables_validate_under_our_modules() {
    let dir = TempDir::new("yang-ours");
    for (file, text) in BRIDGE_MODULES {
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    let doc = rendered(dir.path());
    yanglint_config(Path::new("yanglint"), dir.path(), IMPLEMENTED, &doc).unwrap();
    // and a list longer than supported-list-max does not
    let text = std::fs::read_to_string(&doc).unwrap().replace("<supported-list-max>64<", "<supported-list-max>7<");
    std::fs::write(&doc, text).unwrap();
    let e = yanglint_config(Path::new("yanglint"), dir.path(), IMPLEMENTED, &doc).unwrap_err();
    assert!(e.message.contains("supported-list-max"), "{e}");
}

#[test]
#[ignore = "needs ../shared/yang (run by scripts/check-shared)"]
fn rendered_gate_tables_validate_under_the_official_modules() {
    let shared = std::env::var("TSN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../../shared"));
    let official = shared.join("yang");
    assert!(
        official.join("ieee802-dot1q-sched-bridge@2023-10-26.yang").exists(),
        "{official:?} has no official modules"
    );
    let dir = TempDir::new("yang-official");
    let doc = rendered(dir.path());
    yanglint_config(Path::new("yanglint"), &official, IMPLEMENTED, &doc).unwrap();
}
