//! preprocess: path computation and problem building (DESIGN.md §1, §3).
//!
//! ```text
//!  compute.requested ─┐                         ┌─▶ schedule.problem (work queue)
//!  topology.changed ──┤                         │
//!  schedule.failed ───┼─▶ preprocess.events ─▶ actor ─▶ schedule.failed (nothing to schedule,
//!  deploy.completed ──┤     (one queue)         │                         or a dead letter)
//!  deploy.stale ──────┘                         │
//!  dead-letter queue ───────────────────────────┘
//! ```
//!
//! One task handles every message in order (no locks in the logic). A compute request is
//! stored (deduplicated by request id) before it is acknowledged, then waits in the
//! requests table until its network has no request in flight: at most one problem per
//! network is out at a time, built on the admitted state of a known version. The request
//! is done when its outcome (`schedule.failed` or `deploy.completed`) comes back; a
//! successful deploy carries the new admitted state, which replaces the stored one.

pub mod builder;
pub mod routing;
pub mod state;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;
use tracing::Instrument as _;
use tsn_bus::{Bus, ConsumerOptions, Delivery};
use tsn_model::Topology;
use tsn_pipeline::failure_code::FailureReason;
use tsn_pipeline::{decode, encode, outcome, v1};
use tsn_service::{BusSettings, CancellationToken, CommonSettings, Metrics, Store};

pub use builder::BuildSettings;
use builder::RerouteScope;
use state::{RequestState, State};

/// The queue preprocess consumes its events from.
pub const EVENTS_QUEUE: &str = "preprocess.events";

/// The topics bound to [`EVENTS_QUEUE`].
pub const EVENT_PATTERNS: &[&str] = &[
    tsn_pipeline::COMPUTE_REQUESTED,
    tsn_pipeline::TOPOLOGY_CHANGED,
    tsn_pipeline::SCHEDULE_FAILED,
    tsn_pipeline::DEPLOY_COMPLETED,
    tsn_pipeline::DEPLOY_STALE,
];

/// preprocess's settings (file + `TSN_PREPROCESS_*` environment).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct PreprocessConfig {
    /// The bus.
    pub bus: BusSettings,
    /// Logs and the operations endpoint.
    pub ops: CommonSettings,
    /// `sqlite://FILE?mode=rwc` or `postgres://…`.
    pub database_url: String,
    /// A static topology (tsn-model JSON) to use until the topology service publishes one.
    pub topology_file: Option<PathBuf>,
    /// The network (admission domain) this preprocess serves.
    pub network: String,
    /// How problems are built.
    pub build: BuildSettings,
}

impl Default for PreprocessConfig {
    fn default() -> Self {
        PreprocessConfig {
            bus: BusSettings::default(),
            ops: CommonSettings::default(),
            database_url: "sqlite://preprocess.db?mode=rwc".into(),
            topology_file: None,
            network: "default".into(),
            build: BuildSettings::default(),
        }
    }
}

/// Runs preprocess until `shutdown` is cancelled.
pub async fn run(config: PreprocessConfig, bus: Arc<dyn Bus>, shutdown: CancellationToken) -> anyhow::Result<()> {
    let store = Store::open(&config.database_url).await?;
    let state = State::open(store.clone()).await?;
    let metrics = Metrics::new();
    let ops = tsn_service::http::Ops::new(metrics.clone()).check_store(store.clone());
    tsn_service::start_ops(&config.ops, ops, &shutdown).await?;

    if let Some(path) = &config.topology_file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading topology file {}", path.display()))?;
        let topology: Topology = serde_json::from_str(&text)
            .with_context(|| format!("topology file {} is not tsn-model JSON", path.display()))?;
        topology.validate().with_context(|| format!("topology file {}", path.display()))?;
        match state.topology().await? {
            Some((_, stored)) if stored == topology => {}
            stored => {
                let version = stored.map_or(1, |(v, _)| v + 1);
                state.set_topology(version, &topology).await?;
                tracing::info!(version, file = %path.display(), "loaded the static topology");
            }
        }
    }

    let mut events = bus.subscribe(EVENTS_QUEUE, EVENT_PATTERNS, ConsumerOptions::default()).await?;
    let mut dead = bus.consume_dead_letters(ConsumerOptions::default()).await?;
    let mut actor =
        Actor { state, bus, network: config.network.clone(), build: config.build.clone(), metrics, unpublished: None };
    actor.resume().await;
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    tracing::info!(network = %config.network, "preprocess ready");
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            d = events.next() => match d {
                Ok(d) => actor.event(d).await,
                Err(e) => { tracing::error!(error = %e, "event queue failed"); tokio::time::sleep(Duration::from_secs(1)).await }
            },
            d = dead.next() => match d {
                Ok(d) => actor.dead_letter(d).await,
                Err(e) => { tracing::error!(error = %e, "dead-letter queue failed"); tokio::time::sleep(Duration::from_secs(1)).await }
            },
            _ = tick.tick() => actor.retry().await,
        }
    }
    events.close().await;
    dead.close().await;
    tracing::info!("preprocess stopped");
    Ok(())
}

struct Actor {
    state: State,
    bus: Arc<dyn Bus>,
    network: String,
    build: BuildSettings,
    metrics: Metrics,
    /// A request marked in flight whose problem or outcome could not be published yet.
    unpublished: Option<String>,
}

/// What to do with a delivery after handling it.
enum Settle {
    Ack,
    /// A message that can never be processed: to the dead-letter queue.
    Poison(String),
    /// A transient failure (store, bus): try again later.
    Retry(String),
}

/// The id of the CNC's own reroute request after topology version `version` of `network`.
fn reroute_id(network: &str, version: u64, scope: RerouteScope) -> String {
    match scope {
        RerouteScope::Lost => format!("reroute-{network}-t{version}"),
        RerouteScope::All => format!("reroute-{network}-t{version}-all"),
    }
}

/// Whether `id` is a reroute of the lost streams only (`reroute-<network>-t<version>`).
fn is_lost_reroute(network: &str, id: &str) -> bool {
    id.strip_prefix("reroute-")
        .and_then(|r| r.strip_prefix(network))
        .and_then(|r| r.strip_prefix("-t"))
        .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
}

impl Actor {
    async fn resume(&mut self) {
        match self.state.in_flight(&self.network).await {
            Ok(Some(r)) => {
                tracing::info!(request_id = %r.request_id, "republishing the problem in flight before the restart");
                self.dispatch(&r.request_id, &r.request).await;
            }
            Ok(None) => self.pump().await,
            Err(e) => tracing::error!(error = %e, "cannot read the requests table"),
        }
    }

    async fn retry(&mut self) {
        if let Some(id) = self.unpublished.clone() {
            match self.state.request(&id).await {
                Ok(Some(r)) if r.state == RequestState::InFlight => self.dispatch(&id, &r.request).await,
                Ok(_) => self.unpublished = None,
                Err(e) => tracing::warn!(error = %e, "store unavailable"),
            }
        } else {
            self.pump().await;
        }
        self.update_gauges().await;
    }

    async fn update_gauges(&self) {
        for (name, state) in [("queued", RequestState::Queued), ("in_flight", RequestState::InFlight)] {
            if let Ok(n) = self.state.count(&self.network, state).await {
                self.metrics.gauge("preprocess_requests", "Compute requests by state.", &[("state", name)]).set(n);
            }
        }
    }

    async fn event(&mut self, delivery: Delivery) {
        let message = delivery.message().clone();
        let span = tsn_service::request_span("preprocess", &message.kind, &message.request_id);
        let settle = self.handle(&message).instrument(span.clone()).await;
        let _enter = span.enter();
        let kind = message.kind.clone();
        let result = match settle {
            Settle::Ack => delivery.ack().await,
            Settle::Poison(why) => {
                tracing::warn!(%why, "unprocessable message: dead-lettering it");
                self.metrics.counter("preprocess_messages_total", "Messages handled.", &[("result", "poison")]).inc();
                delivery.nack(false).await
            }
            Settle::Retry(why) => {
                tracing::warn!(%why, "transient failure: the message will be redelivered");
                tokio::time::sleep(Duration::from_millis(500)).await;
                delivery.nack(true).await
            }
        };
        if let Err(e) = result {
            tracing::warn!(%kind, error = %e, "could not settle the delivery (it will be redelivered)");
        }
        drop(_enter);
        self.pump().await;
    }

    async fn handle(&mut self, message: &tsn_bus::Message) -> Settle {
        let id = message.request_id.as_str();
        match message.kind.as_str() {
            tsn_pipeline::COMPUTE_REQUESTED => {
                let request: v1::ComputeRequest = match decode(&message.kind, message) {
                    Ok(r) => r,
                    Err(e) => return Settle::Poison(e.to_string()),
                };
                match self.state.insert_request(id, &self.network, message.topology_version, &request).await {
                    Ok(true) => {
                        tracing::info!(
                            streams = request.streams.len(),
                            remove = request.remove.len(),
                            "compute request queued"
                        );
                        self.metrics.counter("preprocess_requests_total", "Compute requests received.", &[]).inc();
                        Settle::Ack
                    }
                    Ok(false) => {
                        tracing::info!("duplicate compute request ignored");
                        Settle::Ack
                    }
                    Err(e) => Settle::Retry(e.to_string()),
                }
            }
            tsn_pipeline::TOPOLOGY_CHANGED => {
                let snapshot: v1::TopologySnapshot = match decode(&message.kind, message) {
                    Ok(s) => s,
                    Err(e) => return Settle::Poison(e.to_string()),
                };
                let topology = match tsn_pipeline::topology::from_pb(&snapshot) {
                    Ok(t) => t,
                    Err(e) => return Settle::Poison(e.to_string()),
                };
                match self.state.topology().await {
                    Ok(Some((v, _))) if v >= snapshot.version => Settle::Ack,
                    Ok(_) => match self.state.set_topology(snapshot.version, &topology).await {
                        Ok(()) => {
                            tracing::info!(version = snapshot.version, nodes = topology.nodes.len(), "new topology");
                            match self.queue_reroute(snapshot.version, &topology, RerouteScope::Lost).await {
                                Ok(()) => Settle::Ack,
                                // Redelivered: the topology is stored, so the version check
                                // above acks it; the reroute is queued on the next change
                                // or request. Say so rather than lose it silently.
                                Err(e) => {
                                    tracing::error!(error = %e, "the streams on vanished links could not be queued for rerouting");
                                    Settle::Ack
                                }
                            }
                        }
                        Err(e) => Settle::Retry(e.to_string()),
                    },
                    Err(e) => Settle::Retry(e.to_string()),
                }
            }
            tsn_pipeline::SCHEDULE_FAILED | tsn_pipeline::DEPLOY_COMPLETED => {
                let outcome: v1::RequestOutcome = match decode(&message.kind, message) {
                    Ok(o) => o,
                    Err(e) => return Settle::Poison(e.to_string()),
                };
                match self.state.request(id).await {
                    Ok(Some(r)) if r.state != RequestState::Done => {
                        let admitted = outcome.admitted_state.as_ref().filter(|_| outcome.deployed);
                        match self.state.complete(id, &self.network, admitted).await {
                            Ok(changed) => {
                                tracing::info!(deployed = outcome.deployed, admitted_changed = changed, "request done");
                                if self.unpublished.as_deref() == Some(id) {
                                    self.unpublished = None;
                                }
                                if message.kind == tsn_pipeline::SCHEDULE_FAILED && is_lost_reroute(&self.network, id) {
                                    if let Err(e) = self.queue_full_reschedule().await {
                                        tracing::error!(error = %e, "the full reschedule after a failed reroute could not be queued");
                                    }
                                }
                                let result = if outcome.deployed { "deployed" } else { "failed" };
                                self.metrics
                                    .counter(
                                        "preprocess_outcomes_total",
                                        "Request outcomes seen.",
                                        &[("result", result)],
                                    )
                                    .inc();
                                Settle::Ack
                            }
                            Err(e) => Settle::Retry(e.to_string()),
                        }
                    }
                    Ok(_) => Settle::Ack, // a duplicate, or not a request of ours
                    Err(e) => Settle::Retry(e.to_string()),
                }
            }
            tsn_pipeline::DEPLOY_STALE => match self.state.request(id).await {
                Ok(Some(r)) if r.state == RequestState::InFlight => {
                    tracing::info!("solution was stale: rebuilding the problem on the current admitted state");
                    self.dispatch(id, &r.request).await;
                    Settle::Ack
                }
                Ok(_) => Settle::Ack,
                Err(e) => Settle::Retry(e.to_string()),
            },
            other => Settle::Poison(format!("unexpected message kind {other:?}")),
        }
    }

    /// After the reroute of the lost streams failed to schedule (they do not fit around the
    /// fixed ones): queues `reroute-<network>-t<version>-all`, which requests every admitted
    /// stream again so the scheduler may move them all, on the topology held now.
    async fn queue_full_reschedule(&mut self) -> Result<(), tsn_service::StoreError> {
        let Some((version, topology)) = self.state.topology().await? else { return Ok(()) };
        self.queue_reroute(version, &topology, RerouteScope::All).await
    }

    /// Queues the compute request `reroute_id(network, version, scope)` for the admitted
    /// streams `scope` names, when the topology left some without their route; the pump
    /// runs it like any other request, after the one in flight.
    async fn queue_reroute(
        &mut self,
        version: u64,
        topology: &Topology,
        scope: RerouteScope,
    ) -> Result<(), tsn_service::StoreError> {
        let admitted = self.state.admitted(&self.network).await?;
        let Some(request) = builder::reroute_request(&admitted, topology, scope) else { return Ok(()) };
        let id = reroute_id(&self.network, version, scope);
        if self.state.insert_request(&id, &self.network, version, &request).await? {
            let ids: Vec<&str> = request.streams.iter().map(|s| s.stream_id.as_str()).collect();
            match scope {
                RerouteScope::Lost => {
                    tracing::info!(request_id = %id, streams = ?ids, "admitted streams lost their route: queued for rerouting")
                }
                RerouteScope::All => tracing::warn!(
                    request_id = %id,
                    streams = ids.len(),
                    "the lost streams do not fit around the others: queued a full reschedule of every admitted stream"
                ),
            }
        }
        Ok(())
    }

    /// Sends the next queued request of the network when none is in flight.
    async fn pump(&mut self) {
        match self.state.in_flight(&self.network).await {
            Ok(Some(_)) => return,
            Ok(None) => {}
            Err(e) => return tracing::warn!(error = %e, "store unavailable"),
        }
        if matches!(self.state.topology().await, Ok(None)) {
            return; // requests wait until a topology is known
        }
        let next = match self.state.next_queued(&self.network).await {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(e) => return tracing::warn!(error = %e, "store unavailable"),
        };
        if let Err(e) = self.state.set_state(&next.request_id, RequestState::InFlight).await {
            return tracing::warn!(error = %e, "store unavailable");
        }
        // Even a request that fails at once (nothing to schedule) stays in flight until its
        // outcome comes back on the events queue: one path to "done".
        let span = tsn_service::request_span("preprocess", "dispatch", &next.request_id);
        self.dispatch(&next.request_id, &next.request).instrument(span).await;
    }

    /// Builds and publishes the problem of a request in flight (or its failed outcome).
    async fn dispatch(&mut self, request_id: &str, request: &v1::ComputeRequest) {
        let Ok(Some((topology_version, topology))) = self.state.topology().await else {
            self.unpublished = Some(request_id.to_owned());
            return;
        };
        let admitted = match self.state.admitted(&self.network).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "store unavailable");
                self.unpublished = Some(request_id.to_owned());
                return;
            }
        };
        let built = builder::build(&self.network, &topology, topology_version, &admitted, request, &self.build);
        let result = match &built {
            builder::Built::Job(job) => {
                let ctx = job.request.as_ref();
                tracing::info!(
                    new = ctx.map_or(0, |c| c.requested.len()),
                    rejected = ctx.map_or(0, |c| c.rejected.len()),
                    fixed = ctx.map_or(0, |c| c.admitted.len()),
                    admitted_version = admitted.version,
                    "problem sent to the schedulers"
                );
                let m = encode(tsn_pipeline::SCHEDULE_PROBLEM, request_id, topology_version, job.as_ref());
                self.bus.send_work(tsn_pipeline::SCHEDULE_PROBLEM_QUEUE, &m).await
            }
            builder::Built::Failed(o) => {
                tracing::info!(detail = %o.detail, "nothing to schedule: request failed");
                let m = encode(tsn_pipeline::SCHEDULE_FAILED, request_id, topology_version, o);
                self.bus.publish(tsn_pipeline::SCHEDULE_FAILED, &m).await
            }
        };
        match result {
            Ok(()) => {
                if self.unpublished.as_deref() == Some(request_id) {
                    self.unpublished = None;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not publish; will retry");
                self.unpublished = Some(request_id.to_owned());
            }
        }
    }

    /// A message that could not be processed anywhere: its request fails (internal error)
    /// instead of being lost.
    async fn dead_letter(&mut self, delivery: Delivery) {
        let message = delivery.message().clone();
        let span = tsn_service::request_span("preprocess", &message.kind, &message.request_id);
        let _enter = span.enter();
        let origin =
            delivery.dead_letter().map(|d| format!("{} ({:?}, {} deliveries)", d.queue, d.reason, d.deliveries));
        let why = format!(
            "internal error: the {} message was dead-lettered from {}",
            message.kind,
            origin.unwrap_or_else(|| "an unknown queue".into())
        );
        let outcome = match message.kind.as_str() {
            tsn_pipeline::COMPUTE_REQUESTED => Some(match decode::<v1::ComputeRequest>(&message.kind, &message) {
                Ok(r) => outcome::failed(
                    &v1::RequestContext {
                        domain_id: r.domain_id.clone(),
                        cuc_id: r.cuc_id.clone(),
                        requested: r
                            .streams
                            .iter()
                            .map(|s| v1::StreamEndpoints {
                                stream_id: s.stream_id.clone(),
                                talker: s.talker.clone(),
                                ..Default::default()
                            })
                            .collect(),
                        removed: r.remove.clone(),
                        ..Default::default()
                    },
                    FailureReason::Internal,
                    &why,
                ),
                Err(_) => outcome::unreadable(&why),
            }),
            tsn_pipeline::SCHEDULE_PROBLEM => Some(match decode::<v1::ScheduleJob>(&message.kind, &message) {
                Ok(job) => outcome::failed(&job.request.unwrap_or_default(), FailureReason::Internal, &why),
                Err(_) => outcome::unreadable(&why),
            }),
            tsn_pipeline::SCHEDULE_SOLVED => Some(match decode::<v1::SolvedJob>(&message.kind, &message) {
                Ok(s) => {
                    outcome::failed(&s.job.and_then(|j| j.request).unwrap_or_default(), FailureReason::Internal, &why)
                }
                Err(_) => outcome::unreadable(&why),
            }),
            _ => None,
        };
        self.metrics.counter("preprocess_dead_letters_total", "Dead letters seen.", &[]).inc();
        let Some(outcome) = outcome else {
            tracing::warn!(%why, "dead letter dropped (no request to fail)");
            let _ = delivery.ack().await;
            return;
        };
        tracing::warn!(%why, "failing the request of a dead letter");
        let m = encode(tsn_pipeline::SCHEDULE_FAILED, &message.request_id, message.topology_version, &outcome);
        match self.bus.publish(tsn_pipeline::SCHEDULE_FAILED, &m).await {
            Ok(()) => {
                let _ = delivery.ack().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot publish the failure of a dead letter; it will be redelivered");
                drop(_enter);
                tokio::time::sleep(Duration::from_millis(500)).await;
                let _ = delivery.nack(true).await;
            }
        }
    }
}

/// The `preprocess` binary: `preprocess [--config FILE.toml]`, settings also from `TSN_PREPROCESS_*`
/// environment variables. Exit status 0 after SIGTERM/SIGINT, 1 on an error, 78 on a bad
/// configuration.
pub fn main() -> std::process::ExitCode {
    tsn_service::main("preprocess", "TSN_PREPROCESS", |c: &PreprocessConfig| &c.ops, |c| &c.bus, run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_reroute_of_the_lost_streams_falls_back_to_a_full_reschedule() {
        let lost = reroute_id("default", 7, RerouteScope::Lost);
        let all = reroute_id("default", 7, RerouteScope::All);
        assert_eq!((lost.as_str(), all.as_str()), ("reroute-default-t7", "reroute-default-t7-all"));
        assert!(is_lost_reroute("default", &lost));
        assert!(!is_lost_reroute("default", &all), "the full reschedule is the last attempt");
        assert!(!is_lost_reroute("other", &lost), "another network's");
        for id in ["reroute-default-t", "reroute-default-tx", "req-1", "reroute-default-t7 "] {
            assert!(!is_lost_reroute("default", id), "{id}");
        }
    }
}
