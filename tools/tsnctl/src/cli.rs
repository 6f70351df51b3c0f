//! The command-line grammar of `tsnctl` (clap derive types only; no behaviour).

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

/// tsn-cp command line: solve and check 802.1Qbv schedules, run benchmarks, run the whole
/// control plane in one process (`dev`) and talk to its RESTCONF gateway (`streams`).
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
    /// Run every service in one process: in-memory bus, SQLite files, RESTCONF on localhost,
    /// southbound writing the rendered device configurations (GCLs) to files.
    Dev(DevArgs),
    /// Submit, list, show and remove streams through a running RESTCONF gateway.
    #[command(subcommand)]
    Streams(StreamsCommand),
    /// A whole TSN network on this machine (namespaces, node agents, the six services):
    /// up, submit streams and send traffic, counters, down.
    #[command(subcommand)]
    Testbed(crate::testbed_cmd::TestbedCommand),
}

/// `tsnctl schedule ...`
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Compute a schedule. Exit codes: 0 verified schedule, 2 proven infeasible,
    /// 3 time limit reached, 1 error (bad input, unverified schedule, solver error).
    Solve(SolveArgs),
    /// Verify a schedule file against its problem. Exit 0 if it is valid, 1 otherwise.
    Check(CheckArgs),
    /// Show what a running gateway reports per stream: status, talker offset, worst-case
    /// latency. The RESTCONF model (802.1Qdj cnc-config) carries no routes and no gate
    /// control lists; `--dev-dir` adds them from the files `tsnctl dev` writes (routes from
    /// DIR/schedule/schedule.json, per-port GCLs from DIR/gcl/*.json).
    Show(ScheduleShowArgs),
    /// Render a schedule as a self-contained web page (topology, streams, a Gantt chart of
    /// every link's transmissions over the hyperperiod, gate control lists): the page
    /// `uni-gateway` serves at /viz, with the data embedded, for reports. The schedule is
    /// verified with tsn-check and the verdict shown; exit 1 when it does not verify (the
    /// page is written either way).
    Render(RenderArgs),
}

/// `tsnctl schedule render`
#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    /// The problem the schedule answers.
    #[command(flatten)]
    pub input: InputArgs,
    /// The JSON schedule (`tsnctl schedule solve --out`).
    #[arg(long, value_name = "FILE.json")]
    pub schedule: PathBuf,
    /// Write the page to this file.
    #[arg(long, value_name = "FILE.html")]
    pub html: PathBuf,
    /// Page title (default: the input's name).
    #[arg(long)]
    pub title: Option<String>,
}

/// `tsnctl bench ...`
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Benchmark the schedulers.
    Schedule(crate::bench::BenchArgs),
    /// Datapath latency on a veth pair: kernel sleep, kernel SO_TXTIME, the agent over
    /// AF_PACKET and over DPDK (needs root).
    Datapath(crate::bench_datapath::DatapathArgs),
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

/// Where the RESTCONF gateway is and who we are.
#[derive(Debug, Clone, Args)]
pub struct GatewayArgs {
    /// Base URL of the gateway (plain HTTP).
    #[arg(long, env = "TSNCTL_URL", default_value = "http://127.0.0.1:8040")]
    pub url: String,
    /// HTTP Basic user (gateways with `[auth] basic_users`).
    #[arg(long, env = "TSNCTL_USER")]
    pub user: Option<String>,
    /// HTTP Basic password (prefer the environment variable over the command line).
    #[arg(long, env = "TSNCTL_PASSWORD", requires = "user", hide_env_values = true)]
    pub password: Option<String>,
}

/// The 802.1Qdj domain and CUC the streams belong to.
#[derive(Debug, Clone, Args)]
pub struct CucArgs {
    /// Domain id.
    #[arg(long, default_value = "domain-1")]
    pub domain: String,
    /// CUC id.
    #[arg(long, default_value = "cuc-1")]
    pub cuc: String,
}

/// `tsnctl dev`
#[derive(Debug, Clone, Args)]
pub struct DevArgs {
    /// Address of the RESTCONF listener (port 0: any free port; the URL is printed).
    #[arg(long, default_value = "127.0.0.1:8040")]
    pub listen: String,
    /// Directory of the SQLite files, the topology and the rendered configurations
    /// (DIR/gcl). Default: ./tsn-dev, or with --demo a new directory under the system's
    /// temporary directory (so that the demo starts from an empty network).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Topology (tsn-model JSON, end-station links with MAC addresses). Default: the built-in
    /// demo ring (examples/demo-topology.json).
    #[arg(long, value_name = "FILE.json")]
    pub topology: Option<PathBuf>,
    /// Submit the example stream set (examples/demo-streams.json) over RESTCONF, wait for
    /// the outcome, print the table and exit: 0 when every stream is ready, 1 otherwise.
    #[arg(long)]
    pub demo: bool,
    /// With --demo: keep serving after the table, until Ctrl-C.
    #[arg(long, requires = "demo")]
    pub keep_running: bool,
    /// Number of scheduler replicas.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub schedulers: u16,
    /// Wall-clock limit of one scheduling run, in seconds.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_seconds)]
    pub solve_time_limit: Duration,
    /// With --demo: how long to wait for the outcome, in seconds.
    #[arg(long, value_name = "SECS", default_value = "300", value_parser = parse_seconds)]
    pub timeout: Duration,
    /// Log filter of the services (RUST_LOG wins), e.g. `info` or `preprocess=debug,warn`.
    #[arg(long, default_value = "warn")]
    pub log: String,
}

/// `tsnctl streams ...`
#[derive(Debug, Subcommand)]
pub enum StreamsCommand {
    /// Store the streams of a file (JSON or YAML) in the gateway, ask it to compute them and
    /// wait for their status. The file holds `{"ieee802-dot1q-cnc-config:stream": [...]}`
    /// (the body of a RESTCONF POST on a CUC, like examples/demo-streams.json), `{"stream":
    /// [...]}` or a bare list of cnc-config stream entries. Exit codes: 0 every stream
    /// ready, 2 some failed, 3 still pending at --timeout, 1 error.
    Submit(SubmitArgs),
    /// List the streams the gateway knows, with their status.
    List(ListArgs),
    /// Print one stream as the gateway returns it (configuration and status, RFC 7951 JSON).
    Show(ShowArgs),
    /// Remove streams: admitted ones with the `remove_streams` action (waits until the
    /// network no longer carries them), never computed ones by deleting them.
    Remove(RemoveArgs),
}

/// `tsnctl streams submit`
#[derive(Debug, Clone, Args)]
pub struct SubmitArgs {
    /// The stream file (`.json`, `.yaml` or `.yml`).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The gateway.
    #[command(flatten)]
    pub gateway: GatewayArgs,
    /// Domain and CUC.
    #[command(flatten)]
    pub cuc: CucArgs,
    /// Only store the streams (no compute_streams).
    #[arg(long)]
    pub no_compute: bool,
    /// Do not wait for the outcome.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for the outcome, in seconds.
    #[arg(long, value_name = "SECS", default_value = "120", value_parser = parse_seconds)]
    pub timeout: Duration,
}

/// `tsnctl streams list`
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// The gateway.
    #[command(flatten)]
    pub gateway: GatewayArgs,
}

/// `tsnctl streams show`
#[derive(Debug, Clone, Args)]
pub struct ShowArgs {
    /// The stream id (`AA-BB-CC-DD-EE-FF:00-01`).
    #[arg(value_name = "ID")]
    pub id: String,
    /// The gateway.
    #[command(flatten)]
    pub gateway: GatewayArgs,
}

/// `tsnctl streams remove`
#[derive(Debug, Clone, Args)]
pub struct RemoveArgs {
    /// The stream ids.
    #[arg(value_name = "ID", required = true)]
    pub ids: Vec<String>,
    /// The gateway.
    #[command(flatten)]
    pub gateway: GatewayArgs,
    /// Do not wait until the network no longer carries the streams.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait, in seconds.
    #[arg(long, value_name = "SECS", default_value = "120", value_parser = parse_seconds)]
    pub timeout: Duration,
}

/// `tsnctl schedule show`
#[derive(Debug, Clone, Args)]
pub struct ScheduleShowArgs {
    /// The gateway.
    #[command(flatten)]
    pub gateway: GatewayArgs,
    /// The data directory of a `tsnctl dev` on this machine: adds each stream's route and
    /// every egress port's gate control list.
    #[arg(long, value_name = "DIR")]
    pub dev_dir: Option<PathBuf>,
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
