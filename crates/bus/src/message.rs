//! The domain types of the bus: messages, deliveries, subscriptions and the [`Bus`] trait.

use std::fmt;

use async_trait::async_trait;
use serde::{de::DeserializeOwned, Serialize};

use crate::{amqp, memory, wire, BusError};

/// One message on the bus: the envelope fields of DESIGN.md §3 and an opaque payload.
///
/// The payload is, for now, the JSON of the `tsn-model` type named by `kind` (see
/// [`Message::json`] and [`Message::payload_json`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Envelope schema version; [`wire::SCHEMA_VERSION`] for messages built by this crate.
    pub schema_version: u32,
    /// Correlation id of the user request this message belongs to.
    pub request_id: String,
    /// Version of the topology snapshot the message was computed against (0 = none).
    pub topology_version: u64,
    /// What the payload is, e.g. `schedule.problem`.
    pub kind: String,
    /// The body.
    pub payload: Vec<u8>,
}

impl Message {
    /// A message of the current schema version.
    pub fn new(
        kind: impl Into<String>,
        request_id: impl Into<String>,
        topology_version: u64,
        payload: Vec<u8>,
    ) -> Self {
        Message {
            schema_version: wire::SCHEMA_VERSION,
            request_id: request_id.into(),
            topology_version,
            kind: kind.into(),
            payload,
        }
    }

    /// A message whose payload is the JSON of `body` (e.g. a `tsn_model::Problem`).
    pub fn json<T: Serialize + ?Sized>(
        kind: impl Into<String>,
        request_id: impl Into<String>,
        topology_version: u64,
        body: &T,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self::new(kind, request_id, topology_version, serde_json::to_vec(body)?))
    }

    /// Parses the JSON payload.
    pub fn payload_json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.payload)
    }
}

/// How a subscription consumes its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerOptions {
    /// Most deliveries this subscription holds unacknowledged at once (at least 1). Use 1 for
    /// the work queue, so that a busy scheduler does not hoard problems.
    pub prefetch: u16,
    /// Most deliveries of one message before it is dead-lettered (at least 1). All
    /// subscriptions of a queue should use the same value.
    pub max_deliveries: u32,
}

impl ConsumerOptions {
    /// Prefetch 1, five deliveries at most: the setting for the work queue.
    pub const WORK: ConsumerOptions = ConsumerOptions { prefetch: 1, max_deliveries: 5 };

    /// Options with the given prefetch and five deliveries at most.
    pub fn with_prefetch(prefetch: u16) -> Self {
        ConsumerOptions { prefetch, ..Self::default() }
    }

    pub(crate) fn normalized(self) -> Self {
        ConsumerOptions { prefetch: self.prefetch.max(1), max_deliveries: self.max_deliveries.max(1) }
    }
}

impl Default for ConsumerOptions {
    /// Prefetch 16, five deliveries at most: the setting for event queues.
    fn default() -> Self {
        ConsumerOptions { prefetch: 16, max_deliveries: 5 }
    }
}

/// Why a message was dead-lettered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadLetterReason {
    /// A consumer nacked it without requeue.
    Rejected,
    /// It was delivered [`ConsumerOptions::max_deliveries`] times without an ack.
    MaxDeliveries,
    /// Its body is not a valid envelope (AMQP bus only: memory messages are always valid).
    Malformed,
}

impl DeadLetterReason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DeadLetterReason::Rejected => "rejected",
            DeadLetterReason::MaxDeliveries => "max-deliveries",
            DeadLetterReason::Malformed => "malformed",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "rejected" => Some(DeadLetterReason::Rejected),
            "max-deliveries" => Some(DeadLetterReason::MaxDeliveries),
            "malformed" => Some(DeadLetterReason::Malformed),
            _ => None,
        }
    }
}

/// Where a dead letter came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The queue it was dead-lettered from (without any namespace prefix).
    pub queue: String,
    /// Why.
    pub reason: DeadLetterReason,
    /// How many times it had been delivered from that queue.
    pub deliveries: u32,
}

/// One delivery of a message to a subscription; settle it with [`ack`](Delivery::ack) or
/// [`nack`](Delivery::nack).
///
/// Dropping a delivery without settling it leaves the message unacknowledged until the
/// subscription is closed, when it goes back to the queue.
pub struct Delivery {
    pub(crate) message: Message,
    pub(crate) topic: String,
    pub(crate) attempt: u32,
    pub(crate) dead_letter: Option<DeadLetter>,
    pub(crate) settle: Settle,
}

pub(crate) enum Settle {
    Memory(memory::MemorySettle),
    Amqp(Box<amqp::AmqpSettle>),
}

impl Delivery {
    /// The message.
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// Takes the message out of the delivery, e.g. to hand it to a worker before settling
    /// (settling needs only the delivery).
    pub fn take_message(&mut self) -> Message {
        std::mem::replace(&mut self.message, Message::new("", "", 0, Vec::new()))
    }

    /// The topic the message was published to; for work messages, the queue name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Whether this message may have been delivered before (to this or another consumer).
    /// Idempotent consumers use it to check for work already done.
    pub fn redelivered(&self) -> bool {
        self.attempt > 1
    }

    /// Which delivery of this message from its queue this is, counting from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// For a delivery from the dead-letter queue: where it came from and why.
    pub fn dead_letter(&self) -> Option<&DeadLetter> {
        self.dead_letter.as_ref()
    }

    /// Acknowledges the message: it is done and leaves the queue.
    pub async fn ack(self) -> Result<(), BusError> {
        match self.settle {
            Settle::Memory(s) => s.ack(),
            Settle::Amqp(s) => s.ack().await,
        }
    }

    /// Gives the message up. With `requeue` it goes back to the queue for another delivery
    /// (or to the dead-letter queue if this was its last allowed delivery); without, it goes
    /// to the dead-letter queue at once.
    pub async fn nack(self, requeue: bool) -> Result<(), BusError> {
        match self.settle {
            Settle::Memory(s) => s.nack(requeue),
            Settle::Amqp(s) => s.nack(requeue).await,
        }
    }
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("topic", &self.topic)
            .field("attempt", &self.attempt)
            .field("dead_letter", &self.dead_letter)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

/// A consumer of one queue. Closing or dropping it returns its unacknowledged deliveries to
/// the queue.
pub struct Subscription {
    pub(crate) inner: SubscriptionInner,
}

pub(crate) enum SubscriptionInner {
    Memory(memory::MemorySubscription),
    Amqp(Box<amqp::AmqpSubscription>),
}

impl Subscription {
    /// Waits for the next delivery. On the AMQP bus, a lost connection is re-established
    /// with exponential backoff and consumption resumes; deliveries received before the loss
    /// can no longer be settled and are redelivered.
    ///
    /// Cancel-safe: dropping the future loses no message.
    pub async fn next(&mut self) -> Result<Delivery, BusError> {
        match &mut self.inner {
            SubscriptionInner::Memory(s) => s.next().await,
            SubscriptionInner::Amqp(s) => s.next().await,
        }
    }

    /// Stops consuming and returns the unacknowledged deliveries to the queue.
    pub async fn close(self) {
        match self.inner {
            SubscriptionInner::Memory(s) => drop(s),
            SubscriptionInner::Amqp(s) => s.close().await,
        }
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            SubscriptionInner::Memory(s) => s.fmt(f),
            SubscriptionInner::Amqp(s) => s.fmt(f),
        }
    }
}

/// The message bus of DESIGN.md §3. Implemented by [`crate::AmqpBus`] and
/// [`crate::MemoryBus`] with the same semantics (see the crate documentation).
#[async_trait]
pub trait Bus: Send + Sync + fmt::Debug {
    /// Publishes an event to `topic` (e.g. `schedule.solved`): a copy goes to every queue
    /// bound with a matching pattern; with no such queue it is dropped. Returns once the
    /// broker has taken responsibility for the message (publisher confirm).
    async fn publish(&self, topic: &str, message: &Message) -> Result<(), BusError>;

    /// Declares the durable queue `queue`, binds it to the event topics matching each of
    /// `patterns` (bindings accumulate across calls and survive the subscription), and
    /// consumes it. Several subscriptions of one queue compete for its messages.
    async fn subscribe(
        &self,
        queue: &str,
        patterns: &[&str],
        options: ConsumerOptions,
    ) -> Result<Subscription, BusError>;

    /// Sends a message to the durable work queue `queue` (e.g.
    /// [`crate::SCHEDULE_PROBLEM_QUEUE`]), declaring it if needed; it waits there until one
    /// consumer takes it. Returns once the broker has confirmed it.
    async fn send_work(&self, queue: &str, message: &Message) -> Result<(), BusError>;

    /// Consumes the work queue `queue`, declaring it if needed, in competition with every
    /// other consumer of it.
    async fn consume_work(&self, queue: &str, options: ConsumerOptions) -> Result<Subscription, BusError>;

    /// Consumes the dead-letter queue (see [`Delivery::dead_letter`]). A dead letter that is
    /// nacked, or exceeds `options.max_deliveries`, is dropped.
    async fn consume_dead_letters(&self, options: ConsumerOptions) -> Result<Subscription, BusError>;
}
