use thiserror::Error;

/// A problem or schedule that does not describe a well-formed network or stream set.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ModelError {
    /// A node id occurs twice.
    #[error("node {0} is defined twice")]
    DuplicateNode(String),
    /// A link (directed) occurs twice.
    #[error("link {0} is defined twice")]
    DuplicateLink(String),
    /// A reference to a node that is not in the topology.
    #[error("{context} refers to unknown node {node}")]
    UnknownNode {
        /// Where the reference was found.
        context: String,
        /// The missing node.
        node: String,
    },
    /// A reference to a link that is not in the topology.
    #[error("{context} refers to unknown link {link}")]
    UnknownLink {
        /// Where the reference was found.
        context: String,
        /// The missing link.
        link: String,
    },
    /// A stream id occurs twice.
    #[error("stream {0} is defined twice")]
    DuplicateStream(String),
    /// A reference to a stream that is not in the problem.
    #[error("{context} refers to unknown stream {stream}")]
    UnknownStream {
        /// Where the reference was found.
        context: String,
        /// The missing stream.
        stream: String,
    },
    /// A value outside its allowed range.
    #[error("{context}: {message}")]
    Invalid {
        /// The object that holds the value.
        context: String,
        /// What is wrong with it.
        message: String,
    },
}

impl ModelError {
    pub(crate) fn invalid(context: impl Into<String>, message: impl Into<String>) -> Self {
        ModelError::Invalid { context: context.into(), message: message.into() }
    }
}
