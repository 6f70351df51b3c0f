//! Bridge role: the datapath engine forwards between this host's ports (static entries plus
//! learning) and every egress port runs the gate control list the CNC committed over NETCONF.
//!
//! ```text
//!  NETCONF client ──SSH──▶ ssh_server::serve ──▶ NetconfServer (running/candidate, libyang)
//!                                                      │ commit: GateBackend::check/apply/clear
//!                                                      ▼
//!  port RX threads ──frames──▶ EngineHandle (one thread) ◀── EngineGates: DatapathSchedule
//!                                   │ per egress port and class: release inside open windows
//!                                   ▼
//!                               AF_PACKET TX
//! ```
//!
//! [`EngineGates`] is the real [`GateBackend`]: it keeps the list each member port runs and
//! hands the whole set to the engine as one schedule on every change, so a commit that
//! touches several ports replaces them together on the engine thread.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tracing::info;
use tsn_datapath::bridge::{open_rx_socket, spawn_rx_with_priority, BridgeRxThread};
use tsn_datapath::{
    sys, AfPacketTx, BridgeConfig, CounterSnapshot, DatapathError, DatapathSchedule, EngineConfig, EngineHandle,
    GateEntry, Gcl, PortSchedule, PortSpec, StaticEntry,
};
use tsn_model::GateControlList;
use tsn_netconf::server::{BackendError, GateBackend, NetconfServer, ServerConfig};
use tsn_netconf::ssh_server::{self, load_host_key, parse_authorized_keys, SshServerConfig};
use tsn_netconf::validate::YanglintValidator;

use crate::AgentError;

/// How to run the bridge role.
#[derive(Clone, Debug)]
pub struct BridgeOptions {
    /// The bridge's name (NETCONF logs).
    pub name: String,
    /// Member ports (interface names in this process's namespace); two or more.
    pub ports: Vec<String>,
    /// Static forwarding entries.
    pub static_entries: Vec<StaticEntry>,
    /// Learn source addresses.
    pub learning: bool,
    /// Flood frames to unknown destinations (off: drop them).
    pub flood_unknown: bool,
    /// Line rate of every port, bit/s (frame durations for the gate check).
    pub rate_bps: u64,
    /// Extra time a window must stay open after a frame's last bit.
    pub tx_guard_ns: u64,
    /// Engine settings.
    pub engine: EngineConfig,
    /// NETCONF-over-SSH listen address (port 0 = any; 830 is NETCONF's).
    pub netconf_listen: SocketAddr,
    /// OpenSSH private host key (unencrypted).
    pub host_key: PathBuf,
    /// OpenSSH `authorized_keys` file of the clients allowed to log in.
    pub authorized_keys: PathBuf,
    /// User names allowed to log in; empty = any user with an authorized key.
    pub users: Vec<String>,
}

/// The engine as a NETCONF [`GateBackend`]: each committed gate-parameter-table becomes the
/// GCL of its egress port.
#[derive(Debug)]
pub struct EngineGates {
    engine: Arc<EngineHandle>,
    members: Vec<String>,
    /// What each member port runs (`None` = all gates open) and the schedule generation.
    state: Mutex<(BTreeMap<String, Option<Gcl>>, u64)>,
}

/// The datapath's GCL for a committed list (`base_time_ns` is absolute PTP time, i.e. TAI,
/// the engine's clock).
pub fn datapath_gcl(gcl: &GateControlList) -> Result<Gcl, DatapathError> {
    Gcl::new(
        gcl.base_time_ns,
        gcl.cycle_time_ns,
        gcl.entries.iter().map(|e| GateEntry { gate_states: e.gate_states, interval_ns: e.interval_ns }).collect(),
    )
}

impl EngineGates {
    /// A backend over `engine` whose ports are `members` (already added to the engine).
    pub fn new(engine: Arc<EngineHandle>, members: Vec<String>) -> Self {
        let ports = members.iter().map(|p| (p.clone(), None)).collect();
        EngineGates { engine, members, state: Mutex::new((ports, 0)) }
    }

    /// Sets `port`'s list and hands every port's list to the engine.
    fn set(&self, port: &str, gcl: Option<Gcl>) -> Result<(), BackendError> {
        let mut state = self.state.lock().map_err(|_| BackendError("gate state poisoned".into()))?;
        let (ports, generation) = &mut *state;
        let mut next = ports.clone();
        next.insert(port.to_owned(), gcl);
        let schedule = DatapathSchedule {
            generation: *generation + 1,
            ports: next
                .iter()
                .map(|(name, gcl)| PortSchedule { name: name.clone(), rate_bps: 0, gcl: gcl.clone() })
                .collect(),
            streams: Vec::new(),
        };
        self.engine.apply(schedule).map_err(|e| BackendError(format!("port {port}: {e}")))?;
        *ports = next;
        *generation += 1;
        Ok(())
    }

    fn member(&self, port: &str) -> Result<(), BackendError> {
        if self.members.iter().any(|m| m == port) {
            Ok(())
        } else {
            Err(BackendError(format!("{port} is not a port of this bridge (ports: {})", self.members.join(", "))))
        }
    }
}

impl GateBackend for EngineGates {
    fn check(&self, port: &str, gcl: &GateControlList) -> Result<(), BackendError> {
        self.member(port)?;
        datapath_gcl(gcl).map(|_| ()).map_err(|e| BackendError(format!("port {port}: {e}")))
    }

    fn apply(&self, port: &str, gcl: &GateControlList) -> Result<(), BackendError> {
        self.member(port)?;
        let g = datapath_gcl(gcl).map_err(|e| BackendError(format!("port {port}: {e}")))?;
        self.set(port, Some(g))?;
        info!(port, entries = gcl.entries.len(), cycle_ns = gcl.cycle_time_ns, "bridge: gate control list applied");
        Ok(())
    }

    fn clear(&self, port: &str) -> Result<(), BackendError> {
        self.member(port)?;
        self.set(port, None)?;
        info!(port, "bridge: gates open");
        Ok(())
    }
}

/// A running bridge: the engine, its port receive threads and the NETCONF server.
#[derive(Debug)]
pub struct RunningBridge {
    /// Bound NETCONF-over-SSH address.
    pub netconf_addr: SocketAddr,
    /// The NETCONF server (datastores), for status.
    pub netconf: NetconfServer,
    /// The SSH server task (ends only when its listener fails).
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
    engine: Arc<EngineHandle>,
    rx: Vec<BridgeRxThread>,
}

impl RunningBridge {
    /// The engine's counters summed over every port and class.
    pub fn counters(&self) -> CounterSnapshot {
        self.engine.counters().total
    }

    /// Stops serving NETCONF and receiving, lets the engine release what it holds (up to
    /// `drain`), and returns the final counters. The engine thread itself stops when the
    /// NETCONF actor, which holds the other reference, winds down.
    pub fn stop(self, drain: Duration) -> CounterSnapshot {
        self.task.abort();
        drop(self.rx);
        self.engine.wait_idle(drain).total
    }
}

fn read(path: &PathBuf) -> Result<String, AgentError> {
    std::fs::read_to_string(path).map_err(|e| AgentError::Io(format!("reading {}", path.display()), e))
}

/// Starts the engine on the member ports, the bridge forwarding and NETCONF over SSH. Must
/// run inside a Tokio runtime.
pub async fn start(opts: BridgeOptions) -> Result<RunningBridge, AgentError> {
    if opts.ports.len() < 2 {
        return Err(AgentError::Config("a bridge needs at least two ports".into()));
    }
    let host_key = load_host_key(&opts.host_key).map_err(|e| AgentError::Config(e.to_string()))?;
    let authorized_keys = parse_authorized_keys(&read(&opts.authorized_keys)?)
        .map_err(|e| AgentError::Config(format!("{}: {e}", opts.authorized_keys.display())))?;
    let validator = YanglintValidator::bridge().map_err(|e| AgentError::Io("writing the YANG modules".into(), e))?;

    let engine = Arc::new(EngineHandle::start(opts.engine.clone())?);
    let mut rx = Vec::new();
    for name in &opts.ports {
        let (mac, _) = sys::if_addresses(name).map_err(|e| AgentError::Io(format!("port {name}"), e))?;
        let tx = AfPacketTx::open(name)?;
        let sock = open_rx_socket(name)?;
        engine.add_port(
            PortSpec {
                name: name.clone(),
                mac,
                ipv4: None,
                rate_bps: opts.rate_bps,
                gcl: None,
                tx_guard_ns: opts.tx_guard_ns,
            },
            Box::new(tx),
        )?;
        rx.push(spawn_rx_with_priority(&engine, name, sock, opts.engine.realtime_priority)?);
    }
    engine.configure_bridge(BridgeConfig {
        ports: opts.ports.clone(),
        static_entries: opts.static_entries.clone(),
        learning: opts.learning,
        flood_unknown: opts.flood_unknown,
        ..BridgeConfig::default()
    })?;

    let backend = Arc::new(EngineGates::new(engine.clone(), opts.ports.clone()));
    let netconf = NetconfServer::start(ServerConfig::new(&opts.name, Arc::new(validator), backend));
    let listener = TcpListener::bind(opts.netconf_listen)
        .await
        .map_err(|e| AgentError::Io(format!("binding NETCONF on {}", opts.netconf_listen), e))?;
    let netconf_addr = listener.local_addr().map_err(|e| AgentError::Io("NETCONF address".into(), e))?;
    let ssh = SshServerConfig { host_key, authorized_keys, users: opts.users.clone(), inactivity_timeout: None };
    let task = tokio::spawn(ssh_server::serve(listener, ssh, netconf.clone()));
    info!(bridge = %opts.name, ports = ?opts.ports, %netconf_addr, "bridge serving NETCONF");
    Ok(RunningBridge { netconf_addr, netconf, task, engine, rx })
}
