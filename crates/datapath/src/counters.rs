//! Frame counters: every frame the engine accepts ends in exactly one of *sent*, *late* or
//! *dropped* (by reason), so `sent + late + dropped = submitted` once the queues are empty.
//!
//! Only the engine thread writes; readers take [`CounterSnapshot`]s at any time.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::gcl::CLASSES;

/// Live counters of one traffic class of one port (or of the engine's unroutable bucket).
#[derive(Debug, Default)]
pub struct ClassCounters {
    submitted: AtomicU64,
    sent: AtomicU64,
    late: AtomicU64,
    late_on_arrival: AtomicU64,
    dropped_gate_closed: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_no_route: AtomicU64,
    dropped_tx_error: AtomicU64,
    held: AtomicU64,
    gate_overruns: AtomicU64,
    max_lateness_ns: AtomicU64,
}

/// The outcome counted for a frame (see [`ClassCounters::count`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted into a queue.
    Submitted,
    /// Released on the wire.
    Sent,
    /// Missed its transmit time by more than the tolerance; not sent.
    Late,
    /// Of the late ones: already late when the engine received it (the application handed
    /// it over too late; informational, also counted as `Late`).
    LateOnArrival,
    /// Its class's window could not hold it and the policy drops.
    DroppedGateClosed,
    /// Its queue was full.
    DroppedQueueFull,
    /// No egress port or destination MAC for it.
    DroppedNoRoute,
    /// The TX backend refused it.
    DroppedTxError,
    /// Moved to a later window (informational; it still ends in one of the above).
    Held,
    /// Sent, but the send call returned after its window closed (a stall of the host
    /// during the send; informational, the frame is also counted as sent).
    GateOverrun,
}

impl ClassCounters {
    /// Adds one frame with `outcome`.
    pub fn count(&self, outcome: Outcome) {
        let c = match outcome {
            Outcome::Submitted => &self.submitted,
            Outcome::Sent => &self.sent,
            Outcome::Late => &self.late,
            Outcome::LateOnArrival => &self.late_on_arrival,
            Outcome::DroppedGateClosed => &self.dropped_gate_closed,
            Outcome::DroppedQueueFull => &self.dropped_queue_full,
            Outcome::DroppedNoRoute => &self.dropped_no_route,
            Outcome::DroppedTxError => &self.dropped_tx_error,
            Outcome::Held => &self.held,
            Outcome::GateOverrun => &self.gate_overruns,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Records how late a sent frame left (for the max).
    pub fn record_lateness(&self, ns: u64) {
        self.max_lateness_ns.fetch_max(ns, Ordering::Relaxed);
    }

    /// A consistent-enough copy (each field read once).
    pub fn snapshot(&self) -> CounterSnapshot {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CounterSnapshot {
            submitted: l(&self.submitted),
            sent: l(&self.sent),
            late: l(&self.late),
            late_on_arrival: l(&self.late_on_arrival),
            dropped_gate_closed: l(&self.dropped_gate_closed),
            dropped_queue_full: l(&self.dropped_queue_full),
            dropped_no_route: l(&self.dropped_no_route),
            dropped_tx_error: l(&self.dropped_tx_error),
            held: l(&self.held),
            gate_overruns: l(&self.gate_overruns),
            max_lateness_ns: l(&self.max_lateness_ns),
        }
    }
}

/// A copy of counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    /// Frames accepted.
    pub submitted: u64,
    /// Frames sent.
    pub sent: u64,
    /// Frames not sent because they were late.
    pub late: u64,
    /// Of `late`: late already when they reached the engine.
    pub late_on_arrival: u64,
    /// Dropped: no window of the class could take them (drop policy).
    pub dropped_gate_closed: u64,
    /// Dropped: queue full.
    pub dropped_queue_full: u64,
    /// Dropped: no route or neighbour.
    pub dropped_no_route: u64,
    /// Dropped: the backend failed.
    pub dropped_tx_error: u64,
    /// Times a frame was moved to a later window (hold policy).
    pub held: u64,
    /// Sent frames whose send call ended after the window closed.
    pub gate_overruns: u64,
    /// Largest release lateness of a sent frame, ns.
    pub max_lateness_ns: u64,
}

impl CounterSnapshot {
    /// All drops.
    pub fn dropped(&self) -> u64 {
        self.dropped_gate_closed + self.dropped_queue_full + self.dropped_no_route + self.dropped_tx_error
    }

    /// Frames that reached an end state.
    pub fn accounted(&self) -> u64 {
        self.sent + self.late + self.dropped()
    }

    /// Adds `other` into `self` (max for the maximum).
    pub fn add(&mut self, other: &CounterSnapshot) {
        self.submitted += other.submitted;
        self.sent += other.sent;
        self.late += other.late;
        self.late_on_arrival += other.late_on_arrival;
        self.dropped_gate_closed += other.dropped_gate_closed;
        self.dropped_queue_full += other.dropped_queue_full;
        self.dropped_no_route += other.dropped_no_route;
        self.dropped_tx_error += other.dropped_tx_error;
        self.held += other.held;
        self.gate_overruns += other.gate_overruns;
        self.max_lateness_ns = self.max_lateness_ns.max(other.max_lateness_ns);
    }
}

/// The counters of one egress port, per traffic class.
#[derive(Debug, Default)]
pub struct PortCounters {
    /// Indexed by traffic class.
    pub classes: [ClassCounters; CLASSES],
}

impl PortCounters {
    /// Per-class snapshots.
    pub fn snapshot(&self) -> [CounterSnapshot; CLASSES] {
        std::array::from_fn(|tc| self.classes[tc].snapshot())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounting_adds_up() {
        let c = ClassCounters::default();
        for o in [Outcome::Submitted, Outcome::Submitted, Outcome::Submitted, Outcome::Sent, Outcome::Late] {
            c.count(o);
        }
        c.count(Outcome::DroppedGateClosed);
        c.count(Outcome::Held);
        c.record_lateness(5);
        c.record_lateness(3);
        let s = c.snapshot();
        assert_eq!(s.accounted(), s.submitted);
        assert_eq!(s.held, 1);
        assert_eq!(s.max_lateness_ns, 5);
        let mut total = CounterSnapshot::default();
        total.add(&s);
        total.add(&s);
        assert_eq!(total.submitted, 6);
        assert_eq!(total.max_lateness_ns, 5);
    }
}
