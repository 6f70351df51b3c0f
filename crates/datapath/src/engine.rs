//! The enforcing engine: one polling thread that owns every egress port.
//!
//! ```text
//!  shim regions ──(SPSC rings)──┐
//!  EngineHandle::submit ────────┼──▶ ingest ──▶ port[p].queue[tc] ──▶ release at t ──▶ TxBackend
//!  bridge RX threads ───────────┘      │            (min-heaps by         │ gate open for
//!  EngineHandle commands ──────────────┘             release time)       │ [t, t+dur+guard)?
//!                                                                         └─ else hold / drop
//! ```
//!
//! Per frame: the release time is its transmit time (never earlier); when its class's gate
//! cannot hold the whole frame from then, the [`GatePolicy`] moves it to the next window
//! that can or drops it. The thread sleeps to `spin_ns` before the next release and spins
//! the rest. Every accepted frame ends as sent, late or dropped, and is counted.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing::{debug, info, warn};

use crate::backend::TxBackend;
use crate::bridge::{BridgeConfig, Fdb, ForwardTo};
use crate::counters::{ClassCounters, CounterSnapshot, Outcome, PortCounters};
use crate::frame::{self, UdpFrameSpec, VlanTag, WIRE_EXTRA_BYTES};
use crate::gcl::{Gcl, CLASSES};
use crate::neigh;
use crate::shm::{AgentRegion, Descriptor, FLAG_TXTIME};
use crate::time::{shift, Clock};
use crate::DatapathError;

/// What to do with a frame whose class's window cannot hold it at its release time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum GatePolicy {
    /// Move it to the next window of its class that can hold it (802.1Qbv behaviour).
    #[default]
    Hold,
    /// Drop it and count it.
    Drop,
}

/// Engine-wide settings (fixed for the engine's lifetime).
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// A frame released more than this after its release time is late and not sent.
    pub late_tolerance_ns: u64,
    /// Spin (instead of sleeping) this long before a release time.
    pub spin_ns: u64,
    /// Longest sleep between polls of the input rings.
    pub poll_interval_ns: u64,
    /// Frames per port and class queue before new ones are dropped.
    pub queue_limit: usize,
    /// The gate policy.
    pub gate_policy: GatePolicy,
    /// Run the engine thread `SCHED_FIFO` at this priority (needs CAP_SYS_NICE).
    pub realtime_priority: Option<i32>,
    /// Pin the engine thread to this CPU.
    pub cpu: Option<usize>,
    /// Network namespace (`/var/run/netns/<name>`) the engine thread enters first: where
    /// the neighbour table is read. `None` = the caller's.
    pub netns: Option<String>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            late_tolerance_ns: 200_000,
            spin_ns: 50_000,
            poll_interval_ns: 50_000,
            queue_limit: 4096,
            gate_policy: GatePolicy::Hold,
            realtime_priority: None,
            cpu: None,
            netns: None,
        }
    }
}

/// One egress port as the engine sees it.
#[derive(Clone, Debug)]
pub struct PortSpec {
    /// Interface name (unique per engine).
    pub name: String,
    /// Port MAC (source of built frames).
    pub mac: [u8; 6],
    /// Port IPv4 address and prefix length (source address; which destinations it reaches).
    pub ipv4: Option<(Ipv4Addr, u8)>,
    /// Line rate used for frame durations, bit/s.
    pub rate_bps: u64,
    /// Gate control list; `None` = every gate always open.
    pub gcl: Option<Gcl>,
    /// Extra time a window must stay open after a frame's last bit, covering the send
    /// path's own duration (so the frame has really left before the gate closes).
    pub tx_guard_ns: u64,
}

/// A scheduled stream the engine matches datagrams against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamSpec {
    /// Stream id.
    pub id: String,
    /// Destination IPv4 address.
    pub dst_ip: Ipv4Addr,
    /// Destination UDP port.
    pub dst_port: u16,
    /// Source UDP port, when the stream is told apart by it.
    pub src_port: Option<u16>,
    /// Egress port name.
    pub port: String,
    /// PCP of the 802.1Q tag.
    pub pcp: u8,
    /// VLAN id (0 = priority tag only).
    pub vlan_id: u16,
    /// Destination MAC; `None` = look it up in the neighbour table.
    pub dst_mac: Option<[u8; 6]>,
    /// Period (informational for the engine).
    pub period_ns: u64,
    /// Transmit offset within the period (informational).
    pub offset_ns: u64,
    /// Max frame size (informational).
    pub max_frame_size: u32,
}

/// Per-port parts of a schedule.
#[derive(Clone, Debug)]
pub struct PortSchedule {
    /// Interface name of a port added with [`EngineHandle::add_port`].
    pub name: String,
    /// Line rate, bit/s (0 = keep).
    pub rate_bps: u64,
    /// The GCL (`None` = always open).
    pub gcl: Option<Gcl>,
}

/// A complete schedule for this node: replaces the previous one atomically.
#[derive(Clone, Debug, Default)]
pub struct DatapathSchedule {
    /// Monotonic generation number.
    pub generation: u64,
    /// Port GCLs.
    pub ports: Vec<PortSchedule>,
    /// Streams.
    pub streams: Vec<StreamSpec>,
}

/// A UDP datagram to send at a transmit time (in-process input, e.g. tests and the bench).
#[derive(Clone, Debug)]
pub struct Datagram {
    /// Source address (0.0.0.0 = the port's).
    pub src_ip: Ipv4Addr,
    /// Source port.
    pub src_port: u16,
    /// Destination address.
    pub dst_ip: Ipv4Addr,
    /// Destination port.
    pub dst_port: u16,
    /// Socket priority (PCP when no stream matches).
    pub priority: u32,
    /// Transmit time, engine clock (`CLOCK_TAI`) ns.
    pub txtime_ns: u64,
    /// UDP payload.
    pub payload: Vec<u8>,
}

/// Counters of all ports.
#[derive(Clone, Debug, Default)]
pub struct EngineCounters {
    /// Per port: name and per-class counters.
    pub ports: Vec<(String, [CounterSnapshot; CLASSES])>,
    /// Frames that matched no port.
    pub unroutable: CounterSnapshot,
    /// Sum over everything.
    pub total: CounterSnapshot,
    /// Frames waiting in queues now.
    pub queued: u64,
    /// Shim regions attached now.
    pub sessions: u64,
    /// Generation of the schedule in force.
    pub generation: u64,
}

/// A frame received on a bridge port.
#[derive(Debug)]
pub(crate) struct BridgeRx {
    pub ingress: String,
    pub bytes: Vec<u8>,
}

enum Command {
    AddPort(Box<PortSpec>, Box<dyn TxBackend>, Sender<Result<(), DatapathError>>),
    Apply(DatapathSchedule, Sender<Result<(), DatapathError>>),
    Submit(Datagram),
    AddSession(Session),
    Bridge(BridgeConfig),
    BridgeRx(BridgeRx),
    Shutdown,
}

/// A shim region attached to the engine.
#[derive(Debug)]
pub(crate) struct Session {
    pub id: u64,
    pub pid: u32,
    pub region: AgentRegion,
    /// Set by the connection thread when the application hung up.
    pub closed: Arc<AtomicBool>,
}

#[derive(Debug)]
struct Pending {
    release_ns: u64,
    seq: u64,
    bytes: Vec<u8>,
    dur_ns: u64,
}

impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        (self.release_ns, self.seq) == (o.release_ns, o.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.release_ns, self.seq).cmp(&(o.release_ns, o.seq))
    }
}

#[derive(Debug)]
struct Port {
    spec: PortSpec,
    gcl: Gcl,
    backend: Box<dyn TxBackend>,
    queues: [BinaryHeap<Reverse<Pending>>; CLASSES],
    busy_until_ns: u64,
    counters: Arc<PortCounters>,
}

impl Port {
    fn dur_ns(&self, len: usize) -> u64 {
        tsn_model::transmission_time_ns((len + WIRE_EXTRA_BYTES) as u64, self.spec.rate_bps.max(1)).unwrap_or(u64::MAX)
    }

    fn next_release(&self) -> Option<u64> {
        self.queues.iter().filter_map(|q| q.peek().map(|p| p.0.release_ns)).min()
    }
}

struct Shared {
    ports: Mutex<Vec<(String, Arc<PortCounters>)>>,
    unroutable: ClassCounters,
    queued: AtomicU64,
    sessions: AtomicU64,
    generation: AtomicU64,
}

/// Handle to a running engine; stops it on drop.
pub struct EngineHandle {
    tx: Sender<Command>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    clock: Clock,
    next_session: Arc<AtomicU64>,
}

impl std::fmt::Debug for EngineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHandle").field("clock", &self.clock).finish_non_exhaustive()
    }
}

impl EngineHandle {
    /// Starts the engine thread.
    pub fn start(config: EngineConfig) -> Result<EngineHandle, DatapathError> {
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            ports: Mutex::default(),
            unroutable: ClassCounters::default(),
            queued: AtomicU64::new(0),
            sessions: AtomicU64::new(0),
            generation: AtomicU64::new(0),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("tsn-engine".into())
            .spawn(move || Engine::new(config, rx, s).run())
            .map_err(|e| DatapathError::Io("spawning the engine thread".into(), e))?;
        Ok(EngineHandle {
            tx,
            shared,
            thread: Some(thread),
            clock: Clock::Tai,
            next_session: Arc::new(AtomicU64::new(1)),
        })
    }

    /// The engine clock.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    fn request(&self, make: impl FnOnce(Sender<Result<(), DatapathError>>) -> Command) -> Result<(), DatapathError> {
        let (rtx, rrx) = mpsc::channel();
        self.tx.send(make(rtx)).map_err(|_| DatapathError::Stopped)?;
        rrx.recv_timeout(Duration::from_secs(10)).map_err(|_| DatapathError::Stopped)?
    }

    /// Adds an egress port with its backend (its GCL may be given now or by a schedule).
    pub fn add_port(&self, spec: PortSpec, backend: Box<dyn TxBackend>) -> Result<(), DatapathError> {
        self.request(|r| Command::AddPort(Box::new(spec), backend, r))
    }

    /// Applies a schedule (GCLs and streams) atomically; every port must exist.
    pub fn apply(&self, schedule: DatapathSchedule) -> Result<(), DatapathError> {
        self.request(|r| Command::Apply(schedule, r))
    }

    /// Queues one datagram (counted like a shim datagram).
    pub fn submit(&self, d: Datagram) -> Result<(), DatapathError> {
        self.tx.send(Command::Submit(d)).map_err(|_| DatapathError::Stopped)
    }

    /// Sets the bridge configuration (forwarding entries, learning, member ports).
    pub fn configure_bridge(&self, config: BridgeConfig) -> Result<(), DatapathError> {
        self.tx.send(Command::Bridge(config)).map_err(|_| DatapathError::Stopped)
    }

    pub(crate) fn sender(&self) -> EngineSender {
        EngineSender(self.tx.clone())
    }

    pub(crate) fn session_sink(&self) -> SessionSink {
        SessionSink { tx: self.tx.clone(), next: self.next_session.clone() }
    }

    /// Current counters.
    pub fn counters(&self) -> EngineCounters {
        let ports: Vec<(String, [CounterSnapshot; CLASSES])> = self
            .shared
            .ports
            .lock()
            .map(|p| p.iter().map(|(n, c)| (n.clone(), c.snapshot())).collect())
            .unwrap_or_default();
        let unroutable = self.shared.unroutable.snapshot();
        let mut total = unroutable;
        for (_, classes) in &ports {
            for c in classes {
                total.add(c);
            }
        }
        EngineCounters {
            ports,
            unroutable,
            total,
            queued: self.shared.queued.load(Ordering::Relaxed),
            sessions: self.shared.sessions.load(Ordering::Relaxed),
            generation: self.shared.generation.load(Ordering::Relaxed),
        }
    }

    /// Waits until every accepted frame has reached an end state and the rings are empty,
    /// or `timeout` passes; returns the counters either way.
    pub fn wait_idle(&self, timeout: Duration) -> EngineCounters {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let c = self.counters();
            if c.queued == 0 && c.total.accounted() == c.total.submitted {
                // Let one more loop drain rings that filled meanwhile.
                std::thread::sleep(Duration::from_millis(5));
                let again = self.counters();
                if again.total.submitted == c.total.submitted && again.queued == 0 {
                    return again;
                }
            }
            if std::time::Instant::now() >= deadline {
                return c;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Stops the engine and waits for its thread; queued frames are counted as dropped.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.tx.send(Command::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for EngineHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Attaches shim regions to the engine (for the agent socket's session threads).
#[derive(Clone)]
pub(crate) struct SessionSink {
    tx: Sender<Command>,
    next: Arc<AtomicU64>,
}

impl std::fmt::Debug for SessionSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionSink")
    }
}

impl SessionSink {
    pub(crate) fn add_session(
        &self,
        pid: u32,
        region: AgentRegion,
        closed: Arc<AtomicBool>,
    ) -> Result<u64, DatapathError> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.tx.send(Command::AddSession(Session { id, pid, region, closed })).map_err(|_| DatapathError::Stopped)?;
        Ok(id)
    }
}

/// A cloneable sender into the engine (for bridge RX threads).
#[derive(Clone)]
pub(crate) struct EngineSender(Sender<Command>);

impl std::fmt::Debug for EngineSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EngineSender")
    }
}

impl EngineSender {
    pub(crate) fn bridge_rx(&self, rx: BridgeRx) -> bool {
        self.0.send(Command::BridgeRx(rx)).is_ok()
    }
}

struct Engine {
    config: EngineConfig,
    rx: Receiver<Command>,
    shared: Arc<Shared>,
    clock: Clock,
    ports: Vec<Port>,
    streams: HashMap<(Ipv4Addr, u16), Vec<StreamSpec>>,
    sessions: Vec<Session>,
    neighbours: HashMap<Ipv4Addr, [u8; 6]>,
    neighbours_read_ns: u64,
    clock_offsets: HashMap<i32, (i64, u64)>,
    bridge: Option<(BridgeConfig, Fdb)>,
    seq: u64,
    ip_id: u16,
    payload: Vec<u8>,
    last_heartbeat_ns: u64,
    epoch: u64,
    generation: u64,
}

impl Engine {
    fn new(config: EngineConfig, rx: Receiver<Command>, shared: Arc<Shared>) -> Engine {
        Engine {
            config,
            rx,
            shared,
            clock: Clock::Tai,
            ports: Vec::new(),
            streams: HashMap::new(),
            sessions: Vec::new(),
            neighbours: HashMap::new(),
            neighbours_read_ns: 0,
            clock_offsets: HashMap::new(),
            bridge: None,
            seq: 0,
            ip_id: 0,
            payload: Vec::with_capacity(2048),
            last_heartbeat_ns: 0,
            epoch: Clock::Realtime.now_ns(),
            generation: 0,
        }
    }

    fn run(mut self) {
        if let Some(ns) = &self.config.netns {
            if let Err(e) = crate::sys::enter_netns(ns) {
                warn!(netns = %ns, error = %e, "engine: cannot enter the network namespace");
            }
        }
        if let Err(e) = crate::sys::set_timer_slack(1) {
            warn!(error = %e, "engine: cannot set timer slack; sleeps will be coarse");
        }
        if let Some(cpu) = self.config.cpu {
            if let Err(e) = crate::sys::pin_to_cpu(cpu) {
                warn!(cpu, error = %e, "engine: cannot pin the thread");
            }
        }
        if let Some(prio) = self.config.realtime_priority {
            match crate::sys::set_fifo(prio) {
                Ok(()) => info!(priority = prio, "engine: running SCHED_FIFO"),
                Err(e) => warn!(priority = prio, error = %e, "engine: cannot use SCHED_FIFO"),
            }
        }
        loop {
            // 1. Commands and in-process input.
            loop {
                match self.rx.try_recv() {
                    Ok(Command::Shutdown) | Err(TryRecvError::Disconnected) => {
                        self.flush_all();
                        return;
                    }
                    Ok(cmd) => self.handle(cmd),
                    Err(TryRecvError::Empty) => break,
                }
            }
            // 2. Shim rings.
            self.poll_sessions();
            // 3. Releases that are due (spinning into the next one if it is close).
            let now = self.clock.now_ns();
            let next = self.ports.iter().filter_map(Port::next_release).min();
            match next {
                Some(t) if t <= now + self.config.spin_ns => {
                    let now = self.clock.wait_until(t, self.config.spin_ns);
                    self.release_due(now);
                }
                Some(t) => {
                    let wake = (t - self.config.spin_ns).min(now + self.config.poll_interval_ns);
                    if self.wait_for_input(now, wake) {
                        return;
                    }
                }
                None => {
                    if self.wait_for_input(now, now + self.config.poll_interval_ns) {
                        return;
                    }
                }
            }
        }
    }

    /// Waits until `wake` (engine clock). With no shim region attached every input arrives
    /// on the command channel, so the wait blocks on it and a command (a frame a bridge
    /// port received, a schedule) ends it at once: an idle bridge costs no CPU and a
    /// received frame is not left waiting for the next poll. With regions attached, whose
    /// rings can only be polled, it sleeps. True when the engine must stop.
    fn wait_for_input(&mut self, now: u64, wake: u64) -> bool {
        if !self.sessions.is_empty() {
            crate::sys::sleep_until(self.clock.id(), wake);
            return false;
        }
        match self.rx.recv_timeout(Duration::from_nanos(wake.saturating_sub(now))) {
            Ok(Command::Shutdown) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                self.flush_all();
                true
            }
            Ok(cmd) => {
                self.handle(cmd);
                false
            }
            Err(mpsc::RecvTimeoutError::Timeout) => false,
        }
    }

    fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::AddPort(spec, backend, reply) => {
                let r = self.add_port(*spec, backend);
                let _ = reply.send(r);
            }
            Command::Apply(schedule, reply) => {
                let r = self.apply(schedule);
                let _ = reply.send(r);
            }
            Command::Submit(d) => self.ingest_datagram(&d.payload, &d),
            Command::AddSession(s) => {
                info!(session = s.id, pid = s.pid, "engine: application region attached");
                s.region.heartbeat(Clock::Monotonic.now_ns(), self.epoch);
                self.sessions.push(s);
                self.shared.sessions.store(self.sessions.len() as u64, Ordering::Relaxed);
            }
            Command::Bridge(config) => {
                info!(ports = config.ports.len(), entries = config.static_entries.len(), "engine: bridge configured");
                let fdb = Fdb::new(&config);
                self.bridge = Some((config, fdb));
            }
            Command::BridgeRx(rx) => self.forward(rx),
            Command::Shutdown => {}
        }
    }

    fn add_port(&mut self, spec: PortSpec, backend: Box<dyn TxBackend>) -> Result<(), DatapathError> {
        if self.ports.iter().any(|p| p.spec.name == spec.name) {
            return Err(DatapathError::Config(format!("port {} exists", spec.name)));
        }
        let counters = Arc::new(PortCounters::default());
        if let Ok(mut p) = self.shared.ports.lock() {
            p.push((spec.name.clone(), counters.clone()));
        }
        info!(port = %spec.name, backend = backend.kind(), rate_bps = spec.rate_bps, "engine: port added");
        let gcl = spec.gcl.clone().unwrap_or_else(Gcl::always_open);
        self.ports.push(Port { spec, gcl, backend, queues: Default::default(), busy_until_ns: 0, counters });
        Ok(())
    }

    fn apply(&mut self, schedule: DatapathSchedule) -> Result<(), DatapathError> {
        for ps in &schedule.ports {
            if !self.ports.iter().any(|p| p.spec.name == ps.name) {
                return Err(DatapathError::Config(format!("schedule names unknown port {}", ps.name)));
            }
        }
        for s in &schedule.streams {
            if !self.ports.iter().any(|p| p.spec.name == s.port) {
                return Err(DatapathError::Config(format!("stream {} uses unknown port {}", s.id, s.port)));
            }
            if s.pcp > 7 || s.vlan_id > 4094 {
                return Err(DatapathError::Config(format!(
                    "stream {}: PCP {} / VLAN {} out of range",
                    s.id, s.pcp, s.vlan_id
                )));
            }
        }
        for ps in schedule.ports {
            if let Some(p) = self.ports.iter_mut().find(|p| p.spec.name == ps.name) {
                if ps.rate_bps > 0 {
                    p.spec.rate_bps = ps.rate_bps;
                }
                p.gcl = ps.gcl.clone().unwrap_or_else(Gcl::always_open);
                p.spec.gcl = ps.gcl;
            }
        }
        self.streams.clear();
        for s in schedule.streams {
            self.streams.entry((s.dst_ip, s.dst_port)).or_default().push(s);
        }
        self.generation = schedule.generation;
        self.shared.generation.store(schedule.generation, Ordering::Relaxed);
        info!(generation = schedule.generation, "engine: schedule applied");
        Ok(())
    }

    fn poll_sessions(&mut self) {
        let mono = Clock::Monotonic.now_ns();
        let beat = mono.saturating_sub(self.last_heartbeat_ns) > 1_000_000;
        if beat {
            self.last_heartbeat_ns = mono;
        }
        let mut i = 0;
        while i < self.sessions.len() {
            let mut remove = false;
            // Bounded batch per poll so one busy application cannot starve releases.
            for _ in 0..256 {
                let mut payload = std::mem::take(&mut self.payload);
                let r = self.sessions[i].region.pop(&mut payload);
                match r {
                    Ok(Some(d)) => self.ingest_descriptor(&d, &payload),
                    Ok(None) => {
                        self.payload = payload;
                        break;
                    }
                    Err(e) => {
                        // Invalid descriptor (slot still recycled when possible): count it
                        // as an unroutable drop; a broken ring closes the region.
                        warn!(session = self.sessions[i].id, error = %e, "engine: bad input from application");
                        self.shared.unroutable.count(Outcome::Submitted);
                        self.shared.unroutable.count(Outcome::DroppedNoRoute);
                        if matches!(e, crate::shm::ShmError::Corrupt(_)) {
                            remove = true;
                            self.payload = payload;
                            break;
                        }
                    }
                }
                self.payload = payload;
            }
            let s = &self.sessions[i];
            if beat {
                s.region.heartbeat(mono, self.epoch);
            }
            if s.closed.load(Ordering::Acquire) && s.region.pending() == 0 {
                remove = true;
            }
            if remove {
                let s = self.sessions.swap_remove(i);
                info!(session = s.id, pid = s.pid, "engine: application region detached");
                self.shared.sessions.store(self.sessions.len() as u64, Ordering::Relaxed);
            } else {
                i += 1;
            }
        }
    }

    fn engine_time(&mut self, clockid: i32, t: u64) -> Option<u64> {
        let clock = Clock::from_id(clockid)?;
        if clock == self.clock {
            return Some(t);
        }
        let now = Clock::Monotonic.now_ns();
        let entry = self.clock_offsets.entry(clockid).or_insert((0, 0));
        if entry.1 == 0 || now.saturating_sub(entry.1) > 1_000_000_000 {
            *entry = (clock.offset_to(self.clock), now);
        }
        Some(shift(t, entry.0))
    }

    fn ingest_descriptor(&mut self, d: &Descriptor, payload: &[u8]) {
        let now = self.clock.now_ns();
        let txtime = if d.flags & FLAG_TXTIME != 0 { self.engine_time(d.clockid, d.txtime_ns) } else { Some(now) };
        let dg = Datagram {
            src_ip: Ipv4Addr::from(d.src_ip),
            src_port: d.src_port,
            dst_ip: Ipv4Addr::from(d.dst_ip),
            dst_port: d.dst_port,
            priority: d.priority,
            txtime_ns: txtime.unwrap_or(0),
            payload: Vec::new(),
        };
        if txtime.is_none() {
            debug!(clockid = d.clockid, "engine: datagram stamped with an unsupported clock");
            self.shared.unroutable.count(Outcome::Submitted);
            self.shared.unroutable.count(Outcome::DroppedNoRoute);
            return;
        }
        self.ingest_datagram(payload, &dg);
    }

    fn neighbour(&mut self, ip: Ipv4Addr) -> Option<[u8; 6]> {
        if let Some(m) = neigh::group_mac(ip) {
            return Some(m);
        }
        if let Some(m) = self.neighbours.get(&ip) {
            return Some(*m);
        }
        let now = Clock::Monotonic.now_ns();
        if now.saturating_sub(self.neighbours_read_ns) > 100_000_000 {
            self.neighbours = neigh::read_neighbours();
            self.neighbours_read_ns = now;
        }
        self.neighbours.get(&ip).copied()
    }

    /// Resolves, builds and queues one datagram (`payload` is its UDP payload).
    fn ingest_datagram(&mut self, payload: &[u8], d: &Datagram) {
        let stream = self
            .streams
            .get(&(d.dst_ip, d.dst_port))
            .and_then(|v| v.iter().find(|s| s.src_port.is_none_or(|p| p == d.src_port)).cloned());
        let port_idx = match &stream {
            Some(s) => self.ports.iter().position(|p| p.spec.name == s.port),
            None => self.route(d.dst_ip),
        };
        let Some(pi) = port_idx else {
            self.shared.unroutable.count(Outcome::Submitted);
            self.shared.unroutable.count(Outcome::DroppedNoRoute);
            debug!(dst = %d.dst_ip, "engine: no egress port");
            return;
        };
        let (pcp, vid) = match &stream {
            Some(s) => (s.pcp, s.vlan_id),
            None => (d.priority.min(7) as u8, 0),
        };
        let tc = pcp; // PCP → traffic class: identity with eight classes.
        let counters = self.ports[pi].counters.clone();
        let c = &counters.classes[tc as usize];
        c.count(Outcome::Submitted);
        let dst_mac = match stream.as_ref().and_then(|s| s.dst_mac) {
            Some(m) => Some(m),
            None => self.neighbour(d.dst_ip),
        };
        let Some(dst_mac) = dst_mac else {
            c.count(Outcome::DroppedNoRoute);
            debug!(dst = %d.dst_ip, "engine: no neighbour entry");
            return;
        };
        let port = &self.ports[pi];
        let src_ip = if d.src_ip.is_unspecified() { port.spec.ipv4.map_or(d.src_ip, |a| a.0) } else { d.src_ip };
        self.ip_id = self.ip_id.wrapping_add(1);
        let spec = UdpFrameSpec {
            dst_mac,
            src_mac: port.spec.mac,
            vlan: Some(VlanTag { pcp, dei: false, vid }),
            src_ip,
            dst_ip: d.dst_ip,
            src_port: d.src_port,
            dst_port: d.dst_port,
            ip_id: self.ip_id,
            tos: 0,
        };
        let mut bytes = Vec::with_capacity(payload.len() + 64);
        if frame::build_udp_frame(&spec, payload, &mut bytes).is_err() {
            c.count(Outcome::DroppedNoRoute);
            return;
        }
        self.enqueue(pi, tc, bytes, d.txtime_ns);
    }

    fn route(&self, dst: Ipv4Addr) -> Option<usize> {
        let by_subnet = self.ports.iter().position(|p| {
            p.spec.ipv4.is_some_and(|(a, len)| {
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len.min(32))) };
                u32::from(a) & mask == u32::from(dst) & mask
            })
        });
        by_subnet.or(if self.ports.len() == 1 { Some(0) } else { None })
    }

    /// Queues a built frame of class `tc` on port `pi` for release at `txtime` (already
    /// counted as submitted).
    fn enqueue(&mut self, pi: usize, tc: u8, bytes: Vec<u8>, txtime: u64) {
        let now = self.clock.now_ns();
        let tolerance = self.config.late_tolerance_ns;
        let policy = self.config.gate_policy;
        let limit = self.config.queue_limit;
        let port = &mut self.ports[pi];
        let c = &port.counters.classes[tc as usize];
        if now > txtime.saturating_add(tolerance) {
            c.count(Outcome::Late);
            c.count(Outcome::LateOnArrival);
            return;
        }
        let dur = port.dur_ns(bytes.len());
        let need = dur.saturating_add(port.spec.tx_guard_ns);
        let mut release = txtime;
        if !port.gcl.may_start(tc, release, need) {
            match (policy, port.gcl.next_opportunity(tc, release, need)) {
                (GatePolicy::Hold, Some(t)) => {
                    c.count(Outcome::Held);
                    release = t;
                }
                _ => {
                    c.count(Outcome::DroppedGateClosed);
                    return;
                }
            }
        }
        if port.queues[tc as usize].len() >= limit {
            c.count(Outcome::DroppedQueueFull);
            return;
        }
        self.seq += 1;
        port.queues[tc as usize].push(Reverse(Pending { release_ns: release, seq: self.seq, bytes, dur_ns: dur }));
        self.shared.queued.fetch_add(1, Ordering::Relaxed);
    }

    /// Releases every frame whose time has come, highest traffic class first.
    fn release_due(&mut self, mut now: u64) {
        let tolerance = self.config.late_tolerance_ns;
        let policy = self.config.gate_policy;
        for pi in 0..self.ports.len() {
            loop {
                let port = &mut self.ports[pi];
                // Highest class among the due heads (strict priority).
                let Some(tc) =
                    (0..CLASSES).rev().find(|&tc| port.queues[tc].peek().is_some_and(|p| p.0.release_ns <= now))
                else {
                    break;
                };
                let Some(Reverse(mut f)) = port.queues[tc].pop() else { break };
                let c = &port.counters.classes[tc];
                // The port is still busy with the previous frame: wait for it.
                if port.busy_until_ns > now {
                    f.release_ns = port.busy_until_ns;
                    port.queues[tc].push(Reverse(f));
                    if port.busy_until_ns > now + self.config.spin_ns {
                        break;
                    }
                    now = self.clock.wait_until(port.busy_until_ns, self.config.spin_ns);
                    continue;
                }
                self.shared.queued.fetch_sub(1, Ordering::Relaxed);
                if now > f.release_ns.saturating_add(tolerance) {
                    c.count(Outcome::Late);
                    continue;
                }
                let need = f.dur_ns.saturating_add(port.spec.tx_guard_ns);
                if !port.gcl.may_start(tc as u8, now, need) {
                    // We reached it too late for its window: hold or drop by policy.
                    match (policy, port.gcl.next_opportunity(tc as u8, now, need)) {
                        (GatePolicy::Hold, Some(t)) => {
                            c.count(Outcome::Held);
                            f.release_ns = t;
                            port.queues[tc].push(Reverse(f));
                            self.shared.queued.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => c.count(Outcome::DroppedGateClosed),
                    }
                    continue;
                }
                match port.backend.send(&f.bytes) {
                    Ok(()) => {
                        let after = self.clock.now_ns();
                        c.count(Outcome::Sent);
                        c.record_lateness(now - f.release_ns);
                        if !port.gcl.may_start(tc as u8, now, after.saturating_sub(now).max(f.dur_ns)) {
                            c.count(Outcome::GateOverrun);
                        }
                        port.busy_until_ns = now + f.dur_ns;
                        now = after;
                    }
                    Err(e) => {
                        debug!(port = %port.spec.name, error = %e, "engine: send failed");
                        c.count(Outcome::DroppedTxError);
                    }
                }
            }
        }
    }

    /// At shutdown, frames still queued are counted as transmit failures: they never left.
    fn flush_all(&mut self) {
        for port in &mut self.ports {
            for (tc, q) in port.queues.iter_mut().enumerate() {
                for _ in q.drain() {
                    port.counters.classes[tc].count(Outcome::DroppedTxError);
                    self.shared.queued.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Bridge role: learn the source, look up the destination, queue on the egress port(s).
    fn forward(&mut self, rx: BridgeRx) {
        let Some((config, fdb)) = self.bridge.as_mut() else { return };
        let Some(ingress) = config.ports.iter().position(|p| *p == rx.ingress) else { return };
        let Ok(eth) = frame::parse_ethernet(&rx.bytes) else { return };
        let now = self.clock.now_ns();
        if config.learning {
            fdb.learn(eth.src_mac, ingress, now);
        }
        if crate::bridge::is_reserved_group(&eth.dst_mac) {
            return; // link-local control frames (LLDP, STP, PAUSE) are never relayed
        }
        let egress: Vec<usize> = match fdb.lookup(&eth.dst_mac, now) {
            ForwardTo::Port(p) if p == ingress => return, // filtered: same segment
            ForwardTo::Port(p) => vec![p],
            ForwardTo::Flood if !config.flood_unknown => return,
            ForwardTo::Flood => (0..config.ports.len()).filter(|&p| p != ingress).collect(),
        };
        let pcp = eth.vlan.map_or(config.default_pcp, |v| v.pcp);
        let names: Vec<String> = egress.iter().filter_map(|&p| config.ports.get(p).cloned()).collect();
        for name in names {
            let Some(pi) = self.ports.iter().position(|p| p.spec.name == name) else { continue };
            self.ports[pi].counters.classes[pcp as usize].count(Outcome::Submitted);
            self.enqueue(pi, pcp, rx.bytes.clone(), now);
        }
    }
}
