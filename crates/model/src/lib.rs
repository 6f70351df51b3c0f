//! The vocabulary of tsn-cp.
//!
//! Every part of the control plane speaks these types: topology (nodes and *directed*
//! links), streams, routes, scheduling problems, schedules and gate control lists.
//! All times are integer nanoseconds (`u64`, names end in `_ns`), rates are bits per
//! second (`_bps`), sizes are bytes. There is no I/O here: parsers and wire formats live
//! in other crates and convert into these types at their edges.
//!
//! Conventions that every scheduler and the verifier rely on:
//!
//! * A full-duplex cable is two [`Link`]s; a link *is* the egress port of its `from` node.
//! * Frame sizes are 802.1Qcc `max-frame-size` (no Ethernet header, VLAN tag, FCS,
//!   preamble/SFD or inter-frame gap); [`SchedulingConfig::wire_overhead_bytes`] adds them.
//! * Per hop: `start(next) ≥ end(prev) + propagation(prev) + processing(next) + sync_error`.
//! * Latency of a frame = last bit received at the listener (end of the last hop plus its
//!   propagation) − start of transmission at the talker.
//! * Scheduled queue `q` of a port (0 = the first scheduled queue) is traffic class
//!   `7 − q` (see [`queue_traffic_class`]); gate masks have bit `tc` set when class `tc`
//!   is open.

mod error;
mod problem;
mod schedule;
mod topology;

pub use error::ModelError;
pub use problem::{
    hyperperiod_ns, Infeasibility, InfeasibilityReason, Problem, Route, SchedulingConfig, SolveStatus, Stream,
    StreamId, PROBLEM_FORMAT_VERSION,
};
pub use schedule::{
    GateControlEntry, GateControlList, Schedule, StreamSchedule, Transmission, SCHEDULE_FORMAT_VERSION,
};
pub use topology::{Link, LinkId, LinkPorts, Node, NodeId, NodeKind, Topology};

/// Number of traffic classes (and gates) of an 802.1Q port.
pub const TRAFFIC_CLASSES: u8 = 8;

/// Default Ethernet overhead on the wire for a VLAN-tagged frame, in bytes, on top of the
/// 802.1Qcc `max-frame-size`: header 14 + 802.1Q tag 4 + FCS 4 + preamble/SFD 8 + IFG 12.
pub const DEFAULT_WIRE_OVERHEAD_BYTES: u32 = 42;

/// Traffic class that carries scheduled queue `queue` of a port: queue 0 is class 7.
///
/// # Panics
/// Never for `queue < 8`; larger values saturate to class 0.
pub fn queue_traffic_class(queue: u8) -> u8 {
    (TRAFFIC_CLASSES - 1).saturating_sub(queue)
}

/// Transmission time in nanoseconds of `wire_bytes` at `rate_bps`, rounded up so that a
/// frame never overruns the interval reserved for it.
///
/// Returns `None` for a zero rate or an overflow.
pub fn transmission_time_ns(wire_bytes: u64, rate_bps: u64) -> Option<u64> {
    if rate_bps == 0 {
        return None;
    }
    let bits = u128::from(wire_bytes) * 8 * 1_000_000_000;
    let t = bits.div_ceil(u128::from(rate_bps));
    u64::try_from(t).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transmission_time_rounds_up() {
        // 1542 bytes at 1 Gbit/s: 12 336 ns exactly.
        assert_eq!(transmission_time_ns(1542, 1_000_000_000), Some(12_336));
        // 1 byte at 3 bit/s: 8/3 s, rounded up.
        assert_eq!(transmission_time_ns(1, 3), Some(2_666_666_667));
        assert_eq!(transmission_time_ns(1, 0), None);
        assert_eq!(transmission_time_ns(u64::MAX, 1), None);
    }

    #[test]
    fn queue_zero_is_the_highest_class() {
        assert_eq!(queue_traffic_class(0), 7);
        assert_eq!(queue_traffic_class(7), 0);
    }
}
