//! The bus error type.

/// Everything that can go wrong on the bus.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// The broker could not be reached (first connection, or reconnection attempts exhausted).
    #[error("cannot connect to the AMQP broker at {url}: {reason}")]
    Connect {
        /// The broker URL, without its password.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// An AMQP operation failed.
    #[error("AMQP {operation} failed: {source}")]
    Amqp {
        /// What was being done, e.g. `basic.publish`.
        operation: &'static str,
        /// What the AMQP client reported.
        #[source]
        source: lapin::Error,
    },
    /// The broker refused (nacked) a published message.
    #[error("the broker did not confirm the message published to {destination}")]
    NotConfirmed {
        /// The topic or queue the message was published to.
        destination: String,
    },
    /// A work message could not be routed to its queue.
    #[error("work queue {queue} does not exist on the broker")]
    Unroutable {
        /// The queue name.
        queue: String,
    },
    /// A topic (routing key) is not valid for publishing.
    #[error("invalid topic {topic:?}: {reason}")]
    InvalidTopic {
        /// The topic as given.
        topic: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A binding pattern is not valid.
    #[error("invalid binding pattern {pattern:?}: {reason}")]
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A queue name is not valid.
    #[error("invalid queue name {queue:?}: {reason}")]
    InvalidQueue {
        /// The name as given.
        queue: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A message body is not a valid envelope.
    #[error("invalid message envelope: {0}")]
    Wire(#[from] crate::wire::WireError),
    /// The delivery can no longer be acknowledged: its subscription was closed (its message
    /// has been or will be redelivered), or it was already settled.
    #[error("delivery {0} can no longer be acknowledged (subscription closed or connection lost)")]
    DeliveryGone(u64),
}
