//! `tsnctl schedule solve`, `tsnctl schedule check` and `tsnctl schedule render`.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tsn_formats::{json, tsnkit};
use tsn_model::{Problem, Schedule, SolveStatus};
use tsn_sched::{Progress, SolveOptions};

use crate::cli::{CheckArgs, RenderArgs, SolveArgs};
use crate::input::{describe, load_problem, read_file};

/// Exit code of a verified schedule.
pub const EXIT_OK: u8 = 0;
/// Exit code of errors: bad input, an unverified schedule, a solver failure.
pub const EXIT_ERROR: u8 = 1;
/// Exit code of a proven infeasible problem.
pub const EXIT_INFEASIBLE: u8 = 2;
/// Exit code of a solve that hit its time limit.
pub const EXIT_TIMEOUT: u8 = 3;

/// How often the ticker reports that a solve is still running.
const TICK: Duration = Duration::from_secs(5);

/// Runs `tsnctl schedule solve`; the exit code follows the [`EXIT_OK`].. constants.
pub fn solve(args: &SolveArgs) -> Result<ExitCode> {
    let problem = load_problem(&args.input)?;
    let hyperperiod = problem.hyperperiod_ns()?;
    let show_progress = args.progress || (!args.quiet && std::io::stderr().is_terminal());
    let started = Instant::now();
    let phase: Mutex<&'static str> = Mutex::new("start");
    let on_progress = |p: &Progress| {
        if let Ok(mut ph) = phase.lock() {
            *ph = p.phase;
        }
        if show_progress {
            eprintln!("[{:>6.1} s] {}: {}", p.elapsed.as_secs_f64(), p.phase, p.message);
        }
    };
    let options = SolveOptions {
        algorithm: args.algorithm.into(),
        objective: args.objective.into(),
        time_limit: args.time_limit,
        progress: Some(&on_progress),
    };
    if !args.quiet {
        eprintln!(
            "solving {}: {} streams, {} nodes, {} links, hyperperiod {hyperperiod} ns, algorithm {}, time limit {:?}",
            describe(&args.input),
            problem.streams.len(),
            problem.topology.nodes.len(),
            problem.topology.links.len(),
            tsn_sched::Algorithm::from(args.algorithm),
            args.time_limit,
        );
    }
    let result = std::thread::scope(|scope| {
        let (stop, stopped) = mpsc::channel::<()>();
        if show_progress {
            let phase = &phase;
            scope.spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                    let ph = phase.lock().map(|p| *p).unwrap_or("?");
                    eprintln!("[{:>6.1} s] still solving ({ph})", started.elapsed().as_secs_f64());
                }
            });
        }
        let r = tsn_sched::solve(&problem, &options);
        drop(stop);
        r
    });
    let outcome = match result {
        Ok(o) => o,
        Err(e) => {
            println!(
                "error algorithm={} time={:.3}ms streams={} hyperperiod={hyperperiod}ns: {e}",
                tsn_sched::Algorithm::from(args.algorithm),
                started.elapsed().as_secs_f64() * 1e3,
                problem.streams.len()
            );
            return Ok(ExitCode::from(EXIT_ERROR));
        }
    };
    let head = format!(
        "{} algorithm={} time={:.3}ms streams={} hyperperiod={hyperperiod}ns",
        outcome.status,
        outcome.algorithm,
        outcome.elapsed.as_secs_f64() * 1e3,
        problem.streams.len()
    );
    match outcome.status {
        SolveStatus::Optimal | SolveStatus::Feasible => {
            let Some(schedule) = &outcome.schedule else {
                println!("{head} error: the solver reported {} without a schedule", outcome.status);
                return Ok(ExitCode::from(EXIT_ERROR));
            };
            let report = tsn_check::verify(&problem, schedule);
            write_outputs(args, &problem, schedule)?;
            if report.is_ok() {
                println!("{head} verified");
                if !args.quiet {
                    print_streams(&problem, schedule);
                }
                if !args.quiet && !outcome.detail.is_empty() {
                    eprintln!("detail: {}", outcome.detail);
                }
                Ok(ExitCode::from(EXIT_OK))
            } else {
                println!("{head} NOT VERIFIED: {} violations", report.violations.len());
                for v in &report.violations {
                    println!("  violation: {v}");
                }
                Ok(ExitCode::from(EXIT_ERROR))
            }
        }
        SolveStatus::Infeasible => {
            println!("{head} proven infeasible");
            match &outcome.infeasibility {
                Some(inf) => {
                    for r in &inf.reasons {
                        println!("  reason: {r}");
                    }
                }
                None => println!("  reason: {}", outcome.detail),
            }
            Ok(ExitCode::from(EXIT_INFEASIBLE))
        }
        SolveStatus::Timeout => {
            println!("{head} no schedule: {}", outcome.detail);
            Ok(ExitCode::from(EXIT_TIMEOUT))
        }
    }
}

/// One row per stream: what the talker must do and what the network guarantees.
fn print_streams(problem: &Problem, schedule: &Schedule) {
    println!(
        "  {:<20} {:>16} {:>16} {:>16}  route",
        "stream", "talker offset ns", "worst latency ns", "max latency ns"
    );
    for s in &problem.streams {
        let Some(ss) = schedule.stream(&s.id) else { continue };
        let route: Vec<String> = ss
            .route
            .paths
            .iter()
            .map(|p| {
                let mut hops: Vec<&str> = p.iter().map(|l| l.from.0.as_str()).collect();
                hops.extend(p.last().map(|l| l.to.0.as_str()));
                hops.join(">")
            })
            .collect();
        println!(
            "  {:<20} {:>16} {:>16} {:>16}  {}",
            s.id.0,
            ss.talker_offset_ns,
            ss.worst_latency_ns,
            s.max_latency_ns,
            route.join(" ; ")
        );
    }
}

fn write_outputs(args: &SolveArgs, problem: &Problem, schedule: &Schedule) -> Result<()> {
    if let Some(path) = &args.out {
        std::fs::write(path, json::write_schedule(schedule))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(dir) = &args.tsnkit_out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let out = tsnkit::write_outputs(problem, schedule);
        for (name, text) in [("GCL.csv", &out.gcl_csv), ("OFFSET.csv", &out.offset_csv), ("ROUTE.csv", &out.route_csv)]
        {
            let path = dir.join(name);
            std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(())
}

/// Runs `tsnctl schedule check`: exit 0 when the schedule verifies, 1 otherwise.
pub fn check(args: &CheckArgs) -> Result<ExitCode> {
    let problem = load_problem(&args.input)?;
    let schedule = json::read_schedule(&read_file(&args.schedule)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.schedule.display()))?;
    let report = tsn_check::verify(&problem, &schedule);
    if report.is_ok() {
        println!(
            "ok: {} verified ({} streams, hyperperiod {} ns, {} GCLs)",
            args.schedule.display(),
            schedule.streams.len(),
            schedule.hyperperiod_ns,
            schedule.gcls.len()
        );
        Ok(ExitCode::from(EXIT_OK))
    } else {
        println!("{}: {} violations", args.schedule.display(), report.violations.len());
        for v in &report.violations {
            println!("  violation: {v}");
        }
        Ok(ExitCode::from(EXIT_ERROR))
    }
}

/// Runs `tsnctl schedule render`: writes the visualizer page with the schedule embedded;
/// exit 0 when the schedule verifies, 1 otherwise (the page shows the violations).
pub fn render(args: &RenderArgs) -> Result<ExitCode> {
    let problem = load_problem(&args.input)?;
    let schedule = json::read_schedule(&read_file(&args.schedule)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.schedule.display()))?;
    let report = tsn_check::verify(&problem, &schedule);
    let verdict = if report.is_ok() {
        "verified".to_owned()
    } else {
        format!(
            "{} violations: {}",
            report.violations.len(),
            report.violations.iter().take(5).map(ToString::to_string).collect::<Vec<_>>().join("; ")
        )
    };
    let mut view = uni_gateway::viz::build_view(None, Some((&problem, &schedule)), &[], &|_| true, true);
    view.source = "file".into();
    view.title = args.title.clone().unwrap_or_else(|| format!("schedule of {}", describe(&args.input)));
    view.verdict = Some(verdict.clone());
    let html = uni_gateway::viz::render_html(&view);
    std::fs::write(&args.html, &html).with_context(|| format!("cannot write {}", args.html.display()))?;
    println!(
        "{}: {} streams, {} transmissions, {} GCLs, hyperperiod {} ns, {} bytes; tsn-check: {verdict}",
        args.html.display(),
        view.streams.len(),
        view.transmissions.len(),
        view.gcls.len(),
        view.hyperperiod_ns,
        html.len()
    );
    Ok(ExitCode::from(if report.is_ok() { EXIT_OK } else { EXIT_ERROR }))
}
