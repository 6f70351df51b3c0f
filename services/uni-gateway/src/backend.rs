//! The in-process backend: until the pipeline services run, compute requests are answered
//! by calling the scheduling core directly.
//!
//! It sits behind the same interface as the real pipeline — the bus. The gateway publishes
//! `compute.requested` on an in-memory bus; this task consumes it, resolves end stations in
//! the configured topology, runs `tsn_sched::solve` (whose schedules `tsn-check` verifies)
//! with the admitted streams fixed (incremental admission), and publishes the outcome on
//! `deploy.completed` (admitted) or `schedule.failed`, which the gateway's results consumer
//! applies exactly as it applies the pipeline's.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tsn_bus::{Bus, ConsumerOptions};
use tsn_model::{
    InfeasibilityReason, NodeId, NodeKind, Problem, Schedule, SchedulingConfig, SolveStatus, Stream, StreamId,
    StreamSchedule, Topology,
};
use tsn_pipeline::v1;
use tsn_sched::{Algorithm, SolveOptions};

/// Queue of the in-process backend on the in-memory bus.
pub const QUEUE: &str = "uni-gateway.in-process";

/// IEEE 802.1Q-2022 Table 46-15 codes used by the in-process backend.
pub mod failure {
    /// Insufficient bandwidth.
    pub const INSUFFICIENT_BANDWIDTH: u32 = 1;
    /// Insufficient bridge resources (also: no schedule found in time, unknown end station).
    pub const INSUFFICIENT_RESOURCES: u32 = 2;
    /// StreamID in use by another talker.
    pub const STREAM_ID_IN_USE: u32 = 4;
    /// MaxFrameSize is too large for media.
    pub const FRAME_TOO_LARGE: u32 = 14;
    /// MaxLatency exceeded.
    pub const MAX_LATENCY_EXCEEDED: u32 = 21;
}

struct Admitted {
    owner: (String, String),
    stream: Stream,
    schedule: StreamSchedule,
}

/// The backend's state: the topology and what it admitted.
pub struct InProcess {
    topology: Option<Topology>,
    admitted: BTreeMap<String, Admitted>,
    time_limit: Duration,
}

impl std::fmt::Debug for InProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcess").field("admitted", &self.admitted.len()).finish_non_exhaustive()
    }
}

fn norm_mac(s: &str) -> String {
    s.chars().filter(char::is_ascii_hexdigit).collect::<String>().to_ascii_lowercase()
}

/// The end station `es` names in `topology`: by MAC against `from_mac` of links leaving an
/// end station, else by interface name equal to a node id.
pub fn resolve_station(topology: &Topology, es: &v1::EndStation) -> Option<NodeId> {
    let mac = norm_mac(&es.mac_address);
    let station = |id: &NodeId| topology.node(id).is_some_and(|n| n.kind == NodeKind::EndStation);
    if mac.len() == 12 {
        if let Some(l) = topology
            .links
            .iter()
            .find(|l| station(&l.from) && l.ports.from_mac.as_deref().map(norm_mac).as_deref() == Some(mac.as_str()))
        {
            return Some(l.from.clone());
        }
    }
    let by_name = NodeId(es.interface_name.clone());
    station(&by_name).then_some(by_name)
}

fn outcome_failed(id: &str, code: u32, reason: String, stations: &[v1::EndStation]) -> v1::StreamOutcome {
    v1::StreamOutcome {
        stream_id: id.to_owned(),
        status: v1::StreamStatus::Failed as i32,
        failure_code: code,
        failed_interfaces: stations.to_vec(),
        reason,
        ..Default::default()
    }
}

fn code_of(reason: &InfeasibilityReason) -> u32 {
    match reason {
        InfeasibilityReason::LatencyBound { .. } => failure::MAX_LATENCY_EXCEEDED,
        InfeasibilityReason::LinkUtilisation { .. } => failure::INSUFFICIENT_BANDWIDTH,
        InfeasibilityReason::FrameExceedsPeriod { .. } => failure::FRAME_TOO_LARGE,
        InfeasibilityReason::Unreachable { .. } | InfeasibilityReason::Solver { .. } => failure::INSUFFICIENT_RESOURCES,
    }
}

fn reason_stream(reason: &InfeasibilityReason) -> Option<&StreamId> {
    match reason {
        InfeasibilityReason::LatencyBound { stream, .. }
        | InfeasibilityReason::Unreachable { stream, .. }
        | InfeasibilityReason::FrameExceedsPeriod { stream, .. } => Some(stream),
        _ => None,
    }
}

impl InProcess {
    /// A backend on `topology` (None: every request fails with a clear reason).
    pub fn new(topology: Option<Topology>, time_limit: Duration) -> Self {
        InProcess { topology, admitted: BTreeMap::new(), time_limit }
    }

    /// Answers one request: the outcome and whether it was admitted (deployed).
    pub fn handle(&mut self, req: &v1::ComputeRequest) -> v1::RequestOutcome {
        self.handle_with_schedule(req).0
    }

    /// Answers one request; with a deployed outcome also the problem and schedule the
    /// network now runs (every admitted stream), which the visualizer shows.
    pub fn handle_with_schedule(
        &mut self,
        req: &v1::ComputeRequest,
    ) -> (v1::RequestOutcome, Option<(Problem, Schedule)>) {
        let before = self.admitted.keys().cloned().collect::<Vec<_>>();
        let (outcome, solved) = self.answer(req);
        if !outcome.deployed {
            return (outcome, None);
        }
        if solved.is_some() {
            return (outcome, solved);
        }
        if before == self.admitted.keys().cloned().collect::<Vec<_>>() {
            return (outcome, None);
        }
        (outcome, self.current_schedule())
    }

    /// The schedule of everything admitted (offsets kept), e.g. after a removal.
    fn current_schedule(&self) -> Option<(Problem, Schedule)> {
        let topology = self.topology.clone()?;
        let mut problem = Problem::new(
            topology,
            self.admitted.values().map(|a| a.stream.clone()).collect(),
            SchedulingConfig::default(),
        );
        problem.admitted = self.admitted.values().map(|a| a.schedule.clone()).collect();
        if problem.streams.is_empty() {
            let empty = Schedule {
                version: tsn_model::SCHEDULE_FORMAT_VERSION,
                hyperperiod_ns: 0,
                streams: Vec::new(),
                gcls: Vec::new(),
            };
            return Some((problem, empty));
        }
        let options =
            SolveOptions { algorithm: Algorithm::Heuristic, time_limit: self.time_limit, ..Default::default() };
        match tsn_sched::solve(&problem, &options) {
            Ok(out) => out.schedule.map(|s| (problem, s)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot rebuild the schedule of the admitted streams");
                None
            }
        }
    }

    fn answer(&mut self, req: &v1::ComputeRequest) -> (v1::RequestOutcome, Option<(Problem, Schedule)>) {
        let mut solved = None;
        let outcome = self.answer_into(req, &mut solved);
        (outcome, solved)
    }

    fn answer_into(
        &mut self,
        req: &v1::ComputeRequest,
        solved: &mut Option<(Problem, Schedule)>,
    ) -> v1::RequestOutcome {
        let owner = (req.domain_id.clone(), req.cuc_id.clone());
        let mut outcomes = Vec::new();
        for id in &req.remove {
            if self.admitted.get(id).is_some_and(|a| a.owner == owner) {
                self.admitted.remove(id);
            }
            outcomes.push(v1::StreamOutcome {
                stream_id: id.clone(),
                status: v1::StreamStatus::Removed as i32,
                ..Default::default()
            });
        }
        if req.streams.is_empty() {
            return v1::RequestOutcome {
                domain_id: req.domain_id.clone(),
                cuc_id: req.cuc_id.clone(),
                streams: outcomes,
                deployed: true,
                detail: "removed".into(),
                ..Default::default()
            };
        }
        let Some(topology) = self.topology.clone() else {
            return self.fail_all(
                req,
                outcomes,
                failure::INSUFFICIENT_RESOURCES,
                "no topology is configured (topology_file)",
            );
        };
        let mut new_streams = Vec::new();
        for s in &req.streams {
            let stations: Vec<v1::EndStation> = s.talker.iter().chain(&s.listeners).cloned().collect();
            if self.admitted.get(&s.stream_id).is_some_and(|a| a.owner != owner) {
                outcomes.push(outcome_failed(
                    &s.stream_id,
                    failure::STREAM_ID_IN_USE,
                    "stream id in use by another CUC".into(),
                    &[],
                ));
                continue;
            }
            let talker = s.talker.as_ref().and_then(|t| resolve_station(&topology, t));
            let listeners: Option<Vec<NodeId>> = s.listeners.iter().map(|l| resolve_station(&topology, l)).collect();
            let (Some(talker), Some(listeners)) = (talker, listeners) else {
                outcomes.push(outcome_failed(
                    &s.stream_id,
                    failure::INSUFFICIENT_RESOURCES,
                    "an end station is not in the topology".into(),
                    &stations,
                ));
                continue;
            };
            new_streams.push((
                s.clone(),
                Stream {
                    id: StreamId(s.stream_id.clone()),
                    talker,
                    listeners,
                    period_ns: s.period_ns,
                    frames_per_period: s.max_frames_per_period.max(1),
                    max_frame_size: s.max_frame_size,
                    // No requirement given: the frame must at least arrive within its period.
                    max_latency_ns: if s.max_latency_ns == 0 { s.period_ns } else { s.max_latency_ns },
                    max_jitter_ns: None,
                    earliest_offset_ns: s.earliest_transmit_offset_ns,
                    latest_offset_ns: s.latest_transmit_offset_ns,
                    pcp: s.frame.as_ref().map(|f| f.pcp.min(7) as u8).unwrap_or(0),
                    vlan: s.frame.as_ref().and_then(|f| u16::try_from(f.vlan_id).ok()).filter(|v| *v != 0),
                },
            ));
        }
        if new_streams.is_empty() {
            let deployed = outcomes.iter().all(|o| o.status != v1::StreamStatus::Failed as i32);
            return v1::RequestOutcome {
                domain_id: req.domain_id.clone(),
                cuc_id: req.cuc_id.clone(),
                streams: outcomes,
                deployed,
                detail: String::new(),
                ..Default::default()
            };
        }
        // Re-submitted streams are scheduled anew; everything else admitted stays fixed.
        let resubmitted: Vec<&str> = new_streams.iter().map(|(r, _)| r.stream_id.as_str()).collect();
        let kept: Vec<&Admitted> =
            self.admitted.iter().filter(|(id, _)| !resubmitted.contains(&id.as_str())).map(|(_, a)| a).collect();
        let mut problem = Problem::new(
            topology,
            kept.iter().map(|a| a.stream.clone()).chain(new_streams.iter().map(|(_, s)| s.clone())).collect(),
            SchedulingConfig::default(),
        );
        problem.admitted = kept.iter().map(|a| a.schedule.clone()).collect();
        let options =
            SolveOptions { algorithm: Algorithm::Heuristic, time_limit: self.time_limit, ..Default::default() };
        let result = tsn_sched::solve(&problem, &options);
        match result {
            Ok(out) if matches!(out.status, SolveStatus::Optimal | SolveStatus::Feasible) => {
                let Some(schedule) = out.schedule else {
                    return self.fail_all(
                        req,
                        outcomes,
                        failure::INSUFFICIENT_RESOURCES,
                        "the solver returned no schedule",
                    );
                };
                for (r, s) in &new_streams {
                    let Some(ss) = schedule.stream(&s.id) else {
                        outcomes.push(outcome_failed(
                            &r.stream_id,
                            failure::INSUFFICIENT_RESOURCES,
                            "not in the schedule".into(),
                            &[],
                        ));
                        continue;
                    };
                    let first_link = ss.route.paths.first().and_then(|p| p.first()).cloned();
                    let mut frame_offsets: Vec<u64> = ss
                        .transmissions
                        .iter()
                        .filter(|t| Some(&t.link) == first_link.as_ref() && t.instance == 0)
                        .map(|t| t.start_ns)
                        .collect();
                    frame_offsets.sort_unstable();
                    let paths =
                        crate::convert::route_nodes(&ss.route).into_iter().map(|nodes| nodes.join(",")).collect();
                    outcomes.push(v1::StreamOutcome {
                        stream_id: r.stream_id.clone(),
                        status: v1::StreamStatus::Ready as i32,
                        accumulated_latency_ns: ss.worst_latency_ns,
                        listeners: r
                            .listeners
                            .iter()
                            .map(|l| v1::ListenerLatency {
                                listener: Some(l.clone()),
                                accumulated_latency_ns: ss.worst_latency_ns,
                            })
                            .collect(),
                        time_aware_offset_ns: ss.talker_offset_ns,
                        frame_offsets_ns: frame_offsets,
                        paths,
                        ..Default::default()
                    });
                    self.admitted.insert(
                        r.stream_id.clone(),
                        Admitted { owner: owner.clone(), stream: s.clone(), schedule: ss.clone() },
                    );
                }
                let deployed = outcomes.iter().all(|o| o.status != v1::StreamStatus::Failed as i32);
                if deployed {
                    *solved = Some((problem.clone(), schedule.clone()));
                }
                v1::RequestOutcome {
                    domain_id: req.domain_id.clone(),
                    cuc_id: req.cuc_id.clone(),
                    streams: outcomes,
                    deployed,
                    detail: format!("{} schedule in {:?}", out.algorithm, out.elapsed),
                    ..Default::default()
                }
            }
            Ok(out) => {
                let reasons = out.infeasibility.map(|i| i.reasons).unwrap_or_default();
                for (r, s) in &new_streams {
                    let mine: Vec<&InfeasibilityReason> =
                        reasons.iter().filter(|x| reason_stream(x) == Some(&s.id)).collect();
                    let code = mine
                        .first()
                        .map(|x| code_of(x))
                        .or_else(|| reasons.first().map(code_of))
                        .unwrap_or(failure::INSUFFICIENT_RESOURCES);
                    let text = if mine.is_empty() {
                        reasons.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
                    } else {
                        mine.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
                    };
                    let text = if text.is_empty() { format!("no schedule ({})", out.status) } else { text };
                    outcomes.push(outcome_failed(&r.stream_id, code, text, &[]));
                }
                v1::RequestOutcome {
                    domain_id: req.domain_id.clone(),
                    cuc_id: req.cuc_id.clone(),
                    streams: outcomes,
                    deployed: false,
                    detail: out.detail,
                    ..Default::default()
                }
            }
            Err(e) => self.fail_all(req, outcomes, failure::INSUFFICIENT_RESOURCES, &e.to_string()),
        }
    }

    fn fail_all(
        &self,
        req: &v1::ComputeRequest,
        mut outcomes: Vec<v1::StreamOutcome>,
        code: u32,
        reason: &str,
    ) -> v1::RequestOutcome {
        for s in &req.streams {
            outcomes.push(outcome_failed(&s.stream_id, code, reason.to_owned(), &[]));
        }
        v1::RequestOutcome {
            domain_id: req.domain_id.clone(),
            cuc_id: req.cuc_id.clone(),
            streams: outcomes,
            deployed: false,
            detail: reason.to_owned(),
            ..Default::default()
        }
    }
}

fn solved_job(request: &v1::ComputeRequest, problem: &Problem, schedule: &Schedule) -> v1::SolvedJob {
    v1::SolvedJob {
        job: Some(v1::ScheduleJob {
            request: Some(v1::RequestContext {
                domain_id: request.domain_id.clone(),
                cuc_id: request.cuc_id.clone(),
                network: "in-process".into(),
                ..Default::default()
            }),
            problem: Some(tsn_pipeline::model::problem_to_pb(problem)),
        }),
        schedule: Some(tsn_pipeline::model::schedule_to_pb(schedule)),
        algorithm: "heuristic".into(),
        solver: "uni-gateway in-process backend".into(),
        ..Default::default()
    }
}

/// Binds the backend's queue on `bus` (before the gateway starts, so that no request is
/// published to an unbound topic).
pub async fn subscribe(bus: &dyn Bus) -> Result<tsn_bus::Subscription, tsn_bus::BusError> {
    bus.subscribe(QUEUE, &[tsn_pipeline::COMPUTE_REQUESTED], ConsumerOptions::with_prefetch(1)).await
}

/// Runs the in-process backend on `bus` with its subscription until `shutdown`.
pub async fn run(bus: Arc<dyn Bus>, mut sub: tsn_bus::Subscription, backend: InProcess, shutdown: CancellationToken) {
    let backend = Arc::new(std::sync::Mutex::new(backend));
    loop {
        let delivery = tokio::select! {
            _ = shutdown.cancelled() => return,
            d = sub.next() => d,
        };
        let mut delivery = match delivery {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "in-process backend lost its subscription");
                return;
            }
        };
        let message = delivery.take_message();
        let request: v1::ComputeRequest = match tsn_pipeline::decode(tsn_pipeline::COMPUTE_REQUESTED, &message) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, request_id = %message.request_id, "malformed compute request");
                let _ = delivery.nack(false).await;
                continue;
            }
        };
        let shared = backend.clone();
        let (outcome, solved) = match tokio::task::spawn_blocking(move || {
            let answer =
                shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner).handle_with_schedule(&request);
            (answer.0, answer.1.map(|(p, s)| solved_job(&request, &p, &s)))
        })
        .await
        {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(error = %e, request_id = %message.request_id, "scheduling task failed");
                let _ = delivery.nack(false).await;
                continue;
            }
        };
        // Like the pipeline: the schedule first (schedule.solved), then its deploy.
        if let Some(job) = solved {
            let m = tsn_pipeline::encode(tsn_pipeline::SCHEDULE_SOLVED, &message.request_id, 0, &job);
            if let Err(e) = bus.publish(tsn_pipeline::SCHEDULE_SOLVED, &m).await {
                tracing::warn!(error = %e, "in-process backend cannot publish the schedule");
            }
        }
        let topic = if outcome.deployed { tsn_pipeline::DEPLOY_COMPLETED } else { tsn_pipeline::SCHEDULE_FAILED };
        let out = tsn_pipeline::encode(topic, &message.request_id, 0, &outcome);
        match bus.publish(topic, &out).await {
            Ok(()) => {
                let _ = delivery.ack().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "in-process backend cannot publish the outcome");
                let _ = delivery.nack(true).await;
            }
        }
    }
}
