//! The service binaries as separate processes on the real RabbitMQ (own namespace) and
//! PostgreSQL (own database): preprocess, two scheduler replicas, southbound (dry-run
//! configurator). Compute requests are published as the gateway publishes them and the
//! outcomes consumed as the gateway consumes them; every schedule is checked by tsn-check.

use std::time::Duration;

use tsn_bus::ConsumerOptions;
use tsn_itest::{
    assert_admitted_once, assert_ready, bind_service_queues, stream_request, submit, verified_solutions, wait_healthy,
    Cluster, Outcomes,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_streams_through_the_service_processes() {
    let mut c = Cluster::new("procs");
    let bus = c.bus().await;
    bind_service_queues(&bus).await;
    let mut outcomes = Outcomes::subscribe(&bus, "test.outcomes").await;
    let mut solved =
        bus.subscribe("test.solved", &[tsn_pipeline::SCHEDULE_SOLVED], ConsumerOptions::default()).await.unwrap();
    let pre = c.start("preprocess", "preprocess", &[]);
    let s1 = c.start("scheduler", "scheduler-1", &[]);
    let s2 = c.start("scheduler", "scheduler-2", &[]);
    let sb = c.start("southbound", "southbound", &[]);
    for addr in [&pre, &s1, &s2, &sb] {
        assert!(wait_healthy(addr, Duration::from_secs(60)).await, "{addr} not healthy\n{}", c.logs());
    }

    let mut ids = Vec::new();
    let mut requested = Vec::new();
    for chunk in 0..4 {
        let streams: Vec<_> = (chunk * 5..chunk * 5 + 5).map(stream_request).collect();
        requested.push(streams.iter().map(|s| s.stream_id.clone()).collect::<Vec<_>>());
        ids.push(submit(&bus, streams, vec![]).await);
    }
    outcomes.wait_for(&ids, Duration::from_secs(180)).await;
    let jobs = verified_solutions(&mut solved, 4, Duration::from_secs(30)).await;
    for (id, streams) in ids.iter().zip(&requested) {
        assert_ready(outcomes.of(id), streams);
        assert_admitted_once(outcomes.of(id));
    }
    let last = outcomes.of(&ids[3]).admitted_state.as_ref().unwrap();
    assert_eq!((last.version, last.streams.len()), (4, 20));
    assert!(outcomes.seen.values().all(|v| v.len() == 1), "one outcome per request");
    // Both replicas are consumers of one work queue; which one solves what is the broker's choice.
    let solvers: std::collections::BTreeSet<&str> = jobs.iter().map(|j| j.solver.as_str()).collect();
    eprintln!("solved by {solvers:?}");

    // The dry-run configurator wrote every device that carries scheduled traffic.
    let config_dir = c.dir.join("config");
    let talker: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(config_dir.join("es0-0.json")).unwrap()).unwrap();
    assert_eq!(talker["version"], 4);
    assert!(!talker["talker_streams"].as_array().unwrap().is_empty());
    let bridge: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(config_dir.join("br0.json")).unwrap()).unwrap();
    assert!(!bridge["ports"].as_array().unwrap().is_empty());

    // Operations endpoints: metrics count what happened.
    let metrics = http_get(&pre, "/metrics").await;
    assert!(metrics.contains("preprocess_requests_total 4"), "{metrics}");
    let metrics = http_get(&sb, "/metrics").await;
    assert!(metrics.contains("southbound_deploys_total{result=\"deployed\"} 4"), "{metrics}");

    // SIGTERM: every service stops cleanly.
    for p in &mut c.procs {
        p.terminate();
        let status = p.child.wait().unwrap();
        assert!(status.success(), "{} exited with {status}", p.name);
    }
    outcomes.close().await;
    solved.close().await;
    let amqp = bus.clone();
    drop(amqp);
}

/// A plain HTTP/1.0 GET; the body.
async fn http_get(addr: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes()).await.unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.unwrap();
    buf.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default()
}

#[test]
fn a_bad_configuration_exits_with_78_and_says_why() {
    let out = std::process::Command::new(tsn_itest::service_binary("scheduler"))
        .env("TSN_SCHEDULER_ALGORITHM", "magic")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown variant `magic`"), "{err}");
    let out = std::process::Command::new(tsn_itest::service_binary("preprocess")).arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(64));
}
