//! The solve pipeline: validate → route → certify → schedule → expand → GCLs → verify.

use std::fmt;
use std::time::{Duration, Instant};

use thiserror::Error;
use tsn_model::{Infeasibility, ModelError, Problem, Schedule, SolveStatus};

use crate::certificate;
use crate::gcl;
use crate::heuristic::{self, HeuristicOptions, HeuristicResult};
use crate::instance::Instance;
use crate::routing;

/// Which scheduler to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// The heuristic first; the queue-based ILP (warm-started) when it fails and time is left.
    #[default]
    Auto,
    /// List scheduling only (frames may wait in queues).
    Heuristic,
    /// List scheduling without waiting in bridges (no-wait).
    NoWaitHeuristic,
    /// The queue-based ILP (Raagaard & Pop style), warm-started by the heuristic.
    Ilp,
    /// The no-wait ILP.
    NoWaitIlp,
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::Auto => "auto",
            Algorithm::Heuristic => "heuristic",
            Algorithm::NoWaitHeuristic => "no-wait-heuristic",
            Algorithm::Ilp => "ilp",
            Algorithm::NoWaitIlp => "no-wait-ilp",
        })
    }
}

/// What the ILP minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Objective {
    /// Sum of end-to-end latencies.
    #[default]
    Latency,
    /// Number of scheduled queues in use (then latency).
    Queues,
}

/// A progress report from a long solve.
#[derive(Debug, Clone)]
pub struct Progress {
    /// The phase, e.g. "heuristic" or "ilp".
    pub phase: &'static str,
    /// Time since the solve started.
    pub elapsed: Duration,
    /// A one-line description.
    pub message: String,
}

/// How to solve.
pub struct SolveOptions<'a> {
    /// The scheduler.
    pub algorithm: Algorithm,
    /// The ILP objective.
    pub objective: Objective,
    /// Wall-clock limit for the whole solve.
    pub time_limit: Duration,
    /// Called on phase changes and periodically during long phases.
    pub progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
}

impl fmt::Debug for SolveOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SolveOptions")
            .field("algorithm", &self.algorithm)
            .field("objective", &self.objective)
            .field("time_limit", &self.time_limit)
            .finish_non_exhaustive()
    }
}

impl Default for SolveOptions<'_> {
    fn default() -> Self {
        SolveOptions {
            algorithm: Algorithm::Auto,
            objective: Objective::Latency,
            time_limit: Duration::from_secs(60),
            progress: None,
        }
    }
}

/// The result of a solve. A schedule is present exactly when the status is `Optimal` or
/// `Feasible`, and it has passed the independent verifier.
#[derive(Debug, Clone)]
pub struct SolveOutcome {
    /// The solver's real status.
    pub status: SolveStatus,
    /// The verified schedule (with GCLs).
    pub schedule: Option<Schedule>,
    /// Why there is no schedule, when the status is `Infeasible`.
    pub infeasibility: Option<Infeasibility>,
    /// The scheduler that produced the result.
    pub algorithm: String,
    /// Wall-clock time of the whole solve.
    pub elapsed: Duration,
    /// Human-readable details (solver messages, fallbacks taken).
    pub detail: String,
}

/// Errors that are not an answer about the problem.
#[derive(Debug, Error)]
pub enum SchedError {
    /// The problem is malformed.
    #[error("invalid problem: {0}")]
    Model(#[from] ModelError),
    /// A scheduler produced a schedule the verifier rejects: a bug, never a result.
    #[error("internal error: the {algorithm} schedule failed verification: {violations}")]
    Unverified {
        /// The scheduler.
        algorithm: String,
        /// The verifier's findings.
        violations: String,
    },
    /// The solver failed for a reason other than the problem (e.g. numerical trouble).
    #[error("solver error: {0}")]
    Solver(String),
}

/// Solves `problem`: proves it infeasible, returns a verified schedule, or reports a timeout.
pub fn solve(problem: &Problem, options: &SolveOptions<'_>) -> Result<SolveOutcome, SchedError> {
    let started = Instant::now();
    let deadline = started + options.time_limit;
    let report = |phase: &'static str, message: String| {
        if let Some(p) = options.progress {
            p(&Progress { phase, elapsed: started.elapsed(), message });
        }
    };
    problem.validate()?;

    if let Some(infeasibility) = certificate::certify(problem) {
        return Ok(SolveOutcome {
            status: SolveStatus::Infeasible,
            schedule: None,
            detail: format!("certificate: {}", infeasibility.reasons[0]),
            infeasibility: Some(infeasibility),
            algorithm: "certificate".into(),
            elapsed: started.elapsed(),
        });
    }
    let routes = routing::routes(problem);
    let instance = Instance::new(problem, &routes)?;

    let finish =
        |status: SolveStatus, placements: Vec<crate::instance::StreamPlacement>, algorithm: String, detail: String| {
            let mut schedule = instance.expand(&placements);
            schedule.gcls = gcl::synthesize(problem, &schedule).map_err(|e| SchedError::Unverified {
                algorithm: algorithm.clone(),
                violations: format!("GCL synthesis: {e}"),
            })?;
            let verdict = tsn_check::verify(problem, &schedule);
            if !verdict.is_ok() {
                return Err(SchedError::Unverified { algorithm, violations: verdict.to_string() });
            }
            Ok(SolveOutcome {
                status,
                schedule: Some(schedule),
                infeasibility: None,
                algorithm,
                elapsed: started.elapsed(),
                detail,
            })
        };
    let no_schedule = |status: SolveStatus, algorithm: String, detail: String, infeasibility: Option<Infeasibility>| {
        SolveOutcome { status, schedule: None, infeasibility, algorithm, elapsed: started.elapsed(), detail }
    };

    let run_heuristic = |no_wait: bool| {
        report("heuristic", format!("{} streams to place", instance.streams.len()));
        heuristic::schedule(&instance, &HeuristicOptions { no_wait, deadline })
    };

    // The heuristic alone: its failure is a timeout, never a proof of infeasibility.
    let heuristic_only = |no_wait: bool| {
        let name = if no_wait { Algorithm::NoWaitHeuristic } else { Algorithm::Heuristic }.to_string();
        match run_heuristic(no_wait) {
            HeuristicResult::Placed(p) => finish(SolveStatus::Feasible, p, name, String::new()),
            HeuristicResult::Failed { stream, reason } => Ok(no_schedule(
                SolveStatus::Timeout,
                name,
                format!(
                    "heuristic could not place stream {}: {reason} (not a proof of infeasibility)",
                    instance.streams[stream].id
                ),
                None,
            )),
            HeuristicResult::TimedOut => Ok(no_schedule(SolveStatus::Timeout, name, "time limit reached".into(), None)),
        }
    };

    match options.algorithm {
        Algorithm::Heuristic => heuristic_only(false),
        Algorithm::NoWaitHeuristic => heuristic_only(true),
        #[cfg(feature = "ilp")]
        Algorithm::Auto | Algorithm::Ilp | Algorithm::NoWaitIlp => {
            let no_wait = options.algorithm == Algorithm::NoWaitIlp;
            let warm = run_heuristic(no_wait);
            if options.algorithm == Algorithm::Auto {
                if let HeuristicResult::Placed(p) = warm {
                    return finish(SolveStatus::Feasible, p, "heuristic".into(), String::new());
                }
            }
            let warm_start = match &warm {
                HeuristicResult::Placed(p) => Some(p.as_slice()),
                _ => None,
            };
            report("ilp", "building the model".into());
            let variant = if no_wait { crate::ilp::Variant::NoWait } else { crate::ilp::Variant::QueueBased };
            let name = if no_wait { "no-wait-ilp" } else { "ilp" }.to_string();
            let out = crate::ilp::solve(
                &instance,
                &crate::ilp::IlpOptions {
                    variant,
                    objective: options.objective,
                    time_limit: deadline.saturating_duration_since(Instant::now()),
                    warm_start,
                },
            )
            .map_err(SchedError::Solver)?;
            match out.status {
                SolveStatus::Optimal | SolveStatus::Feasible => {
                    let placements = out
                        .placements
                        .ok_or_else(|| SchedError::Solver("solver reported a solution but returned none".into()))?;
                    finish(out.status, placements, name, out.detail)
                }
                SolveStatus::Infeasible => Ok(no_schedule(
                    SolveStatus::Infeasible,
                    name,
                    out.detail.clone(),
                    Some(Infeasibility {
                        reasons: vec![tsn_model::InfeasibilityReason::Solver {
                            detail: format!("no schedule exists on the chosen routes: {}", out.detail),
                        }],
                    }),
                )),
                SolveStatus::Timeout => {
                    // The heuristic's schedule is still a valid answer when it has one.
                    if let HeuristicResult::Placed(p) = warm {
                        return finish(
                            SolveStatus::Feasible,
                            p,
                            "heuristic".into(),
                            format!("ILP timed out; {}", out.detail),
                        );
                    }
                    Ok(no_schedule(SolveStatus::Timeout, name, out.detail, None))
                }
            }
        }
        #[cfg(not(feature = "ilp"))]
        Algorithm::Auto => heuristic_only(false),
        #[cfg(not(feature = "ilp"))]
        Algorithm::Ilp | Algorithm::NoWaitIlp => {
            Err(SchedError::Solver("this build has no ILP solver (feature `ilp`)".into()))
        }
    }
}
