//! The in-process bus: the semantics of the AMQP bus without a broker, for dev mode and
//! tests. All state sits behind one mutex; consumers wait on one `Notify` that fires on
//! every change (a new message, a settlement, a closed subscription).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tokio::sync::Notify;

use crate::message::{Settle, SubscriptionInner};
use crate::{topic, Bus, BusError, ConsumerOptions, DeadLetter, DeadLetterReason, Delivery, Message, Subscription};

/// Name of the dead-letter queue inside the memory bus (not a valid user queue name).
const DEAD_LETTER_QUEUE: &str = "#dead-letter";

/// An in-process [`Bus`] with the semantics of [`crate::AmqpBus`]. Cloning gives another
/// handle to the same bus.
#[derive(Clone, Default)]
pub struct MemoryBus {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Default)]
struct State {
    queues: HashMap<String, Queue>,
    /// (pattern, queue) pairs, without duplicates.
    bindings: Vec<(String, String)>,
    next_tag: u64,
    next_consumer: u64,
}

#[derive(Default)]
struct Queue {
    ready: VecDeque<Stored>,
    /// Delivery tag → (consumer id, message).
    unacked: HashMap<u64, (u64, Stored)>,
}

#[derive(Clone)]
struct Stored {
    message: Message,
    topic: String,
    /// Deliveries so far from the current queue.
    deliveries: u32,
    dead_letter: Option<DeadLetter>,
}

impl MemoryBus {
    /// An empty bus.
    pub fn new() -> Self {
        Self::default()
    }

    /// Messages waiting (not delivered) in `queue`; 0 for an unknown queue. For tests and
    /// dev-mode diagnostics.
    pub fn ready_count(&self, queue: &str) -> usize {
        self.shared.lock().queues.get(queue).map_or(0, |q| q.ready.len())
    }

    fn consume(&self, queue: &str, options: ConsumerOptions) -> Subscription {
        let mut state = self.shared.lock();
        state.queues.entry(queue.to_owned()).or_default();
        state.next_consumer += 1;
        let consumer = state.next_consumer;
        Subscription {
            inner: SubscriptionInner::Memory(MemorySubscription {
                shared: self.shared.clone(),
                queue: queue.to_owned(),
                consumer,
                options: options.normalized(),
            }),
        }
    }
}

impl fmt::Debug for MemoryBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("MemoryBus")
            .field("queues", &state.queues.len())
            .field("bindings", &state.bindings.len())
            .finish()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-updated in a way that
        // matters more than losing the bus, so recover the guard.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    /// Moves a message that failed in `from` to the dead-letter queue, or drops it if it
    /// already was a dead letter.
    fn dead_letter(&mut self, from: &str, mut stored: Stored, reason: DeadLetterReason) {
        if from == DEAD_LETTER_QUEUE {
            tracing::warn!(request_id = %stored.message.request_id, kind = %stored.message.kind, "dropping a dead letter that failed again");
            return;
        }
        tracing::warn!(queue = from, request_id = %stored.message.request_id, reason = reason.as_str(), "dead-lettering a message");
        stored.dead_letter = Some(DeadLetter { queue: from.to_owned(), reason, deliveries: stored.deliveries });
        // The dead-letter queue counts its own deliveries from zero.
        stored.deliveries = 0;
        self.queues.entry(DEAD_LETTER_QUEUE.to_owned()).or_default().ready.push_back(stored);
    }
}

#[async_trait]
impl Bus for MemoryBus {
    async fn publish(&self, topic: &str, message: &Message) -> Result<(), BusError> {
        topic::validate_topic(topic)?;
        let mut state = self.shared.lock();
        let mut targets: Vec<String> = state
            .bindings
            .iter()
            .filter(|(pattern, _)| topic::pattern_matches(pattern, topic))
            .map(|(_, queue)| queue.clone())
            .collect();
        // A queue bound by several matching patterns gets one copy, as in AMQP.
        targets.sort();
        targets.dedup();
        for queue in targets {
            let stored = Stored { message: message.clone(), topic: topic.to_owned(), deliveries: 0, dead_letter: None };
            state.queues.entry(queue).or_default().ready.push_back(stored);
        }
        drop(state);
        self.shared.changed.notify_waiters();
        Ok(())
    }

    async fn subscribe(
        &self,
        queue: &str,
        patterns: &[&str],
        options: ConsumerOptions,
    ) -> Result<Subscription, BusError> {
        topic::validate_queue_name(queue)?;
        for pattern in patterns {
            topic::validate_pattern(pattern)?;
        }
        {
            let mut state = self.shared.lock();
            for pattern in patterns {
                let binding = ((*pattern).to_owned(), queue.to_owned());
                if !state.bindings.contains(&binding) {
                    state.bindings.push(binding);
                }
            }
        }
        Ok(self.consume(queue, options))
    }

    async fn send_work(&self, queue: &str, message: &Message) -> Result<(), BusError> {
        topic::validate_queue_name(queue)?;
        let stored = Stored { message: message.clone(), topic: queue.to_owned(), deliveries: 0, dead_letter: None };
        self.shared.lock().queues.entry(queue.to_owned()).or_default().ready.push_back(stored);
        self.shared.changed.notify_waiters();
        Ok(())
    }

    async fn consume_work(&self, queue: &str, options: ConsumerOptions) -> Result<Subscription, BusError> {
        topic::validate_queue_name(queue)?;
        Ok(self.consume(queue, options))
    }

    async fn consume_dead_letters(&self, options: ConsumerOptions) -> Result<Subscription, BusError> {
        Ok(self.consume(DEAD_LETTER_QUEUE, options))
    }
}

/// The memory side of a [`Subscription`].
pub(crate) struct MemorySubscription {
    shared: Arc<Shared>,
    queue: String,
    consumer: u64,
    options: ConsumerOptions,
}

impl MemorySubscription {
    pub(crate) async fn next(&mut self) -> Result<Delivery, BusError> {
        loop {
            // Register for wake-ups before looking, so no change between the look and the
            // wait is missed.
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if let Some(delivery) = self.try_take() {
                return Ok(delivery);
            }
            changed.await;
        }
    }

    fn try_take(&self) -> Option<Delivery> {
        let mut guard = self.shared.lock();
        let state = &mut *guard;
        let queue = state.queues.get_mut(&self.queue)?;
        let in_flight = queue.unacked.values().filter(|(c, _)| *c == self.consumer).count();
        if in_flight >= usize::from(self.options.prefetch) {
            return None;
        }
        let mut failed = Vec::new();
        let mut taken = None;
        while let Some(mut stored) = queue.ready.pop_front() {
            if stored.deliveries >= self.options.max_deliveries {
                failed.push(stored);
                continue;
            }
            stored.deliveries += 1;
            state.next_tag += 1;
            let tag = state.next_tag;
            let delivery = Delivery {
                message: stored.message.clone(),
                topic: stored.topic.clone(),
                attempt: stored.deliveries,
                dead_letter: stored.dead_letter.clone(),
                settle: Settle::Memory(MemorySettle {
                    shared: self.shared.clone(),
                    queue: self.queue.clone(),
                    tag,
                    max_deliveries: self.options.max_deliveries,
                }),
            };
            queue.unacked.insert(tag, (self.consumer, stored));
            taken = Some(delivery);
            break;
        }
        for stored in failed {
            state.dead_letter(&self.queue, stored, DeadLetterReason::MaxDeliveries);
        }
        taken
    }
}

impl Drop for MemorySubscription {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if let Some(queue) = state.queues.get_mut(&self.queue) {
            let mut mine: Vec<(u64, Stored)> = Vec::new();
            queue.unacked.retain(|tag, (consumer, stored)| {
                if *consumer == self.consumer {
                    mine.push((*tag, stored.clone()));
                    false
                } else {
                    true
                }
            });
            // Back to the head of the queue in delivery order, as a broker requeues them.
            mine.sort_by_key(|(tag, _)| *tag);
            for (_, stored) in mine.into_iter().rev() {
                queue.ready.push_front(stored);
            }
        }
        drop(state);
        self.shared.changed.notify_waiters();
    }
}

impl fmt::Debug for MemorySubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemorySubscription")
            .field("queue", &self.queue)
            .field("consumer", &self.consumer)
            .field("options", &self.options)
            .finish()
    }
}

/// Settles one memory delivery.
pub(crate) struct MemorySettle {
    shared: Arc<Shared>,
    queue: String,
    tag: u64,
    max_deliveries: u32,
}

impl MemorySettle {
    fn take(&self, state: &mut State) -> Result<Stored, BusError> {
        state
            .queues
            .get_mut(&self.queue)
            .and_then(|q| q.unacked.remove(&self.tag))
            .map(|(_, stored)| stored)
            .ok_or(BusError::DeliveryGone(self.tag))
    }

    pub(crate) fn ack(self) -> Result<(), BusError> {
        let result = self.take(&mut self.shared.lock()).map(drop);
        self.shared.changed.notify_waiters();
        result
    }

    pub(crate) fn nack(self, requeue: bool) -> Result<(), BusError> {
        let mut state = self.shared.lock();
        let result = self.take(&mut state).map(|stored| {
            if !requeue {
                state.dead_letter(&self.queue, stored, DeadLetterReason::Rejected);
            } else if stored.deliveries >= self.max_deliveries {
                state.dead_letter(&self.queue, stored, DeadLetterReason::MaxDeliveries);
            } else {
                // To the back of the queue, as the AMQP bus republishes it.
                state.queues.entry(self.queue.clone()).or_default().ready.push_back(stored);
            }
        });
        drop(state);
        self.shared.changed.notify_waiters();
        result
    }
}
