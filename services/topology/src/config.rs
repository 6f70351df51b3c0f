//! The inventory and settings of the topology service (serde, with defaults; validated once
//! by [`TopologyConfig::validate`]). The binary reads them from a TOML file with
//! `TSN_TOPOLOGY_*` environment overrides (the shared `tsn-service` loader), e.g.
//!
//! ```toml
//! interval_s = 30
//! state_file = "/var/lib/tsn/topology-state.json"
//! known_hosts = "/etc/tsn/known_hosts"
//!
//! [bus]
//! url = "amqp://guest:guest@127.0.0.1:5672/%2f"
//!
//! [ops]
//! http_listen = "0.0.0.0:9102"
//!
//! [defaults]
//! rate_bps = 1_000_000_000
//! propagation_delay_ns = 50
//!
//! [[devices]]
//! name = "br0"
//! host = "10.0.0.1"
//! user = "tsn"
//! key = "/etc/tsn/id_ed25519"
//! host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ"
//! lldpcli = "sudo lldpcli"
//!
//! [[devices]]
//! name = "br1"
//! host = "10.0.0.2"
//! user = "tsn"
//! key = "/etc/tsn/id_ed25519"
//! source = "netconf"
//! netconf_port = 830
//!
//! [[stations]]
//! name = "plc7"
//! attached_to = "br0"
//! port = "swp7"
//! interface = "eth0"
//! mac = "02:00:00:00:00:07"
//! ```

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tsn_model::NodeKind;

/// Default line rate when a port's speed is unknown: 1 Gbit/s.
pub const DEFAULT_RATE_BPS: u64 = 1_000_000_000;

/// Everything the topology service needs to know.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TopologyConfig {
    /// The bus.
    pub bus: tsn_service::BusSettings,
    /// Logs and the operations endpoint (`/healthz`, `/metrics`).
    pub ops: tsn_service::CommonSettings,
    /// Seconds between periodic discovery rounds.
    pub interval_s: u64,
    /// Where the last published version and snapshot are kept across restarts (JSON).
    /// Without it, versions restart at 1 when the service restarts.
    pub state_file: Option<PathBuf>,
    /// An OpenSSH known_hosts file with the devices' pinned host keys (looked up by
    /// `host` / `[host]:port`). Devices with [`Device::host_key`] use that key instead.
    /// Unknown keys are never trusted.
    pub known_hosts: Option<PathBuf>,
    /// Seconds allowed for each SSH step (connect, handshake, authentication).
    pub ssh_timeout_s: u64,
    /// Seconds allowed for reading one device (all its commands).
    pub device_timeout_s: u64,
    /// Link attributes used where a device says nothing.
    pub defaults: LinkDefaults,
    /// Devices managed over SSH (bridges, and stations that run lldpd).
    pub devices: Vec<Device>,
    /// End stations without LLDP, known only from the inventory.
    pub stations: Vec<StaticStation>,
    /// Bus queue (bound to [`crate::REDISCOVER`]) on which on-demand rediscovery requests
    /// are consumed.
    pub rediscover_queue: String,
}

impl Default for TopologyConfig {
    fn default() -> Self {
        TopologyConfig {
            bus: tsn_service::BusSettings::default(),
            ops: tsn_service::CommonSettings::default(),
            interval_s: 30,
            state_file: None,
            known_hosts: None,
            ssh_timeout_s: 10,
            device_timeout_s: 30,
            defaults: LinkDefaults::default(),
            devices: Vec::new(),
            stations: Vec::new(),
            rediscover_queue: "topology.rediscover".to_owned(),
        }
    }
}

/// Link attributes that LLDP does not carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkDefaults {
    /// Rate of a port whose speed the kernel does not report (`speed` = -1).
    pub rate_bps: u64,
    /// Propagation delay of every cable.
    pub propagation_delay_ns: u64,
    /// Forwarding delay of a bridge (the `processing_delay_ns` of its egress links).
    pub bridge_processing_delay_ns: u64,
    /// Processing delay of an end station's egress link (not used for talkers).
    pub station_processing_delay_ns: u64,
    /// Egress queues available to scheduled traffic (1..=8).
    pub scheduled_queues: u8,
    /// Gate control list entries a port supports.
    pub gcl_max_entries: u32,
}

impl Default for LinkDefaults {
    fn default() -> Self {
        LinkDefaults {
            rate_bps: DEFAULT_RATE_BPS,
            propagation_delay_ns: 0,
            bridge_processing_delay_ns: 0,
            station_processing_delay_ns: 0,
            scheduled_queues: 1,
            gcl_max_entries: 1024,
        }
    }
}

/// Where a device's neighbour table comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// `lldpcli -f json0` and sysfs over SSH.
    #[default]
    Lldpcli,
    /// NETCONF over SSH ([`Device::netconf_port`]): `<get>` of the `ieee802-dot1ab-lldp`
    /// `lldp` container, and port speeds from `ietf-interfaces` where the device offers it.
    Netconf,
    /// NETCONF when the device's `<hello>` (or YANG library) lists `ieee802-dot1ab-lldp`,
    /// lldpcli over SSH otherwise (also when nothing answers on the NETCONF port). A host
    /// key refused on the NETCONF port is never a reason to fall back.
    Auto,
}

/// A device the service logs into.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// The node's name in the topology; also how its LLDP system name is matched.
    pub name: String,
    /// Management address or host name (IPv6 link-local with scope: `fe80::2%eth1`).
    pub host: String,
    /// SSH port.
    #[serde(default = "default_ssh_port")]
    pub port: u16,
    /// SSH user.
    pub user: String,
    /// Private key file for that user.
    pub key: PathBuf,
    /// The device's pinned SSH host key (`ssh-ed25519 AAAA...`); otherwise it must be in
    /// [`TopologyConfig::known_hosts`].
    #[serde(default)]
    pub host_key: Option<String>,
    /// Bridge or end station; by default from the LLDP capabilities it advertises (bridge
    /// capability enabled → bridge).
    #[serde(default)]
    pub kind: Option<NodeKind>,
    /// The lldpcli command line (e.g. `sudo lldpcli`, or `lldpcli -u /run/lldpd.socket`).
    #[serde(default = "default_lldpcli")]
    pub lldpcli: String,
    /// Where its neighbour table comes from.
    #[serde(default)]
    pub source: SourceKind,
    /// NETCONF-over-SSH port (sources `netconf` and `auto`).
    #[serde(default = "default_netconf_port")]
    pub netconf_port: u16,
    /// The NETCONF server's pinned host key when it differs from [`Device::host_key`];
    /// otherwise `host_key`, else [`TopologyConfig::known_hosts`] (`[host]:netconf_port`).
    #[serde(default)]
    pub netconf_host_key: Option<String>,
    /// Rate of its ports whose speed is unknown; [`LinkDefaults::rate_bps`] otherwise.
    #[serde(default)]
    pub default_rate_bps: Option<u64>,
    /// Rates of individual ports, overriding what the kernel reports.
    #[serde(default)]
    pub port_rates: BTreeMap<String, u64>,
    /// Its forwarding delay, overriding the default of its kind.
    #[serde(default)]
    pub processing_delay_ns: Option<u64>,
    /// Scheduled queues of its ports, overriding the default.
    #[serde(default)]
    pub scheduled_queues: Option<u8>,
    /// GCL length of its ports, overriding the default.
    #[serde(default)]
    pub gcl_max_entries: Option<u32>,
}

fn default_ssh_port() -> u16 {
    22
}

fn default_netconf_port() -> u16 {
    830
}

fn default_lldpcli() -> String {
    "lldpcli".to_owned()
}

impl Device {
    /// A device with the defaults (port 22, `lldpcli`, NETCONF port 830, kind from LLDP).
    pub fn new(name: &str, host: &str, user: &str, key: impl Into<PathBuf>) -> Self {
        Device {
            name: name.to_owned(),
            host: host.to_owned(),
            port: 22,
            user: user.to_owned(),
            key: key.into(),
            host_key: None,
            kind: None,
            lldpcli: default_lldpcli(),
            source: SourceKind::Lldpcli,
            netconf_port: default_netconf_port(),
            netconf_host_key: None,
            default_rate_bps: None,
            port_rates: BTreeMap::new(),
            processing_delay_ns: None,
            scheduled_queues: None,
            gcl_max_entries: None,
        }
    }
}

/// An end station that runs no LLDP, cabled to a port of a managed device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticStation {
    /// The node's name.
    pub name: String,
    /// The managed device it is cabled to.
    pub attached_to: String,
    /// The port of that device.
    pub port: String,
    /// The station's interface name, if known.
    #[serde(default)]
    pub interface: Option<String>,
    /// The station's interface MAC address (how the pipeline finds it as a talker or
    /// listener).
    #[serde(default)]
    pub mac: Option<String>,
    /// Its link rate; otherwise the device port's.
    #[serde(default)]
    pub rate_bps: Option<u64>,
}

impl TopologyConfig {
    /// The interval between periodic rounds.
    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval_s.max(1))
    }

    /// Checks names are unique and non-empty, static stations hang off known devices, and
    /// the numbers are in range.
    ///
    /// # Errors
    ///
    /// A message naming the offending entry.
    pub fn validate(&self) -> Result<(), String> {
        let mut names = HashSet::new();
        for d in &self.devices {
            if d.name.is_empty() || d.host.is_empty() || d.user.is_empty() {
                return Err(format!("device {:?}: name, host and user must not be empty", d.name));
            }
            if !names.insert(d.name.as_str()) {
                return Err(format!("device {:?} appears twice", d.name));
            }
            if d.scheduled_queues.is_some_and(|q| q == 0 || q > 8) {
                return Err(format!("device {:?}: scheduled_queues must be 1..=8", d.name));
            }
            if d.default_rate_bps == Some(0) || d.port_rates.values().any(|&r| r == 0) {
                return Err(format!("device {:?}: rates must be positive", d.name));
            }
            for (field, key) in [("host_key", &d.host_key), ("netconf_host_key", &d.netconf_host_key)] {
                if let Some(k) = key {
                    tsn_ssh::russh::keys::PublicKey::from_openssh(k)
                        .map_err(|e| format!("device {:?}: {field} is not an OpenSSH public key: {e}", d.name))?;
                }
            }
            if d.netconf_port == 0 {
                return Err(format!("device {:?}: netconf_port must not be 0", d.name));
            }
        }
        for s in &self.stations {
            if s.name.is_empty() || !names.insert(s.name.as_str()) {
                return Err(format!("station {:?}: empty or duplicate name", s.name));
            }
            if !self.devices.iter().any(|d| d.name == s.attached_to) {
                return Err(format!("station {:?} is attached to unknown device {:?}", s.name, s.attached_to));
            }
            if s.mac.as_deref().is_some_and(|m| !tsn_lldp::ports::is_mac(m)) {
                return Err(format!("station {:?}: {:?} is not a MAC address", s.name, s.mac));
            }
            if s.rate_bps == Some(0) {
                return Err(format!("station {:?}: rate must be positive", s.name));
            }
        }
        let d = &self.defaults;
        if d.rate_bps == 0 || d.scheduled_queues == 0 || d.scheduled_queues > 8 || d.gcl_max_entries < 2 {
            return Err("defaults: rate_bps > 0, scheduled_queues 1..=8, gcl_max_entries >= 2".to_owned());
        }
        tsn_bus::validate_queue_name(&self.rediscover_queue).map_err(|e| e.to_string())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_loads_with_the_service_loader() {
        let doc = include_str!("config.rs");
        let example: String = doc
            .lines()
            .skip_while(|l| !l.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| format!("{}\n", l.trim_start_matches("//!").trim_start()))
            .collect();
        let path = std::env::temp_dir().join(format!("tsn-topology-example-{}.toml", std::process::id()));
        std::fs::write(&path, example).unwrap();
        let env = [("TSN_TOPOLOGY_INTERVAL_S".to_owned(), "5".to_owned())];
        let c: TopologyConfig = tsn_service::config::load_from(Some(&path), "TSN_TOPOLOGY", env).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(c.interval_s, 5, "environment overrides the file");
        assert_eq!(c.devices[0].port, 22);
        assert_eq!(c.devices[0].lldpcli, "sudo lldpcli");
        assert_eq!(c.devices[0].source, SourceKind::Lldpcli);
        assert_eq!((c.devices[1].source, c.devices[1].netconf_port), (SourceKind::Netconf, 830));
        assert_eq!(c.defaults.propagation_delay_ns, 50);
        assert_eq!(c.defaults.gcl_max_entries, 1024);
        assert_eq!(c.stations[0].mac.as_deref(), Some("02:00:00:00:00:07"));
        assert_eq!(c.ops.http_listen.as_deref(), Some("0.0.0.0:9102"));
        c.validate().unwrap();
    }

    #[test]
    fn bad_inventories_are_refused_with_the_entry() {
        let base = TopologyConfig {
            devices: vec![Device::new("b0", "h", "u", "/k")],
            stations: vec![StaticStation {
                name: "s".into(),
                attached_to: "b0".into(),
                port: "p0".into(),
                interface: None,
                mac: None,
                rate_bps: None,
            }],
            ..TopologyConfig::default()
        };
        base.validate().unwrap();
        let mut c = base.clone();
        c.devices.push(Device::new("b0", "h", "u", "/k"));
        assert!(c.validate().unwrap_err().contains("twice"));
        let mut c = base.clone();
        c.stations[0].attached_to = "zz".into();
        assert!(c.validate().unwrap_err().contains("unknown device"));
        let mut c = base.clone();
        c.devices[0].host_key = Some("ssh-ed25519 !!".into());
        assert!(c.validate().unwrap_err().contains("host_key"));
        let mut c = base.clone();
        c.devices[0].netconf_host_key = Some("ssh-ed25519".into());
        assert!(c.validate().unwrap_err().contains("netconf_host_key"));
        let mut c = base.clone();
        c.stations[0].mac = Some("nope".into());
        assert!(c.validate().is_err());
        let mut c = base;
        c.defaults.scheduled_queues = 9;
        assert!(c.validate().is_err());
        assert!(serde_json::from_str::<TopologyConfig>(r#"{"devices": [], "typo": 1}"#).is_err());
    }
}
