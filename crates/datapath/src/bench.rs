//! The datapath benchmark: how close to its transmit time does a frame leave?
//!
//! A talker in one namespace sends one frame per cycle to a listener in another over a veth
//! pair; latency = the listener's kernel receive timestamp − the frame's transmit time
//! (on veth that timestamp is taken inside the sender's send call, so it measures release
//! accuracy). Rows, per payload size:
//!
//! * `kernel-sleep` — the application sleeps to the transmit time and sends (what an
//!   overlay CNI gives).
//! * `kernel-txtime` — `SO_TXTIME` without etf: the kernel accepts the time and sends at
//!   once, i.e. early by the application's lead time.
//! * `agent-af-packet` — an unmodified Python `SO_TXTIME` sender under `libktsn.so`, the
//!   agent engine releasing over AF_PACKET.
//! * `agent-dpdk` — the same with the DPDK backend (feature `dpdk`).

use std::fmt;
use std::net::{Ipv4Addr, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::engine::{DatapathSchedule, EngineConfig, EngineHandle, PortSchedule, PortSpec, StreamSpec};
use crate::frame;
use crate::netns::{self, in_netns, spawn_in_netns, Netns};
use crate::sys::{self, PacketSocket};
use crate::time::Clock;
use crate::{AfPacketTx, DatapathError, ShimServer};

/// UDP port the listener counts frames on.
pub const BENCH_PORT: u16 = 40_400;

/// Row (d)'s note in a build without the `dpdk` feature (the row is printed, never left out).
pub const NOT_BUILT_DPDK: &str = "not built (enable feature dpdk: tsn-datapath/dpdk, or `dpdk` of node-agent / tsnctl)";

/// How the talker releases its frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxMode {
    /// Sleep to the transmit time, then `send`.
    KernelSleep,
    /// `SO_TXTIME` + `SCM_TXTIME` with no etf qdisc (sent at once).
    KernelTxtime,
    /// Through `libktsn.so` and the agent engine over AF_PACKET.
    AgentAfPacket,
    /// Through `libktsn.so` and the agent engine over DPDK.
    AgentDpdk,
}

impl TxMode {
    /// All four rows.
    pub const ALL: [TxMode; 4] = [TxMode::KernelSleep, TxMode::KernelTxtime, TxMode::AgentAfPacket, TxMode::AgentDpdk];

    /// The mode of report row `a`, `b`, `c` or `d`.
    pub fn from_row(row: char) -> Option<TxMode> {
        match row.to_ascii_lowercase() {
            'a' => Some(TxMode::KernelSleep),
            'b' => Some(TxMode::KernelTxtime),
            'c' => Some(TxMode::AgentAfPacket),
            'd' => Some(TxMode::AgentDpdk),
            _ => None,
        }
    }

    /// The modes of rows `rows` (as [`TxMode::from_row`]); `Err` names the first unknown row.
    pub fn from_rows(rows: &[char]) -> Result<Vec<TxMode>, char> {
        rows.iter().map(|&r| TxMode::from_row(r).ok_or(r)).collect()
    }

    /// Row label.
    pub fn label(self) -> &'static str {
        match self {
            TxMode::KernelSleep => "(a) kernel sleep+send",
            TxMode::KernelTxtime => "(b) kernel SO_TXTIME, no etf",
            TxMode::AgentAfPacket => "(c) agent via shim, AF_PACKET",
            TxMode::AgentDpdk => "(d) agent via shim, DPDK",
        }
    }
}

/// Benchmark parameters.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Frames per row.
    pub frames: usize,
    /// Cycle (one frame per cycle), ns.
    pub cycle_ns: u64,
    /// UDP payload sizes, one row each per mode.
    pub payloads: Vec<usize>,
    /// Modes to run.
    pub modes: Vec<TxMode>,
    /// How long before its transmit time the talker hands a frame over (txtime modes), ns.
    pub lead_ns: u64,
    /// Path of `libktsn.so` (default: `KTSN_SHIM`, else next to the running executable).
    pub shim_path: Option<PathBuf>,
    /// Python interpreter for the unmodified `SO_TXTIME` talker.
    pub python: PathBuf,
    /// Run the agent engine `SCHED_FIFO` (priority 50) and pinned to the last CPU.
    pub realtime: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            frames: 2000,
            cycle_ns: 1_000_000,
            payloads: vec![64, 256, 1024],
            modes: TxMode::ALL.to_vec(),
            lead_ns: 1_000_000,
            shim_path: None,
            python: default_python(),
            realtime: true,
        }
    }
}

/// `/usr/bin/python3` when present, else `python3` from `PATH`.
pub fn default_python() -> PathBuf {
    let p = PathBuf::from("/usr/bin/python3");
    if p.exists() {
        p
    } else {
        PathBuf::from("python3")
    }
}

/// One row of the report.
#[derive(Clone, Debug)]
pub struct BenchRow {
    /// The mode.
    pub mode: TxMode,
    /// UDP payload bytes.
    pub payload: usize,
    /// Frames the talker was asked to send (0: the row did not run).
    pub frames: usize,
    /// Frames the listener received.
    pub received: usize,
    /// Latency percentiles p50, p90, p99, p99.9 and the max, ns (negative = early).
    pub percentiles_ns: Option<[i64; 5]>,
    /// Smallest latency (most early), ns.
    pub min_ns: Option<i64>,
    /// Jitter: mean |latency(k) − latency(k−1)| over consecutive frames (RFC 3393 IPDV), ns.
    pub jitter_ns: Option<i64>,
    /// Why a row has no figures, or a remark.
    pub note: Option<String>,
}

/// The benchmark result.
#[derive(Clone, Debug)]
pub struct BenchReport {
    /// Cycle used.
    pub cycle_ns: u64,
    /// One row per mode and payload.
    pub rows: Vec<BenchRow>,
}

fn us(ns: i64) -> String {
    format!("{:.1}", ns as f64 / 1000.0)
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "datapath latency = rx timestamp − transmit time, µs (negative = early); cycle {} µs; jitter = mean |Δlatency|",
            self.cycle_ns / 1000
        )?;
        writeln!(
            f,
            "{:<32} {:>5} {:>11} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}",
            "mode", "bytes", "recv/sent", "min", "p50", "p90", "p99", "p99.9", "max", "jitter"
        )?;
        for r in &self.rows {
            let recv = if r.frames == 0 { "-".to_string() } else { format!("{}/{}", r.received, r.frames) };
            match (r.percentiles_ns, r.min_ns, r.jitter_ns) {
                (Some(p), Some(min), Some(j)) => writeln!(
                    f,
                    "{:<32} {:>5} {:>11} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}{}",
                    r.mode.label(),
                    r.payload,
                    recv,
                    us(min),
                    us(p[0]),
                    us(p[1]),
                    us(p[2]),
                    us(p[3]),
                    us(p[4]),
                    us(j),
                    r.note.as_deref().map(|n| format!("  ({n})")).unwrap_or_default()
                )?,
                _ => writeln!(
                    f,
                    "{:<32} {:>5} {:>11}  {}",
                    r.mode.label(),
                    r.payload,
                    recv,
                    r.note.as_deref().unwrap_or("no frames received")
                )?,
            }
        }
        Ok(())
    }
}

/// Summary statistics of a latency sample: (p50, p90, p99, p99.9, max), min, jitter.
pub fn summarize(latencies: &[i64]) -> Option<([i64; 5], i64, i64)> {
    if latencies.is_empty() {
        return None;
    }
    let mut s = latencies.to_vec();
    s.sort_unstable();
    let pick = |q: f64| s[(((s.len() as f64) * q).ceil() as usize).clamp(1, s.len()) - 1];
    let jitter = if latencies.len() > 1 {
        let sum: i128 = latencies.windows(2).map(|w| i128::from((w[1] - w[0]).abs())).sum();
        (sum / (latencies.len() as i128 - 1)) as i64
    } else {
        0
    };
    Some(([pick(0.5), pick(0.9), pick(0.99), pick(0.999), s[s.len() - 1]], s[0], jitter))
}

/// Locates `libktsn.so`: `explicit`, `KTSN_SHIM`, or next to / above the running executable
/// (`target/<profile>/` when run from `target/<profile>/deps/`).
pub fn find_shim(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return p.exists().then(|| p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("KTSN_SHIM").map(PathBuf::from) {
        return p.exists().then_some(p);
    }
    let exe = std::env::current_exe().ok()?;
    let mut dir = exe.parent();
    for _ in 0..3 {
        let d = dir?;
        for cand in [d.join("libktsn.so"), d.join("deps").join("libktsn.so")] {
            if cand.exists() {
                return Some(cand);
            }
        }
        dir = d.parent();
    }
    None
}

/// The Python `SO_TXTIME` sender used by the agent rows and the integration tests: sends
/// `count` datagrams of `size` bytes (sequence number in the first 8) to `dst:port`, the
/// k-th with transmit time `start + k·cycle` (CLOCK_TAI), each handed over `lead` ns early.
pub const PY_TXTIME_TALKER: &str = r#"
import socket, struct, sys, time
dst, port, count, cycle, start, lead, size, prio = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
SO_TXTIME = 61
SCM_TXTIME = 61
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, SO_TXTIME, struct.pack("iI", time.CLOCK_TAI, 0))
s.setsockopt(socket.SOL_SOCKET, socket.SO_PRIORITY, prio)
pad = b"\0" * max(0, size - 8)
errors = 0
for k in range(count):
    t = start + k * cycle
    wait = (t - lead - time.clock_gettime_ns(time.CLOCK_TAI)) / 1e9
    if wait > 0:
        time.sleep(wait)
    try:
        s.sendmsg([struct.pack("<Q", k) + pad], [(socket.SOL_SOCKET, SCM_TXTIME, struct.pack("Q", t))], 0, (dst, port))
    except OSError:
        errors += 1
print("sent", count - errors, "errors", errors)
"#;

/// Runs the benchmark (needs root: namespaces, veth, AF_PACKET, SCHED_FIFO).
pub fn run_bench(opts: BenchOptions) -> Result<BenchReport, DatapathError> {
    if !netns::available() {
        return Err(DatapathError::Setup("the datapath benchmark needs root and iproute2".into()));
    }
    let mut rows = Vec::new();
    for &mode in &opts.modes {
        for &payload in &opts.payloads {
            let row = match run_row(&opts, mode, payload.max(8)) {
                Ok(r) => r,
                Err(e) => BenchRow {
                    mode,
                    payload,
                    frames: opts.frames,
                    received: 0,
                    percentiles_ns: None,
                    min_ns: None,
                    jitter_ns: None,
                    note: Some(format!("failed: {e}")),
                },
            };
            tracing::info!(mode = mode.label(), payload, received = row.received, "bench row done");
            rows.push(row);
        }
    }
    Ok(BenchReport { cycle_ns: opts.cycle_ns, rows })
}

/// A row that did not run (nothing sent: `frames` is 0).
fn skipped(mode: TxMode, payload: usize, why: &str) -> BenchRow {
    BenchRow {
        mode,
        payload,
        frames: 0,
        received: 0,
        percentiles_ns: None,
        min_ns: None,
        jitter_ns: None,
        note: Some(why.to_string()),
    }
}

fn run_row(opts: &BenchOptions, mode: TxMode, payload: usize) -> Result<BenchRow, DatapathError> {
    let shim = match mode {
        TxMode::AgentAfPacket | TxMode::AgentDpdk => match find_shim(opts.shim_path.as_deref()) {
            Some(p) => Some(p),
            None => return Ok(skipped(mode, payload, "libktsn.so not found (build ktsn-shim or set KTSN_SHIM)")),
        },
        _ => None,
    };
    if mode == TxMode::AgentDpdk {
        #[cfg(feature = "dpdk")]
        crate::dpdk::eal_init()?; // seconds, once: not inside the timed part of the row
        #[cfg(not(feature = "dpdk"))]
        return Ok(skipped(mode, payload, NOT_BUILT_DPDK));
    }
    let p = netns::unique_prefix();
    let (na, nb) = (format!("{p}a"), format!("{p}b"));
    let ns = Netns::create(&[na.clone(), nb.clone()])?;
    let (a, b) = ns.veth((&na, &format!("{p}a0")), (&nb, &format!("{p}b0")), [10, 212, 1])?;
    let b_if = b.ifname.clone();
    let (b_mac, _) =
        in_netns(&nb, move || sys::if_addresses(&b_if).map_err(|e| DatapathError::Io("veth MAC".into(), e)))?;
    ns.neighbour(&na, &a.ifname, b.ip, b_mac)?;

    // Listener first.
    let expected = opts.frames;
    let cycle = opts.cycle_ns;
    // Room for the Python talker to start (slow on a busy machine) before the first frame.
    let start = Clock::Tai.now_ns() + 1_500_000_000;
    let start = start - start % cycle + cycle; // cycle-aligned
    let deadline_ns = start + cycle * expected as u64 + 3_000_000_000;
    let stop = Arc::new(AtomicBool::new(false));
    let b_if = b.ifname.clone();
    let ready = Arc::new(AtomicBool::new(false));
    let ready2 = ready.clone();
    let stop2 = stop.clone();
    let listener = spawn_in_netns(&nb, move || listen(&b_if, expected, start, cycle, deadline_ns, &ready2, &stop2))?;
    while !ready.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(5));
    }

    let talk = match mode {
        TxMode::KernelSleep | TxMode::KernelTxtime => {
            let (dst, n, lead) = (b.ip, expected, opts.lead_ns);
            in_netns(&na, move || kernel_talker(mode, dst, n, start, cycle, lead, payload)).map(|()| None)
        }
        TxMode::AgentAfPacket | TxMode::AgentDpdk => {
            agent_talker(opts, mode, shim.as_deref().unwrap_or(Path::new("")), &a, &b, b_mac, start, payload)
        }
    };
    if talk.is_err() {
        stop.store(true, Ordering::Release);
    }
    let latencies = listener.join().map_err(|_| DatapathError::Setup("listener panicked".into()))??;
    let note = talk?.map(|c: crate::CounterSnapshot| {
        format!(
            "agent: {} sent, {} late (not sent: beyond the {} µs tolerance; {} of them handed over late), {} dropped",
            c.sent,
            c.late,
            crate::EngineConfig::default().late_tolerance_ns / 1000,
            c.late_on_arrival,
            c.dropped()
        )
    });
    let summary = summarize(&latencies);
    Ok(BenchRow {
        mode,
        payload,
        frames: expected,
        received: latencies.len(),
        percentiles_ns: summary.map(|s| s.0),
        min_ns: summary.map(|s| s.1),
        jitter_ns: summary.map(|s| s.2),
        note,
    })
}

/// Receives bench frames until `expected` arrived or the deadline; returns latencies in
/// sequence order.
fn listen(
    ifname: &str,
    expected: usize,
    start: u64,
    cycle: u64,
    deadline_tai: u64,
    ready: &AtomicBool,
    stop: &AtomicBool,
) -> Result<Vec<i64>, DatapathError> {
    let sock = PacketSocket::open(ifname).map_err(|e| DatapathError::Io("listener socket".into(), e))?;
    sock.enable_rx_metadata(16 << 20).map_err(|e| DatapathError::Io("listener options".into(), e))?;
    sock.set_read_timeout(Some(Duration::from_millis(100))).map_err(|e| DatapathError::Io("listener".into(), e))?;
    let rt_to_tai = Clock::tai_minus_realtime();
    ready.store(true, Ordering::Release);
    let mut got: Vec<Option<i64>> = vec![None; expected];
    let mut count = 0;
    let mut buf = vec![0u8; 4096];
    while count < expected && Clock::Tai.now_ns() < deadline_tai && !stop.load(Ordering::Acquire) {
        let Some(rx) = sock.recv(&mut buf).map_err(|e| DatapathError::Io("listener recv".into(), e))? else { continue };
        let bytes = crate::bridge::reinsert_tag(rx.bytes, rx.vlan_tci);
        let Ok(f) = frame::parse_udp_frame_with(&bytes, !rx.checksum_pending) else { continue };
        if f.dst_port != BENCH_PORT || f.payload.len() < 8 || rx.timestamp_ns == 0 {
            continue;
        }
        let k = u64::from_le_bytes(f.payload[..8].try_into().unwrap_or([0xff; 8])) as usize;
        if k < expected && got[k].is_none() {
            let rx_tai = crate::time::shift(rx.timestamp_ns, rt_to_tai);
            got[k] = Some(rx_tai as i64 - (start + k as u64 * cycle) as i64);
            count += 1;
        }
    }
    Ok(got.into_iter().flatten().collect())
}

fn kernel_talker(
    mode: TxMode,
    dst: Ipv4Addr,
    n: usize,
    start: u64,
    cycle: u64,
    lead: u64,
    payload: usize,
) -> Result<(), DatapathError> {
    let sock = UdpSocket::bind("0.0.0.0:0").map_err(|e| DatapathError::Io("talker socket".into(), e))?;
    sock.connect((dst, BENCH_PORT)).map_err(|e| DatapathError::Io("talker connect".into(), e))?;
    if mode == TxMode::KernelTxtime {
        sys::enable_txtime(sock.as_raw_fd(), libc::CLOCK_TAI).map_err(|e| DatapathError::Io("SO_TXTIME".into(), e))?;
    }
    let mut buf = vec![0u8; payload];
    for k in 0..n {
        let t = start + k as u64 * cycle;
        buf[..8].copy_from_slice(&(k as u64).to_le_bytes());
        match mode {
            TxMode::KernelTxtime => {
                sys::sleep_until(libc::CLOCK_TAI, t - lead);
                let _ = sys::send_with_txtime(sock.as_raw_fd(), &buf, t);
            }
            _ => {
                sys::sleep_until(libc::CLOCK_TAI, t);
                let _ = sock.send(&buf);
            }
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn agent_talker(
    opts: &BenchOptions,
    mode: TxMode,
    shim: &Path,
    a: &netns::End,
    b: &netns::End,
    b_mac: [u8; 6],
    start: u64,
    payload: usize,
) -> Result<Option<crate::CounterSnapshot>, DatapathError> {
    let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
    let config = EngineConfig {
        realtime_priority: opts.realtime.then_some(50),
        cpu: opts.realtime.then_some(ncpu - 1),
        ..EngineConfig::default()
    };
    let engine = EngineHandle::start(config)?;
    let a_if = a.ifname.clone();
    let (backend, mac, ipv4): (Box<dyn crate::TxBackend>, _, _) = match mode {
        TxMode::AgentDpdk => dpdk_backend(&a.netns, &a.ifname)?,
        _ => in_netns(&a.netns, move || {
            let (mac, ipv4) = sys::if_addresses(&a_if).map_err(|e| DatapathError::Io("port addresses".into(), e))?;
            Ok((Box::new(AfPacketTx::open(&a_if)?) as Box<dyn crate::TxBackend>, mac, ipv4))
        })?,
    };
    let port = a.ifname.clone();
    engine.add_port(
        PortSpec { name: port.clone(), mac, ipv4, rate_bps: 1_000_000_000, gcl: None, tx_guard_ns: 0 },
        backend,
    )?;
    engine.apply(DatapathSchedule {
        generation: 1,
        ports: vec![PortSchedule { name: port.clone(), rate_bps: 0, gcl: None }],
        streams: vec![StreamSpec {
            id: "bench".into(),
            dst_ip: b.ip,
            dst_port: BENCH_PORT,
            src_port: None,
            port,
            pcp: 6,
            vlan_id: 0,
            dst_mac: Some(b_mac),
            period_ns: opts.cycle_ns,
            offset_ns: 0,
            max_frame_size: payload as u32,
        }],
    })?;
    let dir = std::env::temp_dir().join(format!("ktsn-bench-{}", netns::unique_prefix()));
    std::fs::create_dir_all(&dir).map_err(|e| DatapathError::Io("bench dir".into(), e))?;
    let sock_path = dir.join("agent.sock");
    let script = dir.join("talker.py");
    std::fs::write(&script, PY_TXTIME_TALKER).map_err(|e| DatapathError::Io("talker script".into(), e))?;
    let server = ShimServer::start(&engine, &sock_path, 1024)?;
    let out = Command::new("ip")
        .args(["netns", "exec", &a.netns])
        .arg("env")
        .arg(format!("LD_PRELOAD={}", shim.display()))
        .arg(format!("KTSN_AGENT_SOCKET={}", sock_path.display()))
        .arg(&opts.python)
        .arg(&script)
        .args([
            b.ip.to_string(),
            BENCH_PORT.to_string(),
            opts.frames.to_string(),
            opts.cycle_ns.to_string(),
            start.to_string(),
            opts.lead_ns.to_string(),
            payload.to_string(),
            "6".to_string(),
        ])
        .output()
        .map_err(|e| DatapathError::Io("running the Python talker".into(), e))?;
    let counters = engine.wait_idle(Duration::from_secs(5));
    drop(server);
    engine.stop();
    let _ = std::fs::remove_dir_all(&dir);
    if !out.status.success() {
        return Err(DatapathError::Setup(format!("talker failed: {}", String::from_utf8_lossy(&out.stderr).trim())));
    }
    tracing::info!(
        sent = counters.total.sent,
        late = counters.total.late,
        dropped = counters.total.dropped(),
        "agent row counters"
    );
    Ok(Some(counters.total))
}

/// A port's backend with the interface's addresses.
type PortBackend = (Box<dyn crate::TxBackend>, [u8; 6], Option<(Ipv4Addr, u8)>);

#[cfg(feature = "dpdk")]
fn dpdk_backend(netns: &str, ifname: &str) -> Result<PortBackend, DatapathError> {
    let ifn = ifname.to_string();
    in_netns(netns, move || {
        let (mac, ipv4) = sys::if_addresses(&ifn).map_err(|e| DatapathError::Io("port addresses".into(), e))?;
        let tx = crate::dpdk::DpdkTx::open_af_packet(&ifn)?;
        Ok((Box::new(tx) as Box<dyn crate::TxBackend>, mac, ipv4))
    })
}

#[cfg(not(feature = "dpdk"))]
fn dpdk_backend(_: &str, _: &str) -> Result<PortBackend, DatapathError> {
    Err(DatapathError::Dpdk("built without the `dpdk` feature".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_statistics() {
        let lat: Vec<i64> = (1..=1000).collect();
        let (p, min, jitter) = summarize(&lat).unwrap();
        assert_eq!(p, [500, 900, 990, 999, 1000]);
        assert_eq!(min, 1);
        assert_eq!(jitter, 1);
        assert!(summarize(&[]).is_none());
        let (p, _, j) = summarize(&[-5, 5]).unwrap();
        assert_eq!(p[0], -5);
        assert_eq!(j, 10);
    }
}
