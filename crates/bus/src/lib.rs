//! The tsn-cp message bus (DESIGN.md §3).
//!
//! One [`Bus`] trait with two implementations of the same semantics:
//!
//! - [`AmqpBus`] on RabbitMQ (lapin): a durable topic exchange for events, durable queues,
//!   persistent messages, publisher confirms, manual acks, a dead-letter exchange and queue,
//!   reconnection with exponential backoff;
//! - [`MemoryBus`] in-process, for dev mode (`tsnctl dev`) and unit tests.
//!
//! Semantics shared by both (and checked by one test suite run against both):
//!
//! - **Events** are published to a topic (routing key such as `schedule.solved`) and copied
//!   to every queue bound with a matching pattern (`*` = exactly one word, `#` = zero or more
//!   words, as in AMQP topic exchanges). An event that matches no binding is dropped.
//! - **Work** is sent to a named queue (the [`SCHEDULE_PROBLEM_QUEUE`]) whose consumers
//!   compete: each message goes to exactly one consumer at a time.
//! - **At-least-once**: a delivery stays owned by its consumer until [`Delivery::ack`] or
//!   [`Delivery::nack`]; closing or dropping the [`Subscription`] (or losing the connection)
//!   returns its unacknowledged deliveries to the queue, flagged as redelivered. Consumers
//!   must be idempotent.
//! - **No poison loops**: each queue message carries a delivery counter. A message nacked
//!   without requeue, or delivered [`ConsumerOptions::max_deliveries`] times without an ack,
//!   moves to the dead-letter queue ([`Bus::consume_dead_letters`]); there it is consumed
//!   like any queue, and a dead letter that fails again is dropped (logged), never looped.
//! - Every message is a [`Message`]: the [`wire`] envelope (schema version, request id,
//!   topology version, kind) around a payload. Until the bodies get their own protobuf
//!   schemas, payloads are the JSON of `tsn-model` types ([`Message::json`]).

mod amqp;
mod error;
mod memory;
mod message;
mod topic;
pub mod wire;

pub use amqp::{AmqpBus, AmqpConfig};
pub use error::BusError;
pub use memory::MemoryBus;
pub use message::{Bus, ConsumerOptions, DeadLetter, DeadLetterReason, Delivery, Message, Subscription};
pub use topic::{pattern_matches, validate_pattern, validate_queue_name, validate_topic};

/// The work queue of scheduling problems, consumed by every scheduler replica.
pub const SCHEDULE_PROBLEM_QUEUE: &str = "schedule.problem";

/// Event topics of DESIGN.md §3 (routing keys on the event exchange).
pub mod topics {
    /// A user asked for streams to be computed (uni-gateway → preprocess).
    pub const COMPUTE_REQUESTED: &str = "compute.requested";
    /// A new topology snapshot (topology → preprocess).
    pub const TOPOLOGY_CHANGED: &str = "topology.changed";
    /// A verified schedule (scheduler → southbound).
    pub const SCHEDULE_SOLVED: &str = "schedule.solved";
    /// Scheduling failed, with a reason (scheduler → uni-gateway).
    pub const SCHEDULE_FAILED: &str = "schedule.failed";
    /// The outcome of a deployment (southbound → uni-gateway, preprocess).
    pub const DEPLOY_COMPLETED: &str = "deploy.completed";
}
