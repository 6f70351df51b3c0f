//! The bodies of the messages the tsn-cp services exchange on the bus (DESIGN.md §3), as
//! protobuf (`proto/tsn/pipeline/v1`), so that tools in other languages can read them.
//!
//! | kind (topic)          | body                  | from → to                      |
//! |-----------------------|-----------------------|--------------------------------|
//! | `compute.requested`   | [`v1::ComputeRequest`] | uni-gateway → preprocess      |
//! | `schedule.failed`     | [`v1::RequestOutcome`] | scheduler/preprocess → gateway |
//! | `deploy.completed`    | [`v1::RequestOutcome`] | southbound → gateway, preprocess |
//! | `topology.changed`    | [`v1::TopologySnapshot`] ([`topology`]) | topology → preprocess |
//! | `schedule.problem` (work queue) | [`v1::ScheduleJob`] | preprocess → scheduler ×N |
//! | `schedule.solved`     | [`v1::SolvedJob`]      | scheduler → southbound         |
//! | `schedule.progress`   | [`v1::SolveProgress`]  | scheduler → anyone             |
//! | `deploy.stale`        | [`v1::StaleSolution`]  | southbound → preprocess        |
//!
//! [`model`] converts the tsn-model types carried inside these bodies; [`failure_code`]
//! maps failure reasons onto IEEE 802.1Q Table 46-15.

/// Generated protobuf types of package `tsn.pipeline.v1`.
#[allow(missing_debug_implementations, clippy::all)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/tsn.pipeline.v1.rs"));
}

pub mod failure_code;
pub mod model;
pub mod outcome;
pub mod topology;

pub use tsn_bus::topics::{COMPUTE_REQUESTED, DEPLOY_COMPLETED, SCHEDULE_FAILED, SCHEDULE_SOLVED, TOPOLOGY_CHANGED};
pub use tsn_bus::SCHEDULE_PROBLEM_QUEUE;

/// Progress of a long solve (scheduler → anyone), body [`v1::SolveProgress`].
pub const SCHEDULE_PROGRESS: &str = "schedule.progress";
/// A solution built on a stale admitted state (southbound → preprocess), body [`v1::StaleSolution`].
pub const DEPLOY_STALE: &str = "deploy.stale";
/// Kind of the work message on [`SCHEDULE_PROBLEM_QUEUE`], body [`v1::ScheduleJob`].
pub const SCHEDULE_PROBLEM: &str = "schedule.problem";

/// A MAC address in the model's form (`aa:bb:cc:dd:ee:ff`, lower case) from any of the
/// usual spellings (`AA-BB-CC-DD-EE-FF`, `aa:bb:…`, `aabb.ccdd.eeff`, `aabbccddeeff`);
/// `None` when it is not 12 hex digits.
pub fn normalize_mac(mac: &str) -> Option<String> {
    let hex: String = mac.chars().filter(|c| !matches!(c, ':' | '-' | '.')).collect();
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let hex = hex.to_ascii_lowercase();
    let pairs: Vec<&str> = (0..6).map(|i| &hex[2 * i..2 * i + 2]).collect();
    Some(pairs.join(":"))
}

use tsn_bus::Message;

/// Error decoding a message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The message kind that was expected.
    pub kind: String,
    /// What was wrong.
    pub detail: String,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed {} body: {}", self.kind, self.detail)
    }
}

impl std::error::Error for DecodeError {}

/// A bus message of `kind` whose payload is the protobuf encoding of `body`.
pub fn encode<M: prost::Message>(kind: &str, request_id: &str, topology_version: u64, body: &M) -> Message {
    Message::new(kind, request_id, topology_version, body.encode_to_vec())
}

/// Decodes the payload of `message` as `M`, checking that its kind is `kind`.
pub fn decode<M: prost::Message + Default>(kind: &str, message: &Message) -> Result<M, DecodeError> {
    if message.kind != kind {
        return Err(DecodeError { kind: kind.into(), detail: format!("message kind is {:?}", message.kind) });
    }
    M::decode(message.payload.as_slice()).map_err(|e| DecodeError { kind: kind.into(), detail: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn macs_normalize() {
        assert_eq!(normalize_mac("AA-BB-CC-DD-EE-0F").as_deref(), Some("aa:bb:cc:dd:ee:0f"));
        assert_eq!(normalize_mac("aa:bb:cc:dd:ee:0f").as_deref(), Some("aa:bb:cc:dd:ee:0f"));
        assert_eq!(normalize_mac("aabb.ccdd.ee0f").as_deref(), Some("aa:bb:cc:dd:ee:0f"));
        assert_eq!(normalize_mac("aa:bb:cc:dd:ee"), None);
        assert_eq!(normalize_mac("zz:bb:cc:dd:ee:0f"), None);
        assert_eq!(normalize_mac("ä"), None);
    }

    #[test]
    fn decode_checks_the_kind_and_the_body() {
        let m = encode(COMPUTE_REQUESTED, "r1", 3, &v1::ComputeRequest { domain_id: "d".into(), ..Default::default() });
        let back: v1::ComputeRequest = decode(COMPUTE_REQUESTED, &m).unwrap();
        assert_eq!(back.domain_id, "d");
        assert!(decode::<v1::ComputeRequest>(SCHEDULE_FAILED, &m).unwrap_err().to_string().contains("kind"));
        let garbage = Message::new(COMPUTE_REQUESTED, "r", 0, vec![0xff, 0xff, 0xff]);
        assert!(decode::<v1::ComputeRequest>(COMPUTE_REQUESTED, &garbage).is_err());
    }

    proptest! {
        /// Any string: either `None` or a canonical MAC that normalizes to itself.
        #[test]
        fn normalize_mac_is_idempotent(s in ".{0,20}") {
            if let Some(m) = normalize_mac(&s) {
                prop_assert_eq!(normalize_mac(&m), Some(m.clone()));
                prop_assert_eq!(m.len(), 17);
            }
        }
    }
}
