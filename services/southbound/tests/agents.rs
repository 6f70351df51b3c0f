//! Southbound's gRPC configurator against real node agents (dry-run datapath) over mutually
//! authenticated TLS: each end station's part of a verified schedule arrives as its
//! `ApplySchedule`, idempotently per generation, and refusals name the station.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{deploy, Dir};
use node_agent::core::CoreOptions;
use node_agent::pb::node_agent_client::NodeAgentClient;
use node_agent::{AgentOptions, TlsFiles};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use southbound::agent::{AgentEndpoint, AgentSettings, AgentTls, GrpcAgentConfigurator};
use southbound::render::{DeviceConfig, Role};
use southbound::DeviceConfigurator;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

fn leaf(issuer: &CertifiedIssuer<'_, KeyPair>, name: &str, dir: &Path) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.signed_by(&key, issuer).unwrap();
    std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
    std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
}

/// A CA with the agents' server certificate and southbound's client certificate.
fn pki(dir: &Path) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "tsn-cp test CA");
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    leaf(&ca, "agent", dir);
    leaf(&ca, "southbound", dir);
}

struct Agent {
    name: String,
    running: node_agent::Running,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn agent(name: &str, dir: &Path) -> Agent {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let opts = AgentOptions {
        core: CoreOptions {
            node: name.into(),
            dry_run: true,
            engine: tsn_datapath::EngineConfig::default(),
            shim_socket: dir.join(format!("{name}.sock")),
            shim_slots: 64,
        },
        grpc_listen: "127.0.0.1:0".parse().unwrap(),
        health_listen: "127.0.0.1:0".parse().unwrap(),
        tls: Some(TlsFiles { cert: dir.join("agent.pem"), key: dir.join("agent.key"), client_ca: dir.join("ca.pem") }),
    };
    let running = node_agent::serve(opts, async move {
        let _ = stopped.await;
    })
    .await
    .unwrap();
    Agent { name: name.into(), running, _stop: stop }
}

fn settings(agents: &[Agent], dir: &Path) -> AgentSettings {
    AgentSettings {
        agents: agents
            .iter()
            .map(|a| AgentEndpoint {
                name: a.name.clone(),
                address: format!("127.0.0.1:{}", a.running.grpc_addr.port()),
                tls_name: Some("localhost".into()),
            })
            .collect(),
        tls: Some(AgentTls {
            ca: dir.join("ca.pem"),
            cert: dir.join("southbound.pem"),
            key: dir.join("southbound.key"),
        }),
        insecure: false,
        epoch_ns: 1_700_000_000_000_000_000,
        timeout_s: 10,
    }
}

async fn state(a: &Agent, dir: &Path) -> node_agent::pb::AgentState {
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read("ca.pem")))
        .identity(Identity::from_pem(read("southbound.pem"), read("southbound.key")))
        .domain_name("localhost");
    let channel = Channel::from_shared(format!("https://localhost:{}", a.running.grpc_addr.port()))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    NodeAgentClient::new(channel).get_state(node_agent::pb::GetStateRequest {}).await.unwrap().into_inner()
}

fn stations(configs: &[DeviceConfig]) -> Vec<DeviceConfig> {
    configs.iter().filter(|c| c.role == Role::EndStation).cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn station_schedules_reach_their_agents_over_mtls() {
    let dir = Dir::new("agents");
    pki(&dir.0);
    let agents = vec![agent("e0_0", &dir.0).await, agent("e4_0", &dir.0).await];
    let (_, schedule, configs) = deploy();
    let configs = stations(&configs);
    assert_eq!(configs.len(), 2);
    let c = GrpcAgentConfigurator::from_settings(&settings(&agents, &dir.0)).unwrap();
    c.apply_all(&configs, &BTreeMap::new()).await.unwrap();

    for (a, config) in agents.iter().zip(&configs) {
        assert_eq!(a.name, config.device);
        let st = state(a, &dir.0).await;
        assert_eq!(st.generation, config.version);
        let ids: Vec<&str> = st.streams.iter().map(|s| s.stream_id.as_str()).collect();
        let want: Vec<&str> = config.talker_streams.iter().map(|s| s.stream_id.as_str()).collect();
        assert_eq!(ids, want, "{}", a.name);
        for s in &st.streams {
            // The talker's offset is the schedule's first transmission of the stream.
            let ss = schedule.streams.iter().find(|x| x.stream.0 == s.stream_id).unwrap();
            assert_eq!(s.offset_ns, ss.talker_offset_ns, "{}", s.stream_id);
            let d = s.destination.as_ref().unwrap();
            assert!(d.udp_port > 0 && !d.ip.is_empty() && d.mac == "02:00:00:00:00:0a", "{d:?}");
        }
        let ports: Vec<&str> = st.ports.iter().filter_map(|p| p.schedule.as_ref()).map(|p| p.port.as_str()).collect();
        let want_ports: Vec<&str> = config.ports.iter().map(|p| p.port.as_str()).collect();
        assert_eq!(ports, want_ports, "{}", a.name);
    }

    // Redelivered deploy: the same generation again changes nothing and succeeds.
    c.apply_all(&configs, &BTreeMap::new()).await.unwrap();
    assert_eq!(state(&agents[0], &dir.0).await.generation, configs[0].version);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_generation_is_refused_and_names_the_station() {
    let dir = Dir::new("agents-old");
    pki(&dir.0);
    let agents = vec![agent("e0_0", &dir.0).await, agent("e4_0", &dir.0).await];
    let (_, _, configs) = deploy();
    let mut configs = stations(&configs);
    let c = GrpcAgentConfigurator::from_settings(&settings(&agents, &dir.0)).unwrap();
    for cfg in &mut configs {
        cfg.version = 5;
    }
    c.apply_all(&configs, &BTreeMap::new()).await.unwrap();
    let mut old = configs.clone();
    for cfg in &mut old {
        cfg.version = 4;
    }
    let e = c.apply_all(&old, &BTreeMap::new()).await.unwrap_err();
    assert_eq!(e.device, "e0_0");
    assert!(e.reason.contains("FailedPrecondition"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_without_tls_or_with_an_unknown_station_are_refused() {
    let dir = Dir::new("agents-cfg");
    pki(&dir.0);
    let agents = vec![agent("e0_0", &dir.0).await];
    let mut s = settings(&agents, &dir.0);
    s.tls = None;
    let e = GrpcAgentConfigurator::from_settings(&s).unwrap_err();
    assert!(e.reason.contains("insecure"), "{e}");
    let c = GrpcAgentConfigurator::from_settings(&settings(&agents, &dir.0)).unwrap();
    let (_, _, configs) = deploy();
    let e4 = stations(&configs).into_iter().find(|c| c.device == "e4_0").unwrap();
    let e = c.apply("e4_0", &e4).await.unwrap_err();
    assert_eq!(e.device, "e4_0");
    assert!(e.reason.contains("no node agent"), "{e}");
}
