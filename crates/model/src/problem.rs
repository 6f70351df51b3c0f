use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{LinkId, ModelError, NodeId, NodeKind, StreamSchedule, Topology};

/// Version of the JSON problem format written by this crate's serde derives.
pub const PROBLEM_FORMAT_VERSION: u32 = 1;

/// Stream identifier, unique in a problem (802.1Qcc `stream-id` or any name).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StreamId(pub String);

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for StreamId {
    fn from(s: &str) -> Self {
        StreamId(s.to_owned())
    }
}

/// A periodic time-triggered stream, as a talker and its listeners asked for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stream {
    /// Unique id.
    pub id: StreamId,
    /// Sending end station.
    pub talker: NodeId,
    /// Receiving end stations (one or more).
    pub listeners: Vec<NodeId>,
    /// Period (802.1Qcc interval) in nanoseconds.
    pub period_ns: u64,
    /// Frames sent in every period (802.1Qcc `max-frames-per-interval`).
    #[serde(default = "one")]
    pub frames_per_period: u32,
    /// 802.1Qcc `max-frame-size`: bytes of the frame without media overhead.
    pub max_frame_size: u32,
    /// End-to-end latency bound, from the start of transmission at the talker to the last
    /// bit received at a listener.
    pub max_latency_ns: u64,
    /// Bound on the variation of the end-to-end latency over all frame instances.
    #[serde(default)]
    pub max_jitter_ns: Option<u64>,
    /// Earliest transmit offset of the talker within the period (802.1Qcc
    /// `earliest-transmit-offset`).
    #[serde(default)]
    pub earliest_offset_ns: u64,
    /// Latest transmit offset of the talker within the period; `None` = end of period.
    #[serde(default)]
    pub latest_offset_ns: Option<u64>,
    /// 802.1Q priority code point.
    #[serde(default)]
    pub pcp: u8,
    /// VLAN id, if tagged with one.
    #[serde(default)]
    pub vlan: Option<u16>,
}

fn one() -> u32 {
    1
}

impl Stream {
    /// The latest talker offset allowed within a period.
    pub fn latest_offset(&self) -> u64 {
        let last = self.period_ns.saturating_sub(1);
        self.latest_offset_ns.unwrap_or(last).min(last)
    }
}

/// The path a stream takes: one ordered list of directed links per listener, in the order
/// of [`Stream::listeners`]. Paths to several listeners share their common prefix (a tree).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The routed stream.
    pub stream: StreamId,
    /// `paths[i]` leads from the talker to `listeners[i]`.
    pub paths: Vec<Vec<LinkId>>,
}

impl Route {
    /// Every distinct link of the route, in first-use order.
    pub fn links(&self) -> Vec<LinkId> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for p in &self.paths {
            for l in p {
                if seen.insert(l) {
                    out.push(l.clone());
                }
            }
        }
        out
    }
}

/// Parameters that hold for the whole problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulingConfig {
    /// Bytes added to every `max_frame_size` on the wire (header, tag, FCS, preamble/SFD,
    /// IFG). 42 for 802.1Qcc sizes; 0 for imported formats whose sizes already include it.
    #[serde(default = "default_overhead")]
    pub wire_overhead_bytes: u32,
    /// Worst clock synchronisation error between two adjacent nodes, added to every hop.
    #[serde(default)]
    pub sync_error_ns: u64,
    /// Largest best-effort frame (without overhead): its transmission time is the guard
    /// band before every scheduled window.
    #[serde(default = "default_be_size")]
    pub best_effort_max_frame_size: u32,
}

fn default_overhead() -> u32 {
    crate::DEFAULT_WIRE_OVERHEAD_BYTES
}

fn default_be_size() -> u32 {
    1500
}

impl Default for SchedulingConfig {
    fn default() -> Self {
        SchedulingConfig {
            wire_overhead_bytes: default_overhead(),
            sync_error_ns: 0,
            best_effort_max_frame_size: default_be_size(),
        }
    }
}

/// A scheduling problem: the network, the streams, and what is already admitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Format version ([`PROBLEM_FORMAT_VERSION`]).
    #[serde(default = "format_version")]
    pub version: u32,
    /// The network.
    pub topology: Topology,
    /// Every stream, admitted or new.
    pub streams: Vec<Stream>,
    /// Given routes. A stream without one is routed by the scheduler.
    #[serde(default)]
    pub routes: Vec<Route>,
    /// Problem-wide parameters.
    #[serde(default)]
    pub config: SchedulingConfig,
    /// Schedules of already admitted streams: they keep their routes, offsets and queues
    /// (incremental admission). Each must name a stream of `streams`. When the hyperperiod
    /// changes, an admitted schedule's listed instances repeat as
    /// [`StreamSchedule::repeat_to`] describes.
    #[serde(default)]
    pub admitted: Vec<StreamSchedule>,
}

fn format_version() -> u32 {
    PROBLEM_FORMAT_VERSION
}

impl Problem {
    /// A problem with the current format version.
    pub fn new(topology: Topology, streams: Vec<Stream>, config: SchedulingConfig) -> Self {
        Problem { version: PROBLEM_FORMAT_VERSION, topology, streams, routes: Vec::new(), config, admitted: Vec::new() }
    }

    /// The stream `id`.
    pub fn stream(&self, id: &StreamId) -> Option<&Stream> {
        self.streams.iter().find(|s| &s.id == id)
    }

    /// The given route of stream `id`, if any.
    pub fn route(&self, id: &StreamId) -> Option<&Route> {
        self.routes.iter().find(|r| &r.stream == id)
    }

    /// Hyperperiod (LCM of all periods) of the problem's streams.
    pub fn hyperperiod_ns(&self) -> Result<u64, ModelError> {
        hyperperiod_ns(self.streams.iter().map(|s| s.period_ns))
    }

    /// Checks references and ranges. It does not check that routes are valid paths (the
    /// verifier does that on the result); it checks that they name known links.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.version != PROBLEM_FORMAT_VERSION {
            return Err(ModelError::invalid(
                "problem",
                format!("format version {} is not supported (expected {PROBLEM_FORMAT_VERSION})", self.version),
            ));
        }
        self.topology.validate()?;
        let kinds: HashMap<&NodeId, NodeKind> = self.topology.nodes.iter().map(|n| (&n.id, n.kind)).collect();
        let mut ids = HashSet::new();
        for s in &self.streams {
            let ctx = format!("stream {}", s.id);
            if !ids.insert(&s.id) {
                return Err(ModelError::DuplicateStream(s.id.0.clone()));
            }
            for n in std::iter::once(&s.talker).chain(&s.listeners) {
                if !kinds.contains_key(n) {
                    return Err(ModelError::UnknownNode { context: ctx, node: n.0.clone() });
                }
            }
            if s.listeners.is_empty() {
                return Err(ModelError::invalid(ctx, "a stream needs at least one listener"));
            }
            let unique: HashSet<_> = s.listeners.iter().collect();
            if unique.len() != s.listeners.len() {
                return Err(ModelError::invalid(ctx, "a listener is named twice"));
            }
            if s.listeners.contains(&s.talker) {
                return Err(ModelError::invalid(ctx, "the talker cannot be its own listener"));
            }
            if s.period_ns == 0 {
                return Err(ModelError::invalid(ctx, "period must be positive"));
            }
            if s.frames_per_period == 0 {
                return Err(ModelError::invalid(ctx, "frames_per_period must be at least 1"));
            }
            if s.max_frame_size == 0 {
                return Err(ModelError::invalid(ctx, "max_frame_size must be positive"));
            }
            if s.max_latency_ns == 0 {
                return Err(ModelError::invalid(ctx, "max_latency_ns must be positive"));
            }
            if s.pcp > 7 {
                return Err(ModelError::invalid(ctx, format!("pcp {} is not 0..=7", s.pcp)));
            }
            if let Some(v) = s.vlan {
                if v == 0 || v > 4094 {
                    return Err(ModelError::invalid(ctx, format!("vlan {v} is not 1..=4094")));
                }
            }
            if s.earliest_offset_ns >= s.period_ns || s.earliest_offset_ns > s.latest_offset() {
                return Err(ModelError::invalid(ctx, "transmit offset window is empty or outside the period"));
            }
        }
        self.hyperperiod_ns()?;
        let links: HashSet<LinkId> = self.topology.links.iter().map(|l| l.id()).collect();
        let mut routed = HashSet::new();
        for r in &self.routes {
            let ctx = format!("route of stream {}", r.stream);
            let Some(s) = self.stream(&r.stream) else {
                return Err(ModelError::UnknownStream { context: ctx, stream: r.stream.0.clone() });
            };
            if !routed.insert(&r.stream) {
                return Err(ModelError::invalid(ctx, "stream has two routes"));
            }
            if r.paths.len() != s.listeners.len() {
                return Err(ModelError::invalid(ctx, "need exactly one path per listener"));
            }
            for l in r.paths.iter().flatten() {
                if !links.contains(l) {
                    return Err(ModelError::UnknownLink { context: ctx, link: l.to_string() });
                }
            }
        }
        let mut admitted = HashSet::new();
        for a in &self.admitted {
            let ctx = "admitted schedule".to_string();
            if self.stream(&a.stream).is_none() {
                return Err(ModelError::UnknownStream { context: ctx, stream: a.stream.0.clone() });
            }
            if !admitted.insert(&a.stream) {
                return Err(ModelError::invalid(ctx, format!("stream {} admitted twice", a.stream)));
            }
        }
        Ok(())
    }
}

/// Least common multiple of the periods; an error when empty, zero or beyond `u64`.
pub fn hyperperiod_ns(periods: impl IntoIterator<Item = u64>) -> Result<u64, ModelError> {
    let mut h: u64 = 1;
    for p in periods {
        if p == 0 {
            return Err(ModelError::invalid("hyperperiod", "a period is zero"));
        }
        let g = gcd(h, p);
        h = (h / g)
            .checked_mul(p)
            .ok_or_else(|| ModelError::invalid("hyperperiod", "the LCM of the periods exceeds 2^64 ns"))?;
    }
    Ok(h)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Outcome class of a solve. Only `Optimal` and `Feasible` come with a schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SolveStatus {
    /// A schedule that the solver proved optimal for the chosen objective.
    Optimal,
    /// A verified schedule, not proven optimal.
    Feasible,
    /// No schedule exists (a certificate or the solver proved it).
    Infeasible,
    /// The time limit ran out before a schedule was found or infeasibility was proven.
    Timeout,
}

impl fmt::Display for SolveStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SolveStatus::Optimal => "optimal",
            SolveStatus::Feasible => "feasible",
            SolveStatus::Infeasible => "infeasible",
            SolveStatus::Timeout => "timeout",
        })
    }
}

/// Why a problem has no schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum InfeasibilityReason {
    /// Even alone on its fastest path, the stream cannot meet its latency bound.
    LatencyBound {
        /// The stream.
        stream: StreamId,
        /// The listener that is too far.
        listener: NodeId,
        /// Hops of the fastest path.
        hops: u32,
        /// Least possible latency on any path.
        lower_bound_ns: u64,
        /// The stream's bound.
        max_latency_ns: u64,
    },
    /// A listener cannot be reached from the talker.
    Unreachable {
        /// The stream.
        stream: StreamId,
        /// The unreachable listener.
        listener: NodeId,
    },
    /// A link every route must use carries more than its capacity.
    LinkUtilisation {
        /// The overloaded link.
        link: LinkId,
        /// Sum of transmission time / period, in parts per million.
        utilisation_ppm: u64,
    },
    /// A single frame does not fit its stream's period on some link.
    FrameExceedsPeriod {
        /// The stream.
        stream: StreamId,
        /// The link.
        link: LinkId,
    },
    /// The solver proved the model infeasible (no smaller certificate known).
    Solver {
        /// What the solver said.
        detail: String,
    },
}

impl fmt::Display for InfeasibilityReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InfeasibilityReason::LatencyBound { stream, listener, hops, lower_bound_ns, max_latency_ns } => write!(
                f,
                "stream {stream}: to {listener} needs at least {lower_bound_ns} ns over {hops} hops, max latency is {max_latency_ns} ns"
            ),
            InfeasibilityReason::Unreachable { stream, listener } => {
                write!(f, "stream {stream}: listener {listener} is unreachable")
            }
            InfeasibilityReason::LinkUtilisation { link, utilisation_ppm } => write!(
                f,
                "link {link}: scheduled utilisation {}.{:04} exceeds 1",
                utilisation_ppm / 1_000_000,
                utilisation_ppm % 1_000_000 / 100
            ),
            InfeasibilityReason::FrameExceedsPeriod { stream, link } => {
                write!(f, "stream {stream}: its frames do not fit one period on link {link}")
            }
            InfeasibilityReason::Solver { detail } => write!(f, "solver proved infeasibility: {detail}"),
        }
    }
}

/// A proof that a problem cannot be scheduled: every reason found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Infeasibility {
    /// The reasons, most specific first.
    pub reasons: Vec<InfeasibilityReason>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyperperiod_is_lcm_and_overflow_is_an_error() {
        assert_eq!(hyperperiod_ns([500_000, 1_000_000, 4_000_000]).unwrap(), 4_000_000);
        assert_eq!(hyperperiod_ns([6, 4]).unwrap(), 12);
        assert!(hyperperiod_ns([0]).is_err());
        assert!(hyperperiod_ns([u64::MAX, u64::MAX - 1]).is_err());
    }
}
