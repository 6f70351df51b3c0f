//! End stations over gRPC: each station's part of a deploy becomes an `ApplySchedule` to
//! its node agent (mutually authenticated TLS; `proto/tsn/agent/v1/agent.proto`). The
//! generation is the admitted-state version, so a redelivered deploy is a no-op on the agent.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::configurator::{ConfigureError, DeviceConfigurator};
use crate::render::DeviceConfig;

/// The generated client and messages.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("tsn.agent.v1");
}

/// `stations = { kind = "grpc", … }`: where each node agent listens and the client's TLS.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AgentSettings {
    /// The agents, by topology node id.
    pub agents: Vec<AgentEndpoint>,
    /// mTLS material; required unless `insecure`.
    #[serde(default)]
    pub tls: Option<AgentTls>,
    /// Plaintext gRPC (agents started with `--insecure` or `--dry-run`): development only.
    #[serde(default)]
    pub insecure: bool,
    /// Absolute CLOCK_TAI time (ns) of the schedules' time origin (the agents' base time).
    #[serde(default)]
    pub epoch_ns: u64,
    /// Seconds allowed for connecting and for each call.
    #[serde(default = "default_timeout")]
    pub timeout_s: u64,
}

fn default_timeout() -> u64 {
    10
}

/// One node agent.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AgentEndpoint {
    /// The topology node id.
    pub name: String,
    /// `host:port` of its gRPC listener.
    pub address: String,
    /// The name in its certificate (default: the host part of `address`).
    #[serde(default)]
    pub tls_name: Option<String>,
}

/// Client certificate, key and the CA that signed the agents' certificates (PEM files).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AgentTls {
    /// CA certificate of the agents.
    pub ca: PathBuf,
    /// southbound's client certificate.
    pub cert: PathBuf,
    /// southbound's client key.
    pub key: PathBuf,
}

/// Pushes end-station schedules to node agents.
#[derive(Debug)]
pub struct GrpcAgentConfigurator {
    endpoints: BTreeMap<String, Endpoint>,
    epoch_ns: u64,
}

impl GrpcAgentConfigurator {
    /// From the settings: reads the TLS files now, so that a missing file stops the start.
    pub fn from_settings(s: &AgentSettings) -> Result<Self, ConfigureError> {
        let err = |device: &str, reason: String| ConfigureError { device: device.to_owned(), reason };
        let tls = match (&s.tls, s.insecure) {
            (Some(t), _) => {
                let read = |p: &PathBuf| std::fs::read(p).map_err(|e| err("(agents)", format!("{}: {e}", p.display())));
                Some((Certificate::from_pem(read(&t.ca)?), Identity::from_pem(read(&t.cert)?, read(&t.key)?)))
            }
            (None, true) => None,
            (None, false) => {
                return Err(err("(agents)", "node agents need `tls` (ca, cert, key) unless `insecure = true`".into()))
            }
        };
        let timeout = Duration::from_secs(s.timeout_s.max(1));
        let mut endpoints = BTreeMap::new();
        for a in &s.agents {
            let scheme = if tls.is_some() { "https" } else { "http" };
            let mut e = Endpoint::from_shared(format!("{scheme}://{}", a.address))
                .map_err(|e| err(&a.name, format!("address {:?}: {e}", a.address)))?
                .connect_timeout(timeout)
                .timeout(timeout);
            if let Some((ca, id)) = &tls {
                let host = a.address.rsplit_once(':').map_or(a.address.as_str(), |(h, _)| h);
                let name = a.tls_name.clone().unwrap_or_else(|| host.trim_matches(['[', ']']).to_owned());
                let cfg = ClientTlsConfig::new().ca_certificate(ca.clone()).identity(id.clone()).domain_name(name);
                e = e.tls_config(cfg).map_err(|e| err(&a.name, format!("TLS: {e}")))?;
            }
            if endpoints.insert(a.name.clone(), e).is_some() {
                return Err(err(&a.name, "listed twice among the node agents".into()));
            }
        }
        Ok(GrpcAgentConfigurator { endpoints, epoch_ns: s.epoch_ns })
    }
}

/// `01-00-5E-00-00-01` (802.1Qcc) → `01:00:5e:00:00:01` (the agent's form).
fn colon_mac(mac: &str) -> String {
    mac.replace('-', ":").to_ascii_lowercase()
}

/// The agent's request for one end station's configuration.
pub fn apply_request(config: &DeviceConfig, epoch_ns: u64) -> pb::ApplyScheduleRequest {
    pb::ApplyScheduleRequest {
        request_id: format!("deploy-v{}", config.version),
        generation: config.version,
        base_time_ns: epoch_ns,
        ports: config
            .ports
            .iter()
            .map(|p| pb::PortSchedule {
                port: p.port.clone(),
                link_id: format!("{}->{}", config.device, p.neighbour),
                rate_bps: 0,
                base_time_ns: epoch_ns + p.base_time_ns,
                cycle_time_ns: p.cycle_time_ns,
                entries: p
                    .entries
                    .iter()
                    .map(|e| pb::GateEntry { gate_states: u32::from(e.gate_states), interval_ns: e.interval_ns })
                    .collect(),
            })
            .collect(),
        streams: config
            .talker_streams
            .iter()
            .map(|s| pb::StreamEntry {
                stream_id: s.stream_id.clone(),
                period_ns: s.period_ns,
                offset_ns: s.frame_offsets_ns.first().copied().unwrap_or(0),
                max_frame_size: s.max_frame_size,
                pcp: u32::from(s.pcp),
                vlan_id: u32::from(s.vlan.unwrap_or(0)),
                destination: Some(pb::Destination {
                    ip: s.destination_ip.clone(),
                    udp_port: s.destination_port,
                    mac: colon_mac(&s.destination_mac),
                }),
                egress_port: s.port.clone(),
                source_udp_port: 0,
            })
            .collect(),
        topology_version: 0,
    }
}

#[async_trait]
impl DeviceConfigurator for GrpcAgentConfigurator {
    async fn apply(&self, device: &str, config: &DeviceConfig) -> Result<(), ConfigureError> {
        let fail = |reason: String| ConfigureError { device: device.to_owned(), reason };
        let endpoint = self
            .endpoints
            .get(device)
            .ok_or_else(|| fail("the end station has no node agent in the inventory (stations.agents)".into()))?;
        let channel: Channel =
            endpoint.connect().await.map_err(|e| fail(format!("connecting to {}: {e}", endpoint.uri())))?;
        let mut client = pb::node_agent_client::NodeAgentClient::new(channel);
        let reply = client
            .apply_schedule(apply_request(config, self.epoch_ns))
            .await
            .map_err(|status| fail(format!("ApplySchedule refused ({:?}): {}", status.code(), status.message())))?;
        tracing::info!(
            device,
            generation = reply.get_ref().generation,
            changed = reply.get_ref().changed,
            "agent configured"
        );
        Ok(())
    }
}
