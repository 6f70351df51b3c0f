use serde::{Deserialize, Serialize};

use crate::{LinkId, Route, StreamId};

/// Version of the JSON schedule format written by this crate's serde derives.
pub const SCHEDULE_FORMAT_VERSION: u32 = 1;

/// One frame instance on one directed link.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Transmission {
    /// The link (egress port) it is sent on.
    pub link: LinkId,
    /// Period index within the hyperperiod (0 ≤ instance < hyperperiod / period).
    pub instance: u32,
    /// Frame index within the period (0 ≤ frame < frames_per_period).
    pub frame: u32,
    /// First bit on the wire, in ns from the start of the hyperperiod. May exceed the
    /// hyperperiod for late hops of the last instances: times repeat modulo the hyperperiod.
    pub start_ns: u64,
    /// Last bit on the wire (start + transmission time).
    pub end_ns: u64,
    /// Scheduled queue of the port (0-based; traffic class `7 − queue`).
    pub queue: u8,
}

/// Everything scheduled for one stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSchedule {
    /// The stream.
    pub stream: StreamId,
    /// Its route.
    pub route: Route,
    /// Every frame instance on every link of the route, over one hyperperiod.
    pub transmissions: Vec<Transmission>,
    /// The talker's transmit offset within the period (first frame, first instance).
    pub talker_offset_ns: u64,
    /// Worst end-to-end latency over all instances and listeners, as the scheduler
    /// computed it (the verifier recomputes it).
    pub worst_latency_ns: u64,
}

/// One entry of a gate control list: the gates open for `interval_ns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateControlEntry {
    /// Bit `tc` set = gate of traffic class `tc` open.
    pub gate_states: u8,
    /// Duration of this entry.
    pub interval_ns: u64,
}

/// The 802.1Qbv gate control list of one egress port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateControlList {
    /// The port (directed link).
    pub port: LinkId,
    /// Start of the first cycle, relative to the schedule's time origin.
    pub base_time_ns: u64,
    /// Length of a cycle; the entries' intervals sum to it.
    pub cycle_time_ns: u64,
    /// Entries in order.
    pub entries: Vec<GateControlEntry>,
}

/// A computed schedule: every frame instance on every hop, and the ports' GCLs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Format version ([`SCHEDULE_FORMAT_VERSION`]).
    #[serde(default = "format_version")]
    pub version: u32,
    /// The LCM of the periods; transmissions repeat with it.
    pub hyperperiod_ns: u64,
    /// One entry per stream of the problem.
    pub streams: Vec<StreamSchedule>,
    /// Gate control lists of the ports that carry scheduled traffic.
    #[serde(default)]
    pub gcls: Vec<GateControlList>,
}

fn format_version() -> u32 {
    SCHEDULE_FORMAT_VERSION
}

impl Schedule {
    /// The schedule of stream `id`.
    pub fn stream(&self, id: &StreamId) -> Option<&StreamSchedule> {
        self.streams.iter().find(|s| &s.stream == id)
    }
}
