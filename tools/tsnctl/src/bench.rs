//! `tsnctl bench schedule`: solve generated and stored workloads, re-verify every schedule,
//! and print one table row per group of instances.
//!
//! Suites:
//!
//! * `paper` — [`tsn_workloads::paper_workload`] with `size` streams; instance `i` of a size
//!   uses seed `size * 1000 + i`.
//! * `grid` — [`tsn_workloads::tsnkit_grid`] with `size` streams on `--grid-switches`
//!   switches; instances alternate line (even `i`) and ring (odd `i`), seed `size * 1000 + i`.
//! * `tsnkit256` — the 256 stored tsnkit instances in `--data`, grouped by stream count;
//!   `--sizes` (when given) keeps only those stream counts, `--seeds` is ignored.
//!
//! Every returned schedule is verified again with `tsn_check::verify`; a failure is a bug
//! and makes the command fail after the tables are printed. Wall time is measured around
//! `tsn_sched::solve` (it includes certificates, routing, GCL synthesis and the solver's
//! own verification).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tsn_model::{Problem, SolveStatus};
use tsn_sched::{Algorithm, SolveOptions};
use tsn_workloads::{GridParams, GridPeriods, GridTopology};

use crate::cli::AlgorithmArg;

/// Which instances to run.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    /// The μTSN-CP paper workload (generated).
    Paper,
    /// tsnkit-style line/ring grids (generated).
    Grid,
    /// The 256 stored tsnkit instances (`--data`).
    Tsnkit256,
    /// All of the above.
    All,
}

/// Period set of the `grid` suite.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GridPeriodsArg {
    /// {0.5, 1, 2, 4} ms (tsnkit period spec 3).
    Ms,
    /// {100, 200, 400, 800} µs (tsnkit period spec 4).
    Us,
}

/// Arguments of `tsnctl bench schedule`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Instance suite.
    #[arg(long, value_enum, default_value_t = Suite::Paper)]
    pub suite: Suite,
    /// Stream counts (comma-separated). Default: 15,20,25,50 (paper), 10,40,70,100 (grid),
    /// every count (tsnkit256).
    #[arg(long, value_delimiter = ',')]
    pub sizes: Option<Vec<usize>>,
    /// Generated instances per size.
    #[arg(long, default_value_t = 5)]
    pub seeds: usize,
    /// Time limit per solve, in seconds.
    #[arg(long, default_value_t = 60.0)]
    pub time_limit: f64,
    /// Scheduler.
    #[arg(long, value_enum, default_value_t = AlgorithmArg::Auto)]
    pub algorithm: AlgorithmArg,
    /// Paper suite: run both `heuristic` and `ilp` on every instance (instead of
    /// `--algorithm`) and print the time ratio.
    #[arg(long)]
    pub compare: bool,
    /// Switches of the grid suite.
    #[arg(long, default_value_t = 8)]
    pub grid_switches: usize,
    /// Periods of the grid suite.
    #[arg(long, value_enum, default_value_t = GridPeriodsArg::Ms)]
    pub grid_periods: GridPeriodsArg,
    /// Folder of the tsnkit256 instances (`<id>_task.csv`, `<id>_topo.csv`).
    #[arg(long, default_value = "../shared/data/tsnkit256")]
    pub data: PathBuf,
    /// tsnkit256: compare the outcomes with `<data>/infeasible_by_bound.csv`.
    #[arg(long)]
    pub infeasible_list: bool,
}

/// Runs the benchmark and prints its tables to stdout (progress to stderr).
///
/// # Errors
/// When instances cannot be loaded, or when any returned schedule fails verification.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if !(args.time_limit.is_finite() && args.time_limit > 0.0) {
        bail!("--time-limit must be a positive number of seconds");
    }
    let time_limit = Duration::from_secs_f64(args.time_limit);
    let suites: &[Suite] = match args.suite {
        Suite::All => &[Suite::Paper, Suite::Grid, Suite::Tsnkit256],
        Suite::Paper => &[Suite::Paper],
        Suite::Grid => &[Suite::Grid],
        Suite::Tsnkit256 => &[Suite::Tsnkit256],
    };
    let mut verify_failures = 0;
    println!("{}", Row::header());
    for &suite in suites {
        let groups = instances(suite, args)?;
        let algorithms: Vec<Algorithm> = if args.compare && suite == Suite::Paper {
            vec![Algorithm::Heuristic, Algorithm::Ilp]
        } else {
            vec![args.algorithm.into()]
        };
        // (group, index into `algorithms`) → per-instance results.
        let mut results: HashMap<(String, usize), Vec<InstanceResult>> = HashMap::new();
        for (group, list) in &groups {
            for (a, &algorithm) in algorithms.iter().enumerate() {
                let mut rows = Vec::with_capacity(list.len());
                for (i, (name, problem)) in list.iter().enumerate() {
                    let r = run_one(problem, algorithm, time_limit);
                    eprintln!(
                        "[{} {} {}/{}] {name}: {algorithm}: {} in {:.1} ms{}",
                        suite_name(suite),
                        group,
                        i + 1,
                        list.len(),
                        r.outcome,
                        r.elapsed.as_secs_f64() * 1e3,
                        if r.detail.is_empty() { String::new() } else { format!(" ({})", r.detail) },
                    );
                    rows.push(r);
                }
                let row = Row::of(suite_name(suite), group, algorithm, &rows);
                verify_failures += row.verify_failures;
                println!("{row}");
                results.insert((group.clone(), a), rows);
            }
        }
        if algorithms.len() == 2 {
            print_comparison(&groups, &results);
        }
        if suite == Suite::Tsnkit256 && args.infeasible_list {
            let rows: Vec<(&str, &InstanceResult)> = groups
                .iter()
                .flat_map(|(g, list)| {
                    let res = &results[&(g.clone(), 0)];
                    list.iter().zip(res).map(|((name, _), r)| (name.as_str(), r))
                })
                .collect();
            print_agreement(&args.data, &rows)?;
        }
    }
    if verify_failures > 0 {
        bail!("{verify_failures} returned schedules failed verification (a scheduler bug)");
    }
    Ok(())
}

fn suite_name(s: Suite) -> &'static str {
    match s {
        Suite::Paper => "paper",
        Suite::Grid => "grid",
        Suite::Tsnkit256 => "tsnkit256",
        Suite::All => "all",
    }
}

/// Named problems per group label, groups in order.
type Groups = Vec<(String, Vec<(String, Problem)>)>;

fn instances(suite: Suite, args: &BenchArgs) -> anyhow::Result<Groups> {
    let seed = |size: usize, i: usize| (size as u64) * 1000 + i as u64;
    Ok(match suite {
        Suite::Paper => {
            let sizes = args.sizes.clone().unwrap_or_else(|| vec![15, 20, 25, 50]);
            sizes
                .into_iter()
                .map(|n| {
                    let list = (0..args.seeds)
                        .map(|i| (format!("seed {}", seed(n, i)), tsn_workloads::paper_workload(n, seed(n, i))))
                        .collect();
                    (format!("n={n}"), list)
                })
                .collect()
        }
        Suite::Grid => {
            if args.grid_switches < 2 {
                bail!("--grid-switches must be at least 2");
            }
            let periods = match args.grid_periods {
                GridPeriodsArg::Ms => GridPeriods::Milliseconds,
                GridPeriodsArg::Us => GridPeriods::Microseconds,
            };
            let sizes = args.sizes.clone().unwrap_or_else(|| vec![10, 40, 70, 100]);
            sizes
                .into_iter()
                .map(|n| {
                    let list = (0..args.seeds)
                        .map(|i| {
                            let topology = if i % 2 == 0 { GridTopology::Line } else { GridTopology::Ring };
                            let params = GridParams { switches: args.grid_switches, streams: n, topology, periods };
                            let name = format!("{topology:?} seed {}", seed(n, i)).to_lowercase();
                            (name, tsn_workloads::tsnkit_grid(&params, seed(n, i)))
                        })
                        .collect();
                    (format!("n={n}"), list)
                })
                .collect()
        }
        Suite::Tsnkit256 => load_tsnkit256(&args.data, args.sizes.as_deref())?,
        Suite::All => Vec::new(),
    })
}

/// Every `<id>_task.csv`/`<id>_topo.csv` pair in `dir`, grouped by stream count.
fn load_tsnkit256(dir: &Path, sizes: Option<&[usize]>) -> anyhow::Result<Groups> {
    let mut ids: Vec<u64> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix("_task.csv")?.parse().ok())
        .collect();
    ids.sort_unstable();
    if ids.is_empty() {
        bail!("no <id>_task.csv files in {}", dir.display());
    }
    let mut groups: BTreeMap<usize, Vec<(String, Problem)>> = BTreeMap::new();
    for id in ids {
        let read = |kind: &str| {
            let p = dir.join(format!("{id}_{kind}.csv"));
            std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
        };
        let problem = tsn_formats::tsnkit::read_instance(&read("task")?, &read("topo")?)
            .with_context(|| format!("loading tsnkit instance {id}"))?;
        let n = problem.streams.len();
        let wanted = match sizes {
            Some(s) => s.contains(&n),
            None => true,
        };
        if wanted {
            groups.entry(n).or_default().push((id.to_string(), problem));
        }
    }
    Ok(groups.into_iter().map(|(n, list)| (format!("n={n}"), list)).collect())
}

/// How one solve ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// A schedule that passed the re-verification.
    Solved,
    /// Infeasibility proven.
    Infeasible,
    /// No answer within the time limit (or the heuristic gave up).
    Timeout,
    /// A schedule was returned but the verifier rejects it, or the solver said so.
    VerifyFailed,
    /// Any other error.
    Error,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Solved => "solved (verified)",
            Outcome::Infeasible => "infeasible",
            Outcome::Timeout => "timeout",
            Outcome::VerifyFailed => "VERIFICATION FAILED",
            Outcome::Error => "error",
        })
    }
}

#[derive(Debug, Clone)]
struct InstanceResult {
    outcome: Outcome,
    elapsed: Duration,
    detail: String,
}

fn run_one(problem: &Problem, algorithm: Algorithm, time_limit: Duration) -> InstanceResult {
    let options = SolveOptions { algorithm, time_limit, ..SolveOptions::default() };
    let started = Instant::now();
    let result = tsn_sched::solve(problem, &options);
    let elapsed = started.elapsed();
    let (outcome, detail) = match result {
        Ok(out) => match (out.status, &out.schedule) {
            (SolveStatus::Optimal | SolveStatus::Feasible, Some(schedule)) => {
                let report = tsn_check::verify(problem, schedule);
                if report.is_ok() {
                    (Outcome::Solved, format!("{} by {}", out.status, out.algorithm))
                } else {
                    (Outcome::VerifyFailed, first_line(&report.to_string()))
                }
            }
            (SolveStatus::Optimal | SolveStatus::Feasible, None) => {
                (Outcome::VerifyFailed, "a solved status without a schedule".into())
            }
            (SolveStatus::Infeasible, _) => (Outcome::Infeasible, first_line(&out.detail)),
            (SolveStatus::Timeout, _) => (Outcome::Timeout, first_line(&out.detail)),
        },
        Err(e @ tsn_sched::SchedError::Unverified { .. }) => (Outcome::VerifyFailed, first_line(&e.to_string())),
        Err(e) => (Outcome::Error, first_line(&e.to_string())),
    };
    InstanceResult { outcome, elapsed, detail }
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() > 160 {
        format!("{}…", line.chars().take(160).collect::<String>())
    } else {
        line.to_owned()
    }
}

/// One line of the results table.
#[derive(Debug)]
struct Row {
    suite: &'static str,
    group: String,
    algorithm: Algorithm,
    instances: usize,
    solved: usize,
    infeasible: usize,
    timeouts: usize,
    errors: usize,
    verify_failures: usize,
    median_ms: f64,
    min_ms: f64,
    max_ms: f64,
}

impl Row {
    fn header() -> String {
        format!(
            "{:<10} {:<8} {:<18} {:>5} {:>7} {:>7} {:>8} {:>6} {:>11} {:>10} {:>10} {:>10}",
            "suite",
            "group",
            "algorithm",
            "inst",
            "solved",
            "infeas",
            "timeout",
            "error",
            "verify-fail",
            "median_ms",
            "min_ms",
            "max_ms"
        )
    }

    fn of(suite: &'static str, group: &str, algorithm: Algorithm, rows: &[InstanceResult]) -> Row {
        let count = |o: Outcome| rows.iter().filter(|r| r.outcome == o).count();
        let mut ms: Vec<f64> = rows.iter().map(|r| r.elapsed.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        Row {
            suite,
            group: group.to_owned(),
            algorithm,
            instances: rows.len(),
            solved: count(Outcome::Solved),
            infeasible: count(Outcome::Infeasible),
            timeouts: count(Outcome::Timeout),
            errors: count(Outcome::Error),
            verify_failures: count(Outcome::VerifyFailed),
            median_ms: median(&ms),
            min_ms: ms.first().copied().unwrap_or(f64::NAN),
            max_ms: ms.last().copied().unwrap_or(f64::NAN),
        }
    }
}

impl std::fmt::Display for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<10} {:<8} {:<18} {:>5} {:>7} {:>7} {:>8} {:>6} {:>11} {:>10.1} {:>10.1} {:>10.1}",
            self.suite,
            self.group,
            self.algorithm.to_string(),
            self.instances,
            self.solved,
            self.infeasible,
            self.timeouts,
            self.errors,
            self.verify_failures,
            self.median_ms,
            self.min_ms,
            self.max_ms
        )
    }
}

/// Median of sorted values (NaN when empty).
fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Heuristic (algorithm 0) vs ILP (algorithm 1) on the same instances: per group, the
/// median of the per-instance ratios ILP time / heuristic time over instances both solved.
fn print_comparison(groups: &Groups, results: &HashMap<(String, usize), Vec<InstanceResult>>) {
    println!();
    println!("{:<8} {:>12} {:>22} {:>22}", "group", "both solved", "ilp/heuristic median", "ilp/heuristic min..max");
    for (group, _) in groups {
        let (Some(h), Some(i)) = (results.get(&(group.clone(), 0)), results.get(&(group.clone(), 1))) else {
            continue;
        };
        let mut ratios: Vec<f64> = h
            .iter()
            .zip(i)
            .filter(|(a, b)| a.outcome == Outcome::Solved && b.outcome == Outcome::Solved)
            .map(|(a, b)| b.elapsed.as_secs_f64() / a.elapsed.as_secs_f64().max(1e-9))
            .collect();
        ratios.sort_by(f64::total_cmp);
        let range = match (ratios.first(), ratios.last()) {
            (Some(lo), Some(hi)) => format!("{lo:.1}..{hi:.1}"),
            _ => "-".into(),
        };
        println!("{:<8} {:>12} {:>22.1} {:>22}", group, ratios.len(), median(&ratios), range);
    }
    println!();
}

/// Compares the outcomes with the lower-bound certificates of `infeasible_by_bound.csv`.
fn print_agreement(data: &Path, rows: &[(&str, &InstanceResult)]) -> anyhow::Result<()> {
    let path = data.join("infeasible_by_bound.csv");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let col = |name: &str| header.iter().position(|h| h.trim() == name);
    let (Some(id_col), Some(inf_col)) = (col("id"), col("infeasible")) else {
        bail!("{}: needs the columns `id` and `infeasible`", path.display());
    };
    let mut bound: HashMap<String, bool> = HashMap::new();
    for (n, line) in lines.enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let (Some(id), Some(inf)) = (f.get(id_col), f.get(inf_col)) else {
            bail!("{}, line {}: too few columns", path.display(), n + 2);
        };
        bound.insert(id.trim().to_owned(), inf.trim() == "yes");
    }
    // (bound says infeasible, our outcome) → count
    let mut table: BTreeMap<(bool, &'static str), usize> = BTreeMap::new();
    let mut contradictions = Vec::new();
    for &(id, r) in rows {
        let Some(&infeasible) = bound.get(id) else { continue };
        let ours = match r.outcome {
            Outcome::Solved => "solved",
            Outcome::Infeasible => "infeasible",
            Outcome::Timeout => "timeout",
            Outcome::VerifyFailed | Outcome::Error => "error",
        };
        *table.entry((infeasible, ours)).or_default() += 1;
        if infeasible && r.outcome == Outcome::Solved {
            contradictions.push(id.to_owned());
        }
    }
    println!();
    println!("agreement with {} (the bound is a sufficient certificate only):", path.display());
    for ((infeasible, ours), n) in &table {
        println!("  bound {:<11} ours {:<10} {n:>4}", if *infeasible { "infeasible" } else { "open" }, ours);
    }
    let proven = table.get(&(true, "infeasible")).copied().unwrap_or(0);
    let listed = table.iter().filter(|((inf, _), _)| *inf).map(|(_, n)| n).sum::<usize>();
    println!("  bound-infeasible instances we also proved infeasible: {proven}/{listed}");
    if !contradictions.is_empty() {
        bail!("schedules verified for instances the bound proves infeasible: {}", contradictions.join(", "));
    }
    Ok(())
}
