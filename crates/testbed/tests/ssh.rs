//! The system ssh client reaches a node's own sshd over the management network, with a
//! generated client key and a pinned host key, and reads the node's LLDP chassis.

mod common;

use std::process::Command;

use common::require_prerequisites;
use tsn_testbed::{LldpdOptions, Testbed};

#[test]
fn ssh_into_a_node_runs_lldpcli() {
    require_prerequisites();
    let mut tb = Testbed::builder()
        .bridge("b0")
        .station("e0")
        .cable("e0", "b0")
        .management_network()
        .build()
        .expect("build the testbed");
    tb.start_lldpd(&LldpdOptions::default()).expect("start lldpd");

    // Client key and known_hosts live in the testbed's directory, removed with it.
    let (key, public) = tsn_testbed::ssh_keygen(tb.dir(), "client_ed25519").expect("client key");
    let endpoint = tb.start_sshd("b0", &public).expect("start sshd");

    let known_hosts = tb.dir().join("known_hosts");
    std::fs::write(&known_hosts, format!("tsn-b0 {}\n", endpoint.host_public_key)).expect("known_hosts");
    let socket = endpoint.lldpcli_socket.clone().expect("lldpd runs on b0");
    let ssh = |known_hosts: &std::path::Path| {
        Command::new("ssh")
            .args(["-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes"])
            .args(["-o", "StrictHostKeyChecking=yes", "-o", "HostKeyAlias=tsn-b0"])
            .args(["-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=15"])
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
            .arg("-i")
            .arg(&key)
            .args(["-p", &endpoint.addr.port().to_string()])
            .arg(format!("{}@{}", endpoint.user, endpoint.host))
            .arg(format!("lldpcli -u {} -f json0 show chassis", socket.display()))
            .output()
            .expect("run ssh")
    };
    let out = ssh(&known_hosts);
    assert!(out.status.success(), "ssh failed: {}", String::from_utf8_lossy(&out.stderr));
    let chassis = tsn_lldp::parse_chassis(&String::from_utf8_lossy(&out.stdout)).expect("parse chassis");
    assert_eq!(chassis.name.as_deref(), Some("b0"));
    assert!(chassis.is_bridge());

    // The host key is really pinned: a different one is refused.
    let wrong = tb.dir().join("known_hosts_wrong");
    let other = tb.dir().join("other_host_key");
    Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&other).status().expect("keygen");
    let other_pub = std::fs::read_to_string(other.with_extension("pub")).expect("other key");
    std::fs::write(&wrong, format!("tsn-b0 {other_pub}")).expect("known_hosts");
    let out = ssh(&wrong);
    assert!(!out.status.success(), "ssh accepted an unpinned host key");
    assert!(String::from_utf8_lossy(&out.stderr).contains("HOST IDENTIFICATION HAS CHANGED"));
}
