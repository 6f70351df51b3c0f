//! The wire form of a [`Message`]: the protobuf `tsn.bus.v1.Envelope` of
//! `proto/tsn/bus/v1/envelope.proto`. The generated type stays in this module; the rest of
//! the crate (and its users) see only [`Message`].

use prost::Message as _;

use crate::Message;

/// The envelope schema version this crate writes and accepts.
pub const SCHEMA_VERSION: u32 = 1;

/// Longest accepted `request_id` and `kind`, in bytes.
const MAX_ID_LEN: usize = 256;

#[allow(missing_docs, missing_debug_implementations, clippy::all, clippy::pedantic)]
mod pb {
    include!(concat!(env!("OUT_DIR"), "/tsn.bus.v1.rs"));
}

/// Why a byte string is not a valid envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The bytes are not a protobuf `tsn.bus.v1.Envelope`.
    #[error("not a tsn.bus.v1.Envelope: {0}")]
    Decode(String),
    /// The envelope has a schema version this build does not know (0 means it is missing).
    #[error("unsupported schema version {found} (this build reads version {SCHEMA_VERSION})")]
    UnsupportedSchemaVersion {
        /// The version found in the envelope.
        found: u32,
    },
    /// A required field is empty or too long.
    #[error("field {field} {reason}")]
    InvalidField {
        /// The envelope field name.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Encodes a message as a protobuf envelope.
pub fn encode(message: &Message) -> Vec<u8> {
    pb::Envelope::from(message).encode_to_vec()
}

/// Decodes and validates a protobuf envelope.
pub fn decode(bytes: &[u8]) -> Result<Message, WireError> {
    let envelope = pb::Envelope::decode(bytes).map_err(|e| WireError::Decode(e.to_string()))?;
    Message::try_from(envelope)
}

impl From<&Message> for pb::Envelope {
    fn from(m: &Message) -> Self {
        pb::Envelope {
            schema_version: m.schema_version,
            request_id: m.request_id.clone(),
            topology_version: m.topology_version,
            kind: m.kind.clone(),
            payload: m.payload.clone(),
        }
    }
}

impl TryFrom<pb::Envelope> for Message {
    type Error = WireError;

    fn try_from(e: pb::Envelope) -> Result<Self, WireError> {
        if e.schema_version != SCHEMA_VERSION {
            return Err(WireError::UnsupportedSchemaVersion { found: e.schema_version });
        }
        for (field, value) in [("request_id", &e.request_id), ("kind", &e.kind)] {
            if value.is_empty() {
                return Err(WireError::InvalidField { field, reason: "is empty" });
            }
            if value.len() > MAX_ID_LEN {
                return Err(WireError::InvalidField { field, reason: "is longer than 256 bytes" });
            }
        }
        Ok(Message {
            schema_version: e.schema_version,
            request_id: e.request_id,
            topology_version: e.topology_version,
            kind: e.kind,
            payload: e.payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn valid_message() -> impl Strategy<Value = Message> {
        ("[a-z0-9-]{1,40}", any::<u64>(), "[a-z.]{1,30}", proptest::collection::vec(any::<u8>(), 0..512)).prop_map(
            |(request_id, topology_version, kind, payload)| Message {
                schema_version: SCHEMA_VERSION,
                request_id,
                topology_version,
                kind,
                payload,
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Fuzz-style: arbitrary bytes never panic the decoder; they decode or give an error.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let _ = decode(&bytes);
        }

        /// Every valid message survives encode/decode unchanged.
        #[test]
        fn round_trip(message in valid_message()) {
            prop_assert_eq!(decode(&encode(&message)), Ok(message));
        }

        /// Truncating or corrupting a valid envelope gives a result, never a panic, and a
        /// truncated one that still decodes is a different valid message or an error.
        #[test]
        fn corrupted_envelopes_never_panic(message in valid_message(), cut in any::<prop::sample::Index>(), flip in any::<u8>()) {
            let mut bytes = encode(&message);
            let at = cut.index(bytes.len().max(1));
            if let Some(b) = bytes.get_mut(at) { *b ^= flip; }
            let _ = decode(&bytes);
            bytes.truncate(at);
            let _ = decode(&bytes);
        }
    }

    #[test]
    fn bad_input_gives_clear_errors() {
        assert_eq!(decode(&[]), Err(WireError::UnsupportedSchemaVersion { found: 0 }));
        assert!(matches!(decode(&[0xff, 0xff, 0xff]), Err(WireError::Decode(_))));
        let mut m = Message::new("k", "r", 1, vec![]);
        m.schema_version = 7;
        assert_eq!(decode(&encode(&m)), Err(WireError::UnsupportedSchemaVersion { found: 7 }));
        let m = Message::new("", "r", 1, vec![]);
        assert_eq!(decode(&encode(&m)), Err(WireError::InvalidField { field: "kind", reason: "is empty" }));
        let err = decode(b"\x0a\x05hello").unwrap_err().to_string();
        assert!(err.contains("not a tsn.bus.v1.Envelope") || err.contains("schema version"), "{err}");
    }
}
