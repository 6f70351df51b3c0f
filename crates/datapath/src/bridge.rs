//! Bridge role: the engine forwards between ports with static entries from the CNC plus
//! learning, and every egress port applies its own GCL.
//!
//! [`BridgeConfig`] is what the NETCONF server (or a test) hands to
//! [`crate::EngineHandle::configure_bridge`]; [`spawn_rx`] starts the receive thread of one
//! member port.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tracing::warn;

use crate::engine::{BridgeRx, EngineHandle};
use crate::frame::ETHERTYPE_VLAN;
use crate::sys::{PacketSocket, PACKET_OUTGOING};
use crate::DatapathError;

/// A static forwarding entry (802.1Q static filtering entry, simplified to one port).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticEntry {
    /// Destination MAC.
    pub mac: [u8; 6],
    /// Egress port name.
    pub port: String,
}

/// The bridge configuration of this node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgeConfig {
    /// Member ports (interface names, each also an engine port).
    pub ports: Vec<String>,
    /// Static entries; they win over learnt ones.
    pub static_entries: Vec<StaticEntry>,
    /// Learn source addresses.
    pub learning: bool,
    /// Learnt entries expire after this long without traffic.
    pub aging_ns: u64,
    /// PCP of untagged frames.
    pub default_pcp: u8,
    /// Flood frames whose destination is unknown (or a group address without a static
    /// entry) to every other member port. Off for bridges in a network with loops and no
    /// spanning tree (a ring whose forwarding the CNC or the operator configures): an
    /// unknown destination is then dropped instead of circulating for ever.
    pub flood_unknown: bool,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            ports: Vec::new(),
            static_entries: Vec::new(),
            learning: true,
            aging_ns: 300_000_000_000,
            default_pcp: 0,
            flood_unknown: true,
        }
    }
}

/// Whether `mac` is one of the IEEE 802.1Q reserved addresses `01-80-C2-00-00-00` to
/// `-0F` (LLDP, PAUSE, STP, …), which a bridge consumes and never forwards (802.1Q
/// Table 8-1): relayed LLDP would make a bridge's neighbours' neighbours look adjacent.
pub fn is_reserved_group(mac: &[u8; 6]) -> bool {
    mac[..5] == [0x01, 0x80, 0xc2, 0x00, 0x00] && mac[5] <= 0x0f
}

/// Where a frame goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardTo {
    /// One port (index into the member list).
    Port(usize),
    /// Every member port except the ingress one.
    Flood,
}

/// The filtering database: static entries plus learnt ones with ageing.
#[derive(Clone, Debug, Default)]
pub struct Fdb {
    statics: HashMap<[u8; 6], usize>,
    learnt: HashMap<[u8; 6], (usize, u64)>,
    aging_ns: u64,
}

impl Fdb {
    /// The database for `config` (static entries naming non-member ports are ignored).
    pub fn new(config: &BridgeConfig) -> Fdb {
        let mut statics = HashMap::new();
        for e in &config.static_entries {
            match config.ports.iter().position(|p| *p == e.port) {
                Some(i) => {
                    statics.insert(e.mac, i);
                }
                None => warn!(port = %e.port, "bridge: static entry for a port that is not a member"),
            }
        }
        Fdb { statics, learnt: HashMap::new(), aging_ns: config.aging_ns }
    }

    /// Learns that `mac` is behind `port` at time `now_ns` (group addresses are not learnt).
    pub fn learn(&mut self, mac: [u8; 6], port: usize, now_ns: u64) {
        if mac[0] & 1 == 0 && !self.statics.contains_key(&mac) {
            self.learnt.insert(mac, (port, now_ns));
        }
    }

    /// Where a frame to `mac` goes at `now_ns`.
    pub fn lookup(&self, mac: &[u8; 6], now_ns: u64) -> ForwardTo {
        if let Some(&p) = self.statics.get(mac) {
            return ForwardTo::Port(p);
        }
        match self.learnt.get(mac) {
            Some(&(p, seen)) if now_ns.saturating_sub(seen) <= self.aging_ns => ForwardTo::Port(p),
            _ => ForwardTo::Flood,
        }
    }

    /// Number of learnt entries (including expired ones not yet overwritten).
    pub fn learnt_len(&self) -> usize {
        self.learnt.len()
    }
}

/// The receive thread of one bridge port; stops when dropped.
#[derive(Debug)]
pub struct BridgeRxThread {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for BridgeRxThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Opens the receive socket of bridge port `ifname` in the calling thread's namespace
/// (timestamps, VLAN auxiliary data, a 4 MiB buffer, a short read timeout).
pub fn open_rx_socket(ifname: &str) -> Result<PacketSocket, DatapathError> {
    let sock = PacketSocket::open(ifname).map_err(|e| DatapathError::Io(format!("bridge RX socket on {ifname}"), e))?;
    sock.enable_rx_metadata(4 << 20).map_err(|e| DatapathError::Io(format!("bridge RX options on {ifname}"), e))?;
    sock.set_read_timeout(Some(Duration::from_millis(50)))
        .map_err(|e| DatapathError::Io(format!("bridge RX timeout on {ifname}"), e))?;
    Ok(sock)
}

/// Feeds every frame `sock` (from [`open_rx_socket`]) receives on bridge port `ifname` —
/// not the ones this host sends — to the engine's bridge. A tag the kernel moved into the
/// auxiliary data is put back into the frame.
pub fn spawn_rx(engine: &EngineHandle, ifname: &str, sock: PacketSocket) -> Result<BridgeRxThread, DatapathError> {
    spawn_rx_with_priority(engine, ifname, sock, None)
}

/// [`spawn_rx`] with the receive thread running `SCHED_FIFO` at `realtime_priority`: on a
/// loaded host a normal thread can wait milliseconds for a CPU after a frame arrives, and
/// that delay is part of the bridge's forwarding delay.
pub fn spawn_rx_with_priority(
    engine: &EngineHandle,
    ifname: &str,
    sock: PacketSocket,
    realtime_priority: Option<i32>,
) -> Result<BridgeRxThread, DatapathError> {
    let stop = Arc::new(AtomicBool::new(false));
    let tx = engine.sender();
    let name = ifname.to_string();
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name(format!("bridge-rx-{ifname}"))
        .spawn(move || {
            if let Some(prio) = realtime_priority {
                if let Err(e) = crate::sys::set_fifo(prio) {
                    warn!(port = %name, priority = prio, error = %e, "bridge: cannot run the receive thread SCHED_FIFO");
                }
            }
            let mut buf = vec![0u8; 16 * 1024];
            while !flag.load(Ordering::Acquire) {
                match sock.recv(&mut buf) {
                    Ok(Some(f)) if f.pkt_type != PACKET_OUTGOING => {
                        let bytes = reinsert_tag(f.bytes, f.vlan_tci);
                        if !tx.bridge_rx(BridgeRx { ingress: name.clone(), bytes }) {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        warn!(port = %name, error = %e, "bridge: receive failed");
                        std::thread::sleep(Duration::from_millis(10));
                    }
                }
            }
        })
        .map_err(|e| DatapathError::Io("spawning a bridge RX thread".into(), e))?;
    Ok(BridgeRxThread { stop, thread: Some(thread) })
}

/// Puts an 802.1Q tag from auxiliary data back behind the MAC addresses.
pub fn reinsert_tag(mut bytes: Vec<u8>, tci: Option<u16>) -> Vec<u8> {
    let Some(tci) = tci else { return bytes };
    if bytes.len() < 12 || (bytes.len() >= 14 && u16::from_be_bytes([bytes[12], bytes[13]]) == ETHERTYPE_VLAN) {
        return bytes;
    }
    let mut tag = ETHERTYPE_VLAN.to_be_bytes().to_vec();
    tag.extend_from_slice(&tci.to_be_bytes());
    bytes.splice(12..12, tag);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: [u8; 6] = [2, 0, 0, 0, 0, 0xa];
    const B: [u8; 6] = [2, 0, 0, 0, 0, 0xb];
    const S: [u8; 6] = [2, 0, 0, 0, 0, 0x5];

    fn config() -> BridgeConfig {
        BridgeConfig {
            ports: vec!["p0".into(), "p1".into(), "p2".into()],
            static_entries: vec![
                StaticEntry { mac: S, port: "p2".into() },
                StaticEntry { mac: A, port: "nope".into() },
            ],
            learning: true,
            aging_ns: 1000,
            default_pcp: 0,
            flood_unknown: true,
        }
    }

    #[test]
    fn learning_static_entries_and_ageing() {
        let mut fdb = Fdb::new(&config());
        assert_eq!(fdb.lookup(&A, 0), ForwardTo::Flood);
        assert_eq!(fdb.lookup(&S, 0), ForwardTo::Port(2));
        fdb.learn(A, 0, 10);
        fdb.learn(B, 1, 10);
        fdb.learn(S, 0, 10); // static wins, never overwritten
        fdb.learn([0xff; 6], 1, 10); // group address never learnt
        assert_eq!(fdb.lookup(&A, 500), ForwardTo::Port(0));
        assert_eq!(fdb.lookup(&B, 1010), ForwardTo::Port(1));
        assert_eq!(fdb.lookup(&B, 1011), ForwardTo::Flood);
        assert_eq!(fdb.lookup(&S, 5000), ForwardTo::Port(2));
        assert_eq!(fdb.lookup(&[0xff; 6], 0), ForwardTo::Flood);
        assert_eq!(fdb.learnt_len(), 2);
        // A station that moves is relearnt on its new port.
        fdb.learn(A, 2, 20);
        assert_eq!(fdb.lookup(&A, 21), ForwardTo::Port(2));
    }

    #[test]
    fn reserved_group_addresses() {
        assert!(is_reserved_group(&[0x01, 0x80, 0xc2, 0, 0, 0x0e])); // LLDP
        assert!(is_reserved_group(&[0x01, 0x80, 0xc2, 0, 0, 0x00])); // STP
        assert!(!is_reserved_group(&[0x01, 0x80, 0xc2, 0, 0, 0x10]));
        assert!(!is_reserved_group(&[0x01, 0x00, 0x5e, 0, 0, 0x0e]));
    }

    #[test]
    fn tags_are_reinserted_once() {
        let f = vec![1u8; 20];
        let t = reinsert_tag(f.clone(), Some(0xa00a));
        assert_eq!(t.len(), 24);
        assert_eq!(&t[12..16], &[0x81, 0x00, 0xa0, 0x0a]);
        assert_eq!(reinsert_tag(t.clone(), Some(1)), t);
        assert_eq!(reinsert_tag(f.clone(), None), f);
    }
}
