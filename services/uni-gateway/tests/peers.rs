//! The gateway against its real peers: PostgreSQL, RabbitMQ, curl over TLS with client
//! certificates, and a restart with an unpublished outbox.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use serde_json::json;
use tsn_bus::{Bus, BusError, ConsumerOptions, Message, Subscription};
use tsn_pipeline::v1;
use uni_gateway::{BasicUser, GatewayConfig, TlsConfig};

fn compute_body() -> &'static str {
    r#"{"ieee802-dot1q-cnc-config:input":{"domain":[{"domain-id":"domain-1","cuc":[{"cuc-id":"cuc-1","stream-list":[{"stream-id":"00-11-22-33-44-55:00-01"}]}]}]}}"#
}

/// A uniquely named PostgreSQL database, dropped on drop.
struct PgDatabase(String);

impl PgDatabase {
    fn create() -> Self {
        let name = format!(
            "uni_gw_test_{}_{}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() % 1_000_000_000
        );
        psql(&format!("CREATE DATABASE {name}"));
        PgDatabase(name)
    }
    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.0)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        psql(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.0));
    }
}

fn psql(sql: &str) {
    let out = std::process::Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("psql is installed");
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Writes, computes and reads back a stream; returns the configured stream document.
async fn write_compute_read(gw: &Gateway, extra: &[&str]) -> serde_json::Value {
    let args = |rest: &[&str]| -> Vec<String> { extra.iter().chain(rest.iter()).map(|s| s.to_string()).collect() };
    let run = |a: Vec<String>| async move { curl(&a.iter().map(String::as_str).collect::<Vec<_>>()).await };
    let r = run(args(&[
        "-X",
        "PUT",
        "-H",
        JSON,
        "--data-binary",
        &example_document().to_string(),
        &gw.url("/restconf/data"),
    ]))
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = run(args(&[
        "-X",
        "POST",
        "-H",
        JSON,
        "-d",
        compute_body(),
        &gw.url("/restconf/operations/ieee802-dot1q-cnc-config:compute_streams"),
    ]))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    wait_for(&gw.url(STREAM_1), extra, |v| v["ieee802-dot1q-cnc-config:stream"][0]["stream-status"] == "configured")
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_survives_a_restart() {
    let db = PgDatabase::create();
    let dir = Scratch::new("pg");
    let config = GatewayConfig { database_url: db.url(), ..sqlite_config(&dir) };
    let gw = Gateway::start(config.clone(), None).await;
    let v = write_compute_read(&gw, &[]).await;
    assert_eq!(v["ieee802-dot1q-cnc-config:stream"][0]["status-info"]["failure-code"], 0);
    gw.stop().await;
    // A new gateway on the same database sees everything, status included.
    let gw = Gateway::start(config, None).await;
    let r = curl(&[&gw.url(&format!("{STREAM_1}?content=nonconfig"))]).await;
    assert_eq!(r.json()["ieee802-dot1q-cnc-config:stream"][0]["stream-status"], "configured", "{}", r.body);
    let r =
        curl(&["-X", "DELETE", &gw.url("/restconf/data/ieee802-dot1q-cnc-config:cnc-config/domain=domain-1")]).await;
    assert_eq!(r.status, 204);
    gw.stop().await;
}

/// A bus whose publishes fail while `down` is set (a broker outage).
#[derive(Debug)]
struct FlakyBus {
    inner: tsn_bus::MemoryBus,
    down: AtomicBool,
}

#[async_trait]
impl Bus for FlakyBus {
    async fn publish(&self, topic: &str, message: &Message) -> Result<(), BusError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(BusError::NotConfirmed { destination: topic.to_owned() });
        }
        self.inner.publish(topic, message).await
    }
    async fn subscribe(
        &self,
        queue: &str,
        patterns: &[&str],
        options: ConsumerOptions,
    ) -> Result<Subscription, BusError> {
        self.inner.subscribe(queue, patterns, options).await
    }
    async fn send_work(&self, queue: &str, message: &Message) -> Result<(), BusError> {
        self.inner.send_work(queue, message).await
    }
    async fn consume_work(&self, queue: &str, options: ConsumerOptions) -> Result<Subscription, BusError> {
        self.inner.consume_work(queue, options).await
    }
    async fn consume_dead_letters(&self, options: ConsumerOptions) -> Result<Subscription, BusError> {
        self.inner.consume_dead_letters(options).await
    }
}

fn request_id_of(result: &str) -> String {
    result.split_whitespace().skip_while(|w| *w != "request").nth(1).expect("a request id in the result").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_requests_are_published_after_a_restart_and_outcomes_apply_once() {
    let dir = Scratch::new("outbox");
    let config = sqlite_config(&dir);
    let flaky = Arc::new(FlakyBus { inner: tsn_bus::MemoryBus::new(), down: AtomicBool::new(true) });
    let gw = Gateway::start(config.clone(), Some(flaky.clone())).await;
    let r =
        curl(&["-X", "PUT", "-H", JSON, "--data-binary", &example_document().to_string(), &gw.url("/restconf/data")])
            .await;
    assert_eq!(r.status, 201);
    let r = curl(&[
        "-X",
        "POST",
        "-H",
        JSON,
        "-d",
        compute_body(),
        &gw.url("/restconf/operations/ieee802-dot1q-cnc-config:compute_streams"),
    ])
    .await;
    assert_eq!(r.status, 200, "acknowledged while the broker is down: {}", r.body);
    let request_id = request_id_of(r.json()["ieee802-dot1q-cnc-config:output"]["result"].as_str().unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let m = curl(&[&gw.url("/metrics")]).await;
    assert!(m.body.contains("uni_gateway_outbox_backlog 1"), "{}", m.body);
    gw.stop().await; // the gateway goes away before it could publish

    // The pipeline's side of a fresh bus, bound before the gateway comes back.
    let bus = Arc::new(tsn_bus::MemoryBus::new());
    let mut pipeline =
        bus.subscribe("test.preprocess", &[tsn_pipeline::COMPUTE_REQUESTED], ConsumerOptions::default()).await.unwrap();
    let gw = Gateway::start(config, Some(bus.clone())).await;
    let delivery =
        tokio::time::timeout(Duration::from_secs(10), pipeline.next()).await.expect("published after restart").unwrap();
    let msg = delivery.message().clone();
    delivery.ack().await.unwrap();
    assert_eq!(msg.request_id, request_id);
    let req: v1::ComputeRequest = tsn_pipeline::decode(tsn_pipeline::COMPUTE_REQUESTED, &msg).unwrap();
    assert_eq!((req.domain_id.as_str(), req.cuc_id.as_str()), ("domain-1", "cuc-1"));
    let s = &req.streams[0];
    assert_eq!(
        (s.period_ns, s.max_frame_size, s.max_latency_ns),
        (1_000_000, 128, 500_000),
        "units converted at the edge"
    );
    assert_eq!(s.talker.as_ref().unwrap().mac_address, "00-11-22-33-44-55");
    assert_eq!(s.latest_transmit_offset_ns, Some(100_000));

    // The outcome arrives twice (at-least-once): applied once.
    let outcome = v1::RequestOutcome {
        domain_id: "domain-1".into(),
        cuc_id: "cuc-1".into(),
        deployed: true,
        streams: vec![v1::StreamOutcome {
            stream_id: "00-11-22-33-44-55:00-01".into(),
            status: v1::StreamStatus::Ready as i32,
            accumulated_latency_ns: 12_345,
            time_aware_offset_ns: 777,
            ..Default::default()
        }],
        ..Default::default()
    };
    for _ in 0..2 {
        let m = tsn_pipeline::encode(tsn_pipeline::DEPLOY_COMPLETED, &request_id, 0, &outcome);
        bus.publish(tsn_pipeline::DEPLOY_COMPLETED, &m).await.unwrap();
    }
    let v =
        wait_for(&gw.url(STREAM_1), &[], |v| v["ieee802-dot1q-cnc-config:stream"][0]["stream-status"] == "configured")
            .await;
    let s = &v["ieee802-dot1q-cnc-config:stream"][0];
    assert_eq!(s["talker"]["accumulated-latency"], 12_345);
    assert_eq!(s["talker"]["interface-configuration"]["interface-list"][0]["config-list"][0]["time-aware-offset"], 777);
    wait_for_outcome_counts(&gw, 1, 1).await;
    let events = notification_events(&gw).await;
    assert_eq!(events.matches("compute_streams_completed").count(), 1, "{events}");
    assert_eq!(events.matches("configure_streams_completed").count(), 1, "{events}");

    // A request the CNC made of its own (preprocess re-routing the stream after a link
    // went down), with no domain or CUC and an unknown stream: the stream the gateway holds
    // takes the new offset and latency, its CUC is notified, once, and nothing else changes.
    let reroute = v1::RequestOutcome {
        deployed: true,
        streams: vec![
            v1::StreamOutcome {
                stream_id: "00-11-22-33-44-55:00-01".into(),
                status: v1::StreamStatus::Ready as i32,
                accumulated_latency_ns: 23_456,
                time_aware_offset_ns: 888,
                ..Default::default()
            },
            v1::StreamOutcome {
                stream_id: "66-77-88-99-AA-BB:00-09".into(),
                status: v1::StreamStatus::Ready as i32,
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    for _ in 0..2 {
        let m = tsn_pipeline::encode(tsn_pipeline::DEPLOY_COMPLETED, "reroute-default-t7", 0, &reroute);
        bus.publish(tsn_pipeline::DEPLOY_COMPLETED, &m).await.unwrap();
    }
    let v = wait_for(&gw.url(STREAM_1), &[], |v| {
        v["ieee802-dot1q-cnc-config:stream"][0]["talker"]["accumulated-latency"] == 23_456
    })
    .await;
    let s = &v["ieee802-dot1q-cnc-config:stream"][0];
    assert_eq!(s["stream-status"], "configured");
    assert_eq!(s["talker"]["interface-configuration"]["interface-list"][0]["config-list"][0]["time-aware-offset"], 888);
    wait_for_outcome_counts(&gw, 2, 2).await;
    let events = notification_events(&gw).await;
    assert_eq!(events.matches("configure_streams_completed").count(), 2, "{events}");
    assert!(!events.contains("66-77-88-99-AA-BB"), "a stream the gateway does not hold is not reported: {events}");
    gw.stop().await;
}

/// Every notification of the NETCONF stream from the start (curl, 2 s).
async fn notification_events(gw: &Gateway) -> String {
    let out = tokio::process::Command::new("curl")
        .args([
            "-s",
            "-N",
            "--max-time",
            "2",
            "-H",
            "accept: text/event-stream",
            "-H",
            "last-event-id: 0",
            &gw.url("/restconf/streams/NETCONF"),
        ])
        .output()
        .await
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// Waits until /metrics counts `duplicate` duplicate outcomes, then checks `applied`.
async fn wait_for_outcome_counts(gw: &Gateway, applied: u32, duplicate: u32) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let m = curl(&[&gw.url("/metrics")]).await.body;
        if m.contains(&format!("uni_gateway_outcomes_duplicate_total {duplicate}")) {
            assert!(m.contains(&format!("uni_gateway_outcomes_applied_total {applied}")), "{m}");
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{m}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbitmq_round_trip_with_a_fake_pipeline() {
    let url = std::env::var("TSN_AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned());
    let mut cfg = tsn_bus::AmqpConfig::new(url);
    cfg.namespace = format!(
        "test.uni-gw.{}.{}.",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() % 1_000_000_000
    );
    cfg.queue_expiry = Some(Duration::from_secs(300));
    let bus = tsn_bus::AmqpBus::connect(cfg).await.expect("RabbitMQ on 127.0.0.1:5672 (scripts/setup starts it)");
    let shared: Arc<dyn Bus> = Arc::new(bus.clone());
    // A fake preprocess/scheduler/southbound: answers every request with a deploy.
    let mut sub =
        bus.subscribe("test.pipeline", &[tsn_pipeline::COMPUTE_REQUESTED], ConsumerOptions::default()).await.unwrap();
    let responder = bus.clone();
    let fake = tokio::spawn(async move {
        loop {
            let Ok(d) = sub.next().await else { return };
            let msg = d.message().clone();
            let req: v1::ComputeRequest = tsn_pipeline::decode(tsn_pipeline::COMPUTE_REQUESTED, &msg).unwrap();
            let outcome = v1::RequestOutcome {
                domain_id: req.domain_id.clone(),
                cuc_id: req.cuc_id.clone(),
                deployed: true,
                streams: req
                    .streams
                    .iter()
                    .map(|s| v1::StreamOutcome {
                        stream_id: s.stream_id.clone(),
                        status: v1::StreamStatus::Ready as i32,
                        accumulated_latency_ns: 4_242,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            };
            let out = tsn_pipeline::encode(tsn_pipeline::DEPLOY_COMPLETED, &msg.request_id, 0, &outcome);
            responder.publish(tsn_pipeline::DEPLOY_COMPLETED, &out).await.unwrap();
            d.ack().await.unwrap();
        }
    });
    let dir = Scratch::new("amqp");
    let gw = Gateway::start(sqlite_config(&dir), Some(shared)).await;
    let v = write_compute_read(&gw, &[]).await;
    assert_eq!(v["ieee802-dot1q-cnc-config:stream"][0]["talker"]["accumulated-latency"], 4_242);
    gw.stop().await;
    fake.abort();
    bus.delete_declared().await.unwrap();
    bus.close().await;
}

struct Pki {
    dir: Scratch,
}

impl Pki {
    /// A CA, a server certificate for localhost and client certificates for `clients`.
    fn new(clients: &[&str]) -> Pki {
        let dir = Scratch::new("pki");
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "tsn-cp test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        std::fs::write(dir.path("ca.pem"), ca.as_ref().pem()).unwrap();
        let issuer: &rcgen::Issuer<'_, rcgen::KeyPair> = &ca;
        let leaf = |name: &str, sans: Vec<String>, cn: &str| {
            let key = rcgen::KeyPair::generate().unwrap();
            let mut p = rcgen::CertificateParams::new(sans).unwrap();
            p.distinguished_name.push(rcgen::DnType::CommonName, cn);
            let cert = p.signed_by(&key, issuer).unwrap();
            std::fs::write(dir.path(&format!("{name}.pem")), cert.pem()).unwrap();
            std::fs::write(dir.path(&format!("{name}.key")), key.serialize_pem()).unwrap();
        };
        leaf("server", vec!["localhost".into()], "localhost");
        for c in clients {
            leaf(c, vec![], c);
        }
        Pki { dir }
    }
    fn path(&self, f: &str) -> String {
        self.dir.path(f).display().to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_client_certificates_basic_users_and_cuc_scoping() {
    let pki = Pki::new(&["cuc-1", "cuc-2"]);
    let dir = Scratch::new("tls");
    let mut config = sqlite_config(&dir);
    config.tls = Some(TlsConfig {
        cert: pki.dir.path("server.pem"),
        key: pki.dir.path("server.key"),
        client_ca: Some(pki.dir.path("ca.pem")),
        require_client_cert: false,
    });
    config.auth.allow_anonymous = false;
    config.auth.basic_users = vec![BasicUser { name: "lab".into(), password: "secret".into() }];
    config.auth.identities = [("cuc-1", vec!["cuc-1"]), ("cuc-2", vec!["cuc-2"]), ("lab", vec!["*"])]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
        .collect();
    let gw = Gateway::start(config.clone(), None).await;
    let port = gw.base.rsplit(':').next().unwrap().to_owned();
    let resolve = format!("localhost:{port}:127.0.0.1");
    let ca = pki.path("ca.pem");
    let tls = ["--resolve", &resolve, "--cacert", &ca];
    let (c1, k1, c2, k2) = (pki.path("cuc-1.pem"), pki.path("cuc-1.key"), pki.path("cuc-2.pem"), pki.path("cuc-2.key"));
    let as1: Vec<&str> = tls.iter().copied().chain(["--cert", &c1, "--key", &k1]).collect();
    let as2: Vec<&str> = tls.iter().copied().chain(["--cert", &c2, "--key", &k2]).collect();
    let lab: Vec<&str> = tls.iter().copied().chain(["-u", "lab:secret"]).collect();

    // The admin (Basic) creates the domain; cuc-1 (certificate) writes and computes its stream.
    let r = curl(&[&lab[..], &["-X", "PUT", "-H", JSON, "--data-binary", r#"{"ieee802-dot1q-cnc-config:cnc-config":{"domain":[{"domain-id":"domain-1","cuc":[{"cuc-id":"cuc-1"},{"cuc-id":"cuc-2"}]}]}}"#, &gw.url("/restconf/data")]].concat()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let stream = json!({"ieee802-dot1q-cnc-config:stream": [example_stream("00-11-22-33-44-55:00-01", "00-11-22-33-44-55", "00-11-22-33-44-66")]}).to_string();
    let r =
        curl(&[&as1[..], &["--http2", "-X", "POST", "-H", JSON, "--data-binary", &stream, &gw.url(CUC_1)]].concat())
            .await;
    assert_eq!((r.version.as_str(), r.status), ("HTTP/2", 201), "{}", r.body);
    let r = curl(&[&as1[..], &["--http1.1", &gw.url(STREAM_1)]].concat()).await;
    assert_eq!((r.version.as_str(), r.status), ("HTTP/1.1", 200));
    // cuc-2 may not read, change or compute cuc-1's stream, and does not see it.
    let r = curl(&[&as2[..], &[gw.url(STREAM_1).as_str()]].concat()).await;
    assert_eq!((r.status, r.error_tag().as_str()), (403, "access-denied"));
    let r = curl(
        &[
            &as2[..],
            &[
                "-X",
                "POST",
                "-H",
                JSON,
                "-d",
                compute_body(),
                &gw.url("/restconf/operations/ieee802-dot1q-cnc-config:compute_streams"),
            ],
        ]
        .concat(),
    )
    .await;
    assert_eq!((r.status, r.error_tag().as_str()), (403, "access-denied"));
    let r = curl(&[&as2[..], &[gw.url("/restconf/data/ieee802-dot1q-cnc-config:cnc-config").as_str()]].concat()).await;
    assert_eq!(
        r.json(),
        json!({"ieee802-dot1q-cnc-config:cnc-config": {"domain": [{"domain-id": "domain-1", "cuc": [{"cuc-id": "cuc-2"}]}]}})
    );
    // No certificate and no password: 401.
    let r = curl(&[&tls[..], &[gw.url(STREAM_1).as_str()]].concat()).await;
    assert_eq!((r.status, r.error_tag().as_str()), (401, "access-denied"));
    gw.stop().await;

    // With require_client_cert, the handshake itself refuses a client without one.
    config.tls.as_mut().unwrap().require_client_cert = true;
    let gw = Gateway::start(config, None).await;
    let port = gw.base.rsplit(':').next().unwrap().to_owned();
    let resolve = format!("localhost:{port}:127.0.0.1");
    let e = try_curl(&["--resolve", &resolve, "--cacert", &ca, "-u", "lab:secret", &gw.url("/restconf")]).await;
    assert!(e.is_err(), "a client without certificate got through: {e:?}");
    let r = curl(&["--resolve", &resolve, "--cacert", &ca, "--cert", &c1, "--key", &k1, &gw.url("/restconf")]).await;
    assert_eq!(r.status, 200);
    gw.stop().await;
}
