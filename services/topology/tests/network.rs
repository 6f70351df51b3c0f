//! The service against a real network and a real broker: a cut cable yields a new
//! snapshot version without it on `topology.changed` (RabbitMQ, as preprocess receives
//! it), and a device whose host key does not match is unreachable, never trusted.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{discoverer, expected, start, Managed};
use tokio_util::sync::CancellationToken;
use tsn_bus::{topics::TOPOLOGY_CHANGED, AmqpBus, AmqpConfig, Bus, ConsumerOptions, Message, Subscription};
use tsn_model::Topology;
use tsn_ssh::russh::keys::PublicKey;
use tsn_testbed::Testbed;
use tsn_topology::REDISCOVER;

async fn amqp_bus() -> AmqpBus {
    let url = std::env::var("TSN_AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned());
    let mut config = AmqpConfig::new(url);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos();
    config.namespace = format!("test.topology.{}.{nanos}.", std::process::id());
    config.queue_expiry = Some(Duration::from_secs(120));
    match AmqpBus::connect(config.clone()).await {
        Ok(bus) => bus,
        Err(e) => panic!("this test needs RabbitMQ at {} (scripts/setup starts it): {e}", config.redacted_url()),
    }
}

/// The next snapshot on `sub`, decoded and checked (envelope version = body version, a
/// valid topology).
async fn next_snapshot(sub: &mut Subscription) -> (Message, u64, Topology, Vec<String>) {
    let d = tokio::time::timeout(Duration::from_secs(40), sub.next()).await.expect("a snapshot in time").unwrap();
    let m = d.message().clone();
    d.ack().await.unwrap();
    let body: tsn_pipeline::v1::TopologySnapshot = tsn_pipeline::decode(TOPOLOGY_CHANGED, &m).expect("body");
    assert_eq!(m.topology_version, body.version);
    let unreachable = body.unreachable.iter().map(|u| format!("{}: {}", u.device, u.reason)).collect();
    (m.clone(), body.version, tsn_pipeline::topology::from_pb(&body).expect("valid topology"), unreachable)
}

/// Receives snapshots until one carries `want`; returns its version.
async fn until(sub: &mut Subscription, want: &Topology, what: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, version, topology, unreachable) = next_snapshot(sub).await;
        assert!(unreachable.is_empty(), "{what}: unreachable devices {unreachable:?}");
        if topology == *want {
            return version;
        }
        assert!(Instant::now() < deadline, "{what}: last snapshot v{version} = {topology:#?}, want {want:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_cable_is_published_as_a_new_version_without_it() {
    let builder = Testbed::builder()
        .bridge("b0")
        .bridge("b1")
        .bridge("b2")
        .station("e0")
        .station("e2")
        .cable("b0", "b1")
        .cable("b1", "b2")
        .cable("e0", "b0")
        .cable("e2", "b2");
    let mut net = start(builder, |_| Managed::Ssh, false);
    net.config.state_file = Some(net.tb.dir().join("topology-state.json"));
    let bus = Arc::new(amqp_bus().await);
    // Stands in for preprocess: a durable queue bound to topology.changed.
    let mut preprocess =
        bus.subscribe("preprocess.topology", &[TOPOLOGY_CHANGED], ConsumerOptions::default()).await.unwrap();
    let shutdown = CancellationToken::new();
    let service = tokio::spawn(tsn_topology::run(net.config.clone(), bus.clone() as Arc<dyn Bus>, shutdown.clone()));

    let full = expected(&net);
    let v_full = until(&mut preprocess, &full, "initial discovery").await;

    net.tb.set_link_down("b1", "b2").expect("cut b1–b2");
    let cut_at = Instant::now();
    let without = expected(&net);
    assert_eq!(without.links.len(), full.links.len() - 2);
    let v_cut = until(&mut preprocess, &without, "after the cut").await;
    let noticed = cut_at.elapsed();
    assert!(v_cut > v_full);
    println!(
        "cut b1–b2 published as v{v_cut} (was v{v_full}) {:.2} s after the cut (lldpd tx-interval 1 s, discovery interval 1 s)",
        noticed.as_secs_f64()
    );

    // On demand: answered with the current version.
    bus.publish(REDISCOVER, &Message::new(REDISCOVER, "req-after-cut", 0, Vec::new())).await.unwrap();
    loop {
        let (m, version, topology, _) = next_snapshot(&mut preprocess).await;
        if m.request_id == "req-after-cut" {
            assert_eq!((version, &topology), (v_cut, &without));
            break;
        }
    }

    net.tb.set_link_up("b1", "b2").expect("restore b1–b2");
    let v_back = until(&mut preprocess, &full, "after the repair").await;
    assert!(v_back > v_cut);

    shutdown.cancel();
    service.await.unwrap().expect("service stops cleanly");
    preprocess.close().await;
    bus.delete_declared().await.expect("delete the test namespace");
    net.tb.teardown().expect("teardown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_with_a_wrong_or_unknown_host_key_is_unreachable_never_trusted() {
    let builder = Testbed::builder()
        .bridge("b0")
        .bridge("b1")
        .bridge("b2")
        .station("e0")
        .cable("e0", "b0")
        .cable("b0", "b1")
        .cable("b0", "b2");
    let mut net = start(builder, |_| Managed::Ssh, false);
    // b1: the inventory pins another key than the one its sshd presents.
    let (_, impostor) = net.tb.generate_client_key("impostor").unwrap();
    let dev = |net: &common::Net, n: &str| net.config.devices.iter().position(|d| d.name == n).unwrap();
    let (b1, b2, e0) = (dev(&net, "b1"), dev(&net, "b2"), dev(&net, "e0"));
    let b1_real = PublicKey::from_openssh(net.config.devices[b1].host_key.as_ref().unwrap()).unwrap();
    net.config.devices[b1].host_key = Some(impostor.clone());
    // e0: pinned in a known_hosts file instead of the inventory. b2: pinned nowhere.
    let known_hosts = net.tb.dir().join("known_hosts");
    let e0_dev = &net.config.devices[e0];
    std::fs::write(&known_hosts, format!("{} {}\n", e0_dev.host, e0_dev.host_key.as_ref().unwrap())).unwrap();
    net.config.devices[e0].host_key = None;
    net.config.devices[b2].host_key = None;
    net.config.known_hosts = Some(known_hosts);

    // What is left: b0 and e0 and their cable; b1 and b2 and their cables are out.
    let mut want = expected(&net);
    want.nodes.retain(|n| n.id.0 == "b0" || n.id.0 == "e0");
    want.links.retain(|l| ["b0", "e0"].contains(&l.from.0.as_str()) && ["b0", "e0"].contains(&l.to.0.as_str()));
    assert_eq!(want.links.len(), 2);

    let d = discoverer(&net);
    let deadline = Instant::now() + common::CONVERGE_TIMEOUT;
    let got = loop {
        let got = d.discover().await;
        assert!(got.topology.nodes.iter().all(|n| n.id.0 != "b1" && n.id.0 != "b2"), "{:#?}", got.topology);
        if got.topology == want || Instant::now() > deadline {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(got.topology, want);
    let reasons: std::collections::BTreeMap<_, _> = got.unreachable.iter().cloned().collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    let b1_reason = &reasons["b1"];
    let expected_fp = tsn_ssh::fingerprint(&PublicKey::from_openssh(&impostor).unwrap());
    let got_fp = tsn_ssh::fingerprint(&b1_real);
    assert!(b1_reason.contains("host key mismatch"), "{b1_reason}");
    assert!(b1_reason.contains(&format!("expected {expected_fp}, got {got_fp}")), "{b1_reason}");
    assert!(reasons["b2"].contains("unknown host key"), "{}", reasons["b2"]);
    println!("b1: {b1_reason}\nb2: {}", reasons["b2"]);
    // The file store was not touched: unknown keys are not pinned behind the operator's back.
    let text = std::fs::read_to_string(net.config.known_hosts.as_ref().unwrap()).unwrap();
    assert_eq!(text.lines().count(), 1);
    net.tb.teardown().expect("teardown");
}
