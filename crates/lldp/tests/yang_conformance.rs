//! Rendered `ieee802-dot1ab-lldp` trees (real lldpcli output through the renderer) are
//! valid `<get>` answers under the official IEEE/IETF modules in `../shared/yang`, checked
//! with yanglint (libyang). Ignored by default: `scripts/check-shared` runs it
//! (`TSN_SHARED` points elsewhere).

use std::path::PathBuf;
use std::process::Command;

use tsn_lldp::{parse_chassis, parse_neighbors, render_lldp_xml, LldpData};

const NEIGHBOR_FIXTURES: [&str; 3] = [
    include_str!("data/neighbors-single.json"),
    include_str!("data/neighbors-shared-segment.json"),
    include_str!("data/neighbors-ifname-bridge.json"),
];
const CHASSIS: &str = include_str!("data/chassis-bridge.json");

fn yanglint(yang: &std::path::Path, doc: &std::path::Path) -> (bool, String) {
    let modules =
        ["ieee802-dot1ab-lldp@2022-03-15.yang", "iana-if-type@2023-01-26.yang", "ietf-routing@2018-03-13.yang"];
    let out = Command::new("yanglint")
        .arg("-D")
        .arg("-p")
        .arg(yang)
        .args(["-t", "get"])
        .args(modules.iter().map(|m| yang.join(m)))
        .arg(doc)
        .output()
        .expect("yanglint runs (Debian libyang2-tools)");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
#[ignore = "needs ../shared/yang (run by scripts/check-shared)"]
fn rendered_trees_validate_under_the_official_module() {
    // cargo runs tests in the package directory: crates/lldp.
    let shared = std::env::var("TSN_SHARED").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from("../../../shared"));
    let yang = shared.join("yang");
    assert!(yang.join("ieee802-dot1ab-lldp@2022-03-15.yang").exists(), "{yang:?} has no official modules");
    let dir = std::env::temp_dir().join(format!("tsn-lldp-yang-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let chassis = parse_chassis(CHASSIS).unwrap();
    let mut refused = 0;
    for (i, text) in NEIGHBOR_FIXTURES.iter().enumerate() {
        let data = LldpData::from_records(chassis.clone(), parse_neighbors(text).unwrap());
        // The port names are leafrefs to ietf-interfaces: the interfaces a device has.
        let interfaces: String = data
            .ports
            .iter()
            .map(|p| {
                format!(
                    "<interface><name>{}</name><type xmlns:ianaift=\"urn:ietf:params:xml:ns:yang:iana-if-type\">\
                     ianaift:ethernetCsmacd</type></interface>",
                    p.name
                )
            })
            .collect();
        let doc = format!(
            "<interfaces xmlns=\"urn:ietf:params:xml:ns:yang:ietf-interfaces\">{interfaces}</interfaces>\n{}",
            render_lldp_xml(&data)
        );
        let file = dir.join(format!("lldp-{i}.xml"));
        std::fs::write(&file, &doc).unwrap();
        let (ok, messages) = yanglint(&yang, &file);
        assert!(ok, "fixture {i}: {messages}\n{doc}");
        // The check has teeth: a management address in lower-case hex is refused.
        if doc.contains("<address>FE80") {
            std::fs::write(&file, doc.replace("<address>FE80", "<address>fe80")).unwrap();
            let (ok, messages) = yanglint(&yang, &file);
            assert!(!ok && messages.contains("pattern"), "fixture {i}: {messages}");
            refused += 1;
        }
    }
    assert!(refused > 0, "no fixture had a management address to break");
    std::fs::remove_dir_all(&dir).unwrap();
}
