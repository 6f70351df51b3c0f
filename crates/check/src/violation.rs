//! What the verifier reports: one [`Violation`] per broken property instance.

use std::fmt;

use serde::Serialize;
use tsn_model::{LinkId, NodeId, StreamId};

/// One frame instance of one stream on one link.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct FrameRef {
    /// The stream.
    pub stream: StreamId,
    /// The link (egress port).
    pub link: LinkId,
    /// Period index within the hyperperiod.
    pub instance: u32,
    /// Frame index within the period.
    pub frame: u32,
}

impl fmt::Display for FrameRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stream {} instance {} frame {} on {}", self.stream, self.instance, self.frame, self.link)
    }
}

/// A frame instance together with an interval it occupies (the wire or a queue), in the
/// schedule's own (unreduced) nanoseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Occupancy {
    /// The frame instance.
    pub frame: FrameRef,
    /// Start of the interval.
    pub from_ns: u64,
    /// End of the interval (exclusive).
    pub to_ns: u64,
}

impl fmt::Display for Occupancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}, {}) ns", self.frame, self.from_ns, self.to_ns)
    }
}

/// The property a [`Violation`] breaks, without its details (for tests and statistics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ViolationKind {
    /// The problem itself is malformed.
    ProblemInvalid,
    /// A stream of the problem has no schedule.
    StreamMissing,
    /// The schedule names a stream the problem does not have.
    StreamUnknown,
    /// A stream is scheduled twice.
    StreamDuplicate,
    /// The route names another stream, has the wrong number of paths, or an empty path.
    RouteShape,
    /// A route uses a link the topology does not have.
    RouteUnknownLink,
    /// A path does not start at the talker, end at its listener, or is not connected.
    RouteDisconnected,
    /// A path visits a node twice.
    RouteNotSimple,
    /// A path forwards through an end station.
    RouteThroughEndStation,
    /// Paths share a link that they reach from different previous links.
    RouteNotTree,
    /// The route differs from the one the problem prescribes.
    RouteNotGiven,
    /// An admitted stream's schedule was changed.
    AdmittedChanged,
    /// The schedule's hyperperiod is not the LCM of the periods.
    HyperperiodMismatch,
    /// A frame instance on a link of the route is not scheduled.
    MissingTransmission,
    /// A transmission on a link outside the route, or of an instance/frame out of range.
    ExtraTransmission,
    /// A frame instance is scheduled twice on the same link.
    DuplicateTransmission,
    /// end − start is not the transmission time.
    Duration,
    /// A hop starts before the frame can have arrived and been processed.
    HopTiming,
    /// The first hop of instance k is outside [k·period, (k+1)·period).
    ReleaseWindow,
    /// The talker offset of frame 0 is outside the stream's offset window.
    TalkerOffset,
    /// `talker_offset_ns` is not the offset of the first frame of the first instance.
    TalkerOffsetReported,
    /// Frames of one period leave the talker out of order.
    FrameOrder,
    /// Two transmissions overlap on a directed link.
    LinkOverlap,
    /// A queue index beyond the port's scheduled queues.
    QueueOutOfRange,
    /// Frames of different streams wait in the same queue at the same time.
    QueueIsolation,
    /// Frames of one stream leave a queue out of arrival order.
    QueueFifo,
    /// An end-to-end latency exceeds the stream's bound.
    LatencyExceeded,
    /// `worst_latency_ns` differs from the recomputed worst latency.
    LatencyMisreported,
    /// The latency variation exceeds the stream's jitter bound.
    JitterExceeded,
    /// A port carrying scheduled frames has no GCL.
    GclMissing,
    /// A port has more than one GCL.
    GclDuplicate,
    /// A GCL names a port the topology does not have.
    GclUnknownPort,
    /// A GCL has more entries than the port supports.
    GclTooManyEntries,
    /// A GCL has no entries, a zero interval, or intervals that do not sum to the cycle.
    GclIntervals,
    /// A GCL cycle is zero or does not divide the hyperperiod.
    GclCycle,
    /// A transmission is not entirely inside an open window of its traffic class.
    GclClosedGate,
    /// Two traffic classes that carry scheduled frames are open at the same time.
    GclWindowOverlap,
    /// A scheduled window opens less than one best-effort frame time after a best-effort
    /// gate was open.
    GclGuardBand,
}

/// One broken property, with the offending stream, link, frame instance and times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Violation {
    /// The problem does not validate; nothing else was checked.
    ProblemInvalid {
        /// The model's complaint.
        detail: String,
    },
    /// A stream of the problem has no schedule.
    StreamMissing {
        /// The stream.
        stream: StreamId,
    },
    /// The schedule names a stream the problem does not have.
    StreamUnknown {
        /// The stream.
        stream: StreamId,
    },
    /// A stream is scheduled more than once (only the first schedule is checked).
    StreamDuplicate {
        /// The stream.
        stream: StreamId,
    },
    /// The route is malformed as a whole.
    RouteShape {
        /// The stream.
        stream: StreamId,
        /// What is wrong.
        detail: String,
    },
    /// A path uses a link that is not in the topology.
    RouteUnknownLink {
        /// The stream.
        stream: StreamId,
        /// Index of the path (= listener index).
        path: usize,
        /// The unknown link.
        link: LinkId,
    },
    /// A path is not a connected walk from the talker to its listener.
    RouteDisconnected {
        /// The stream.
        stream: StreamId,
        /// Index of the path.
        path: usize,
        /// What is wrong.
        detail: String,
    },
    /// A path visits a node twice.
    RouteNotSimple {
        /// The stream.
        stream: StreamId,
        /// Index of the path.
        path: usize,
        /// The node visited again.
        node: NodeId,
    },
    /// A path forwards through a node that is not a bridge.
    RouteThroughEndStation {
        /// The stream.
        stream: StreamId,
        /// Index of the path.
        path: usize,
        /// The end station.
        node: NodeId,
    },
    /// A link is reached from different previous links by different paths.
    RouteNotTree {
        /// The stream.
        stream: StreamId,
        /// The shared link.
        link: LinkId,
    },
    /// The route differs from the one given in the problem.
    RouteNotGiven {
        /// The stream.
        stream: StreamId,
    },
    /// An admitted stream's schedule differs from the admitted one.
    AdmittedChanged {
        /// The stream.
        stream: StreamId,
    },
    /// `Schedule::hyperperiod_ns` is not the LCM of the periods.
    HyperperiodMismatch {
        /// The LCM of the periods.
        expected_ns: u64,
        /// What the schedule says.
        found_ns: u64,
    },
    /// A frame instance on a link of the route is not scheduled.
    MissingTransmission {
        /// The missing frame instance.
        frame: FrameRef,
    },
    /// A transmission that should not exist.
    ExtraTransmission {
        /// The transmission.
        frame: FrameRef,
        /// Why it should not exist.
        detail: String,
    },
    /// A frame instance is scheduled again on the same link (the first one is checked).
    DuplicateTransmission {
        /// The frame instance.
        frame: FrameRef,
        /// Start of the duplicate.
        start_ns: u64,
    },
    /// The transmission's length is not the frame's transmission time on the link.
    Duration {
        /// The frame instance.
        frame: FrameRef,
        /// Its start.
        start_ns: u64,
        /// Its end.
        end_ns: u64,
        /// The transmission time on this link.
        expected_ns: u64,
    },
    /// A hop starts before the frame has arrived and been processed.
    HopTiming {
        /// The frame instance on the later hop.
        frame: FrameRef,
        /// The previous hop.
        previous_link: LinkId,
        /// Earliest allowed start.
        earliest_ns: u64,
        /// Actual start.
        start_ns: u64,
    },
    /// The talker sends instance k outside its period [k·period, (k+1)·period).
    ReleaseWindow {
        /// The frame instance on the talker's link.
        frame: FrameRef,
        /// Its start.
        start_ns: u64,
        /// Start of the period.
        period_start_ns: u64,
        /// End of the period (exclusive).
        period_end_ns: u64,
    },
    /// The talker offset of the first frame is outside the allowed offset window.
    TalkerOffset {
        /// The frame instance on the talker's link.
        frame: FrameRef,
        /// Its offset within the period.
        offset_ns: u64,
        /// Earliest allowed offset.
        earliest_ns: u64,
        /// Latest allowed offset.
        latest_ns: u64,
    },
    /// `StreamSchedule::talker_offset_ns` is not the first frame's actual offset.
    TalkerOffsetReported {
        /// The stream.
        stream: StreamId,
        /// The reported offset.
        reported_ns: u64,
        /// The offset of instance 0, frame 0 on the talker's link.
        actual_ns: u64,
    },
    /// A frame leaves the talker no later than the frame before it in the same period.
    FrameOrder {
        /// The later-numbered frame.
        frame: FrameRef,
        /// Its start.
        start_ns: u64,
        /// Start of the frame numbered before it.
        previous_start_ns: u64,
    },
    /// Two transmissions overlap on a link (modulo the hyperperiod).
    LinkOverlap {
        /// The link.
        link: LinkId,
        /// One transmission.
        first: Occupancy,
        /// The other.
        second: Occupancy,
    },
    /// A queue index the port does not have.
    QueueOutOfRange {
        /// The frame instance.
        frame: FrameRef,
        /// Its queue.
        queue: u8,
        /// Number of scheduled queues of the port.
        queues: u8,
    },
    /// Frames of two streams are in the same queue at the same time (modulo the
    /// hyperperiod); intervals are [arrival, end of transmission).
    QueueIsolation {
        /// The port.
        link: LinkId,
        /// The queue.
        queue: u8,
        /// One frame's presence in the queue.
        first: Occupancy,
        /// The other's.
        second: Occupancy,
    },
    /// A frame of a stream arrives in a queue before another of the same stream and leaves
    /// after it; intervals are [arrival, end of transmission).
    QueueFifo {
        /// The port.
        link: LinkId,
        /// The queue.
        queue: u8,
        /// The frame that arrived first (and left last).
        earlier: Occupancy,
        /// The frame that overtook it.
        later: Occupancy,
    },
    /// An end-to-end latency exceeds the stream's bound.
    LatencyExceeded {
        /// The stream.
        stream: StreamId,
        /// The listener.
        listener: NodeId,
        /// Period index.
        instance: u32,
        /// Frame index.
        frame: u32,
        /// The latency.
        latency_ns: u64,
        /// The bound.
        max_latency_ns: u64,
    },
    /// The reported worst latency is not the recomputed one.
    LatencyMisreported {
        /// The stream.
        stream: StreamId,
        /// `StreamSchedule::worst_latency_ns`.
        reported_ns: u64,
        /// The recomputed worst latency.
        actual_ns: u64,
    },
    /// Latency varies more than the stream's jitter bound at a listener.
    JitterExceeded {
        /// The stream.
        stream: StreamId,
        /// The listener.
        listener: NodeId,
        /// max − min latency.
        jitter_ns: u64,
        /// The bound.
        max_jitter_ns: u64,
    },
    /// A port that carries scheduled frames has no GCL.
    GclMissing {
        /// The port.
        port: LinkId,
    },
    /// A port has more than one GCL (only the first is checked).
    GclDuplicate {
        /// The port.
        port: LinkId,
    },
    /// A GCL for a port the topology does not have.
    GclUnknownPort {
        /// The port.
        port: LinkId,
    },
    /// More GCL entries than the port supports.
    GclTooManyEntries {
        /// The port.
        port: LinkId,
        /// Number of entries.
        entries: usize,
        /// The port's limit.
        max_entries: u32,
    },
    /// The entries' intervals are malformed.
    GclIntervals {
        /// The port.
        port: LinkId,
        /// What is wrong.
        detail: String,
    },
    /// The cycle is zero or does not divide the hyperperiod.
    GclCycle {
        /// The port.
        port: LinkId,
        /// The cycle time.
        cycle_ns: u64,
        /// The hyperperiod.
        hyperperiod_ns: u64,
    },
    /// A transmission is not inside a continuously open window of its traffic class.
    GclClosedGate {
        /// The frame instance.
        frame: FrameRef,
        /// Its traffic class.
        traffic_class: u8,
        /// Start of the transmission.
        start_ns: u64,
        /// End of the transmission (start + transmission time).
        end_ns: u64,
    },
    /// An entry opens more than one traffic class that carries scheduled frames.
    GclWindowOverlap {
        /// The port.
        port: LinkId,
        /// Index of the entry.
        entry: usize,
        /// Its gate states.
        gate_states: u8,
        /// The traffic classes that carry scheduled frames on this port (bit mask).
        scheduled_classes: u8,
    },
    /// A scheduled class opens too soon after a best-effort class was open.
    GclGuardBand {
        /// The port.
        port: LinkId,
        /// Index of the entry where the best-effort stretch ends (or where both are open).
        entry: usize,
        /// Time from the end of the best-effort stretch to the scheduled opening.
        gap_ns: u64,
        /// The required guard band.
        guard_ns: u64,
    },
}

impl Violation {
    /// The property this violation breaks.
    pub fn kind(&self) -> ViolationKind {
        use Violation as V;
        use ViolationKind as K;
        match self {
            V::ProblemInvalid { .. } => K::ProblemInvalid,
            V::StreamMissing { .. } => K::StreamMissing,
            V::StreamUnknown { .. } => K::StreamUnknown,
            V::StreamDuplicate { .. } => K::StreamDuplicate,
            V::RouteShape { .. } => K::RouteShape,
            V::RouteUnknownLink { .. } => K::RouteUnknownLink,
            V::RouteDisconnected { .. } => K::RouteDisconnected,
            V::RouteNotSimple { .. } => K::RouteNotSimple,
            V::RouteThroughEndStation { .. } => K::RouteThroughEndStation,
            V::RouteNotTree { .. } => K::RouteNotTree,
            V::RouteNotGiven { .. } => K::RouteNotGiven,
            V::AdmittedChanged { .. } => K::AdmittedChanged,
            V::HyperperiodMismatch { .. } => K::HyperperiodMismatch,
            V::MissingTransmission { .. } => K::MissingTransmission,
            V::ExtraTransmission { .. } => K::ExtraTransmission,
            V::DuplicateTransmission { .. } => K::DuplicateTransmission,
            V::Duration { .. } => K::Duration,
            V::HopTiming { .. } => K::HopTiming,
            V::ReleaseWindow { .. } => K::ReleaseWindow,
            V::TalkerOffset { .. } => K::TalkerOffset,
            V::TalkerOffsetReported { .. } => K::TalkerOffsetReported,
            V::FrameOrder { .. } => K::FrameOrder,
            V::LinkOverlap { .. } => K::LinkOverlap,
            V::QueueOutOfRange { .. } => K::QueueOutOfRange,
            V::QueueIsolation { .. } => K::QueueIsolation,
            V::QueueFifo { .. } => K::QueueFifo,
            V::LatencyExceeded { .. } => K::LatencyExceeded,
            V::LatencyMisreported { .. } => K::LatencyMisreported,
            V::JitterExceeded { .. } => K::JitterExceeded,
            V::GclMissing { .. } => K::GclMissing,
            V::GclDuplicate { .. } => K::GclDuplicate,
            V::GclUnknownPort { .. } => K::GclUnknownPort,
            V::GclTooManyEntries { .. } => K::GclTooManyEntries,
            V::GclIntervals { .. } => K::GclIntervals,
            V::GclCycle { .. } => K::GclCycle,
            V::GclClosedGate { .. } => K::GclClosedGate,
            V::GclWindowOverlap { .. } => K::GclWindowOverlap,
            V::GclGuardBand { .. } => K::GclGuardBand,
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Violation as V;
        match self {
            V::ProblemInvalid { detail } => write!(f, "the problem is invalid: {detail}"),
            V::StreamMissing { stream } => write!(f, "stream {stream} has no schedule"),
            V::StreamUnknown { stream } => {
                write!(f, "the schedule contains stream {stream}, which the problem does not have")
            }
            V::StreamDuplicate { stream } => write!(f, "stream {stream} is scheduled more than once"),
            V::RouteShape { stream, detail } => write!(f, "stream {stream}: malformed route: {detail}"),
            V::RouteUnknownLink { stream, path, link } => {
                write!(f, "stream {stream}: path {path} uses link {link}, which the topology does not have")
            }
            V::RouteDisconnected { stream, path, detail } => {
                write!(f, "stream {stream}: path {path} is not a path from the talker to its listener: {detail}")
            }
            V::RouteNotSimple { stream, path, node } => {
                write!(f, "stream {stream}: path {path} visits node {node} twice")
            }
            V::RouteThroughEndStation { stream, path, node } => {
                write!(f, "stream {stream}: path {path} forwards through end station {node}")
            }
            V::RouteNotTree { stream, link } => write!(
                f,
                "stream {stream}: paths reach link {link} from different previous links (the route is not a tree)"
            ),
            V::RouteNotGiven { stream } => {
                write!(f, "stream {stream}: the route differs from the one the problem prescribes")
            }
            V::AdmittedChanged { stream } => {
                write!(f, "stream {stream} is admitted but its schedule differs from the admitted one")
            }
            V::HyperperiodMismatch { expected_ns, found_ns } => write!(
                f,
                "the schedule's hyperperiod is {found_ns} ns, the LCM of the periods is {expected_ns} ns"
            ),
            V::MissingTransmission { frame } => write!(f, "{frame} is not scheduled"),
            V::ExtraTransmission { frame, detail } => write!(f, "{frame} should not be scheduled: {detail}"),
            V::DuplicateTransmission { frame, start_ns } => {
                write!(f, "{frame} is scheduled again (at {start_ns} ns)")
            }
            V::Duration { frame, start_ns, end_ns, expected_ns } => write!(
                f,
                "{frame} lasts from {start_ns} to {end_ns} ns, but its transmission time is {expected_ns} ns"
            ),
            V::HopTiming { frame, previous_link, earliest_ns, start_ns } => write!(
                f,
                "{frame} starts at {start_ns} ns, before it can have arrived over {previous_link} and been processed ({earliest_ns} ns)"
            ),
            V::ReleaseWindow { frame, start_ns, period_start_ns, period_end_ns } => write!(
                f,
                "{frame} leaves the talker at {start_ns} ns, outside its period [{period_start_ns}, {period_end_ns})"
            ),
            V::TalkerOffset { frame, offset_ns, earliest_ns, latest_ns } => write!(
                f,
                "{frame} leaves the talker at offset {offset_ns} ns, outside the allowed [{earliest_ns}, {latest_ns}]"
            ),
            V::TalkerOffsetReported { stream, reported_ns, actual_ns } => write!(
                f,
                "stream {stream}: reported talker offset {reported_ns} ns, actual {actual_ns} ns"
            ),
            V::FrameOrder { frame, start_ns, previous_start_ns } => write!(
                f,
                "{frame} leaves the talker at {start_ns} ns, not after the previous frame ({previous_start_ns} ns)"
            ),
            V::LinkOverlap { link, first, second } => {
                write!(f, "on link {link}, {first} overlaps {second}")
            }
            V::QueueOutOfRange { frame, queue, queues } => write!(
                f,
                "{frame} uses queue {queue}, but the port has {queues} scheduled queue(s)"
            ),
            V::QueueIsolation { link, queue, first, second } => write!(
                f,
                "on port {link} queue {queue}, frames of different streams wait together: {first} and {second}"
            ),
            V::QueueFifo { link, queue, earlier, later } => write!(
                f,
                "on port {link} queue {queue}, {later} overtakes {earlier}, which arrived first (not FIFO)"
            ),
            V::LatencyExceeded { stream, listener, instance, frame, latency_ns, max_latency_ns } => write!(
                f,
                "stream {stream} instance {instance} frame {frame} reaches {listener} after {latency_ns} ns, more than the bound {max_latency_ns} ns"
            ),
            V::LatencyMisreported { stream, reported_ns, actual_ns } => write!(
                f,
                "stream {stream}: reported worst latency {reported_ns} ns, actual {actual_ns} ns"
            ),
            V::JitterExceeded { stream, listener, jitter_ns, max_jitter_ns } => write!(
                f,
                "stream {stream}: latency to {listener} varies by {jitter_ns} ns, more than the bound {max_jitter_ns} ns"
            ),
            V::GclMissing { port } => write!(f, "port {port} carries scheduled frames but has no GCL"),
            V::GclDuplicate { port } => write!(f, "port {port} has more than one GCL"),
            V::GclUnknownPort { port } => write!(f, "a GCL names port {port}, which the topology does not have"),
            V::GclTooManyEntries { port, entries, max_entries } => write!(
                f,
                "the GCL of port {port} has {entries} entries, the port supports {max_entries}"
            ),
            V::GclIntervals { port, detail } => write!(f, "the GCL of port {port} is malformed: {detail}"),
            V::GclCycle { port, cycle_ns, hyperperiod_ns } => write!(
                f,
                "the GCL of port {port} has cycle {cycle_ns} ns, which does not divide the hyperperiod {hyperperiod_ns} ns"
            ),
            V::GclClosedGate { frame, traffic_class, start_ns, end_ns } => write!(
                f,
                "{frame} [{start_ns}, {end_ns}) ns is not inside an open window of traffic class {traffic_class}"
            ),
            V::GclWindowOverlap { port, entry, gate_states, scheduled_classes } => write!(
                f,
                "the GCL of port {port}, entry {entry} (gates {gate_states:#010b}) opens more than one scheduled class ({scheduled_classes:#010b})"
            ),
            V::GclGuardBand { port, entry, gap_ns, guard_ns } => write!(
                f,
                "the GCL of port {port}: after entry {entry} a scheduled window opens {gap_ns} ns after a best-effort gate was open, less than the guard band {guard_ns} ns"
            ),
        }
    }
}
