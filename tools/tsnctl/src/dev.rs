//! `tsnctl dev`: the whole control plane in one process, for one machine and no broker or
//! database server.
//!
//! ```text
//!  RESTCONF ──▶ uni-gateway ─┐                                   ┌─▶ DIR/gcl/<device>.json
//!   (HTTP)        (SQLite)   │        in-memory bus              │   (dry-run configurator)
//!                            ├──▶ preprocess ──▶ scheduler ×N ──▶ southbound
//!                            │      (SQLite)                        (SQLite)
//!                            └──── observer: deployed schedule ─▶ DIR/schedule/{problem,schedule}.json
//! ```
//!
//! The services are the same library entry points the service binaries run; only the bus
//! (`tsn_bus::MemoryBus`) and the stores (SQLite files in the data directory) differ. The
//! observer keeps what the RESTCONF model cannot carry (routes, the full schedule) for the
//! demo table, `tsnctl schedule show --dev-dir` and re-verification with tsn-check.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _, Result};
use tokio::task::JoinSet;
use tsn_bus::{Bus, ConsumerOptions, MemoryBus, Subscription};
use tsn_pipeline::{decode, model, v1};
use tsn_service::CancellationToken;

use crate::cli::DevArgs;
use crate::client::Gateway;
use crate::streams_cmd::{
    fmt_ns, parse_streams, print_table, status_text, submit_streams, wait_for_outcomes, Outcome, Progress,
};

/// The demo network (a ring of 4 bridges with 3 end stations each), built in so that
/// `tsnctl dev` works from any directory.
pub const DEMO_TOPOLOGY: &str = include_str!("../../../examples/demo-topology.json");
/// The demo stream set (20 streams as a RESTCONF POST body for a CUC).
pub const DEMO_STREAMS: &str = include_str!("../../../examples/demo-streams.json");

/// Domain and CUC of the demo streams.
const DEMO_DOMAIN: &str = "domain-1";
const DEMO_CUC: &str = "cuc-1";
/// The observer's queue on the in-memory bus.
const OBSERVER_QUEUE: &str = "tsnctl-dev.observer";

/// What the observer learnt from the deploys (shared with the demo).
#[derive(Debug, Default)]
pub struct Deployed {
    /// Admitted-state version of the last successful deploy.
    pub version: u64,
    /// Stream id → node ids along each path, for admitted streams.
    pub paths: BTreeMap<String, Vec<Vec<String>>>,
    /// tsn-check's verdict on the last deployed schedule ("verified" or the violations).
    pub verdict: Option<String>,
}

type Shared = Arc<Mutex<Deployed>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Deployed> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `tsnctl dev` (and `--demo`).
pub fn run(args: &DevArgs) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    let result = runtime.block_on(dev(args));
    // A solve on a blocking thread cannot be interrupted; do not wait for it.
    runtime.shutdown_timeout(Duration::from_secs(2));
    result
}

fn default_data_dir(demo: bool) -> PathBuf {
    if demo {
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        std::env::temp_dir().join(format!("tsnctl-demo-{stamp}-{}", std::process::id()))
    } else {
        PathBuf::from("tsn-dev")
    }
}

fn sqlite(dir: &Path, name: &str) -> String {
    format!("sqlite://{}?mode=rwc", dir.join(name).display())
}

/// Reads (or takes the built-in) topology, validates it and writes it into the data
/// directory for preprocess. Returns a one-line description.
fn prepare_topology(args: &DevArgs, dir: &Path) -> Result<(PathBuf, String)> {
    let (text, origin) = match &args.topology {
        Some(p) => (
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
            p.display().to_string(),
        ),
        None => (DEMO_TOPOLOGY.to_owned(), "built-in demo ring (examples/demo-topology.json)".to_owned()),
    };
    let topology: tsn_model::Topology = serde_json::from_str(&text)
        .map_err(|e| anyhow!("{origin}:{}:{}: not a tsn-model topology: {e}", e.line(), e.column()))?;
    topology.validate().with_context(|| format!("topology {origin}"))?;
    let bridges = topology.nodes.iter().filter(|n| n.kind == tsn_model::NodeKind::Bridge).count();
    let file = dir.join("topology.json");
    std::fs::write(&file, &text).with_context(|| format!("writing {}", file.display()))?;
    Ok((
        file,
        format!(
            "{origin}: {bridges} bridges, {} end stations, {} directed links",
            topology.nodes.len() - bridges,
            topology.links.len()
        ),
    ))
}

async fn dev(args: &DevArgs) -> Result<ExitCode> {
    tsn_service::init_tracing(&args.log, false);
    let dir = args.data_dir.clone().unwrap_or_else(|| default_data_dir(args.demo));
    let gcl_dir = dir.join("gcl");
    for d in [&dir, &gcl_dir, &dir.join("schedule")] {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let dir = dir.canonicalize().with_context(|| format!("cannot resolve {}", dir.display()))?;
    let gcl_dir = dir.join("gcl");
    let (topology_file, topology_text) = prepare_topology(args, &dir)?;
    let listener = tokio::net::TcpListener::bind(&args.listen).await.with_context(|| {
        format!("cannot listen on {} (another `tsnctl dev`? --listen 127.0.0.1:0 picks a free port)", args.listen)
    })?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    let shutdown = tsn_service::shutdown_on_signals();
    let state: Shared = Arc::default();

    let bus: Arc<dyn Bus> = Arc::new(MemoryBus::new());
    // Bind the service queues before anything is published: events that match no queue
    // are dropped.
    for (queue, patterns) in [
        (preprocess::EVENTS_QUEUE, preprocess::EVENT_PATTERNS),
        (southbound::SOLVED_QUEUE, &[tsn_pipeline::SCHEDULE_SOLVED][..]),
    ] {
        bus.subscribe(queue, patterns, ConsumerOptions::default()).await?.close().await;
    }
    let observer = bus
        .subscribe(
            OBSERVER_QUEUE,
            &[tsn_pipeline::SCHEDULE_SOLVED, tsn_pipeline::SCHEDULE_FAILED, tsn_pipeline::DEPLOY_COMPLETED],
            ConsumerOptions::default(),
        )
        .await?;

    let mut tasks: JoinSet<(&'static str, Result<()>)> = JoinSet::new();
    let pre = preprocess::PreprocessConfig {
        database_url: sqlite(&dir, "preprocess.db"),
        topology_file: Some(topology_file.clone()),
        ..Default::default()
    };
    let (b, s) = (bus.clone(), shutdown.clone());
    tasks.spawn(async move { ("preprocess", preprocess::run(pre, b, s).await) });
    for _ in 0..args.schedulers {
        let cfg =
            scheduler::SchedulerConfig { time_limit_secs: args.solve_time_limit.as_secs_f64(), ..Default::default() };
        let (b, s) = (bus.clone(), shutdown.clone());
        tasks.spawn(async move { ("scheduler", scheduler::run(cfg, b, s).await) });
    }
    let configurator = Arc::new(
        southbound::DryRunConfigurator::new(&gcl_dir)
            .with_context(|| format!("cannot create {}", gcl_dir.display()))?,
    );
    let sb = southbound::SouthboundConfig {
        database_url: sqlite(&dir, "southbound.db"),
        configurator: southbound::ConfiguratorSetting::DryRun { dir: gcl_dir.clone() },
        ..Default::default()
    };
    let (b, s) = (bus.clone(), shutdown.clone());
    tasks.spawn(async move { ("southbound", southbound::run_with(sb, b, configurator, s).await) });
    let gw = uni_gateway::GatewayConfig {
        listen: addr.to_string(),
        database_url: sqlite(&dir, "uni-gateway.db"),
        // The visualizer draws it until the first deploy.
        topology_file: Some(topology_file.clone()),
        outbox_poll_ms: 200,
        ..Default::default()
    };
    let (b, s) = (bus.clone(), shutdown.clone());
    tasks.spawn(async move { ("uni-gateway", uni_gateway::serve(gw, listener, Some(b), s).await) });
    let (st, d, s) = (state.clone(), dir.clone(), shutdown.clone());
    tasks.spawn(async move { ("observer", observe(observer, d, st, s).await) });

    banner(args, &url, &dir, &topology_text);

    let work = async {
        if !args.demo {
            shutdown.cancelled().await;
            return Ok(ExitCode::SUCCESS);
        }
        let all_ready = tokio::select! {
            () = shutdown.cancelled() => return Err(anyhow!("interrupted")),
            r = demo(&url, &dir, &state, args.timeout) => r?,
        };
        if args.keep_running {
            println!();
            println!("still serving RESTCONF at {url}/restconf and the web page at {url}/viz; Ctrl-C stops");
            shutdown.cancelled().await;
        }
        Ok(ExitCode::from(if all_ready { 0 } else { 1 }))
    };
    let result = supervise(&mut tasks, &shutdown, work).await;
    shutdown.cancel();
    stop(&mut tasks).await;
    if !args.demo || args.keep_running {
        eprintln!("tsnctl dev stopped; the data stays in {}", dir.display());
    }
    result
}

/// Runs `work` while watching the services: one that stops before shutdown ends the run
/// with its error.
async fn supervise(
    tasks: &mut JoinSet<(&'static str, Result<()>)>,
    shutdown: &CancellationToken,
    work: impl std::future::Future<Output = Result<ExitCode>>,
) -> Result<ExitCode> {
    tokio::pin!(work);
    loop {
        tokio::select! {
            biased;
            r = &mut work => return r,
            Some(joined) = tasks.join_next(), if !shutdown.is_cancelled() => {
                let (name, r) = joined.map_err(|e| anyhow!("a service task panicked: {e}"))?;
                if shutdown.is_cancelled() {
                    // Stopping anyway (Ctrl-C or SIGTERM arrived meanwhile).
                    if let Err(e) = r {
                        eprintln!("warning: {name}: {e:#}");
                    }
                    continue;
                }
                return Err(match r {
                    Err(e) => e.context(format!("{name} stopped")),
                    Ok(()) => anyhow!("{name} stopped unexpectedly"),
                });
            }
        }
    }
}

async fn stop(tasks: &mut JoinSet<(&'static str, Result<()>)>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        match tokio::time::timeout_at(deadline, tasks.join_next()).await {
            Ok(None) => return,
            Ok(Some(Ok((name, Err(e))))) => eprintln!("warning: {name}: {e:#}"),
            Ok(Some(_)) => {}
            Err(_) => {
                eprintln!("warning: {} service task(s) did not stop within 15 s", tasks.len());
                tasks.abort_all();
                return;
            }
        }
    }
}

fn banner(args: &DevArgs, url: &str, dir: &Path, topology: &str) {
    let url_flag = if url == "http://127.0.0.1:8040" { String::new() } else { format!(" --url {url}") };
    println!(
        "tsnctl dev: uni-gateway, preprocess, {} scheduler(s) and southbound in one process (in-memory bus)",
        args.schedulers
    );
    println!("  restconf: {url}/restconf  (ieee802-dot1q-cnc-config; no authentication)");
    println!("  web page: {url}/viz  (topology, streams, per-link Gantt chart and GCL; live)");
    println!("  data:     {}  (SQLite: uni-gateway.db, preprocess.db, southbound.db)", dir.display());
    println!("  topology: {topology}");
    println!("  GCLs:     {}/<device>.json  (dry-run configurator)", dir.join("gcl").display());
    println!("  schedule: {}/schedule.json  (last deployed, with problem.json)", dir.join("schedule").display());
    if !args.demo {
        println!("try (in another terminal):");
        println!("  tsnctl streams submit examples/demo-streams.json{url_flag}");
        println!("  tsnctl streams list{url_flag}");
        println!("  tsnctl schedule show{url_flag} --dev-dir {}", dir.display());
        println!("  curl -s {url}/restconf/data/ieee802-dot1q-cnc-config:cnc-config");
        println!("Ctrl-C stops.");
    }
}

// ---------------------------------------------------------------------------------------
// The observer.

/// Follows `schedule.solved` and `deploy.completed`: after each successful deploy, writes
/// the deployed problem and schedule to DIR/schedule, re-verifies them with tsn-check and
/// records each stream's path.
async fn observe(mut sub: Subscription, dir: PathBuf, state: Shared, shutdown: CancellationToken) -> Result<()> {
    let mut solved: HashMap<String, v1::SolvedJob> = HashMap::new();
    loop {
        let d = tokio::select! {
            () = shutdown.cancelled() => break,
            d = sub.next() => d,
        };
        let d = match d {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "observer queue");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let m = d.message().clone();
        match m.kind.as_str() {
            tsn_pipeline::SCHEDULE_SOLVED => {
                if let Ok(job) = decode::<v1::SolvedJob>(&m.kind, &m) {
                    solved.insert(m.request_id.clone(), job);
                }
            }
            tsn_pipeline::SCHEDULE_FAILED => {
                solved.remove(&m.request_id);
            }
            tsn_pipeline::DEPLOY_COMPLETED => {
                let job = solved.remove(&m.request_id);
                if let Ok(outcome) = decode::<v1::RequestOutcome>(&m.kind, &m) {
                    if outcome.deployed {
                        if let Err(e) = record(&dir, &state, job.as_ref(), &outcome) {
                            tracing::warn!(error = %format!("{e:#}"), "cannot record the deployed schedule");
                        }
                    }
                }
            }
            _ => {}
        }
        let _ = d.ack().await;
    }
    sub.close().await;
    Ok(())
}

fn write_atomic(file: &Path, text: &str) -> Result<()> {
    let tmp = file.with_extension("json.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, file).with_context(|| format!("renaming to {}", file.display()))
}

fn record(dir: &Path, state: &Shared, job: Option<&v1::SolvedJob>, outcome: &v1::RequestOutcome) -> Result<()> {
    let mut verdict = None;
    if let Some(job) = job {
        let pb_problem =
            job.job.as_ref().and_then(|j| j.problem.as_ref()).ok_or_else(|| anyhow!("job without problem"))?;
        let pb_schedule = job.schedule.as_ref().ok_or_else(|| anyhow!("job without schedule"))?;
        let problem = model::problem_from_pb(tsn_pipeline::SCHEDULE_SOLVED, pb_problem)?;
        let schedule = model::schedule_from_pb(tsn_pipeline::SCHEDULE_SOLVED, pb_schedule)?;
        let report = tsn_check::verify(&problem, &schedule);
        verdict = Some(if report.is_ok() { "verified".to_owned() } else { report.to_string() });
        write_atomic(&dir.join("schedule/problem.json"), &tsn_formats::json::write_problem(&problem))?;
        write_atomic(&dir.join("schedule/schedule.json"), &tsn_formats::json::write_schedule(&schedule))?;
    }
    let mut s = lock(state);
    for o in &outcome.streams {
        if o.status == v1::StreamStatus::Ready as i32 {
            let paths = o.paths.iter().map(|p| p.split(',').map(str::to_owned).collect()).collect();
            s.paths.insert(o.stream_id.clone(), paths);
        } else if o.status == v1::StreamStatus::Removed as i32 {
            s.paths.remove(&o.stream_id);
        }
    }
    if let Some(admitted) = &outcome.admitted_state {
        s.version = admitted.version;
        s.paths.retain(|id, _| admitted.streams.iter().any(|st| &st.id == id));
    }
    if verdict.is_some() {
        s.verdict = verdict;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The demo.

/// Submits the demo streams over RESTCONF, waits for their outcome and prints the table.
/// Returns whether every stream is ready.
async fn demo(url: &str, dir: &Path, state: &Shared, timeout: Duration) -> Result<bool> {
    let gw = Gateway::new(url, None, None)?;
    let started = Instant::now();
    loop {
        match gw.request(hyper::Method::GET, "/restconf", None).await {
            Ok(r) if r.status == 200 => break,
            _ if started.elapsed() < Duration::from_secs(30) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(r) => return Err(anyhow!("the gateway at {url} answers GET /restconf with HTTP {}", r.status)),
            Err(e) => return Err(e),
        }
    }
    let streams = parse_streams("examples/demo-streams.json (built in)", DEMO_STREAMS, false)?;
    println!();
    println!(
        "demo: submitting {} streams over RESTCONF (PATCH {}/restconf/data/…:cnc-config, then compute_streams) …",
        streams.len(),
        url
    );
    let answer = submit_streams(&gw, DEMO_DOMAIN, DEMO_CUC, &streams, true).await?;
    if let Some(a) = answer {
        println!("gateway: {a}");
    }
    let ids: Vec<String> = streams.iter().filter_map(|s| s["stream-id"].as_str().map(str::to_owned)).collect();
    let states = wait_for_outcomes(&gw, DEMO_DOMAIN, DEMO_CUC, &ids, timeout, &mut Progress::new()).await?;
    // RESTCONF carries no routes: they come from the deploy outcome the observer follows,
    // which may lag the gateway's status update by a moment.
    let wanted: Vec<&str> = states.iter().filter(|s| s.outcome == Outcome::Ready).map(|s| s.id.as_str()).collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && !wanted.iter().all(|id| lock(state).paths.contains_key(*id)) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deployed = lock(state);
    let rows: Vec<Vec<String>> = states
        .iter()
        .map(|s| {
            let path = deployed
                .paths
                .get(&s.id)
                .map(|ps| ps.iter().map(|p| p.join(" > ")).collect::<Vec<_>>().join(" | "))
                .unwrap_or_else(|| "-".into());
            let latency = match (s.latency_ns, s.max_latency_ns) {
                (Some(l), Some(m)) => format!("{} (max {})", fmt_ns(l), fmt_ns(m)),
                (Some(l), None) => fmt_ns(l),
                _ => "-".into(),
            };
            vec![s.id.clone(), path, s.offset_ns.map_or_else(|| "-".into(), fmt_ns), latency, status_text(s)]
        })
        .collect();
    println!();
    print_table(&["STREAM", "PATH", "TALKER OFFSET", "WORST-CASE LATENCY", "STATUS"], &rows);
    let ready = states.iter().filter(|s| s.outcome == Outcome::Ready).count();
    let failed = states.iter().filter(|s| s.outcome == Outcome::Failed).count();
    println!();
    println!("{ready} of {} streams ready, {failed} failed, {} pending", states.len(), states.len() - ready - failed);
    let gcl = dir.join("gcl");
    let mut files: Vec<String> = std::fs::read_dir(&gcl)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    println!("GCLs and talker schedules written to {}/ ({} files: {})", gcl.display(), files.len(), files.join(" "));
    let sched = dir.join("schedule");
    match &deployed.verdict {
        Some(v) => println!(
            "deployed schedule (admitted state v{}): {}/schedule.json with {}/problem.json, re-checked by tsn-check: {v}",
            deployed.version,
            sched.display(),
            sched.display()
        ),
        None => println!("no deployed schedule recorded"),
    }
    let all_ready = ready == states.len() && deployed.verdict.as_deref() == Some("verified");
    Ok(all_ready)
}
