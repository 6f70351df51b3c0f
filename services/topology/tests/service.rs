//! The service loop on the in-memory bus with an in-process neighbour source: a snapshot at
//! start, nothing while nothing changes, a new version on a change, the current version on
//! demand, and the same version again after a restart with the state file.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tsn_bus::{topics::TOPOLOGY_CHANGED, Bus, ConsumerOptions, MemoryBus, Message, Subscription};
use tsn_lldp::{Capability, Chassis, IdSubtype, LldpId, Neighbor, PortState, RemotePort};
use tsn_pipeline::v1::TopologySnapshot;
use tsn_topology::{Device, DeviceReport, StaticSource, TopologyConfig, REDISCOVER};

fn chassis(name: &str, i: u8) -> Chassis {
    Chassis {
        id: LldpId { subtype: IdSubtype::Mac, value: format!("02:00:00:00:00:{i:02x}") },
        name: Some(name.into()),
        description: None,
        management_addresses: Vec::new(),
        capabilities: vec![Capability { name: "Bridge".into(), enabled: true }],
    }
}

fn report(me: &str, i: u8, peer: Option<(&str, u8)>) -> DeviceReport {
    DeviceReport {
        chassis: chassis(me, i),
        neighbours: peer
            .map(|(p, j)| Neighbor {
                local_interface: "p0".into(),
                protocol: None,
                age: None,
                chassis: chassis(p, j),
                port: RemotePort {
                    id: LldpId { subtype: IdSubtype::IfName, value: "p0".into() },
                    description: None,
                    ttl_s: None,
                },
            })
            .into_iter()
            .collect(),
        ports: vec![PortState {
            name: "p0".into(),
            mac: Some(format!("02:00:00:00:01:{i:02x}")),
            speed_bps: Some(1_000_000_000),
            operstate: "up".into(),
        }],
    }
}

async fn next_snapshot(sub: &mut Subscription) -> (Message, TopologySnapshot) {
    let d = tokio::time::timeout(Duration::from_secs(20), sub.next()).await.expect("a snapshot in time").unwrap();
    let m = d.message().clone();
    d.ack().await.unwrap();
    let body: TopologySnapshot = tsn_pipeline::decode(TOPOLOGY_CHANGED, &m).expect("snapshot body");
    assert_eq!(m.topology_version, body.version, "envelope version = snapshot version");
    tsn_pipeline::topology::from_pb(&body).expect("snapshot is a valid topology");
    (m, body)
}

async fn quiet(sub: &mut Subscription, for_: Duration) {
    if let Ok(r) = tokio::time::timeout(for_, sub.next()).await {
        panic!("expected no snapshot, got {:?}", r.map(|d| d.message().clone()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_follow_changes_and_survive_restarts() {
    let dir = std::env::temp_dir().join(format!("tsn-topology-service-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state.json");
    let _ = std::fs::remove_file(&state);
    let config = TopologyConfig {
        interval_s: 1,
        state_file: Some(state.clone()),
        devices: vec![Device::new("b0", "h", "u", "/k"), Device::new("b1", "h", "u", "/k")],
        ..TopologyConfig::default()
    };
    let source = StaticSource::new();
    source.set("b0", report("b0", 0, Some(("b1", 1))));
    source.set("b1", report("b1", 1, Some(("b0", 0))));
    let bus: Arc<dyn Bus> = Arc::new(MemoryBus::new());
    let mut sub = bus.subscribe("preprocess.topology", &[TOPOLOGY_CHANGED], ConsumerOptions::default()).await.unwrap();

    let start = |shutdown: CancellationToken| {
        let (config, source, bus) = (config.clone(), Arc::new(source.clone()), bus.clone());
        tokio::spawn(async move { tsn_topology::run_with_source(config, source, bus, shutdown).await })
    };
    let shutdown = CancellationToken::new();
    let service = start(shutdown.clone());
    let (_, v1) = next_snapshot(&mut sub).await;
    assert_eq!((v1.version, v1.nodes.len(), v1.links.len()), (1, 2, 2));
    // Rounds every second find nothing new: nothing is published.
    quiet(&mut sub, Duration::from_millis(2500)).await;

    // b1 fails: a new version without it, saying why.
    source.fail("b1", "host key mismatch for b1: expected SHA256:x, got SHA256:y");
    let (_, v2) = next_snapshot(&mut sub).await;
    assert_eq!((v2.version, v2.nodes.len(), v2.links.len()), (2, 1, 0));
    assert_eq!(v2.unreachable[0].device, "b1");
    assert!(v2.unreachable[0].reason.contains("host key mismatch"));

    // On demand: the current snapshot, same version, with the request's id.
    bus.publish(REDISCOVER, &Message::new(REDISCOVER, "req-42", 0, Vec::new())).await.unwrap();
    let (m, again) = next_snapshot(&mut sub).await;
    assert_eq!((m.request_id.as_str(), again.version), ("req-42", 2));
    assert_eq!(again, v2);

    shutdown.cancel();
    service.await.unwrap().unwrap();

    // A restart republishes the unchanged snapshot under its stored version ...
    let shutdown = CancellationToken::new();
    let service = start(shutdown.clone());
    let (_, after_restart) = next_snapshot(&mut sub).await;
    assert_eq!(after_restart, v2);
    // ... and goes on counting from it.
    source.set("b1", report("b1", 1, Some(("b0", 0))));
    let (_, v3) = next_snapshot(&mut sub).await;
    assert_eq!((v3.version, v3.links.len()), (3, 2));
    shutdown.cancel();
    service.await.unwrap().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_bad_configuration_is_refused_before_anything_runs() {
    let config = TopologyConfig {
        devices: vec![Device::new("b0", "h", "u", "/k"), Device::new("b0", "h", "u", "/k")],
        ..TopologyConfig::default()
    };
    let bus: Arc<dyn Bus> = Arc::new(MemoryBus::new());
    let e = tsn_topology::run(config, bus, CancellationToken::new()).await.unwrap_err();
    assert!(e.to_string().contains("appears twice"), "{e}");
}
