//! Bridges over NETCONF, all or none (DESIGN.md §3, issue 5): the bridge configurations of
//! one deploy go through [`tsn_netconf::deploy_fleet`] as one fleet transaction (lock,
//! edit candidates, validate, confirmed-commit, confirm; discard/cancel/restore everywhere
//! on any failure). End stations go to another configurator (node agents over gRPC; a
//! dry-run or in-memory one until then) after the bridges committed; when a station fails,
//! the bridges are given their previous gate tables back.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use tsn_model::{GateControlList, LinkId};
use tsn_netconf::fleet::{DeviceConnector, DeviceOutcome, FleetDevice, FleetOptions, FleetResult};
use tsn_netconf::ssh::SshConnector;
use tsn_netconf::PortGcl;
use tsn_ssh::{ClientConfig, KnownHosts};

use crate::configurator::{apply_in_turn, ConfigureError, DeviceConfigurator};
use crate::render::{DeviceConfig, Role};

/// `[configurator] kind = "netconf"`: the bridge inventory and how to log in.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NetconfSettings {
    /// OpenSSH `known_hosts` file holding every bridge's pinned host key. Unknown or
    /// changed keys are refused.
    pub known_hosts: PathBuf,
    /// Private key (OpenSSH format, ed25519 or ECDSA) for bridges that do not name their own.
    pub key: PathBuf,
    /// SSH user for bridges that do not name their own.
    #[serde(default = "default_user")]
    pub user: String,
    /// The bridges, by topology node id.
    pub bridges: Vec<NetconfBridge>,
    /// Seconds a bridge keeps an unconfirmed commit before reverting on its own.
    #[serde(default = "default_confirm_timeout")]
    pub confirm_timeout_s: u64,
    /// Absolute PTP time (ns) of the schedules' time origin: added to every base time.
    #[serde(default)]
    pub epoch_ns: u64,
    /// Where end-station configurations go (default: kept in memory, with a warning).
    #[serde(default)]
    pub stations: Option<StationSetting>,
}

fn default_user() -> String {
    "tsn-cp".into()
}

fn default_confirm_timeout() -> u64 {
    120
}

/// One bridge of the inventory.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NetconfBridge {
    /// The topology node id.
    pub name: String,
    /// Management address.
    pub host: String,
    /// NETCONF-over-SSH port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// SSH user, if not the inventory's.
    #[serde(default)]
    pub user: Option<String>,
    /// Private key, if not the inventory's.
    #[serde(default)]
    pub key: Option<PathBuf>,
}

fn default_port() -> u16 {
    830
}

/// Where end-station configurations go when bridges are configured over NETCONF.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum StationSetting {
    /// Write each station's JSON into `dir`.
    DryRun {
        /// The directory.
        dir: PathBuf,
    },
    /// Keep them in memory.
    Memory,
    /// Push them to the node agents over gRPC.
    Grpc(crate::agent::AgentSettings),
}

/// Configures bridges over NETCONF as one fleet transaction per deploy and hands end
/// stations to another configurator.
#[derive(Debug)]
pub struct NetconfFleetConfigurator {
    bridges: BTreeMap<String, Arc<dyn DeviceConnector>>,
    options: FleetOptions,
    stations: Arc<dyn DeviceConfigurator>,
    last: Mutex<Option<FleetResult>>,
}

impl NetconfFleetConfigurator {
    /// Bridges reached through `bridges` (by node id), end stations through `stations`.
    pub fn new(
        bridges: BTreeMap<String, Arc<dyn DeviceConnector>>,
        options: FleetOptions,
        stations: Arc<dyn DeviceConfigurator>,
    ) -> Self {
        NetconfFleetConfigurator { bridges, options, stations, last: Mutex::new(None) }
    }

    /// From the settings: loads the known hosts (a missing or unreadable file is an error).
    pub fn from_settings(
        settings: &NetconfSettings,
        stations: Arc<dyn DeviceConfigurator>,
    ) -> Result<Self, ConfigureError> {
        if !settings.known_hosts.exists() {
            return Err(ConfigureError {
                device: "(inventory)".into(),
                reason: format!(
                    "known hosts file {} does not exist: pin every bridge's host key in it first \
                     (e.g. `ssh-keyscan -p 830 HOST >> FILE`, after checking the fingerprints)",
                    settings.known_hosts.display()
                ),
            });
        }
        let known = KnownHosts::load(&settings.known_hosts).map_err(|e| ConfigureError {
            device: "(inventory)".into(),
            reason: format!("known hosts {}: {e}", settings.known_hosts.display()),
        })?;
        let known = Arc::new(std::sync::Mutex::new(known));
        let mut bridges: BTreeMap<String, Arc<dyn DeviceConnector>> = BTreeMap::new();
        for b in &settings.bridges {
            let user = b.user.clone().unwrap_or_else(|| settings.user.clone());
            let key = b.key.clone().unwrap_or_else(|| settings.key.clone());
            let config = ClientConfig::new(b.host.clone(), b.port, user, key, known.clone());
            if bridges.insert(b.name.clone(), Arc::new(SshConnector { config })).is_some() {
                return Err(ConfigureError {
                    device: b.name.clone(),
                    reason: "listed twice in the NETCONF inventory".into(),
                });
            }
        }
        let options = FleetOptions {
            epoch_ns: settings.epoch_ns,
            confirm_timeout: Duration::from_secs(settings.confirm_timeout_s),
            ..FleetOptions::default()
        };
        Ok(Self::new(bridges, options, stations))
    }

    /// The per-device result of the last fleet transaction (for operators and tests).
    pub fn last_result(&self) -> Option<FleetResult> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn fleet_devices(
        &self,
        configs: &[&DeviceConfig],
        previous: &BTreeMap<String, DeviceConfig>,
    ) -> Result<Vec<FleetDevice>, ConfigureError> {
        configs
            .iter()
            .map(|c| {
                let connector = self.bridges.get(&c.device).ok_or_else(|| ConfigureError {
                    device: c.device.clone(),
                    reason: "the bridge has no entry in the NETCONF inventory ([configurator] bridges)".into(),
                })?;
                Ok(FleetDevice {
                    name: c.device.clone(),
                    connector: connector.clone(),
                    ports: port_gcls(c, previous.get(&c.device)),
                })
            })
            .collect()
    }

    async fn transaction(&self, devices: Vec<FleetDevice>) -> Result<(), ConfigureError> {
        if devices.is_empty() {
            return Ok(());
        }
        let result = tsn_netconf::deploy_fleet(devices, &self.options).await;
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(result.clone());
        if result.success {
            return Ok(());
        }
        Err(fleet_error(&result))
    }
}

/// The first failing device, with what happened to every device.
fn fleet_error(result: &FleetResult) -> ConfigureError {
    let failures = result.failures();
    let (device, reason) = match failures.first() {
        Some((device, stage, error)) => ((*device).to_owned(), format!("{stage}: {error}")),
        None => ("(fleet)".to_owned(), "the fleet transaction failed".to_owned()),
    };
    let others: Vec<String> = result
        .devices
        .iter()
        .filter(|d| d.device != device)
        .map(|d| {
            let what = match &d.outcome {
                DeviceOutcome::Committed => "committed".to_owned(),
                DeviceOutcome::RolledBack => "rolled back".to_owned(),
                DeviceOutcome::Untouched => "untouched".to_owned(),
                DeviceOutcome::Failed { stage, error } => format!("failed at {stage}: {error}"),
                DeviceOutcome::RollbackFailed { error } => format!("ROLLBACK FAILED (needs an operator): {error}"),
            };
            format!("{} {what}", d.device)
        })
        .collect();
    let reason = if others.is_empty() { reason } else { format!("{reason} (others: {})", others.join(", ")) };
    ConfigureError { device, reason }
}

/// The gate tables of one bridge: its scheduled ports, plus the ports it had before that
/// no longer carry scheduled traffic, switched off (gate-enabled false).
fn port_gcls(config: &DeviceConfig, previous: Option<&DeviceConfig>) -> Vec<PortGcl> {
    let gcl = |p: &crate::render::PortConfig, entries| PortGcl {
        interface: p.port.clone(),
        gcl: GateControlList {
            port: LinkId::new(config.device.as_str(), p.neighbour.as_str()),
            base_time_ns: p.base_time_ns,
            cycle_time_ns: p.cycle_time_ns,
            entries,
        },
    };
    let mut out: Vec<PortGcl> = config.ports.iter().map(|p| gcl(p, p.entries.clone())).collect();
    for old in previous.map(|p| p.ports.as_slice()).unwrap_or_default() {
        if !config.ports.iter().any(|p| p.port == old.port) {
            out.push(gcl(old, Vec::new()));
        }
    }
    out
}

#[async_trait]
impl DeviceConfigurator for NetconfFleetConfigurator {
    async fn apply(&self, device: &str, config: &DeviceConfig) -> Result<(), ConfigureError> {
        match config.role {
            Role::Bridge => self.transaction(self.fleet_devices(&[config], &BTreeMap::new())?).await,
            Role::EndStation => self.stations.apply(device, config).await,
        }
    }

    async fn apply_all(
        &self,
        configs: &[DeviceConfig],
        previous: &BTreeMap<String, DeviceConfig>,
    ) -> Result<(), ConfigureError> {
        let (bridges, stations): (Vec<&DeviceConfig>, Vec<&DeviceConfig>) =
            configs.iter().partition(|c| c.role == Role::Bridge);
        // Every bridge must be reachable by name before anything is touched.
        let devices = self.fleet_devices(&bridges, previous)?;
        self.transaction(devices).await?;
        let stations: Vec<DeviceConfig> = stations.into_iter().cloned().collect();
        if let Err(e) = apply_in_turn(self.stations.as_ref(), &stations, previous).await {
            // The bridges committed: give them what they ran before, as one transaction.
            let back: Vec<DeviceConfig> =
                bridges.iter().map(|c| previous.get(&c.device).cloned().unwrap_or_else(|| c.emptied())).collect();
            let back_refs: Vec<&DeviceConfig> = back.iter().collect();
            let current: BTreeMap<String, DeviceConfig> =
                bridges.iter().map(|c| (c.device.clone(), (*c).clone())).collect();
            match self.fleet_devices(&back_refs, &current) {
                Ok(devices) => {
                    if let Err(rollback) = self.transaction(devices).await {
                        tracing::error!(error = %rollback, "restoring the bridges failed; they need attention");
                    }
                }
                Err(rollback) => tracing::error!(error = %rollback, "restoring the bridges failed"),
            }
            return Err(e);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::PortConfig;
    use tsn_model::GateControlEntry;

    fn port(name: &str, entries: usize) -> PortConfig {
        PortConfig {
            port: name.into(),
            neighbour: format!("n-{name}"),
            base_time_ns: 5,
            cycle_time_ns: 1_000_000,
            entries: vec![GateControlEntry { gate_states: 0x80, interval_ns: 1_000_000 }; entries],
        }
    }

    fn bridge(ports: Vec<PortConfig>) -> DeviceConfig {
        DeviceConfig {
            device: "b0".into(),
            role: Role::Bridge,
            version: 2,
            hyperperiod_ns: 1_000_000,
            ports,
            talker_streams: vec![],
        }
    }

    #[test]
    fn ports_that_lost_their_traffic_are_switched_off() {
        let old = bridge(vec![port("swp1", 1), port("swp2", 1)]);
        let new = bridge(vec![port("swp2", 1)]);
        let gcls = port_gcls(&new, Some(&old));
        assert_eq!(gcls.len(), 2);
        assert_eq!((gcls[0].interface.as_str(), gcls[0].gcl.entries.len()), ("swp2", 1));
        assert_eq!((gcls[1].interface.as_str(), gcls[1].gcl.entries.len()), ("swp1", 0));
        assert_eq!(gcls[1].gcl.port, LinkId::new("b0", "n-swp1"));
        assert_eq!(port_gcls(&new, None).len(), 1);
    }

    #[test]
    fn settings_parse_with_defaults() {
        let s: NetconfSettings = toml::from_str(
            r#"
            known_hosts = "/etc/tsn/known_hosts"
            key = "/etc/tsn/id_ed25519"
            stations = { kind = "dry-run", dir = "/tmp/st" }
            [[bridges]]
            name = "b0"
            host = "10.0.0.1"
            [[bridges]]
            name = "b1"
            host = "10.0.0.2"
            port = 2830
            user = "admin"
            "#,
        )
        .unwrap();
        assert_eq!(s.user, "tsn-cp");
        assert_eq!(s.confirm_timeout_s, 120);
        assert_eq!(s.bridges[0].port, 830);
        assert_eq!(s.bridges[1].user.as_deref(), Some("admin"));
        assert_eq!(s.stations, Some(StationSetting::DryRun { dir: "/tmp/st".into() }));
        let typo = toml::from_str::<NetconfSettings>("known_hosts = \"k\"\nkey = \"k\"\nbridges = []\nconfirm = 3");
        assert!(typo.unwrap_err().to_string().contains("unknown field"));
    }

    #[test]
    fn the_documented_configuration_parses() {
        // The example of docs/pipeline.md ("Southbound: per-device configuration").
        let c: crate::SouthboundConfig = toml::from_str(
            r#"
            [configurator]
            kind = "netconf"
            known_hosts = "/etc/tsn-cp/ssh/known_hosts"
            key = "/etc/tsn-cp/ssh/id_ed25519"
            epoch_ns = 0
            [[configurator.bridges]]
            name = "b0"
            host = "192.0.2.10"
            [configurator.stations]
            kind = "grpc"
            tls = { ca = "/etc/tsn-cp/agents/ca.pem", cert = "/etc/tsn-cp/agents/southbound.pem", key = "/etc/tsn-cp/agents/southbound.key" }
            agents = [{ name = "e0_0", address = "192.0.2.20:50051" }]
            "#,
        )
        .unwrap();
        let crate::ConfiguratorSetting::Netconf(n) = c.configurator else { panic!("{:?}", c.configurator) };
        assert_eq!(n.bridges[0].name, "b0");
        let Some(StationSetting::Grpc(g)) = n.stations else { panic!("{:?}", n.stations) };
        assert_eq!(g.agents[0].address, "192.0.2.20:50051");
        assert!(!g.insecure && g.tls.is_some());
    }

    #[test]
    fn a_missing_known_hosts_file_is_a_clear_error() {
        let s = NetconfSettings {
            known_hosts: "/nonexistent/known_hosts".into(),
            key: "/nonexistent/key".into(),
            user: default_user(),
            bridges: vec![],
            confirm_timeout_s: 1,
            epoch_ns: 0,
            stations: None,
        };
        let e = NetconfFleetConfigurator::from_settings(&s, Arc::new(crate::InMemoryConfigurator::new())).unwrap_err();
        assert!(e.reason.contains("/nonexistent/known_hosts"), "{e}");
    }
}
