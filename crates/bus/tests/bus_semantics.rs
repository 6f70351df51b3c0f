//! One behavioural suite, written once against the `Bus` trait and run against both
//! `MemoryBus` and `AmqpBus` (the real RabbitMQ at `TSN_AMQP_URL`, default
//! `amqp://guest:guest@127.0.0.1:5672/%2f`). Every AMQP test works in its own namespace (a
//! random prefix on every exchange and queue) and deletes it at the end, so parallel runs
//! never meet. Without a reachable broker the AMQP tests fail, saying so.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use tsn_bus::{AmqpBus, AmqpConfig, Bus, ConsumerOptions, Delivery, MemoryBus, Message, Subscription};

/// Generous: a timeout here is a failure, never a normal path.
const RECV_TIMEOUT: Duration = Duration::from_secs(20);
/// How long "nothing more arrives" is watched.
const QUIET: Duration = Duration::from_millis(400);

async fn recv(sub: &mut Subscription) -> Delivery {
    match tokio::time::timeout(RECV_TIMEOUT, sub.next()).await {
        Ok(Ok(delivery)) => delivery,
        Ok(Err(e)) => panic!("subscription failed: {e}"),
        Err(_) => panic!("no delivery within {RECV_TIMEOUT:?} on {sub:?}"),
    }
}

async fn expect_nothing(sub: &mut Subscription) {
    if let Ok(result) = tokio::time::timeout(QUIET, sub.next()).await {
        panic!("expected no delivery, got {result:?}");
    }
}

fn message(n: u64) -> Message {
    Message::new("test.kind", format!("req-{n}"), n, format!("body {n}").into_bytes())
}

mod suite {
    use super::*;

    /// Topics reach every queue bound with a matching pattern, once per queue.
    pub async fn publish_subscribe_with_patterns<B: Bus + Clone + 'static>(bus: B) {
        let opts = ConsumerOptions::default();
        let mut all = bus.subscribe("all", &["#"], opts).await.unwrap();
        let mut schedule = bus.subscribe("schedule", &["schedule.*"], opts).await.unwrap();
        // Two patterns matching one topic: the queue still gets one copy.
        let mut deploy = bus.subscribe("deploy", &["*.completed", "deploy.#"], opts).await.unwrap();
        let topics = ["schedule.solved", "schedule.failed", "deploy.completed", "topology.changed"];
        for (n, topic) in topics.iter().enumerate() {
            bus.publish(topic, &message(n as u64)).await.unwrap();
        }
        // Only `#` matches this one.
        bus.publish("other.topic", &message(99)).await.unwrap();

        let mut got = BTreeSet::new();
        for _ in 0..5 {
            let d = recv(&mut all).await;
            got.insert(d.topic().to_owned());
            d.ack().await.unwrap();
        }
        let mut expected: BTreeSet<String> = topics.iter().map(|t| (*t).to_owned()).collect();
        expected.insert("other.topic".to_owned());
        assert_eq!(got, expected);
        let mut got = BTreeSet::new();
        for _ in 0..2 {
            let d = recv(&mut schedule).await;
            got.insert(d.topic().to_owned());
            d.ack().await.unwrap();
        }
        assert_eq!(got, ["schedule.failed", "schedule.solved"].map(str::to_owned).into());
        let d = recv(&mut deploy).await;
        assert_eq!(d.topic(), "deploy.completed");
        assert_eq!(d.message(), &message(2));
        d.ack().await.unwrap();
        expect_nothing(&mut all).await;
        expect_nothing(&mut schedule).await;
        expect_nothing(&mut deploy).await;

        // A topic no queue is bound to is dropped, not an error.
        let fresh = bus.subscribe("narrow", &["only.this"], opts).await.unwrap();
        drop(fresh);
        bus.publish("only.that", &message(100)).await.unwrap();

        // Bad names are refused.
        assert!(bus.publish("schedule.*", &message(0)).await.is_err());
        assert!(bus.subscribe("bad queue", &["#"], opts).await.is_err());
        assert!(bus.subscribe("q", &["sched*"], opts).await.is_err());
    }

    /// Competing consumers of the work queue share the work; each message goes to exactly
    /// one of them.
    pub async fn competing_consumers_share_work<B: Bus + Clone + 'static>(bus: B) {
        const N: u64 = 20;
        let first = bus.consume_work(tsn_bus::SCHEDULE_PROBLEM_QUEUE, ConsumerOptions::WORK).await.unwrap();
        let second = bus.consume_work(tsn_bus::SCHEDULE_PROBLEM_QUEUE, ConsumerOptions::WORK).await.unwrap();
        for n in 0..N {
            bus.send_work(tsn_bus::SCHEDULE_PROBLEM_QUEUE, &message(n)).await.unwrap();
        }
        let done = std::sync::Arc::new(AtomicU64::new(0));
        let worker = |mut sub: Subscription, done: std::sync::Arc<AtomicU64>| async move {
            let mut seen = Vec::new();
            while done.load(Ordering::SeqCst) < N {
                let Ok(next) = tokio::time::timeout(Duration::from_millis(200), sub.next()).await else { continue };
                let d = next.unwrap();
                assert_eq!(d.topic(), tsn_bus::SCHEDULE_PROBLEM_QUEUE);
                assert!(!d.redelivered());
                // Hold the problem a little, as a solver would, so that prefetch 1 shows.
                tokio::time::sleep(Duration::from_millis(10)).await;
                seen.push(d.message().request_id.clone());
                d.ack().await.unwrap();
                done.fetch_add(1, Ordering::SeqCst);
            }
            (sub, seen)
        };
        let a = tokio::spawn(worker(first, done.clone()));
        let b = tokio::spawn(worker(second, done.clone()));
        let work = tokio::time::timeout(RECV_TIMEOUT, async { (a.await.unwrap(), b.await.unwrap()) });
        let ((mut first, seen_a), (_second, seen_b)) = work.await.expect("workers did not finish the work");
        assert!(!seen_a.is_empty() && !seen_b.is_empty(), "work not shared: {seen_a:?} / {seen_b:?}");
        let mut all: Vec<String> = seen_a.into_iter().chain(seen_b).collect();
        all.sort();
        let expected: BTreeSet<String> = (0..N).map(|n| format!("req-{n}")).collect();
        assert_eq!(all.len(), expected.len(), "a message was delivered twice: {all:?}");
        assert_eq!(all.into_iter().collect::<BTreeSet<_>>(), expected);
        expect_nothing(&mut first).await;
    }

    /// A message its consumer never settled goes to another consumer when the first one
    /// closes (or is dropped), flagged as redelivered; the stale delivery cannot be acked.
    pub async fn unacked_redelivered_when_consumer_goes<B: Bus + Clone + 'static>(bus: B) {
        let queue = "work";
        let mut first = bus.consume_work(queue, ConsumerOptions::WORK).await.unwrap();
        bus.send_work(queue, &message(1)).await.unwrap();
        let d = recv(&mut first).await;
        assert_eq!((d.attempt(), d.redelivered()), (1, false));
        let mut second = bus.consume_work(queue, ConsumerOptions::WORK).await.unwrap();
        expect_nothing(&mut second).await;
        first.close().await;
        assert!(d.ack().await.is_err(), "a delivery of a closed subscription was acked");

        let d = recv(&mut second).await;
        assert_eq!(d.message(), &message(1));
        assert_eq!((d.attempt(), d.redelivered()), (2, true));
        // Now the holder is dropped, delivery and all, without closing.
        drop(d);
        drop(second);
        let mut third = bus.consume_work(queue, ConsumerOptions::WORK).await.unwrap();
        let d = recv(&mut third).await;
        assert_eq!(d.message(), &message(1));
        assert_eq!((d.attempt(), d.redelivered()), (3, true));
        d.ack().await.unwrap();
        expect_nothing(&mut third).await;
    }

    /// nack with requeue delivers the message again, flagged as redelivered.
    pub async fn nack_requeue_redelivers<B: Bus + Clone + 'static>(bus: B) {
        let mut sub = bus.subscribe("solved", &["schedule.solved"], ConsumerOptions::WORK).await.unwrap();
        bus.publish("schedule.solved", &message(7)).await.unwrap();
        let d = recv(&mut sub).await;
        assert_eq!((d.attempt(), d.redelivered()), (1, false));
        d.nack(true).await.unwrap();
        let d = recv(&mut sub).await;
        assert_eq!(d.message(), &message(7));
        assert_eq!(d.topic(), "schedule.solved");
        assert_eq!((d.attempt(), d.redelivered()), (2, true));
        d.ack().await.unwrap();
        expect_nothing(&mut sub).await;
    }

    /// A poison message is dead-lettered after `max_deliveries` while the others flow; a
    /// message nacked without requeue is dead-lettered at once.
    pub async fn poison_message_dead_lettered<B: Bus + Clone + 'static>(bus: B) {
        let queue = "poisoned";
        let options = ConsumerOptions { prefetch: 1, max_deliveries: 3 };
        let mut sub = bus.consume_work(queue, options).await.unwrap();
        bus.send_work(queue, &Message::new("poison", "poison", 0, b"boom".to_vec())).await.unwrap();
        for n in 1..=3 {
            bus.send_work(queue, &message(n)).await.unwrap();
        }
        let mut poison_attempts = Vec::new();
        let mut good = BTreeSet::new();
        while good.len() < 3 || poison_attempts.len() < 3 {
            let d = recv(&mut sub).await;
            if d.message().kind == "poison" {
                poison_attempts.push(d.attempt());
                d.nack(true).await.unwrap();
            } else {
                assert_eq!(d.attempt(), 1);
                good.insert(d.message().request_id.clone());
                d.ack().await.unwrap();
            }
        }
        assert_eq!(poison_attempts, [1, 2, 3]);
        assert_eq!(good, ["req-1", "req-2", "req-3"].map(str::to_owned).into());
        expect_nothing(&mut sub).await;

        bus.send_work(queue, &message(4)).await.unwrap();
        let d = recv(&mut sub).await;
        d.nack(false).await.unwrap();
        expect_nothing(&mut sub).await;

        let mut dead = bus.consume_dead_letters(ConsumerOptions::default()).await.unwrap();
        let mut letters = Vec::new();
        for _ in 0..2 {
            let d = recv(&mut dead).await;
            let info = d.dead_letter().expect("dead letters say where they come from").clone();
            assert_eq!(d.topic(), queue);
            assert_eq!(d.attempt(), 1);
            letters.push((d.message().request_id.clone(), info.queue, info.reason, info.deliveries));
            d.ack().await.unwrap();
        }
        letters.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            letters,
            [
                ("poison".to_owned(), queue.to_owned(), tsn_bus::DeadLetterReason::MaxDeliveries, 3),
                ("req-4".to_owned(), queue.to_owned(), tsn_bus::DeadLetterReason::Rejected, 1),
            ]
        );
        expect_nothing(&mut dead).await;
    }

    /// A message that kills every consumer (never settled) is dead-lettered too.
    pub async fn crashing_consumers_do_not_loop<B: Bus + Clone + 'static>(bus: B) {
        let queue = "crashy";
        let options = ConsumerOptions { prefetch: 1, max_deliveries: 2 };
        bus.send_work(queue, &message(5)).await.unwrap();
        for attempt in 1..=2 {
            let mut sub = bus.consume_work(queue, options).await.unwrap();
            let d = recv(&mut sub).await;
            assert_eq!(d.attempt(), attempt);
            sub.close().await; // the "crash": the delivery is never settled
        }
        let mut sub = bus.consume_work(queue, options).await.unwrap();
        expect_nothing(&mut sub).await;
        let mut dead = bus.consume_dead_letters(ConsumerOptions::default()).await.unwrap();
        let d = recv(&mut dead).await;
        assert_eq!(d.message(), &message(5));
        let info = d.dead_letter().unwrap();
        assert_eq!((info.reason, info.deliveries), (tsn_bus::DeadLetterReason::MaxDeliveries, 2));
        d.ack().await.unwrap();
    }

    /// Every envelope field survives the trip.
    pub async fn envelope_fields_round_trip<B: Bus + Clone + 'static>(bus: B) {
        let mut sub = bus.subscribe("roundtrip", &["topology.changed"], ConsumerOptions::default()).await.unwrap();
        let sent = Message::new("topology.changed", "req-ü-✓-0123", u64::MAX, (0..=255u8).collect());
        bus.publish("topology.changed", &sent).await.unwrap();
        let body = serde_json::json!({"nodes": ["a", "b"], "version": 3});
        let json = Message::json("topology.changed", "req-json", 42, &body).unwrap();
        bus.publish("topology.changed", &json).await.unwrap();

        let d = recv(&mut sub).await;
        assert_eq!(d.message(), &sent);
        assert_eq!(d.message().schema_version, tsn_bus::wire::SCHEMA_VERSION);
        d.ack().await.unwrap();
        let mut d = recv(&mut sub).await;
        let got = d.take_message();
        assert_eq!(got, json);
        assert_eq!(got.payload_json::<serde_json::Value>().unwrap(), body);
        d.ack().await.unwrap();
    }
}

/// Generates one test per suite function for each bus.
macro_rules! for_both_buses {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::suite::$name(super::MemoryBus::new()).await;
                }
            )*
        }
        mod amqp {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::with_amqp(stringify!($name), super::suite::$name).await;
                }
            )*
        }
    };
}

for_both_buses!(
    publish_subscribe_with_patterns,
    competing_consumers_share_work,
    unacked_redelivered_when_consumer_goes,
    nack_requeue_redelivers,
    poison_message_dead_lettered,
    crashing_consumers_do_not_loop,
    envelope_fields_round_trip,
);

fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{:x}{:x}{:x}", std::process::id(), nanos & 0xffff_ffff_ffff, COUNTER.fetch_add(1, Ordering::Relaxed))
}

fn amqp_config(test: &str) -> AmqpConfig {
    let url = std::env::var("TSN_AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned());
    let suffix = unique_suffix();
    let mut config = AmqpConfig::new(url);
    config.namespace = format!("test.{test}.{suffix}.");
    config.connection_name = format!("tsn-bus-test-{test}-{suffix}");
    // Whatever a crashed run leaves behind disappears on its own.
    config.queue_expiry = Some(Duration::from_secs(300));
    config
}

async fn connect(config: AmqpConfig) -> AmqpBus {
    match AmqpBus::connect(config).await {
        Ok(bus) => bus,
        Err(e) => panic!(
            "the AMQP bus tests need RabbitMQ and it is not reachable: {e}\n\
             start it with `rabbitmq-server -detached` (scripts/setup does), or set TSN_AMQP_URL"
        ),
    }
}

/// Runs `body` on a fresh namespace and deletes the namespace afterwards, even when `body`
/// panics.
async fn with_amqp<F, Fut>(test: &str, body: F)
where
    F: FnOnce(AmqpBus) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_amqp_config(amqp_config(test), body).await;
}

async fn with_amqp_config<F, Fut>(config: AmqpConfig, body: F)
where
    F: FnOnce(AmqpBus) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let bus = connect(config).await;
    let result = tokio::spawn(body(bus.clone())).await;
    bus.delete_declared().await.expect("deleting the test namespace");
    bus.close().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[tokio::test]
async fn amqp_unreachable_broker_is_a_clear_error() {
    let mut config = AmqpConfig::new("amqp://guest:secret@127.0.0.1:1/%2f");
    config.connect_timeout = Duration::from_secs(2);
    let err = AmqpBus::connect(config).await.unwrap_err().to_string();
    assert!(err.contains("cannot connect to the AMQP broker at amqp://guest:***@127.0.0.1:1"), "{err}");
    assert!(!err.contains("secret"), "{err}");
}

/// Closes this test's own connection on the broker side (other connections are left
/// alone) and checks that publishing and consuming resume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_consumers_resume_after_the_connection_is_closed() {
    let config = amqp_config("reconnect");
    let connection_name = config.connection_name.clone();
    with_amqp_config(config, move |bus| async move {
        let mut sub = bus.subscribe("events", &["reconnect.#"], ConsumerOptions::default()).await.unwrap();
        bus.publish("reconnect.one", &message(1)).await.unwrap();
        recv(&mut sub).await.ack().await.unwrap();

        let closed = tokio::task::spawn_blocking(move || close_connection_named(&connection_name)).await.unwrap();
        assert!(closed > 0, "found no broker connection named after this test");

        bus.publish("reconnect.two", &message(2)).await.unwrap();
        let d = recv(&mut sub).await;
        assert_eq!(d.message(), &message(2));
        d.ack().await.unwrap();
    })
    .await;
}

/// `rabbitmqctl close_connection` on every connection whose client properties carry
/// `name`; returns how many it closed.
fn close_connection_named(name: &str) -> usize {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("rabbitmqctl").args(args).output().unwrap_or_else(|e| {
            panic!("the reconnection test needs rabbitmqctl (Debian rabbitmq-server) on PATH: {e}")
        });
        assert!(out.status.success(), "rabbitmqctl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Plain output: a header line, then "pid<TAB>client_properties" per connection.
    let listing = run(&["-q", "list_connections", "pid", "client_properties"]);
    let mut closed = 0;
    for line in listing.lines().skip(1).filter(|line| line.contains(name)) {
        let pid = line.split('\t').next().unwrap_or_default();
        run(&["-q", "close_connection", pid, "tsn-bus reconnection test"]);
        closed += 1;
    }
    closed
}
