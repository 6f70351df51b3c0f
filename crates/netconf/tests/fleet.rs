//! Fleet-atomic deploys over SSH to five of our NETCONF servers.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use tsn_netconf::client::{ClientOptions, Datastore};
use tsn_netconf::fleet::{deploy_fleet, DeviceOutcome, FleetDevice, FleetOptions, Stage};
use tsn_netconf::render::gate_tables;
use tsn_netconf::server::RecordingBackend;
use tsn_netconf::ssh::SshConnector;

struct Bridge {
    server: TestServer,
    backend: Arc<RecordingBackend>,
}

async fn bridges(dir: &std::path::Path, key: &std::path::Path, reject: Option<usize>) -> Vec<Bridge> {
    bridges_with(dir, key, reject, RecordingBackend::with_max_entries(2)).await
}

async fn bridges_with(
    dir: &std::path::Path,
    key: &std::path::Path,
    reject: Option<usize>,
    bad: RecordingBackend,
) -> Vec<Bridge> {
    let mut out = Vec::new();
    let mut bad = Some(bad);
    for i in 0..5 {
        let backend = Arc::new(match reject {
            Some(r) if r == i => bad.take().unwrap(),
            _ => RecordingBackend::new(),
        });
        let server = start_server(dir, &format!("br{i}"), backend.clone(), key).await;
        out.push(Bridge { server, backend });
    }
    out
}

fn devices(bridges: &[Bridge], key: &std::path::Path) -> Vec<FleetDevice> {
    bridges
        .iter()
        .map(|b| FleetDevice {
            name: b.server.name.clone(),
            connector: Arc::new(SshConnector { config: pinned(&b.server, key) }),
            ports: vec![gcl(&b.server.name, "swp1", 4), gcl(&b.server.name, "swp2", 2)],
        })
        .collect()
}

async fn running_tables(b: &Bridge, key: &std::path::Path) -> Vec<tsn_netconf::render::GateTable> {
    let mut c = tsn_netconf::ssh::connect(pinned(&b.server, key), ClientOptions::default()).await.unwrap();
    let data = c.get_config(Datastore::Running, None).await.unwrap();
    c.close().await.unwrap();
    gate_tables(&data, &b.server.name).unwrap()
}

fn opts() -> FleetOptions {
    FleetOptions { epoch_ns: 1_700_000_000_000_000_000, confirm_timeout: Duration::from_secs(60), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_rejecting_bridge_leaves_every_bridge_unchanged() {
    let dir = TempDir::new("fleet-reject");
    let key = keygen(dir.path(), "client");
    let bridges = bridges(dir.path(), &key, Some(3)).await;
    let result = deploy_fleet(devices(&bridges, &key), &opts()).await;
    assert!(!result.success);
    let failures = result.failures();
    assert_eq!(failures.len(), 1, "{result:?}");
    assert_eq!(failures[0].0, "br3");
    assert_eq!(failures[0].1, Stage::Validate);
    assert!(failures[0].2.contains("hardware gate table holds 2"), "{}", failures[0].2);
    for d in &result.devices {
        if d.device != "br3" {
            assert!(matches!(d.outcome, DeviceOutcome::Untouched | DeviceOutcome::RolledBack), "{d:?}");
        }
    }
    for b in &bridges {
        assert!(running_tables(b, &key).await.is_empty(), "{} holds the new configuration", b.server.name);
        assert!(b.backend.log().is_empty(), "{}: {:?}", b.server.name, b.backend.log());
        let (running, candidate) = b.server.netconf.snapshot().await.unwrap();
        assert_eq!(running, candidate, "{}: candidate discarded", b.server.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_bridges_accept_then_every_bridge_runs_the_lists() {
    let dir = TempDir::new("fleet-ok");
    let key = keygen(dir.path(), "client");
    let bridges = bridges(dir.path(), &key, None).await;
    let devs = devices(&bridges, &key);
    let result = deploy_fleet(devs.clone(), &opts()).await;
    assert!(result.success, "{result:?}");
    assert!(result.devices.iter().all(|d| d.outcome == DeviceOutcome::Committed));
    for (b, d) in bridges.iter().zip(&devs) {
        let tables = running_tables(b, &key).await;
        assert_eq!(tables.len(), 2);
        for (t, p) in tables.iter().zip(&d.ports) {
            assert_eq!(t.interface, p.interface);
            assert_eq!(t.gcl.entries, p.gcl.entries);
        }
        assert_eq!(b.backend.current().len(), 2);
    }
    // A second deploy where one bridge is unreachable changes nothing.
    let mut devs2 = devices(&bridges, &key);
    for d in &mut devs2 {
        d.ports = vec![gcl(&d.name, "swp1", 2)];
    }
    let mut unknown = pinned(&bridges[1].server, &key);
    unknown.known_hosts = Arc::new(std::sync::Mutex::new(tsn_ssh::KnownHosts::in_memory()));
    devs2[1].connector = Arc::new(SshConnector { config: unknown });
    let result = deploy_fleet(devs2, &opts()).await;
    assert!(!result.success);
    assert_eq!(result.failures()[0].0, "br1");
    assert_eq!(result.failures()[0].1, Stage::Connect);
    for b in &bridges {
        assert_eq!(running_tables(b, &key).await[0].gcl.entries.len(), 4, "{}", b.server.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_failure_cancels_the_confirmed_commits_of_the_others() {
    let dir = TempDir::new("fleet-commit");
    let key = keygen(dir.path(), "client");
    let bridges = bridges_with(dir.path(), &key, Some(4), RecordingBackend::failing_apply()).await;
    let result = deploy_fleet(devices(&bridges, &key), &opts()).await;
    assert!(!result.success);
    assert_eq!(result.failures().len(), 1, "{result:?}");
    assert_eq!((result.failures()[0].0, result.failures()[0].1), ("br4", Stage::Commit));
    for d in result.devices.iter().filter(|d| d.device != "br4") {
        assert_eq!(d.outcome, DeviceOutcome::RolledBack, "{d:?}");
    }
    for b in &bridges {
        assert!(running_tables(b, &key).await.is_empty(), "{} holds the new configuration", b.server.name);
        assert!(b.backend.current().is_empty(), "{}: {:?}", b.server.name, b.backend.log());
    }
    // The four others did run the lists between commit and cancel.
    assert!(bridges[0].backend.log().iter().any(|l| l.starts_with("apply")), "{:?}", bridges[0].backend.log());
}
