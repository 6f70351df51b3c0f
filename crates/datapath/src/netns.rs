//! Throwaway network namespaces joined by veth pairs, for the integration tests and the
//! datapath benchmark (needs root and `ip`). Everything is deleted on drop.

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::bridge::reinsert_tag;
use crate::frame::{parse_udp_frame_with, ParsedUdpFrame};
use crate::sys::{PacketSocket, PACKET_OUTGOING};
use crate::{Clock, DatapathError};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A unique short prefix for names of this process (`kt<pid><n>`), ≤ 11 characters so that
/// interface names built from it stay within the kernel's 15.
pub fn unique_prefix() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("kt{}{}", std::process::id() % 1_000_000, n % 100)
}

fn ip(args: &[&str]) -> Result<(), DatapathError> {
    let out = Command::new("ip").args(args).output().map_err(|e| DatapathError::Io("running ip".into(), e))?;
    if !out.status.success() {
        return Err(DatapathError::Setup(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// One end of a [`Link`]: namespace, interface, address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct End {
    /// Namespace name (under `/var/run/netns`).
    pub netns: String,
    /// Interface name inside it.
    pub ifname: String,
    /// IPv4 address (/24).
    pub ip: Ipv4Addr,
}

/// Namespaces wired with veth pairs; deleted on drop.
#[derive(Debug)]
pub struct Netns {
    names: Vec<String>,
}

impl Netns {
    /// Creates namespaces `names` (loopback up).
    pub fn create(names: &[String]) -> Result<Netns, DatapathError> {
        let mut ns = Netns { names: Vec::new() };
        for n in names {
            let _ = ip(&["netns", "del", n]);
            ip(&["netns", "add", n])?;
            ns.names.push(n.clone());
            ip(&["-n", n, "link", "set", "lo", "up"])?;
        }
        Ok(ns)
    }

    /// Wires `a` and `b` (two of this set's namespaces) with a veth pair named
    /// `<a_if>`/`<b_if>`, addresses `subnet.1/24` and `subnet.2/24`, both up.
    pub fn veth(&self, a: (&str, &str), b: (&str, &str), subnet: [u8; 3]) -> Result<(End, End), DatapathError> {
        let (a_ns, a_if) = a;
        let (b_ns, b_if) = b;
        ip(&["-n", a_ns, "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", b_ns])?;
        let a_ip = Ipv4Addr::new(subnet[0], subnet[1], subnet[2], 1);
        let b_ip = Ipv4Addr::new(subnet[0], subnet[1], subnet[2], 2);
        for (ns, ifn, addr) in [(a_ns, a_if, a_ip), (b_ns, b_if, b_ip)] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", ifn])?;
            ip(&["-n", ns, "link", "set", ifn, "up"])?;
        }
        Ok((
            End { netns: a_ns.into(), ifname: a_if.into(), ip: a_ip },
            End { netns: b_ns.into(), ifname: b_if.into(), ip: b_ip },
        ))
    }

    /// Adds a permanent neighbour entry `ip → mac` on `ifname` in `netns`.
    pub fn neighbour(&self, netns: &str, ifname: &str, ip_addr: Ipv4Addr, mac: [u8; 6]) -> Result<(), DatapathError> {
        ip(&[
            "-n",
            netns,
            "neigh",
            "replace",
            &ip_addr.to_string(),
            "lladdr",
            &crate::frame::format_mac(&mac),
            "dev",
            ifname,
            "nud",
            "permanent",
        ])
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = ip(&["netns", "del", n]);
        }
    }
}

/// Runs `f` on a new thread that has entered network namespace `netns`, and returns its
/// result (sockets it creates belong to that namespace for their whole life).
pub fn in_netns<T: Send + 'static>(
    netns: &str,
    f: impl FnOnce() -> Result<T, DatapathError> + Send + 'static,
) -> Result<T, DatapathError> {
    spawn_in_netns(netns, f)?.join().map_err(|_| DatapathError::Setup("namespace thread panicked".into()))?
}

/// Like [`in_netns`] but returns the thread handle at once.
pub fn spawn_in_netns<T: Send + 'static>(
    netns: &str,
    f: impl FnOnce() -> Result<T, DatapathError> + Send + 'static,
) -> Result<std::thread::JoinHandle<Result<T, DatapathError>>, DatapathError> {
    let name = netns.to_string();
    std::thread::Builder::new()
        .name(format!("ns-{netns}"))
        .spawn(move || {
            crate::sys::enter_netns(&name).map_err(|e| DatapathError::Io(format!("entering namespace {name}"), e))?;
            f()
        })
        .map_err(|e| DatapathError::Io("spawning a namespace thread".into(), e))
}

/// Whether this process may create namespaces (root with `ip` available).
pub fn available() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
        && Command::new("ip").arg("-V").output().is_ok_and(|o| o.status.success())
}

/// A received UDP frame with its kernel timestamp converted to CLOCK_TAI.
#[derive(Debug, Clone)]
pub struct Received {
    /// The parsed frame (tag restored).
    pub frame: ParsedUdpFrame,
    /// Kernel receive timestamp, CLOCK_TAI ns.
    pub rx_tai_ns: u64,
}

/// Captures UDP frames on `ifname` in `netns` (tags from auxdata put back) until stopped.
#[derive(Debug)]
pub struct Capture {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Result<Vec<Received>, DatapathError>>>,
}

impl Capture {
    /// Starts capturing frames to `filter_ports` on `ifname` in `netns`; returns once the
    /// socket is open.
    pub fn start(netns: &str, ifname: &str, filter_ports: Vec<u16>) -> Result<Capture, DatapathError> {
        let stop = Arc::new(AtomicBool::new(false));
        let ready = Arc::new(AtomicBool::new(false));
        let (s, r) = (stop.clone(), ready.clone());
        let ifname = ifname.to_string();
        let handle = spawn_in_netns(netns, move || {
            let sock = PacketSocket::open(&ifname).map_err(|e| DatapathError::Io("rx socket".into(), e))?;
            sock.enable_rx_metadata(32 << 20).map_err(|e| DatapathError::Io("rx options".into(), e))?;
            sock.set_read_timeout(Some(Duration::from_millis(20))).map_err(|e| DatapathError::Io("rx".into(), e))?;
            let off = Clock::tai_minus_realtime();
            r.store(true, Ordering::Release);
            let mut out = Vec::new();
            let mut buf = vec![0u8; 9000];
            let mut idle_after_stop = 0;
            loop {
                match sock.recv(&mut buf).map_err(|e| DatapathError::Io("recv".into(), e))? {
                    Some(rx) if rx.pkt_type != PACKET_OUTGOING => {
                        let bytes = reinsert_tag(rx.bytes, rx.vlan_tci);
                        if let Ok(frame) = parse_udp_frame_with(&bytes, !rx.checksum_pending) {
                            if filter_ports.contains(&frame.dst_port) {
                                let rx_tai_ns = crate::time::shift(rx.timestamp_ns, off);
                                out.push(Received { frame, rx_tai_ns });
                            }
                        }
                    }
                    Some(_) => {}
                    None => {
                        if s.load(Ordering::Acquire) {
                            idle_after_stop += 1;
                            if idle_after_stop > 5 {
                                return Ok(out);
                            }
                        }
                    }
                }
            }
        })?;
        while !ready.load(Ordering::Acquire) {
            if handle.is_finished() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(Capture { stop, handle: Some(handle) })
    }

    /// Stops after the wire has been quiet for ~100 ms and returns what arrived.
    pub fn finish(mut self) -> Result<Vec<Received>, DatapathError> {
        self.stop.store(true, Ordering::Release);
        match self.handle.take() {
            Some(h) => h.join().map_err(|_| DatapathError::Setup("capture thread panicked".into()))?,
            None => Ok(Vec::new()),
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
