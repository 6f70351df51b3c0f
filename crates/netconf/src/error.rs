//! Errors of the NETCONF crate.

use crate::message::RpcError;

/// Everything that can go wrong in a NETCONF session.
#[derive(Debug, thiserror::Error)]
pub enum NetconfError {
    /// The transport failed (connection reset, EOF in the middle of a message, …).
    #[error("NETCONF transport: {0}")]
    Io(#[from] std::io::Error),
    /// The peer closed the session.
    #[error("NETCONF session closed by the peer")]
    Closed,
    /// A message violated the RFC 6242 framing.
    #[error("NETCONF framing: {0}")]
    Framing(#[from] FramingError),
    /// A message was not well-formed XML.
    #[error("NETCONF XML: {0}")]
    Xml(#[from] XmlError),
    /// A message was well-formed XML but not a valid NETCONF message.
    #[error("NETCONF protocol: {0}")]
    Protocol(String),
    /// The server answered with one or more `<rpc-error>`s of severity error.
    #[error("NETCONF rpc-error: {}", RpcError::summary(.0))]
    Rpc(Vec<RpcError>),
    /// No reply within the configured time.
    #[error("NETCONF: no reply to {operation} within {timeout_ms} ms")]
    Timeout {
        /// The operation that timed out.
        operation: String,
        /// The time limit.
        timeout_ms: u64,
    },
    /// The SSH layer failed (host key mismatch or unknown, authentication, channel).
    #[error("NETCONF over SSH: {0}")]
    Ssh(#[from] tsn_ssh::SshError),
    /// The server lacks a capability the operation needs.
    #[error("NETCONF: the server does not support {0}")]
    Unsupported(String),
}

impl NetconfError {
    /// The rpc-errors, when the server answered with some.
    pub fn rpc_errors(&self) -> &[RpcError] {
        match self {
            NetconfError::Rpc(errors) => errors,
            _ => &[],
        }
    }

    /// Whether the session is unusable after this error (the transport or framing broke).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            NetconfError::Io(_)
                | NetconfError::Closed
                | NetconfError::Framing(_)
                | NetconfError::Xml(_)
                | NetconfError::Timeout { .. }
                | NetconfError::Ssh(_)
        )
    }

    /// Logs the error at the level it deserves: rpc-errors are the peer's answer (warn),
    /// broken sessions are errors.
    pub fn log(&self, device: &str) {
        if self.is_fatal() {
            tracing::error!(device, error = %self, "NETCONF session failed");
        } else {
            tracing::warn!(device, error = %self, "NETCONF operation refused");
        }
    }
}

/// A violation of the RFC 6242 message framing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// A chunk header was not `\n#<1..4294967295>\n` or `\n##\n`.
    #[error("bad chunk header at byte {offset}")]
    BadChunkHeader {
        /// Offset of the header in the received stream.
        offset: u64,
    },
    /// A message grew beyond the configured limit.
    #[error("message longer than the limit of {limit} bytes")]
    TooLong {
        /// The limit.
        limit: usize,
    },
    /// A message was not UTF-8.
    #[error("message is not UTF-8")]
    NotUtf8,
    /// The stream ended inside a message.
    #[error("stream ended inside a message ({pending} bytes pending)")]
    Truncated {
        /// Bytes received of the unfinished message.
        pending: usize,
    },
}

/// A malformed XML document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// The XML parser refused the document.
    #[error("{0}")]
    Parse(String),
    /// Elements nested deeper than the limit.
    #[error("elements nested deeper than {0}")]
    TooDeep(usize),
}
