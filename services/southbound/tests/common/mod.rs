//! Shared by southbound's integration tests: a temporary directory, ssh-keygen, and a
//! verified schedule for a line of five bridges with its per-device configurations.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use southbound::render::{device_configs, DeviceConfig};
use tsn_model::{Problem, Schedule};
use tsn_pipeline::v1;

/// Bridges in the test network's line.
pub const BRIDGES: usize = 5;

/// A fresh directory removed on drop.
pub struct Dir(pub PathBuf);

impl Dir {
    pub fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("tsn-sb-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An ed25519 key pair made by OpenSSH's ssh-keygen: the private key file.
pub fn keygen(dir: &Path, name: &str) -> PathBuf {
    tsn_testbed::ssh_keygen(dir, name).expect("ssh-keygen").0
}

/// A line of five bridges with a station on each end; two streams across the whole line,
/// solved and verified; southbound's per-device configurations of it.
pub fn deploy() -> (Problem, Schedule, Vec<DeviceConfig>) {
    let mut topology = tsn_workloads::bridged_network(BRIDGES, 1, false, 1);
    for l in &mut topology.links {
        l.ports.from_port = Some(format!("swp-{}", l.to));
    }
    let streams = vec![
        tsn_workloads::simple_stream("s0", "e0_0", &["e4_0"], 1_000_000, 500),
        tsn_workloads::simple_stream("s1", "e4_0", &["e0_0"], 500_000, 200),
    ];
    let problem = Problem::new(topology, streams, Default::default());
    let schedule = tsn_sched::solve(&problem, &tsn_sched::SolveOptions::default()).unwrap().schedule.unwrap();
    let verdict = tsn_check::verify(&problem, &schedule);
    assert!(verdict.is_ok(), "{verdict}");
    // What the talkers' applications send: UDP to the listener's address.
    let frame = |ip: &str, port| v1::DataFrame {
        destination_mac: "02-00-00-00-00-0A".into(),
        destination_ip: ip.into(),
        destination_port: port,
        ..Default::default()
    };
    let ctx = v1::RequestContext {
        requested: vec![
            v1::StreamEndpoints { stream_id: "s0".into(), frame: Some(frame("10.0.0.5", 7000)), ..Default::default() },
            v1::StreamEndpoints { stream_id: "s1".into(), frame: Some(frame("10.0.0.1", 7001)), ..Default::default() },
        ],
        ..Default::default()
    };
    let configs = device_configs(&problem, &schedule, &ctx, 1, &[]);
    (problem, schedule, configs)
}
