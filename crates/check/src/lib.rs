//! The independent schedule verifier of tsn-cp.
//!
//! [`verify`] checks a [`Schedule`] against the [`Problem`] it answers and reports every
//! broken property as a [`Violation`]. It shares no code with the schedulers: it uses only
//! the plain data types of `tsn-model` and recomputes transmission times, arrivals,
//! latencies and gate states from first principles, in `u128` arithmetic.
//!
//! Properties, one module per group:
//!
//! * `route` — the stream set, routes (connected simple paths through bridges that
//!   form a tree), prescribed routes and admitted streams.
//! * `frames` — completeness of the transmissions, their durations, per-hop timing,
//!   the talker's release window, offsets and frame order, latency and jitter.
//! * `ports` — per link: no overlap modulo the hyperperiod, queue range, queue
//!   isolation between streams and FIFO order within a stream.
//! * `gcl` — gate control lists: one per port, entry limits, cycle, every
//!   transmission inside an open window of its class, no overlapping scheduled windows,
//!   guard bands after best-effort gates.
//!
//! The physical end of a transmission is taken as start + transmission time everywhere
//! (a wrong `end_ns` is reported once, as [`ViolationKind::Duration`], and does not
//! cascade). Transmissions that are duplicates, extra, or belong to an unknown or
//! duplicate stream are reported once and otherwise ignored; a stream whose route is not a
//! valid tree is reported and its frames are only checked at the ports.

use std::fmt;

use serde::Serialize;
use tsn_model::{Problem, Schedule};

mod frames;
mod gcl;
mod ports;
mod route;
mod violation;

pub use violation::{FrameRef, Occupancy, Violation, ViolationKind};

/// The verdict on a schedule: every violation found, in checking order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Every broken property; empty when the schedule is valid.
    pub violations: Vec<Violation>,
}

impl Report {
    /// Whether the schedule satisfies every property.
    pub fn is_ok(&self) -> bool {
        self.violations.is_empty()
    }

    /// The distinct kinds of violation found, sorted.
    pub fn kinds(&self) -> std::collections::BTreeSet<ViolationKind> {
        self.violations.iter().map(Violation::kind).collect()
    }
}

impl fmt::Display for Report {
    /// One line per violation, or `ok`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.violations.is_empty() {
            return f.write_str("ok");
        }
        for (i, v) in self.violations.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

/// Checks `schedule` against `problem` and reports every violated property.
pub fn verify(problem: &Problem, schedule: &Schedule) -> Report {
    let mut out = Vec::new();
    if let Err(e) = problem.validate() {
        out.push(Violation::ProblemInvalid { detail: e.to_string() });
        return Report { violations: out };
    }
    let Some(h) = lcm_u128(problem.streams.iter().map(|s| s.period_ns)) else {
        out.push(Violation::ProblemInvalid { detail: "the hyperperiod is not representable".into() });
        return Report { violations: out };
    };
    if u128::from(schedule.hyperperiod_ns) != h {
        out.push(Violation::HyperperiodMismatch { expected_ns: clamp(h), found_ns: schedule.hyperperiod_ns });
    }
    let net = Net::new(problem, h);
    let streams = route::check(&net, schedule, &mut out);
    let txs = frames::check(&net, &streams, &mut out);
    ports::check(&net, &txs, &mut out);
    if !schedule.gcls.is_empty() {
        gcl::check(&net, &schedule.gcls, &txs, &mut out);
    }
    Report { violations: out }
}

/// The problem indexed for look-ups, with the recomputed hyperperiod.
#[derive(Debug)]
pub(crate) struct Net<'a> {
    /// The problem.
    pub problem: &'a Problem,
    /// LCM of all periods.
    pub h: u128,
    /// Link id → index into `problem.topology.links`.
    pub link_index: std::collections::HashMap<tsn_model::LinkId, usize>,
}

impl<'a> Net<'a> {
    fn new(problem: &'a Problem, h: u128) -> Self {
        Net { problem, h, link_index: problem.topology.link_index() }
    }

    /// The link at index `i`.
    pub fn link(&self, i: usize) -> &'a tsn_model::Link {
        &self.problem.topology.links[i]
    }

    /// Transmission time of a frame of `max_frame_size` bytes (without overhead) on link
    /// `i`: ceil((size + overhead) · 8 · 10⁹ / rate).
    pub fn tx_ns(&self, max_frame_size: u32, i: usize) -> u128 {
        let bytes = u128::from(max_frame_size) + u128::from(self.problem.config.wire_overhead_bytes);
        let rate = u128::from(self.link(i).rate_bps).max(1);
        (bytes * 8 * 1_000_000_000).div_ceil(rate)
    }
}

/// Least common multiple in `u128`; `None` on zero or overflow.
fn lcm_u128(periods: impl IntoIterator<Item = u64>) -> Option<u128> {
    let mut h: u128 = 1;
    for p in periods {
        let p = u128::from(p);
        if p == 0 {
            return None;
        }
        let (mut a, mut b) = (h, p);
        while b != 0 {
            (a, b) = (b, a % b);
        }
        h = (h / a).checked_mul(p)?;
    }
    Some(h)
}

/// A `u128` time as `u64` for reporting, saturating.
pub(crate) fn clamp(t: u128) -> u64 {
    u64::try_from(t).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lcm_of_periods() {
        assert_eq!(lcm_u128([500_000, 1_000_000, 4_000_000]), Some(4_000_000));
        assert_eq!(lcm_u128([6, 4]), Some(12));
        assert_eq!(lcm_u128([0]), None);
        assert_eq!(lcm_u128([]), Some(1));
    }

    #[test]
    fn empty_report_displays_ok() {
        assert_eq!(Report::default().to_string(), "ok");
        assert!(Report::default().is_ok());
    }
}
