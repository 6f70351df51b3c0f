//! Where a device's LLDP view comes from: the [`NeighbourSource`] trait, its real
//! implementations [`LldpcliOverSsh`] and [`crate::netconf::NetconfLldp`]
//! (`ieee802-dot1ab-lldp` over NETCONF), [`DeviceSource`] choosing between them per device
//! as the inventory says ([`SourceKind`]), and the in-process [`StaticSource`] for tests
//! and dev mode. All of them return the same [`DeviceReport`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use thiserror::Error;
use tsn_lldp::{Chassis, LldpError, Neighbor, PortState, PORT_TABLE_COMMAND};
use tsn_ssh::russh::keys::PublicKey;
use tsn_ssh::{ClientConfig, KnownHosts, SshClient, SshError};

use crate::config::{Device, SourceKind};
use crate::netconf::{NetconfLldp, Offer};

/// What one device says about itself and its neighbours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceReport {
    /// Its own chassis (`lldpcli show chassis`): id, name, capabilities.
    pub chassis: Chassis,
    /// Its LLDP neighbours, one record per (local port, neighbour).
    pub neighbours: Vec<Neighbor>,
    /// Its interfaces: MAC, speed, operational state.
    pub ports: Vec<PortState>,
}

/// Why a device could not be read. Its `Display` is the reason published in the snapshot.
#[derive(Debug, Error)]
pub enum SourceError {
    /// SSH failed (host key refused, authentication, unreachable, ...).
    #[error(transparent)]
    Ssh(#[from] SshError),
    /// A command exited unsuccessfully.
    #[error("`{command}` exited with {status}: {stderr}")]
    Command {
        /// The command.
        command: String,
        /// Its exit status (or signal).
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A command's output could not be parsed.
    #[error("`{command}` output: {source}")]
    Parse {
        /// The command.
        command: String,
        /// The parser's error.
        source: LldpError,
    },
    /// The device took longer than allowed.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The source has no data for this device (in-process source).
    #[error("{0}")]
    Unavailable(String),
    /// NETCONF failed (other than in SSH, which is [`SourceError::Ssh`]).
    #[error(transparent)]
    Netconf(tsn_netconf::NetconfError),
    /// Source `auto`: the NETCONF port gave nothing usable and lldpcli over SSH failed.
    #[error("lldpcli over SSH: {lldpcli} (NETCONF on port {port}: {netconf})")]
    Fallback {
        /// The NETCONF port tried.
        port: u16,
        /// Why NETCONF was not used.
        netconf: String,
        /// Why lldpcli failed.
        lldpcli: Box<SourceError>,
    },
}

impl SourceError {
    /// Whether a host key was refused (unknown, changed, revoked): a security event,
    /// logged as such; never retried another way.
    pub fn is_host_key_error(&self) -> bool {
        match self {
            SourceError::Ssh(e) => e.is_host_key_error(),
            SourceError::Fallback { lldpcli, .. } => lldpcli.is_host_key_error(),
            _ => false,
        }
    }
}

impl From<tsn_netconf::NetconfError> for SourceError {
    fn from(e: tsn_netconf::NetconfError) -> Self {
        match e {
            tsn_netconf::NetconfError::Ssh(s) => SourceError::Ssh(s),
            other => SourceError::Netconf(other),
        }
    }
}

/// Reads one device's LLDP view.
#[async_trait]
pub trait NeighbourSource: Send + Sync + fmt::Debug {
    /// Reads `device` now.
    async fn read(&self, device: &Device) -> Result<DeviceReport, SourceError>;
}

/// The real source: logs into the device over SSH (host key pinned, never trusted on first
/// use) and runs `lldpcli -f json0 show chassis`, `lldpcli -f json0 show neighbors details`
/// and a sysfs read of its ports ([`PORT_TABLE_COMMAND`]), on three channels of one
/// connection. A new connection per round, so a changed host key is noticed at once.
#[derive(Debug)]
pub struct LldpcliOverSsh {
    known_hosts: Arc<Mutex<KnownHosts>>,
    connect_timeout: Duration,
}

impl LldpcliOverSsh {
    /// A source checking host keys against `known_hosts` (and each device's own
    /// `host_key`, which takes precedence).
    pub fn new(known_hosts: KnownHosts, connect_timeout: Duration) -> Self {
        Self::shared(Arc::new(Mutex::new(known_hosts)), connect_timeout)
    }

    /// A source sharing its known hosts with other sources.
    pub fn shared(known_hosts: Arc<Mutex<KnownHosts>>, connect_timeout: Duration) -> Self {
        LldpcliOverSsh { known_hosts, connect_timeout }
    }

    /// A source reading the known_hosts file `path` if given (a missing file is empty).
    ///
    /// # Errors
    ///
    /// [`SshError`] for an unreadable or malformed file.
    pub fn from_file(path: Option<&PathBuf>, connect_timeout: Duration) -> Result<Self, SshError> {
        let known = match path {
            Some(p) => KnownHosts::load(p)?,
            None => KnownHosts::in_memory(),
        };
        Ok(Self::new(known, connect_timeout))
    }

    fn client_config(&self, device: &Device) -> Result<ClientConfig, SourceError> {
        ssh_config(&self.known_hosts, device, device.port, device.host_key.as_deref(), self.connect_timeout)
    }
}

/// The SSH settings for `device` on `port`: the key pinned in the inventory (`pinned`) is
/// the only one accepted if there is one, else `known_hosts` decides; unknown keys are
/// never trusted.
pub(crate) fn ssh_config(
    known_hosts: &Arc<Mutex<KnownHosts>>,
    device: &Device,
    port: u16,
    pinned: Option<&str>,
    connect_timeout: Duration,
) -> Result<ClientConfig, SourceError> {
    let known_hosts = match pinned {
        Some(line) => {
            let key = PublicKey::from_openssh(line).map_err(|e| {
                SourceError::Unavailable(format!("inventory host key of {} is not a public key: {e}", device.name))
            })?;
            let mut store = KnownHosts::in_memory();
            store.trust(&device.host, port, &key);
            Arc::new(Mutex::new(store))
        }
        None => known_hosts.clone(),
    };
    let mut cfg = ClientConfig::new(&device.host, port, &device.user, &device.key, known_hosts);
    cfg.connect_timeout = connect_timeout;
    cfg.trust_unknown = false;
    Ok(cfg)
}

/// Marks the end of one command's output in the combined command; followed by its exit
/// status.
const SECTION_END: &str = "@@tsn-topology-end@@";

/// One shell command that runs `commands` in order and ends each output with a line
/// `SECTION_END <exit status>`: one SSH session per device and round instead of one per
/// command (a session costs a few hundred milliseconds on a busy device).
fn combined(commands: &[&str]) -> String {
    commands.iter().map(|c| format!("{c}; printf '\\n{SECTION_END} %d\\n' $?")).collect::<Vec<_>>().join("; ")
}

/// Splits the output of [`combined`] into each command's stdout, checking its exit status.
fn split_sections(output: &str, commands: &[&str], stderr: &str) -> Result<Vec<String>, SourceError> {
    let mut sections = Vec::new();
    let mut rest = output;
    for command in commands {
        let marker = format!("\n{SECTION_END} ");
        let Some(at) = rest.find(&marker) else {
            return Err(SourceError::Command {
                command: (*command).to_owned(),
                status: "no exit status (output cut short)".to_owned(),
                stderr: stderr.to_owned(),
            });
        };
        let body = &rest[..at];
        let after = &rest[at + marker.len()..];
        let (status, tail) = after.split_once('\n').unwrap_or((after, ""));
        if status.trim() != "0" {
            return Err(SourceError::Command {
                command: (*command).to_owned(),
                status: format!("status {}", status.trim()),
                stderr: stderr.to_owned(),
            });
        }
        sections.push(body.to_owned());
        rest = tail;
    }
    Ok(sections)
}

#[async_trait]
impl NeighbourSource for LldpcliOverSsh {
    async fn read(&self, device: &Device) -> Result<DeviceReport, SourceError> {
        let client = SshClient::connect(self.client_config(device)?).await?;
        let chassis_cmd = format!("{} -f json0 show chassis", device.lldpcli);
        let neighbours_cmd = format!("{} -f json0 show neighbors details", device.lldpcli);
        let commands = [chassis_cmd.as_str(), neighbours_cmd.as_str(), PORT_TABLE_COMMAND];
        let out = client.exec(&combined(&commands)).await;
        client.close().await;
        let out = out?;
        let sections = split_sections(&out.stdout_text(), &commands, &out.stderr_text())?;
        fn parse(command: &str) -> impl FnOnce(LldpError) -> SourceError + '_ {
            move |source| SourceError::Parse { command: command.to_owned(), source }
        }
        Ok(DeviceReport {
            chassis: tsn_lldp::parse_chassis(&sections[0]).map_err(parse(&chassis_cmd))?,
            neighbours: tsn_lldp::parse_neighbors(&sections[1]).map_err(parse(&neighbours_cmd))?,
            ports: tsn_lldp::parse_port_table(&sections[2]).map_err(parse("port table"))?,
        })
    }
}

/// The production source: each device is read the way its inventory entry says
/// ([`Device::source`]): lldpcli over SSH, NETCONF, or NETCONF when the device offers
/// `ieee802-dot1ab-lldp` and lldpcli otherwise (`auto`). Both share one known-hosts store.
#[derive(Debug)]
pub struct DeviceSource {
    lldpcli: LldpcliOverSsh,
    netconf: NetconfLldp,
}

impl DeviceSource {
    /// A source checking host keys against `known_hosts` (and the inventory's pinned keys,
    /// which take precedence).
    pub fn new(known_hosts: KnownHosts, connect_timeout: Duration) -> Self {
        let shared = Arc::new(Mutex::new(known_hosts));
        DeviceSource {
            lldpcli: LldpcliOverSsh::shared(shared.clone(), connect_timeout),
            netconf: NetconfLldp::shared(shared, connect_timeout),
        }
    }

    /// A source reading the known_hosts file `path` if given (a missing file is empty).
    ///
    /// # Errors
    ///
    /// [`SshError`] for an unreadable or malformed file.
    pub fn from_file(path: Option<&PathBuf>, connect_timeout: Duration) -> Result<Self, SshError> {
        let known = match path {
            Some(p) => KnownHosts::load(p)?,
            None => KnownHosts::in_memory(),
        };
        Ok(Self::new(known, connect_timeout))
    }

    async fn auto(&self, device: &Device) -> Result<DeviceReport, SourceError> {
        let why_not = match self.netconf.probe(device).await {
            Offer::Lldp(client) => {
                let mut client = *client;
                let report = self.netconf.read_with(&mut client, device).await;
                let _ = client.close().await;
                return report;
            }
            // A refused host key is a security event, not a missing service.
            Offer::Refused(e) => return Err(e),
            Offer::NotOffered(why) => why,
        };
        tracing::debug!(device = %device.name, reason = %why_not, "not using NETCONF; reading lldpcli over SSH");
        self.lldpcli.read(device).await.map_err(|e| {
            if e.is_host_key_error() {
                e
            } else {
                SourceError::Fallback { port: device.netconf_port, netconf: why_not, lldpcli: Box::new(e) }
            }
        })
    }
}

#[async_trait]
impl NeighbourSource for DeviceSource {
    async fn read(&self, device: &Device) -> Result<DeviceReport, SourceError> {
        match device.source {
            SourceKind::Lldpcli => self.lldpcli.read(device).await,
            SourceKind::Netconf => self.netconf.read(device).await,
            SourceKind::Auto => self.auto(device).await,
        }
    }
}

/// An in-process source: reports set by the caller, per device name. For unit tests and
/// dev mode.
#[derive(Debug, Default, Clone)]
pub struct StaticSource {
    reports: Arc<Mutex<BTreeMap<String, Result<DeviceReport, String>>>>,
}

impl StaticSource {
    /// An empty source (every device unavailable).
    pub fn new() -> Self {
        StaticSource::default()
    }

    /// Sets what `device` reports from now on.
    pub fn set(&self, device: &str, report: DeviceReport) {
        self.reports.lock().unwrap_or_else(|p| p.into_inner()).insert(device.to_owned(), Ok(report));
    }

    /// Makes `device` fail with `reason` from now on.
    pub fn fail(&self, device: &str, reason: &str) {
        self.reports.lock().unwrap_or_else(|p| p.into_inner()).insert(device.to_owned(), Err(reason.to_owned()));
    }
}

#[async_trait]
impl NeighbourSource for StaticSource {
    async fn read(&self, device: &Device) -> Result<DeviceReport, SourceError> {
        match self.reports.lock().unwrap_or_else(|p| p.into_inner()).get(&device.name) {
            Some(Ok(r)) => Ok(r.clone()),
            Some(Err(reason)) => Err(SourceError::Unavailable(reason.clone())),
            None => Err(SourceError::Unavailable(format!("no report for {}", device.name))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_output_splits_per_command() {
        let cmds = ["a", "b"];
        assert!(combined(&cmds).contains("a; printf '\\n@@tsn-topology-end@@ %d\\n' $?; b;"));
        let out = format!("{{\"x\":1}}\n{SECTION_END} 0\nline1\nline2\n\n{SECTION_END} 0\n");
        assert_eq!(split_sections(&out, &cmds, "").unwrap(), vec!["{\"x\":1}".to_owned(), "line1\nline2\n".to_owned()]);
        let failed = format!("\n{SECTION_END} 0\n\n{SECTION_END} 127\n");
        let e = split_sections(&failed, &cmds, "b: not found").unwrap_err().to_string();
        assert!(e.contains("`b`") && e.contains("127") && e.contains("not found"), "{e}");
        assert!(split_sections("garbage", &cmds, "").is_err());
    }
}
