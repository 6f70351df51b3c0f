//! tsn-datapath: the KTSNd-style enforcing datapath of the node agent.
//!
//! * [`gcl`] — 802.1Qbv gate logic as pure functions ("may this frame start now?", "when
//!   next?").
//! * [`frame`] — Ethernet/802.1Q/IPv4/UDP frames with valid checksums, and their parser.
//! * [`engine`] — one polling thread per node: per-port, per-class queues; frames released
//!   at their transmit time, never early, only inside their class's window; counters.
//! * [`backend`] — TX backends: AF_PACKET (default), in-memory recording; DPDK behind the
//!   `dpdk` feature ([`dpdk`]).
//! * [`shm`] + [`agent_socket`] — the shared-memory rings and the unix-socket negotiation
//!   between `libktsn.so` and the agent.
//! * [`bridge`] — forwarding between ports (static entries, learning) through the same
//!   engine.
//! * [`bench`] — the datapath benchmark (`tsnctl bench datapath`).
//! * [`netns`] — throwaway namespaces and veth pairs for tests and the benchmark.

pub mod agent_socket;
pub mod backend;
pub mod bench;
pub mod bridge;
pub mod counters;
// FFI to the C wrapper of DPDK's inline fast path: unsafe allowed here only.
#[cfg(feature = "dpdk")]
#[allow(unsafe_code)]
pub mod dpdk;
pub mod engine;
pub mod frame;
pub mod gcl;
pub mod neigh;
pub mod netns;
// Shared memory with another process is reached through raw pointers: unsafe is allowed in
// this module (and `sys`) only, each block with its SAFETY argument.
#[allow(unsafe_code)]
pub mod shm;
// Direct libc calls (clocks, AF_PACKET, memfd/mmap, SCM_RIGHTS, setns): see the module doc.
#[allow(unsafe_code)]
pub mod sys;
pub mod time;

pub use agent_socket::{AgentClient, ShimServer, DEFAULT_SOCKET_PATH, SOCKET_ENV};
pub use backend::{AfPacketTx, RecordingTx, TxBackend};
pub use bench::{run_bench, BenchOptions, BenchReport, BenchRow, TxMode};
pub use bridge::{BridgeConfig, StaticEntry};
pub use counters::CounterSnapshot;
pub use engine::{
    Datagram, DatapathSchedule, EngineConfig, EngineCounters, EngineHandle, GatePolicy, PortSchedule, PortSpec,
    StreamSpec,
};
pub use gcl::{GateEntry, Gcl};
pub use time::Clock;

/// Errors of the datapath.
#[derive(Debug, thiserror::Error)]
pub enum DatapathError {
    /// A system call failed (with what we were doing).
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    /// A gate control list is not valid.
    #[error("invalid gate control list: {0}")]
    InvalidGcl(String),
    /// A configuration or schedule is not valid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The shared-memory protocol failed.
    #[error(transparent)]
    Shm(#[from] shm::ShmError),
    /// The engine thread is gone.
    #[error("the datapath engine has stopped")]
    Stopped,
    /// Test or benchmark environment set-up failed (namespaces, helper processes).
    #[error("set-up: {0}")]
    Setup(String),
    /// The DPDK backend failed.
    #[error("DPDK: {0}")]
    Dpdk(String),
}
