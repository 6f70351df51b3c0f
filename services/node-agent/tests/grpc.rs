//! The agent's gRPC API over mutually authenticated TLS (certificates generated here), its
//! `--dry-run` binary with `/healthz` checked by curl, and the generation rules.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use node_agent::core::CoreOptions;
use node_agent::pb::node_agent_client::NodeAgentClient;
use node_agent::pb::{self, ApplyScheduleRequest};
use node_agent::{AgentOptions, TlsFiles};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use tokio_stream::StreamExt;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic::Code;
use tsn_datapath::EngineConfig;

struct Pki {
    dir: PathBuf,
    ca_pem: String,
    client_cert: String,
    client_key: String,
    rogue_cert: String,
    rogue_key: String,
}

fn leaf(issuer: &CertifiedIssuer<'_, KeyPair>, name: &str, sans: Vec<String>) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(sans).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn new_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn pki() -> Pki {
    let dir = std::env::temp_dir().join(format!("node-agent-pki-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = new_ca("tsn-cp test CA");
    let (server_cert, server_key) = leaf(&ca, "node-agent", vec!["localhost".into(), "127.0.0.1".into()]);
    let (client_cert, client_key) = leaf(&ca, "southbound", vec!["southbound".into()]);
    let rogue_ca = new_ca("rogue CA");
    let (rogue_cert, rogue_key) = leaf(&rogue_ca, "intruder", vec!["intruder".into()]);
    std::fs::write(dir.join("server.pem"), &server_cert).unwrap();
    std::fs::write(dir.join("server.key"), &server_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    Pki { dir, ca_pem: ca.pem(), client_cert, client_key, rogue_cert, rogue_key }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn options(dry_run: bool, tls: Option<TlsFiles>, dir: &Path) -> AgentOptions {
    AgentOptions {
        core: CoreOptions {
            node: "node-under-test".into(),
            dry_run,
            engine: EngineConfig::default(),
            shim_socket: dir.join("agent.sock"),
            shim_slots: 64,
        },
        grpc_listen: "127.0.0.1:0".parse().unwrap(),
        health_listen: "127.0.0.1:0".parse().unwrap(),
        tls,
    }
}

fn request(generation: u64) -> ApplyScheduleRequest {
    ApplyScheduleRequest {
        request_id: format!("req-{generation}"),
        generation,
        base_time_ns: 1_000_000_000,
        ports: vec![pb::PortSchedule {
            port: "eth1".into(),
            link_id: "talker->br0".into(),
            rate_bps: 1_000_000_000,
            base_time_ns: 0,
            cycle_time_ns: 1_000_000,
            entries: vec![
                pb::GateEntry { gate_states: 0x80, interval_ns: 200_000 },
                pb::GateEntry { gate_states: 0x7f, interval_ns: 800_000 },
            ],
        }],
        streams: vec![pb::StreamEntry {
            stream_id: "s1".into(),
            period_ns: 1_000_000,
            offset_ns: 50_000,
            max_frame_size: 200,
            pcp: 7,
            vlan_id: 10,
            destination: Some(pb::Destination {
                ip: "10.0.0.2".into(),
                udp_port: 7000,
                mac: "02:00:00:00:00:02".into(),
            }),
            egress_port: "eth1".into(),
            source_udp_port: 0,
        }],
        topology_version: 4,
    }
}

async fn tls_client(
    addr: SocketAddr,
    ca: &str,
    identity: Option<(&str, &str)>,
) -> Result<NodeAgentClient<Channel>, String> {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca)).domain_name("localhost");
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    let channel = Channel::from_shared(format!("https://localhost:{}", addr.port()))
        .map_err(|e| e.to_string())?
        .tls_config(tls)
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(NodeAgentClient::new(channel))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_apply_state_watch_and_generation_rules() {
    let pki = pki();
    let tls = TlsFiles {
        cert: pki.dir.join("server.pem"),
        key: pki.dir.join("server.key"),
        client_ca: pki.dir.join("ca.pem"),
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = node_agent::serve(options(true, Some(tls), &pki.dir), async {
        let _ = stop_rx.await;
    })
    .await
    .unwrap();

    // Without a client certificate, or with one from another CA: refused.
    for identity in [None, Some((pki.rogue_cert.as_str(), pki.rogue_key.as_str()))] {
        let refused = match tls_client(running.grpc_addr, &pki.ca_pem, identity).await {
            Err(_) => true,
            Ok(mut c) => c.get_state(pb::GetStateRequest {}).await.is_err(),
        };
        assert!(refused, "a client without a valid certificate must be refused");
    }

    let mut c = tls_client(running.grpc_addr, &pki.ca_pem, Some((&pki.client_cert, &pki.client_key))).await.unwrap();
    let state = c.get_state(pb::GetStateRequest {}).await.unwrap().into_inner();
    assert_eq!((state.node.as_str(), state.generation, state.dry_run), ("node-under-test", 0, true));

    let r = c.apply_schedule(request(2)).await.unwrap().into_inner();
    assert_eq!((r.generation, r.changed), (2, true));
    let again = c.apply_schedule(request(2)).await.unwrap().into_inner();
    assert!(!again.changed, "re-sending the generation in force changes nothing");
    let old = c.apply_schedule(request(1)).await.unwrap_err();
    assert_eq!(old.code(), Code::FailedPrecondition);
    let mut bad = request(3);
    bad.streams[0].pcp = 9;
    let e = c.apply_schedule(bad).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("PCP"), "{}", e.message());

    let state = c.get_state(pb::GetStateRequest {}).await.unwrap().into_inner();
    assert_eq!(state.generation, 2, "an invalid schedule changes nothing");
    assert_eq!(state.request_id, "req-2");
    assert_eq!(state.streams, request(2).streams);
    assert_eq!(state.ports.len(), 1);
    assert_eq!(state.ports[0].backend, "none");
    assert_eq!(state.ports[0].schedule.as_ref().unwrap().entries.len(), 2);

    let mut watch = c.watch_counters(pb::WatchCountersRequest { interval_ms: 20 }).await.unwrap().into_inner();
    for _ in 0..3 {
        let report = tokio::time::timeout(Duration::from_secs(5), watch.next()).await.unwrap().unwrap().unwrap();
        assert_eq!(report.generation, 2);
        assert!(report.timestamp_ns > 0);
        assert_eq!(report.total.unwrap().submitted, 0);
    }
    drop(watch);
    let _ = stop_tx.send(());
    running.task.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&pki.dir);
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_binary(args: &[&str]) -> (KillOnDrop, SocketAddr, SocketAddr) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_node-agent"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut grpc = None;
    let mut health = None;
    while grpc.is_none() || health.is_none() {
        let line = lines.next().expect("node-agent printed its addresses").unwrap();
        if let Some(a) = line.strip_prefix("grpc=") {
            grpc = Some(a.parse().unwrap());
        } else if let Some(a) = line.strip_prefix("health=") {
            health = Some(a.parse().unwrap());
        }
    }
    (KillOnDrop(child), grpc.unwrap(), health.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_binary_serves_plaintext_grpc_and_healthz() {
    let (_child, grpc, health) =
        start_binary(&["--dry-run", "--node", "dry", "--grpc-listen", "127.0.0.1:0", "--health-listen", "127.0.0.1:0"]);
    let curl = |path: &str| {
        Command::new("curl")
            .args(["-s", "-o", "-", "-w", "\n%{http_code}", &format!("http://{health}{path}")])
            .output()
            .unwrap()
    };
    let out = curl("/healthz");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.ends_with("\n200"), "{text}");
    assert!(
        text.contains("\"status\":\"ok\"") && text.contains("\"dry_run\":true") && text.contains("\"node\":\"dry\""),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&curl("/nope").stdout).ends_with("\n404"));

    let mut c = NodeAgentClient::connect(format!("http://{grpc}")).await.unwrap();
    let r = c.apply_schedule(request(7)).await.unwrap().into_inner();
    assert!(r.changed);
    let state = c.get_state(pb::GetStateRequest {}).await.unwrap().into_inner();
    assert_eq!((state.generation, state.node.as_str()), (7, "dry"));
    let text = String::from_utf8_lossy(&curl("/healthz").stdout).to_string();
    assert!(text.contains("\"generation\":7"), "{text}");
}

#[test]
fn the_binary_refuses_plaintext_outside_dry_run() {
    let out = Command::new(env!("CARGO_BIN_EXE_node-agent")).args(["--grpc-listen", "127.0.0.1:0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--insecure"));
}
