//! The command-line grammar of `tsnctl` (clap derive types only; no behaviour).

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

/// tsn-cp command line: solve and check 802.1Qbv schedules, run benchmarks.
#[derive(Debug, Parser)]
#[command(name = "tsnctl", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Solve or check schedules.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// `tsnctl schedule ...`
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Compute a schedule. Exit codes: 0 verified schedule, 2 proven infeasible,
    /// 3 time limit reached, 1 error (bad input, unverified schedule, solver error).
    Solve(SolveArgs),
    /// Verify a schedule file against its problem. Exit 0 if it is valid, 1 otherwise.
    Check(CheckArgs),
}

/// `tsnctl bench ...`
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Benchmark the schedulers.
    Schedule(crate::bench::BenchArgs),
}

/// Where the problem comes from: a JSON problem or a tsnkit task/topology pair.
#[derive(Debug, Clone, Args)]
#[command(group(
    ArgGroup::new("input").required(true).multiple(false).args(["problem", "tsnkit_task", "tsnkit"])
))]
pub struct InputArgs {
    /// A tsn-cp JSON problem.
    #[arg(long, value_name = "FILE.json")]
    pub problem: Option<PathBuf>,
    /// A tsnkit stream set (`<id>_task.csv`); needs --tsnkit-topo.
    #[arg(long, value_name = "FILE", requires = "tsnkit_topo")]
    pub tsnkit_task: Option<PathBuf>,
    /// A tsnkit topology (`<id>_topo.csv`); needs --tsnkit-task.
    #[arg(long, value_name = "FILE", requires = "tsnkit_task")]
    pub tsnkit_topo: Option<PathBuf>,
    /// Fixed routes for the tsnkit streams (`stream,route`); streams without rows are routed
    /// by the scheduler.
    #[arg(long, value_name = "FILE", conflicts_with = "problem")]
    pub tsnkit_routes: Option<PathBuf>,
    /// A folder of tsnkit instances: reads DIR/N_task.csv and DIR/N_topo.csv (with --id N).
    #[arg(long, value_name = "DIR", requires = "id")]
    pub tsnkit: Option<PathBuf>,
    /// The instance number for --tsnkit.
    #[arg(long, value_name = "N", requires = "tsnkit")]
    pub id: Option<String>,
}

/// The scheduler to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlgorithmArg {
    /// Heuristic first, then the ILP if it fails.
    Auto,
    /// List scheduling (frames may wait in queues).
    Heuristic,
    /// List scheduling without waiting in bridges.
    NoWaitHeuristic,
    /// The queue-based ILP, warm-started by the heuristic.
    Ilp,
    /// The no-wait ILP.
    NoWaitIlp,
}

impl From<AlgorithmArg> for tsn_sched::Algorithm {
    fn from(a: AlgorithmArg) -> Self {
        match a {
            AlgorithmArg::Auto => tsn_sched::Algorithm::Auto,
            AlgorithmArg::Heuristic => tsn_sched::Algorithm::Heuristic,
            AlgorithmArg::NoWaitHeuristic => tsn_sched::Algorithm::NoWaitHeuristic,
            AlgorithmArg::Ilp => tsn_sched::Algorithm::Ilp,
            AlgorithmArg::NoWaitIlp => tsn_sched::Algorithm::NoWaitIlp,
        }
    }
}

/// What the ILP minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ObjectiveArg {
    /// Sum of end-to-end latencies.
    Latency,
    /// Number of scheduled queues in use.
    Queues,
}

impl From<ObjectiveArg> for tsn_sched::Objective {
    fn from(o: ObjectiveArg) -> Self {
        match o {
            ObjectiveArg::Latency => tsn_sched::Objective::Latency,
            ObjectiveArg::Queues => tsn_sched::Objective::Queues,
        }
    }
}

/// `tsnctl schedule solve`
#[derive(Debug, Clone, Args)]
pub struct SolveArgs {
    /// The problem.
    #[command(flatten)]
    pub input: InputArgs,
    /// The scheduler.
    #[arg(long, value_enum, default_value_t = AlgorithmArg::Auto)]
    pub algorithm: AlgorithmArg,
    /// The ILP objective.
    #[arg(long, value_enum, default_value_t = ObjectiveArg::Latency)]
    pub objective: ObjectiveArg,
    /// Wall-clock limit of the solve, in seconds (fractions allowed).
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_seconds)]
    pub time_limit: Duration,
    /// Write the schedule as JSON to this file.
    #[arg(long, value_name = "FILE.json")]
    pub out: Option<PathBuf>,
    /// Write tsnkit-style GCL.csv, OFFSET.csv and ROUTE.csv into this folder (created if
    /// missing).
    #[arg(long, value_name = "DIR")]
    pub tsnkit_out: Option<PathBuf>,
    /// Print only the summary line (and the reasons of a failure).
    #[arg(long, short)]
    pub quiet: bool,
    /// Print progress to stderr even when it is not a terminal.
    #[arg(long)]
    pub progress: bool,
}

/// `tsnctl schedule check`
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The problem the schedule answers.
    #[command(flatten)]
    pub input: InputArgs,
    /// The JSON schedule to verify.
    #[arg(long, value_name = "FILE.json")]
    pub schedule: PathBuf,
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(v).map_err(|_| format!("{s:?} is not a non-negative number of seconds"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("60"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("inf").is_err());
        assert!(parse_seconds("x").is_err());
    }
}
