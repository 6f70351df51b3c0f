//! The pipeline's failure reasons mapped onto IEEE 802.1Q-2022 Table 46-15 failure codes
//! (the `failure-code` leaf of `status-info` in `ieee802-dot1q-tsn-types`).
//!
//! Table 46-15 comes from MSRP (distributed reservations), so several pipeline reasons have
//! no exact code; the choice below picks the code whose meaning a CUC would act on the same
//! way, and the human-readable `reason` of the outcome carries the precise cause:
//!
//! | pipeline reason | code | Table 46-15 text |
//! |---|---|---|
//! | talker or listener is not an end station of the topology | 8 | Egress port is not AVBCapable (the interface is not a TSN port the CNC manages) |
//! | listener unreachable from the talker | 8 | Egress port is not AVBCapable (no path of TSN ports reaches it) |
//! | latency bound cannot be met (certificate or solver) | 21 | MaxLatency exceeded |
//! | a link is overloaded / frames do not fit a period / no schedule exists | 1 | Insufficient bandwidth |
//! | no schedule found in the time limit, or GCL entries exhausted | 2 | Insufficient Bridge resources |
//! | frame larger than the media allows | 14 | MaxFrameSize is too large for media |
//! | PCP not usable for scheduled traffic | 13 | Requested priority is not an SR Class priority |
//! | request parameters the network cannot carry (zero period, empty offset window, bad VLAN) | 2 | Insufficient Bridge resources |
//! | configuring a device failed, internal error, dead-lettered message | 2 | Insufficient Bridge resources |

use tsn_model::InfeasibilityReason;

/// Insufficient bandwidth.
pub const INSUFFICIENT_BANDWIDTH: u32 = 1;
/// Insufficient Bridge resources.
pub const INSUFFICIENT_BRIDGE_RESOURCES: u32 = 2;
/// Egress port is not AVBCapable.
pub const EGRESS_PORT_NOT_CAPABLE: u32 = 8;
/// Requested priority is not an SR Class priority.
pub const PRIORITY_NOT_SR_CLASS: u32 = 13;
/// MaxFrameSize is too large for media.
pub const MAX_FRAME_SIZE_TOO_LARGE: u32 = 14;
/// MaxLatency exceeded.
pub const MAX_LATENCY_EXCEEDED: u32 = 21;

/// Why the pipeline did not admit a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReason {
    /// The talker or a listener matches no end station of the topology.
    UnknownEndStation,
    /// A listener cannot be reached from the talker.
    Unreachable,
    /// The stream's latency bound cannot be met.
    LatencyBound,
    /// Not enough capacity on some link.
    Bandwidth,
    /// No schedule within the time limit, or a port's GCL is full.
    Resources,
    /// The frame is larger than the media allows.
    FrameTooLarge,
    /// The requested priority is not usable.
    Priority,
    /// The request's parameters cannot be carried (zero period, empty offset window, …).
    Invalid,
    /// Configuring a device failed.
    Deploy,
    /// A bug or a message that could not be processed (dead-lettered).
    Internal,
}

impl FailureReason {
    /// The Table 46-15 code.
    pub fn code(self) -> u32 {
        match self {
            FailureReason::UnknownEndStation | FailureReason::Unreachable => EGRESS_PORT_NOT_CAPABLE,
            FailureReason::LatencyBound => MAX_LATENCY_EXCEEDED,
            FailureReason::Bandwidth => INSUFFICIENT_BANDWIDTH,
            FailureReason::Resources | FailureReason::Invalid | FailureReason::Deploy | FailureReason::Internal => {
                INSUFFICIENT_BRIDGE_RESOURCES
            }
            FailureReason::FrameTooLarge => MAX_FRAME_SIZE_TOO_LARGE,
            FailureReason::Priority => PRIORITY_NOT_SR_CLASS,
        }
    }
}

/// The failure reason of an infeasibility certificate.
pub fn for_infeasibility(reason: &InfeasibilityReason) -> FailureReason {
    match reason {
        InfeasibilityReason::LatencyBound { .. } => FailureReason::LatencyBound,
        InfeasibilityReason::Unreachable { .. } => FailureReason::Unreachable,
        InfeasibilityReason::LinkUtilisation { .. }
        | InfeasibilityReason::FrameExceedsPeriod { .. }
        | InfeasibilityReason::Solver { .. } => FailureReason::Bandwidth,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_in_table_46_15() {
        use FailureReason::*;
        for r in [
            UnknownEndStation,
            Unreachable,
            LatencyBound,
            Bandwidth,
            Resources,
            FrameTooLarge,
            Priority,
            Invalid,
            Deploy,
            Internal,
        ] {
            assert!((1..=25).contains(&r.code()), "{r:?}");
        }
        assert_eq!(LatencyBound.code(), 21);
        let r = InfeasibilityReason::Unreachable { stream: "s".into(), listener: "l".into() };
        assert_eq!(for_infeasibility(&r).code(), 8);
    }
}
