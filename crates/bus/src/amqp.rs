//! The AMQP bus on RabbitMQ (lapin).
//!
//! Broker objects, all durable, under the configured namespace prefix `ns`:
//!
//! ```text
//! publish(topic) ──▶ [ns]tsn.events (topic exchange) ──pattern──▶ [ns]<queue> ──▶ Subscription
//! send_work(q)   ──▶ default exchange ───────────────────────────▶ [ns]<q>     ──▶ Subscription
//! nack / max deliveries ──▶ [ns]tsn.dead-letter (fanout) ──▶ [ns]tsn.dead-letter (queue)
//! ```
//!
//! Delivery bookkeeping lives in message headers: `x-tsn-delivery-count` (deliveries from
//! the current queue so far), `x-tsn-topic` (the topic, or the work queue name), and for dead
//! letters `x-tsn-dead-letter-queue`, `-reason` and `-deliveries`. A broker cannot change a
//! header when it requeues a message, so a requeue is a confirmed republish of the message
//! with the counter raised, followed by an ack of the original; a message the broker gives
//! back after losing a consumer (redelivered flag) is counted the same way before it is
//! handed out again. Thus a message that crashes its consumers is dead-lettered after
//! `max_deliveries` attempts instead of looping.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use lapin::message::Delivery as AmqpDelivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions,
    ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, Consumer, ExchangeKind};
use tokio::sync::Mutex;

use crate::message::{Settle, SubscriptionInner};
use crate::{
    topic, wire, Bus, BusError, ConsumerOptions, DeadLetter, DeadLetterReason, Delivery, Message, Subscription,
};

const H_DELIVERY_COUNT: &str = "x-tsn-delivery-count";
const H_TOPIC: &str = "x-tsn-topic";
const H_DL_QUEUE: &str = "x-tsn-dead-letter-queue";
const H_DL_REASON: &str = "x-tsn-dead-letter-reason";
const H_DL_DELIVERIES: &str = "x-tsn-dead-letter-deliveries";
const CONTENT_TYPE: &str = "application/x-protobuf; proto=tsn.bus.v1.Envelope";
/// AMQP delivery mode 2: the broker writes the message to disk.
const PERSISTENT: u8 = 2;
/// Name (exchange and queue) of the dead-letter objects, after the namespace prefix.
const DEAD_LETTER: &str = "tsn.dead-letter";
/// Name of the event exchange, after the namespace prefix.
const EVENTS: &str = "tsn.events";

/// How to reach RabbitMQ and name things there.
#[derive(Clone, PartialEq, Eq)]
pub struct AmqpConfig {
    /// Broker URL, e.g. `amqp://guest:guest@127.0.0.1:5672/%2f` (`%2f` = vhost `/`).
    pub url: String,
    /// Prefix of every exchange and queue name, so that several deployments (or test runs)
    /// share a broker without meeting. Empty in production.
    pub namespace: String,
    /// Connection name shown by the broker (`rabbitmqctl list_connections client_properties`).
    pub connection_name: String,
    /// When set, queues this bus declares are deleted by the broker after being unused
    /// this long (AMQP `x-expires`). For tests, so that a crashed run leaves nothing behind.
    pub queue_expiry: Option<Duration>,
    /// Time allowed for one connection attempt.
    pub connect_timeout: Duration,
    /// First wait between reconnection attempts; it doubles up to `reconnect_max_delay`.
    pub reconnect_initial_delay: Duration,
    /// Longest wait between reconnection attempts.
    pub reconnect_max_delay: Duration,
    /// Connection attempts a publish makes before it fails (subscriptions retry forever).
    pub publish_attempts: u32,
}

impl AmqpConfig {
    /// The default settings for the broker at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        AmqpConfig {
            url: url.into(),
            namespace: String::new(),
            connection_name: "tsn-cp".to_owned(),
            queue_expiry: None,
            connect_timeout: Duration::from_secs(5),
            reconnect_initial_delay: Duration::from_millis(100),
            reconnect_max_delay: Duration::from_secs(10),
            publish_attempts: 8,
        }
    }

    /// The URL without its password, for messages and logs.
    pub fn redacted_url(&self) -> String {
        match (self.url.find("://"), self.url.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                let userinfo = &self.url[scheme + 3..at];
                let user = userinfo.split(':').next().unwrap_or("");
                format!("{}{user}:***{}", &self.url[..scheme + 3], &self.url[at..])
            }
            _ => self.url.clone(),
        }
    }

    fn events_exchange(&self) -> String {
        format!("{}{EVENTS}", self.namespace)
    }

    fn dead_letter(&self) -> String {
        format!("{}{DEAD_LETTER}", self.namespace)
    }

    fn queue(&self, queue: &str) -> Result<String, BusError> {
        topic::validate_queue_name(queue)?;
        if queue == DEAD_LETTER {
            return Err(BusError::InvalidQueue { queue: queue.to_owned(), reason: "reserved for dead letters" });
        }
        Ok(format!("{}{queue}", self.namespace))
    }
}

impl fmt::Debug for AmqpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpConfig")
            .field("url", &self.redacted_url())
            .field("namespace", &self.namespace)
            .field("connection_name", &self.connection_name)
            .field("queue_expiry", &self.queue_expiry)
            .finish_non_exhaustive()
    }
}

/// The [`Bus`] on RabbitMQ. Cloning gives another handle on the same connection.
#[derive(Clone)]
pub struct AmqpBus {
    shared: Arc<Shared>,
}

struct Shared {
    config: AmqpConfig,
    connection: Mutex<Option<Arc<Connection>>>,
    publisher: Mutex<Option<Publisher>>,
    /// Every queue declared through this bus, for [`AmqpBus::delete_declared`].
    declared_queues: StdMutex<BTreeSet<String>>,
}

struct Publisher {
    channel: Channel,
    /// Work queues declared on this channel's connection.
    work_queues: BTreeSet<String>,
}

fn amqp(operation: &'static str) -> impl FnOnce(lapin::Error) -> BusError {
    move |source| BusError::Amqp { operation, source }
}

impl AmqpBus {
    /// Connects to the broker (one attempt, so that a wrong URL or a stopped broker is
    /// reported at once) and declares the event and dead-letter exchanges and queue.
    pub async fn connect(config: AmqpConfig) -> Result<Self, BusError> {
        let shared = Arc::new(Shared {
            config,
            connection: Mutex::new(None),
            publisher: Mutex::new(None),
            declared_queues: StdMutex::new(BTreeSet::new()),
        });
        let connection = shared.connection(Some(1)).await?;
        let channel = shared.open_channel(&connection).await?;
        let _ = channel.close(200, "declared".into()).await;
        Ok(AmqpBus { shared })
    }

    /// The configuration.
    pub fn config(&self) -> &AmqpConfig {
        &self.shared.config
    }

    /// Deletes every queue this bus declared (with their messages), the dead-letter queue
    /// and both exchanges of the namespace. For tests and teardown tools: other users of
    /// the namespace lose their queues too.
    pub async fn delete_declared(&self) -> Result<(), BusError> {
        let connection = self.shared.connection(Some(1)).await?;
        let channel = connection.create_channel().await.map_err(amqp("channel.open"))?;
        let mut queues: Vec<String> = self.shared.lock_declared().iter().cloned().collect();
        queues.push(self.shared.config.dead_letter());
        for queue in queues {
            channel
                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                .await
                .map_err(amqp("queue.delete"))?;
        }
        for exchange in [self.shared.config.events_exchange(), self.shared.config.dead_letter()] {
            channel
                .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                .await
                .map_err(amqp("exchange.delete"))?;
        }
        self.shared.lock_declared().clear();
        let _ = channel.close(200, "deleted".into()).await;
        Ok(())
    }

    /// Closes the connection. Subscriptions still open will reconnect when next polled.
    pub async fn close(&self) {
        // Shutdown must never hang: a broker that vanishes mid-close, or a reconnect attempt
        // holding the locks, once left `close` waiting forever (seen in the bus test suite).
        // After the timeout the connection is simply dropped; the broker then requeues
        // whatever was unacknowledged, as for a crash.
        const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
        let close = async {
            *self.shared.publisher.lock().await = None;
            if let Some(connection) = self.shared.connection.lock().await.take() {
                let _ = connection.close(200, "closed by tsn-bus".into()).await;
            }
        };
        if tokio::time::timeout(CLOSE_TIMEOUT, close).await.is_err() {
            tracing::warn!("closing the AMQP connection took over {CLOSE_TIMEOUT:?}; dropping it");
        }
    }

    async fn publish_to(
        &self,
        exchange: String,
        routing_key: &str,
        topic: &str,
        work_queue: Option<&str>,
        message: &Message,
    ) -> Result<(), BusError> {
        let body = wire::encode(message);
        let mut headers = FieldTable::default();
        headers.insert(H_TOPIC.into(), AMQPValue::LongString(topic.into()));
        let properties = BasicProperties::default()
            .with_delivery_mode(PERSISTENT)
            .with_content_type(CONTENT_TYPE.into())
            .with_headers(headers);
        let attempts = self.shared.config.publish_attempts.max(1);
        let mut attempt = 1;
        loop {
            let result = async {
                let channel = self.shared.publisher_channel(work_queue).await?;
                let options = BasicPublishOptions { mandatory: work_queue.is_some(), immediate: false };
                let confirm = channel
                    .basic_publish(exchange.as_str().into(), routing_key.into(), options, &body, properties.clone())
                    .await
                    .map_err(amqp("basic.publish"))?;
                let confirmation = confirm.await.map_err(amqp("basic.publish confirm"))?;
                check_confirmation(confirmation, topic)
            }
            .await;
            match result {
                Err(e @ BusError::Amqp { .. }) if attempt < attempts => {
                    tracing::warn!(topic, request_id = %message.request_id, attempt, error = %e, "publish failed; retrying on a new channel");
                    *self.shared.publisher.lock().await = None;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn consume(
        &self,
        queue: &str,
        patterns: Vec<String>,
        options: ConsumerOptions,
        is_dead_letter: bool,
    ) -> Result<Subscription, BusError> {
        let full_queue =
            if is_dead_letter { self.shared.config.dead_letter() } else { self.shared.config.queue(queue)? };
        let mut subscription = AmqpSubscription {
            shared: self.shared.clone(),
            queue: queue.to_owned(),
            full_queue,
            patterns,
            options: options.normalized(),
            is_dead_letter,
            live: None,
        };
        // The first setup fails fast; later ones (after a connection loss) retry forever.
        subscription.live = Some(subscription.setup(Some(1)).await?);
        Ok(Subscription { inner: SubscriptionInner::Amqp(Box::new(subscription)) })
    }
}

fn check_confirmation(confirmation: Confirmation, destination: &str) -> Result<(), BusError> {
    match confirmation {
        Confirmation::Ack(None) => Ok(()),
        Confirmation::Ack(Some(_)) => Err(BusError::Unroutable { queue: destination.to_owned() }),
        Confirmation::Nack(_) | Confirmation::NotRequested => {
            Err(BusError::NotConfirmed { destination: destination.to_owned() })
        }
    }
}

impl fmt::Debug for AmqpBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpBus").field("config", &self.shared.config).finish_non_exhaustive()
    }
}

impl Shared {
    fn lock_declared(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.declared_queues.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The live connection, re-established with exponential backoff when it was lost;
    /// `max_attempts` bounds the attempts (`None` = until it works).
    async fn connection(&self, max_attempts: Option<u32>) -> Result<Arc<Connection>, BusError> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            if connection.status().connected() {
                return Ok(connection.clone());
            }
            tracing::warn!(url = %self.config.redacted_url(), "AMQP connection lost; reconnecting");
        }
        *slot = None;
        let mut delay = self.config.reconnect_initial_delay;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let properties =
                ConnectionProperties::default().with_connection_name(self.config.connection_name.as_str().into());
            let reason = match tokio::time::timeout(
                self.config.connect_timeout,
                Connection::connect(&self.config.url, properties),
            )
            .await
            {
                Ok(Ok(connection)) => {
                    tracing::info!(url = %self.config.redacted_url(), attempt, "connected to the AMQP broker");
                    let connection = Arc::new(connection);
                    *slot = Some(connection.clone());
                    return Ok(connection);
                }
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("no answer within {:?}", self.config.connect_timeout),
            };
            if max_attempts.is_some_and(|max| attempt >= max) {
                return Err(BusError::Connect { url: self.config.redacted_url(), reason });
            }
            tracing::warn!(url = %self.config.redacted_url(), attempt, ?delay, %reason, "cannot connect to the AMQP broker; retrying");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.config.reconnect_max_delay);
        }
    }

    /// A channel with publisher confirms on which the exchanges and the dead-letter queue
    /// are declared.
    async fn open_channel(&self, connection: &Connection) -> Result<Channel, BusError> {
        let channel = connection.create_channel().await.map_err(amqp("channel.open"))?;
        channel.confirm_select(ConfirmSelectOptions::default()).await.map_err(amqp("confirm.select"))?;
        let durable = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
        channel
            .exchange_declare(self.config.events_exchange().into(), ExchangeKind::Topic, durable, FieldTable::default())
            .await
            .map_err(amqp("exchange.declare"))?;
        channel
            .exchange_declare(self.config.dead_letter().into(), ExchangeKind::Fanout, durable, FieldTable::default())
            .await
            .map_err(amqp("exchange.declare"))?;
        let dead_letter = self.config.dead_letter();
        channel
            .queue_declare(dead_letter.as_str().into(), durable_queue(), self.queue_arguments(false))
            .await
            .map_err(amqp("queue.declare"))?;
        channel
            .queue_bind(
                dead_letter.as_str().into(),
                dead_letter.as_str().into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(amqp("queue.bind"))?;
        Ok(channel)
    }

    fn queue_arguments(&self, dead_letter_exchange: bool) -> FieldTable {
        let mut arguments = FieldTable::default();
        if dead_letter_exchange {
            // A safety net: the bus dead-letters by itself, but anything the broker drops
            // (e.g. a nack from another client) lands there too.
            arguments.insert("x-dead-letter-exchange".into(), AMQPValue::LongString(self.config.dead_letter().into()));
        }
        if let Some(expiry) = self.config.queue_expiry {
            let ms = i64::try_from(expiry.as_millis()).unwrap_or(i64::MAX).max(1);
            arguments.insert("x-expires".into(), AMQPValue::LongLongInt(ms));
        }
        arguments
    }

    async fn declare_queue(&self, channel: &Channel, full_queue: &str) -> Result<(), BusError> {
        channel
            .queue_declare(full_queue.into(), durable_queue(), self.queue_arguments(true))
            .await
            .map_err(amqp("queue.declare"))?;
        self.lock_declared().insert(full_queue.to_owned());
        Ok(())
    }

    /// The publishing channel, opened (and `work_queue` declared) if needed.
    async fn publisher_channel(&self, work_queue: Option<&str>) -> Result<Channel, BusError> {
        let mut slot = self.publisher.lock().await;
        let publisher = match slot.as_mut() {
            Some(publisher) if publisher.channel.status().connected() => publisher,
            _ => {
                let connection = self.connection(Some(self.config.publish_attempts.max(1))).await?;
                let channel = self.open_channel(&connection).await?;
                slot.insert(Publisher { channel, work_queues: BTreeSet::new() })
            }
        };
        if let Some(queue) = work_queue {
            if !publisher.work_queues.contains(queue) {
                self.declare_queue(&publisher.channel, queue).await?;
                publisher.work_queues.insert(queue.to_owned());
            }
        }
        Ok(publisher.channel.clone())
    }
}

fn durable_queue() -> QueueDeclareOptions {
    QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() }
}

#[async_trait]
impl Bus for AmqpBus {
    async fn publish(&self, topic: &str, message: &Message) -> Result<(), BusError> {
        topic::validate_topic(topic)?;
        self.publish_to(self.shared.config.events_exchange(), topic, topic, None, message).await
    }

    async fn subscribe(
        &self,
        queue: &str,
        patterns: &[&str],
        options: ConsumerOptions,
    ) -> Result<Subscription, BusError> {
        for pattern in patterns {
            topic::validate_pattern(pattern)?;
        }
        self.consume(queue, patterns.iter().map(|p| (*p).to_owned()).collect(), options, false).await
    }

    async fn send_work(&self, queue: &str, message: &Message) -> Result<(), BusError> {
        let full_queue = self.shared.config.queue(queue)?;
        self.publish_to(String::new(), &full_queue, queue, Some(&full_queue), message).await
    }

    async fn consume_work(&self, queue: &str, options: ConsumerOptions) -> Result<Subscription, BusError> {
        self.consume(queue, Vec::new(), options, false).await
    }

    async fn consume_dead_letters(&self, options: ConsumerOptions) -> Result<Subscription, BusError> {
        self.consume(DEAD_LETTER, Vec::new(), options, true).await
    }
}

/// The AMQP side of a [`Subscription`]: it remembers what it consumes so that it can set
/// itself up again on a new connection.
pub(crate) struct AmqpSubscription {
    shared: Arc<Shared>,
    queue: String,
    full_queue: String,
    patterns: Vec<String>,
    options: ConsumerOptions,
    is_dead_letter: bool,
    live: Option<(Channel, Consumer)>,
}

impl AmqpSubscription {
    /// Declares the queue and its bindings and starts consuming, retrying with backoff.
    async fn setup(&self, max_attempts: Option<u32>) -> Result<(Channel, Consumer), BusError> {
        let mut delay = self.shared.config.reconnect_initial_delay;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match self.try_setup(max_attempts).await {
                Ok(live) => return Ok(live),
                Err(e) if max_attempts.is_some_and(|max| attempt >= max) => return Err(e),
                Err(e) => {
                    tracing::warn!(queue = %self.queue, attempt, ?delay, error = %e, "cannot consume; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.shared.config.reconnect_max_delay);
                }
            }
        }
    }

    async fn try_setup(&self, max_attempts: Option<u32>) -> Result<(Channel, Consumer), BusError> {
        let connection = self.shared.connection(max_attempts).await?;
        let channel = self.shared.open_channel(&connection).await?;
        if !self.is_dead_letter {
            self.shared.declare_queue(&channel, &self.full_queue).await?;
            for pattern in &self.patterns {
                channel
                    .queue_bind(
                        self.full_queue.as_str().into(),
                        self.shared.config.events_exchange().into(),
                        pattern.as_str().into(),
                        QueueBindOptions::default(),
                        FieldTable::default(),
                    )
                    .await
                    .map_err(amqp("queue.bind"))?;
            }
        }
        channel.basic_qos(self.options.prefetch, BasicQosOptions { global: false }).await.map_err(amqp("basic.qos"))?;
        let consumer = channel
            .basic_consume(
                self.full_queue.as_str().into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(amqp("basic.consume"))?;
        Ok((channel, consumer))
    }

    pub(crate) async fn next(&mut self) -> Result<Delivery, BusError> {
        loop {
            let (channel, consumer) = match &mut self.live {
                Some(live) => live,
                None => self.live.insert(self.setup(None).await?),
            };
            let lost = match consumer.next().await {
                Some(Ok(delivery)) => {
                    let channel = channel.clone();
                    match self.accept(channel, delivery).await {
                        Ok(Some(delivery)) => return Ok(delivery),
                        Ok(None) => continue,
                        Err(e) => e.to_string(),
                    }
                }
                Some(Err(e)) => e.to_string(),
                None => "consumer cancelled by the broker".to_owned(),
            };
            tracing::warn!(queue = %self.queue, reason = %lost, "consumer lost; resubscribing");
            self.live = None;
        }
    }

    /// Turns an AMQP delivery into a bus delivery, or settles it on the spot (`None`): a
    /// message given back by the broker is counted and requeued or dead-lettered, a body that
    /// is not an envelope is dead-lettered.
    async fn accept(&self, channel: Channel, delivery: AmqpDelivery) -> Result<Option<Delivery>, BusError> {
        let headers = delivery.properties.headers().clone().unwrap_or_default();
        let previous = header_u32(&headers, H_DELIVERY_COUNT).unwrap_or(0);
        let topic = header_str(&headers, H_TOPIC).unwrap_or_else(|| delivery.routing_key.as_str().to_owned());
        let dead_letter = if self.is_dead_letter {
            Some(DeadLetter {
                queue: header_str(&headers, H_DL_QUEUE).unwrap_or_default(),
                reason: header_str(&headers, H_DL_REASON)
                    .and_then(|r| DeadLetterReason::parse(&r))
                    .unwrap_or(DeadLetterReason::Rejected),
                deliveries: header_u32(&headers, H_DL_DELIVERIES).unwrap_or(0),
            })
        } else {
            None
        };
        let broker_redelivered = delivery.redelivered;
        let settle = AmqpSettle {
            channel,
            shared: self.shared.clone(),
            acker: delivery.acker,
            tag: delivery.delivery_tag,
            body: delivery.data,
            headers,
            queue: self.queue.clone(),
            full_queue: self.full_queue.clone(),
            topic,
            attempt: previous.saturating_add(1),
            max_deliveries: self.options.max_deliveries,
            is_dead_letter: self.is_dead_letter,
        };
        if broker_redelivered {
            // Its previous delivery ended without a settlement (consumer or connection lost):
            // record that delivery in the header before anyone sees the message again.
            tracing::info!(queue = %self.queue, attempt = settle.attempt, "message given back by the broker");
            settle.nack(true).await?;
            return Ok(None);
        }
        match wire::decode(&settle.body) {
            Ok(message) => Ok(Some(Delivery {
                message,
                topic: settle.topic.clone(),
                attempt: settle.attempt,
                dead_letter,
                settle: Settle::Amqp(Box::new(settle)),
            })),
            Err(e) => {
                tracing::warn!(queue = %self.queue, error = %e, "body is not a valid envelope");
                settle.dead_letter(DeadLetterReason::Malformed).await?;
                Ok(None)
            }
        }
    }

    pub(crate) async fn close(mut self) {
        if let Some((channel, consumer)) = self.live.take() {
            drop(consumer);
            let _ = channel.close(200, "subscription closed".into()).await;
        }
    }
}

impl Drop for AmqpSubscription {
    fn drop(&mut self) {
        // Deliveries keep the channel alive, so close it explicitly: the broker then returns
        // the unacknowledged messages to the queue.
        if let Some((channel, consumer)) = self.live.take() {
            drop(consumer);
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let _ = channel.close(200, "subscription dropped".into()).await;
                });
            }
        }
    }
}

impl fmt::Debug for AmqpSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpSubscription")
            .field("queue", &self.full_queue)
            .field("patterns", &self.patterns)
            .field("options", &self.options)
            .field("connected", &self.live.is_some())
            .finish()
    }
}

/// Settles one AMQP delivery.
pub(crate) struct AmqpSettle {
    channel: Channel,
    shared: Arc<Shared>,
    acker: lapin::Acker,
    tag: u64,
    body: Vec<u8>,
    headers: FieldTable,
    queue: String,
    full_queue: String,
    topic: String,
    /// This delivery's number (1 = first).
    attempt: u32,
    max_deliveries: u32,
    is_dead_letter: bool,
}

impl AmqpSettle {
    pub(crate) async fn ack(self) -> Result<(), BusError> {
        self.ack_original().await
    }

    pub(crate) async fn nack(self, requeue: bool) -> Result<(), BusError> {
        if !requeue {
            self.dead_letter(DeadLetterReason::Rejected).await
        } else if self.attempt >= self.max_deliveries {
            self.dead_letter(DeadLetterReason::MaxDeliveries).await
        } else {
            let mut headers = self.headers.clone();
            headers.insert(H_DELIVERY_COUNT.into(), AMQPValue::LongUInt(self.attempt));
            headers.insert(H_TOPIC.into(), AMQPValue::LongString(self.topic.as_str().into()));
            self.republish("", &self.full_queue, headers).await?;
            self.ack_original().await
        }
    }

    async fn dead_letter(self, reason: DeadLetterReason) -> Result<(), BusError> {
        if self.is_dead_letter {
            tracing::warn!(topic = %self.topic, "dropping a dead letter that failed again");
            return self.ack_original().await;
        }
        tracing::warn!(queue = %self.queue, topic = %self.topic, reason = reason.as_str(), attempt = self.attempt, "dead-lettering a message");
        let mut headers = self.headers.clone();
        // The dead-letter queue counts its own deliveries from zero.
        headers.insert(H_DELIVERY_COUNT.into(), AMQPValue::LongUInt(0));
        headers.insert(H_TOPIC.into(), AMQPValue::LongString(self.topic.as_str().into()));
        headers.insert(H_DL_QUEUE.into(), AMQPValue::LongString(self.queue.as_str().into()));
        headers.insert(H_DL_REASON.into(), AMQPValue::LongString(reason.as_str().into()));
        headers.insert(H_DL_DELIVERIES.into(), AMQPValue::LongUInt(self.attempt));
        self.republish(&self.shared.config.dead_letter(), &self.queue, headers).await?;
        self.ack_original().await
    }

    /// Publishes a copy of the message with new headers and waits for the broker's confirm;
    /// only then may the original be acked (at-least-once).
    async fn republish(&self, exchange: &str, routing_key: &str, headers: FieldTable) -> Result<(), BusError> {
        let properties = BasicProperties::default()
            .with_delivery_mode(PERSISTENT)
            .with_content_type(CONTENT_TYPE.into())
            .with_headers(headers);
        let confirm = self
            .channel
            .basic_publish(
                ShortString::from(exchange),
                ShortString::from(routing_key),
                BasicPublishOptions::default(),
                &self.body,
                properties,
            )
            .await
            .map_err(amqp("basic.publish"))?;
        check_confirmation(confirm.await.map_err(amqp("basic.publish confirm"))?, routing_key)
    }

    async fn ack_original(&self) -> Result<(), BusError> {
        match self.acker.ack(BasicAckOptions::default()).await {
            Ok(true) => Ok(()),
            Ok(false) | Err(_) => Err(BusError::DeliveryGone(self.tag)),
        }
    }
}

fn header_u32(headers: &FieldTable, key: &str) -> Option<u32> {
    let value: i128 = match headers.inner().get(key)? {
        AMQPValue::ShortShortUInt(v) => (*v).into(),
        AMQPValue::ShortUInt(v) => (*v).into(),
        AMQPValue::LongUInt(v) => (*v).into(),
        AMQPValue::ShortShortInt(v) => (*v).into(),
        AMQPValue::ShortInt(v) => (*v).into(),
        AMQPValue::LongInt(v) => (*v).into(),
        AMQPValue::LongLongInt(v) => (*v).into(),
        _ => return None,
    };
    u32::try_from(value).ok()
}

fn header_str(headers: &FieldTable, key: &str) -> Option<String> {
    match headers.inner().get(key)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}
