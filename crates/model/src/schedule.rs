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

impl StreamSchedule {
    /// Instances (per frame) this schedule lists: one more than the largest instance index.
    pub fn listed_instances(&self) -> u32 {
        self.transmissions.iter().map(|t| t.instance + 1).max().unwrap_or(0)
    }

    /// This schedule over a hyperperiod of `hyperperiod_ns`, for a stream of `period_ns`.
    ///
    /// The `n` listed instances repeat every `n · period_ns`: instance `k` of the result is
    /// listed instance `k mod n` shifted by `(k div n) · n · period_ns`. This is how an
    /// admitted stream keeps its schedule when the hyperperiod of the network changes.
    pub fn repeat_to(&self, period_ns: u64, hyperperiod_ns: u64) -> StreamSchedule {
        let n = u64::from(self.listed_instances().max(1));
        let wanted = hyperperiod_ns / period_ns.max(1);
        let mut transmissions = Vec::with_capacity(self.transmissions.len());
        for k in 0..wanted {
            let shift = (k / n) * n * period_ns;
            transmissions.extend(self.transmissions.iter().filter(|t| u64::from(t.instance) == k % n).map(|t| {
                Transmission { instance: k as u32, start_ns: t.start_ns + shift, end_ns: t.end_ns + shift, ..t.clone() }
            }));
        }
        StreamSchedule { transmissions, ..self.clone() }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LinkId, Route};

    fn tx(instance: u32, start_ns: u64) -> Transmission {
        Transmission { link: LinkId::new("a", "b"), instance, frame: 0, start_ns, end_ns: start_ns + 10, queue: 0 }
    }

    #[test]
    fn repeat_to_extends_and_truncates_periodically() {
        let s = StreamSchedule {
            stream: "s".into(),
            route: Route { stream: "s".into(), paths: vec![vec![LinkId::new("a", "b")]] },
            transmissions: vec![tx(0, 5), tx(1, 107)],
            talker_offset_ns: 5,
            worst_latency_ns: 10,
        };
        let longer = s.repeat_to(100, 400);
        let starts: Vec<_> = longer.transmissions.iter().map(|t| (t.instance, t.start_ns)).collect();
        assert_eq!(starts, vec![(0, 5), (1, 107), (2, 205), (3, 307)]);
        let shorter = s.repeat_to(100, 100);
        assert_eq!(shorter.transmissions, vec![tx(0, 5)]);
        assert_eq!(s.repeat_to(100, 200), s);
    }
}
