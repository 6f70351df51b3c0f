//! scheduler: the horizontally scaled worker (DESIGN.md §1, §3).
//!
//! Every replica consumes the durable work queue `schedule.problem` with prefetch 1, solves
//! each [`v1::ScheduleJob`] with `tsn_sched::solve` (Auto: heuristic, then the ILP),
//! verifies the schedule with `tsn_check::verify`, publishes `schedule.solved` (or the
//! request's `schedule.failed` outcome with the certificate) and only then acknowledges
//! the job. A replica that dies mid-solve never acknowledges, so the broker hands the job to
//! another replica; on SIGTERM the job in hand is given back at once. Solving is
//! deterministic, so a redelivered job is simply solved again (southbound deduplicates).
//! Long solves report on `schedule.progress`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tracing::Instrument as _;
use tsn_bus::{Bus, ConsumerOptions, Delivery};
use tsn_model::{SolveStatus, StreamId};
use tsn_pipeline::failure_code::{self, FailureReason};
use tsn_pipeline::{decode, encode, model, outcome, v1};
use tsn_service::{BusSettings, CancellationToken, CommonSettings, Metrics};

/// Which solver the replicas run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AlgorithmSetting {
    /// Heuristic, then the ILP when it fails.
    #[default]
    Auto,
    /// List scheduling only.
    Heuristic,
    /// List scheduling without waiting in bridges.
    NoWaitHeuristic,
    /// The queue-based ILP.
    Ilp,
    /// The no-wait ILP.
    NoWaitIlp,
}

impl From<AlgorithmSetting> for tsn_sched::Algorithm {
    fn from(a: AlgorithmSetting) -> Self {
        match a {
            AlgorithmSetting::Auto => tsn_sched::Algorithm::Auto,
            AlgorithmSetting::Heuristic => tsn_sched::Algorithm::Heuristic,
            AlgorithmSetting::NoWaitHeuristic => tsn_sched::Algorithm::NoWaitHeuristic,
            AlgorithmSetting::Ilp => tsn_sched::Algorithm::Ilp,
            AlgorithmSetting::NoWaitIlp => tsn_sched::Algorithm::NoWaitIlp,
        }
    }
}

/// scheduler's settings (file + `TSN_SCHEDULER_*` environment).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SchedulerConfig {
    /// The bus.
    pub bus: BusSettings,
    /// Logs and the operations endpoint.
    pub ops: CommonSettings,
    /// The solver.
    pub algorithm: AlgorithmSetting,
    /// Wall-clock limit of one solve, seconds.
    pub time_limit_secs: f64,
    /// Least time between two progress events of one solve, milliseconds.
    pub progress_interval_ms: u64,
    /// Fault injection for tests: wait this long after taking a job, before solving it
    /// (a stand-in for a long solve). 0 in production.
    pub debug_delay_ms: u64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            bus: BusSettings::default(),
            ops: CommonSettings::default(),
            algorithm: AlgorithmSetting::Auto,
            time_limit_secs: 30.0,
            progress_interval_ms: 1000,
            debug_delay_ms: 0,
        }
    }
}

/// Runs one scheduler replica until `shutdown` is cancelled.
pub async fn run(config: SchedulerConfig, bus: Arc<dyn Bus>, shutdown: CancellationToken) -> anyhow::Result<()> {
    let time_limit = Duration::try_from_secs_f64(config.time_limit_secs)
        .map_err(|_| anyhow::anyhow!("time_limit_secs must be a non-negative number of seconds"))?;
    let metrics = Metrics::new();
    tsn_service::start_ops(&config.ops, tsn_service::http::Ops::new(metrics.clone()), &shutdown).await?;
    let mut work = bus.consume_work(tsn_pipeline::SCHEDULE_PROBLEM_QUEUE, ConsumerOptions::WORK).await?;
    let worker = Worker {
        bus: bus.clone(),
        algorithm: config.algorithm.into(),
        time_limit,
        progress_interval: Duration::from_millis(config.progress_interval_ms),
        solver: tsn_service::instance_name(),
        metrics,
        delay: Duration::from_millis(config.debug_delay_ms),
    };
    tracing::info!(solver = %worker.solver, algorithm = %worker.algorithm, "scheduler replica ready");
    loop {
        let delivery = tokio::select! {
            () = shutdown.cancelled() => break,
            d = work.next() => d,
        };
        match delivery {
            Ok(d) => {
                if worker.job(d, &shutdown).await == Flow::Stop {
                    break;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "work queue failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    work.close().await;
    tracing::info!("scheduler replica stopped");
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

struct Worker {
    bus: Arc<dyn Bus>,
    algorithm: tsn_sched::Algorithm,
    time_limit: Duration,
    progress_interval: Duration,
    solver: String,
    metrics: Metrics,
    delay: Duration,
}

/// What a solve produced, as messages.
enum Answer {
    Solved(Box<v1::SolvedJob>),
    Failed(v1::RequestOutcome),
}

impl Worker {
    async fn job(&self, delivery: Delivery, shutdown: &CancellationToken) -> Flow {
        let message = delivery.message().clone();
        let span = tsn_service::request_span("scheduler", &message.kind, &message.request_id);
        async {
            let job: v1::ScheduleJob = match decode(tsn_pipeline::SCHEDULE_PROBLEM, &message) {
                Ok(j) => j,
                Err(e) => {
                    tracing::warn!(error = %e, "unreadable job: dead-lettering it");
                    self.count("poison");
                    let _ = delivery.nack(false).await;
                    return Flow::Continue;
                }
            };
            if delivery.redelivered() {
                tracing::info!(attempt = delivery.attempt(), "job redelivered: solving it again");
            }
            let started = Instant::now();
            let received = v1::SolveProgress {
                phase: "received".into(),
                elapsed_ms: 0,
                message: format!("attempt {}", delivery.attempt()),
                solver: self.solver.clone(),
            };
            let progress =
                encode(tsn_pipeline::SCHEDULE_PROGRESS, &message.request_id, message.topology_version, &received);
            let _ = self.bus.publish(tsn_pipeline::SCHEDULE_PROGRESS, &progress).await;
            let delay = self.delay;
            let rid = message.request_id.clone();
            let solving = async move {
                tokio::time::sleep(delay).await;
                self.solve(job, rid).await
            };
            tokio::pin!(solving);
            let answer = tokio::select! {
                () = shutdown.cancelled() => {
                    tracing::info!("shutting down mid-solve: the job goes back to the queue");
                    let _ = delivery.nack(true).await;
                    return Flow::Stop;
                }
                a = &mut solving => a,
            };
            self.metrics
                .histogram("scheduler_solve_seconds", "Time to answer a job.", &[], tsn_service::SECONDS_BUCKETS)
                .observe(started.elapsed().as_secs_f64());
            let (topic, m, result) = match &answer {
                Answer::Solved(s) => (
                    tsn_pipeline::SCHEDULE_SOLVED,
                    encode(tsn_pipeline::SCHEDULE_SOLVED, &message.request_id, message.topology_version, s.as_ref()),
                    "solved",
                ),
                Answer::Failed(o) => (
                    tsn_pipeline::SCHEDULE_FAILED,
                    encode(tsn_pipeline::SCHEDULE_FAILED, &message.request_id, message.topology_version, o),
                    "failed",
                ),
            };
            match self.bus.publish(topic, &m).await {
                Ok(()) => {
                    self.count(result);
                    tracing::info!(result, elapsed_ms = started.elapsed().as_millis() as u64, "job answered");
                    if let Err(e) = delivery.ack().await {
                        tracing::warn!(error = %e, "ack lost: the job will be solved again (idempotent)");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot publish the answer: the job goes back to the queue");
                    let _ = delivery.nack(true).await;
                }
            }
            Flow::Continue
        }
        .instrument(span)
        .await
    }

    fn count(&self, result: &str) {
        self.metrics.counter("scheduler_jobs_total", "Jobs handled by result.", &[("result", result)]).inc();
    }

    async fn solve(&self, job: v1::ScheduleJob, request_id: String) -> Answer {
        let ctx = job.request.clone().unwrap_or_default();
        let problem = match job.problem.as_ref().map(|p| model::problem_from_pb(tsn_pipeline::SCHEDULE_PROBLEM, p)) {
            Some(Ok(p)) => p,
            Some(Err(e)) => {
                return Answer::Failed(outcome::failed(&ctx, FailureReason::Internal, &format!("internal error: {e}")))
            }
            None => {
                return Answer::Failed(outcome::failed(
                    &ctx,
                    FailureReason::Internal,
                    "internal error: job without a problem",
                ))
            }
        };
        // Progress: the solver calls back on its own thread; a task publishes, throttled.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<tsn_sched::Progress>();
        let bus = self.bus.clone();
        let solver = self.solver.clone();
        let interval = self.progress_interval;
        let rid = request_id.clone();
        let forwarder = tokio::spawn(async move {
            let mut last: Option<Instant> = None;
            while let Some(p) = rx.recv().await {
                if last.is_some_and(|t| t.elapsed() < interval) {
                    continue;
                }
                last = Some(Instant::now());
                let body = v1::SolveProgress {
                    phase: p.phase.to_owned(),
                    elapsed_ms: p.elapsed.as_millis() as u64,
                    message: p.message,
                    solver: solver.clone(),
                };
                let _ = bus
                    .publish(tsn_pipeline::SCHEDULE_PROGRESS, &encode(tsn_pipeline::SCHEDULE_PROGRESS, &rid, 0, &body))
                    .await;
            }
        });
        let algorithm = self.algorithm;
        let time_limit = self.time_limit;
        let solver = self.solver.clone();
        let span = tracing::Span::current();
        let handle = tokio::task::spawn_blocking(move || {
            let _e = span.enter();
            let report = move |p: &tsn_sched::Progress| {
                let _ = tx.send(p.clone());
            };
            let options =
                tsn_sched::SolveOptions { algorithm, time_limit, progress: Some(&report), ..Default::default() };
            let result = tsn_sched::solve(&problem, &options);
            answer(job, &problem, result, &solver)
        });
        let out = match handle.await {
            Ok(a) => a,
            Err(e) => Answer::Failed(outcome::failed(
                &ctx,
                FailureReason::Internal,
                &format!("internal error: the solver panicked: {e}"),
            )),
        };
        let _ = forwarder.await;
        out
    }
}

/// The messages for a solve result.
fn answer(
    job: v1::ScheduleJob,
    problem: &tsn_model::Problem,
    result: Result<tsn_sched::SolveOutcome, tsn_sched::SchedError>,
    solver: &str,
) -> Answer {
    let ctx = job.request.clone().unwrap_or_default();
    let out = match result {
        Ok(o) => o,
        Err(tsn_sched::SchedError::Model(e)) => {
            return Answer::Failed(outcome::failed(&ctx, FailureReason::Invalid, &format!("invalid problem: {e}")))
        }
        Err(e) => {
            return Answer::Failed(outcome::failed(&ctx, FailureReason::Internal, &format!("internal error: {e}")))
        }
    };
    match (out.status, out.schedule) {
        (SolveStatus::Optimal | SolveStatus::Feasible, Some(schedule)) => {
            // The independent verifier, once more, on exactly what leaves this process.
            let verdict = tsn_check::verify(problem, &schedule);
            if !verdict.is_ok() {
                return Answer::Failed(outcome::failed(
                    &ctx,
                    FailureReason::Internal,
                    &format!("internal error: the {} schedule failed verification: {verdict}", out.algorithm),
                ));
            }
            Answer::Solved(Box::new(v1::SolvedJob {
                job: Some(job),
                schedule: Some(model::schedule_to_pb(&schedule)),
                algorithm: out.algorithm,
                solve_time_us: out.elapsed.as_micros() as u64,
                solver: solver.to_owned(),
            }))
        }
        (SolveStatus::Infeasible, _) => {
            let reasons = out.infeasibility.map(|i| i.reasons).unwrap_or_default();
            let certificate: Vec<String> = reasons.iter().map(ToString::to_string).collect();
            let detail = if certificate.is_empty() {
                format!("infeasible: {}", out.detail)
            } else {
                format!("infeasible: {}", certificate.join("; "))
            };
            let first = reasons.first().map_or(FailureReason::Bandwidth, failure_code::for_infeasibility);
            let mut o = outcome::failed(&ctx, first, &detail);
            // Streams a reason names get that reason's code and text.
            for r in &reasons {
                let stream = match r {
                    tsn_model::InfeasibilityReason::LatencyBound { stream, .. }
                    | tsn_model::InfeasibilityReason::Unreachable { stream, .. }
                    | tsn_model::InfeasibilityReason::FrameExceedsPeriod { stream, .. } => Some(stream),
                    _ => None,
                };
                if let Some(StreamId(id)) = stream {
                    if let Some(s) = o.streams.iter_mut().find(|s| &s.stream_id == id) {
                        s.failure_code = failure_code::for_infeasibility(r).code();
                        s.reason = r.to_string();
                    }
                }
            }
            Answer::Failed(o)
        }
        _ => Answer::Failed(outcome::failed(
            &ctx,
            FailureReason::Resources,
            &format!("no schedule found within the time limit ({}): {}", out.algorithm, out.detail),
        )),
    }
}

/// The `scheduler` binary: `scheduler [--config FILE.toml]`, settings also from `TSN_SCHEDULER_*`
/// environment variables. Exit status 0 after SIGTERM/SIGINT, 1 on an error, 78 on a bad
/// configuration.
pub fn main() -> std::process::ExitCode {
    tsn_service::main("scheduler", "TSN_SCHEDULER", |c: &SchedulerConfig| &c.ops, |c| &c.bus, run)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> v1::RequestContext {
        v1::RequestContext {
            requested: vec![
                v1::StreamEndpoints { stream_id: "s0".into(), ..Default::default() },
                v1::StreamEndpoints { stream_id: "s1".into(), ..Default::default() },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn solved_jobs_carry_a_verified_schedule() {
        let topology = tsn_workloads::paper_topology();
        let streams = vec![
            tsn_workloads::simple_stream("s0", "es0-0", &["es2-1"], 1_000_000, 500),
            tsn_workloads::simple_stream("s1", "es1-0", &["es3-2"], 2_000_000, 1000),
        ];
        let problem = tsn_model::Problem::new(topology, streams, Default::default());
        let job = v1::ScheduleJob { request: Some(ctx()), problem: Some(model::problem_to_pb(&problem)) };
        let result = tsn_sched::solve(&problem, &tsn_sched::SolveOptions::default());
        let Answer::Solved(s) = answer(job, &problem, result, "test") else { panic!("expected a schedule") };
        let schedule = model::schedule_from_pb("t", s.schedule.as_ref().unwrap()).unwrap();
        assert!(tsn_check::verify(&problem, &schedule).is_ok());
        assert_eq!(s.solver, "test");
    }

    #[test]
    fn infeasible_jobs_fail_with_the_certificate() {
        let topology = tsn_workloads::paper_topology();
        let mut tight = tsn_workloads::simple_stream("s0", "es0-0", &["es2-1"], 1_000_000, 500);
        tight.max_latency_ns = 100; // far below 3 hops
        let ok = tsn_workloads::simple_stream("s1", "es1-0", &["es3-2"], 2_000_000, 1000);
        let problem = tsn_model::Problem::new(topology, vec![tight, ok], Default::default());
        let job = v1::ScheduleJob { request: Some(ctx()), problem: Some(model::problem_to_pb(&problem)) };
        let result = tsn_sched::solve(&problem, &tsn_sched::SolveOptions::default());
        let Answer::Failed(o) = answer(job, &problem, result, "test") else { panic!("expected a failure") };
        assert!(o.detail.starts_with("infeasible: stream s0"), "{}", o.detail);
        assert_eq!(o.streams[0].failure_code, failure_code::MAX_LATENCY_EXCEEDED);
        assert_eq!(o.streams[1].status, v1::StreamStatus::Failed as i32);
        assert!(!o.deployed);
    }
}
