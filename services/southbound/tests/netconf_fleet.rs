//! Southbound's NETCONF fleet configurator against five of our NETCONF servers over SSH
//! (pinned host keys, libyang-validated candidates): a verified schedule for a line of five
//! bridges goes to all of them or to none, and a failure names the device.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use southbound::netconf::NetconfFleetConfigurator;
use southbound::render::Role;
use southbound::{DeviceConfigurator, InMemoryConfigurator};
use tokio::net::TcpListener;
use tsn_model::GateControlList;
use tsn_netconf::fleet::{DeviceConnector, FleetOptions};
use tsn_netconf::server::{NetconfServer, RecordingBackend, ServerConfig};
use tsn_netconf::ssh::SshConnector;
use tsn_netconf::ssh_server::{load_host_key, parse_authorized_keys, serve, SshServerConfig};
use tsn_netconf::validate::YanglintValidator;
use tsn_ssh::{ClientConfig, KnownHosts};

mod common;

use common::{deploy, keygen, Dir, BRIDGES};

/// One of our NETCONF servers on loopback, standing in for a bridge.
struct Bridge {
    name: String,
    backend: Arc<RecordingBackend>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Five bridges `b0..b4`; `small` (if any) has a hardware gate table of 1 entry, so it
/// rejects any real schedule at validate. Returns the bridges and their pinned connectors.
async fn fleet(
    dir: &Path,
    client_key: &Path,
    small: Option<usize>,
) -> (Vec<Bridge>, BTreeMap<String, Arc<dyn DeviceConnector>>) {
    let known = Arc::new(Mutex::new(KnownHosts::in_memory()));
    let client_pub = std::fs::read_to_string(client_key.with_extension("pub")).unwrap();
    let mut bridges = Vec::new();
    let mut connectors: BTreeMap<String, Arc<dyn DeviceConnector>> = BTreeMap::new();
    for i in 0..BRIDGES {
        let name = format!("b{i}");
        let host_key = load_host_key(&keygen(dir, &format!("host-{name}"))).unwrap();
        let backend =
            Arc::new(if small == Some(i) { RecordingBackend::with_max_entries(1) } else { RecordingBackend::new() });
        let validator = Arc::new(YanglintValidator::bridge().unwrap());
        let netconf = NetconfServer::start(ServerConfig::new(&name, validator, backend.clone()));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        known.lock().unwrap().trust("127.0.0.1", port, host_key.public_key());
        let ssh = SshServerConfig {
            host_key,
            authorized_keys: parse_authorized_keys(&client_pub).unwrap(),
            users: vec!["tsn-cp".into()],
            inactivity_timeout: None,
        };
        let task = tokio::spawn(async move {
            let _ = serve(listener, ssh, netconf).await;
        });
        let config = ClientConfig::new("127.0.0.1", port, "tsn-cp", client_key, known.clone());
        connectors.insert(name.clone(), Arc::new(SshConnector { config }));
        bridges.push(Bridge { name, backend, task });
    }
    (bridges, connectors)
}

/// The gate lists a bridge's hardware runs, by interface; empty lists (gates switched off)
/// left out.
fn enabled(b: &Bridge) -> BTreeMap<String, GateControlList> {
    b.backend.current().into_iter().filter(|(_, g)| !g.entries.is_empty()).collect()
}

fn options() -> FleetOptions {
    FleetOptions { epoch_ns: 1_700_000_000_000_000_000, ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_reaches_every_bridge_and_station() {
    let dir = Dir::new("ok");
    let key = keygen(&dir.0, "client");
    let (bridges, connectors) = fleet(&dir.0, &key, None).await;
    let (_, schedule, configs) = deploy();
    let stations = Arc::new(InMemoryConfigurator::new());
    let c = NetconfFleetConfigurator::new(connectors, options(), stations.clone());
    c.apply_all(&configs, &BTreeMap::new()).await.unwrap();

    for b in &bridges {
        // Exactly the schedule's gate lists of this bridge, entry for entry.
        let want: BTreeMap<String, Vec<_>> = schedule
            .gcls
            .iter()
            .filter(|g| g.port.from.0 == b.name)
            .map(|g| (format!("swp-{}", g.port.to), g.entries.clone()))
            .collect();
        assert!(!want.is_empty(), "every bridge of the line forwards scheduled traffic");
        let got: BTreeMap<String, Vec<_>> = enabled(b).into_iter().map(|(i, g)| (i, g.entries)).collect();
        assert_eq!(got, want, "{}", b.name);
    }
    let result = c.last_result().unwrap();
    assert!(result.success && result.devices.len() == BRIDGES, "{result:?}");
    let st = stations.all();
    assert_eq!(st.keys().cloned().collect::<Vec<_>>(), ["e0_0", "e4_0"]);
    assert!(st.values().all(|s| s.role == Role::EndStation && !s.talker_streams.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_rejecting_bridge_leaves_the_whole_fleet_unchanged() {
    let dir = Dir::new("reject");
    let key = keygen(&dir.0, "client");
    let (bridges, connectors) = fleet(&dir.0, &key, Some(2)).await;
    let (_, _, configs) = deploy();
    let stations = Arc::new(InMemoryConfigurator::new());
    let c = NetconfFleetConfigurator::new(connectors, options(), stations.clone());
    let e = c.apply_all(&configs, &BTreeMap::new()).await.unwrap_err();
    assert_eq!(e.device, "b2", "{e}");
    assert!(e.reason.contains("Validate"), "{e}");
    for b in &bridges {
        assert!(enabled(b).is_empty(), "{} holds the new configuration: {:?}", b.name, enabled(b));
    }
    assert!(stations.all().is_empty(), "no station is configured when the bridges refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_station_brings_the_committed_bridges_back() {
    let dir = Dir::new("station");
    let key = keygen(&dir.0, "client");
    let (bridges, connectors) = fleet(&dir.0, &key, None).await;
    let (_, _, configs) = deploy();
    let stations = Arc::new(InMemoryConfigurator::new());
    stations.set_failing("e4_0", true);
    let c = NetconfFleetConfigurator::new(connectors, options(), stations.clone());
    let e = c.apply_all(&configs, &BTreeMap::new()).await.unwrap_err();
    assert_eq!(e.device, "e4_0", "{e}");
    for b in &bridges {
        assert!(
            enabled(b).is_empty(),
            "{} kept the new configuration: {:?}; last transaction: {:?}",
            b.name,
            enabled(b),
            c.last_result()
        );
    }
    assert!(
        stations.all().values().all(|s| s.talker_streams.is_empty()),
        "e0_0 was given its empty configuration back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_missing_from_the_inventory_stops_the_deploy_before_any_change() {
    let dir = Dir::new("inventory");
    let key = keygen(&dir.0, "client");
    let (bridges, mut connectors) = fleet(&dir.0, &key, None).await;
    connectors.remove("b3");
    let (_, _, configs) = deploy();
    let c = NetconfFleetConfigurator::new(connectors, options(), Arc::new(InMemoryConfigurator::new()));
    let e = c.apply_all(&configs, &BTreeMap::new()).await.unwrap_err();
    assert_eq!(e.device, "b3");
    assert!(e.reason.contains("inventory"), "{e}");
    assert!(bridges.iter().all(|b| enabled(b).is_empty()));
}
