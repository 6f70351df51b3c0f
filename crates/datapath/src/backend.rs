//! Transmit backends: where a released frame goes.
//!
//! [`AfPacketTx`] (the default) writes complete frames to an AF_PACKET socket bound to the
//! port, the cheapest send path on Linux short of kernel bypass. [`RecordingTx`] keeps the
//! frames with their release times in memory for unit tests and `--dry-run`. The DPDK
//! backend lives in [`crate::dpdk`] behind the `dpdk` feature.

use std::sync::{Arc, Mutex};

use crate::sys::PacketSocket;
use crate::time::Clock;
use crate::DatapathError;

/// Sends complete Ethernet frames (without FCS) out of one port.
pub trait TxBackend: Send + std::fmt::Debug {
    /// Sends one frame now.
    fn send(&mut self, frame: &[u8]) -> Result<(), DatapathError>;
    /// A short name for logs ("af_packet", "dpdk", "recording").
    fn kind(&self) -> &'static str;
}

/// AF_PACKET transmit on one interface.
#[derive(Debug)]
pub struct AfPacketTx {
    socket: PacketSocket,
    ifname: String,
}

impl AfPacketTx {
    /// Opens the backend on `ifname` in the calling thread's network namespace.
    pub fn open(ifname: &str) -> Result<AfPacketTx, DatapathError> {
        let socket =
            PacketSocket::open(ifname).map_err(|e| DatapathError::Io(format!("AF_PACKET socket on {ifname}"), e))?;
        Ok(AfPacketTx { socket, ifname: ifname.to_string() })
    }
}

impl TxBackend for AfPacketTx {
    fn send(&mut self, frame: &[u8]) -> Result<(), DatapathError> {
        self.socket.send(frame).map_err(|e| DatapathError::Io(format!("AF_PACKET send on {}", self.ifname), e))
    }

    fn kind(&self) -> &'static str {
        "af_packet"
    }
}

/// A frame a [`RecordingTx`] has "sent".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedFrame {
    /// The frame bytes.
    pub bytes: Vec<u8>,
    /// Engine clock reading just before the send.
    pub sent_at_ns: u64,
}

/// Records frames in memory instead of sending them.
#[derive(Debug, Clone)]
pub struct RecordingTx {
    frames: Arc<Mutex<Vec<RecordedFrame>>>,
    clock: Clock,
    limit: usize,
}

impl RecordingTx {
    /// A recorder keeping at most `limit` frames (older ones are kept, newer ones counted
    /// as sent but not stored), stamped with `clock`.
    pub fn new(clock: Clock, limit: usize) -> RecordingTx {
        RecordingTx { frames: Arc::default(), clock, limit }
    }

    /// The frames recorded so far.
    pub fn frames(&self) -> Vec<RecordedFrame> {
        self.frames.lock().map(|f| f.clone()).unwrap_or_default()
    }
}

impl TxBackend for RecordingTx {
    fn send(&mut self, frame: &[u8]) -> Result<(), DatapathError> {
        let now = self.clock.now_ns();
        if let Ok(mut f) = self.frames.lock() {
            if f.len() < self.limit {
                f.push(RecordedFrame { bytes: frame.to_vec(), sent_at_ns: now });
            }
        }
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "recording"
    }
}
