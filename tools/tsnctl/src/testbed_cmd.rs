//! `tsnctl testbed up|submit|counters|down`: the end-to-end TSN network of
//! `crates/itest/tests/end_to_end.rs` (tsn_itest::tsn_network) for a person to drive.
//!
//! `up` builds the network (namespaces, agents, the six services on the local RabbitMQ and
//! PostgreSQL), writes its layout to `STATE/testbed.json` and runs in the foreground until
//! Ctrl-C or `tsnctl testbed down`; everything is torn down when it ends. `submit` writes
//! the standard stream set over RESTCONF, waits for the CNC's answer and can run the
//! talkers and listeners for a while (optionally with the best-effort flood); `counters`
//! asks every station's agent for its counters (gRPC, mTLS with the testbed's certificates).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use tsn_itest::tsn_network::{analyse, Layout, Timing, TsnNetwork};

/// `tsnctl testbed ...`
#[derive(Debug, Subcommand)]
pub enum TestbedCommand {
    /// Build and start the network; runs until Ctrl-C or `tsnctl testbed down` (needs root,
    /// lldpd, OpenSSH, RabbitMQ and PostgreSQL as for the test suite).
    Up(UpArgs),
    /// Submit the standard streams (each station to its neighbour bridges' stations) over
    /// RESTCONF and print what the CNC reports; `--run` sends traffic and measures it.
    Submit(SubmitArgs),
    /// Print every station agent's counters.
    Counters(StateArgs),
    /// Stop a running `tsnctl testbed up` (SIGTERM) and wait until it has torn down.
    Down(StateArgs),
}

/// Where the running testbed's layout is.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// Directory of `testbed.json`.
    #[arg(long, default_value = "/tmp/tsnctl-testbed")]
    pub state: PathBuf,
}

/// `tsnctl testbed up`
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Bridges in the ring (3 or more).
    #[arg(long, default_value_t = 4)]
    pub bridges: usize,
    /// End stations per bridge.
    #[arg(long, default_value_t = 2)]
    pub per_bridge: usize,
    #[command(flatten)]
    pub state: StateArgs,
}

/// `tsnctl testbed submit`
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Then run the talkers for this many seconds and print latencies against the bounds.
    #[arg(long)]
    pub run: Option<u64>,
    /// Best-effort frames per millisecond from every station during `--run`.
    #[arg(long, default_value_t = 0)]
    pub flood_per_ms: u32,
    #[command(flatten)]
    pub state: StateArgs,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct State {
    pid: u32,
    layout: Layout,
}

fn state_file(dir: &Path) -> PathBuf {
    dir.join("testbed.json")
}

fn load(dir: &Path) -> anyhow::Result<State> {
    let path = state_file(dir);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: no running testbed (start one with `tsnctl testbed up`)", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a testbed layout", path.display()))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().context("tokio runtime")
}

/// Runs a `tsnctl testbed` command.
pub fn run(cmd: &TestbedCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TestbedCommand::Up(a) => up(a),
        TestbedCommand::Submit(a) => runtime()?.block_on(submit(a)),
        TestbedCommand::Counters(a) => runtime()?.block_on(counters(a)),
        TestbedCommand::Down(a) => down(a),
    }
}

fn up(a: &UpArgs) -> anyhow::Result<ExitCode> {
    if a.bridges < 3 {
        bail!("a ring needs 3 bridges or more");
    }
    let file = state_file(&a.state.state);
    if let Ok(s) = load(&a.state.state) {
        if Path::new(&format!("/proc/{}", s.pid)).exists() {
            bail!("a testbed is already running (pid {}, {})", s.pid, file.display());
        }
    }
    std::fs::create_dir_all(&a.state.state).with_context(|| a.state.state.display().to_string())?;
    let (bridges, per_bridge) = (a.bridges, a.per_bridge);
    runtime()?.block_on(async move {
        eprintln!("building {bridges} bridges × {per_bridge} stations and starting the services…");
        let net = TsnNetwork::up(bridges, per_bridge, Timing::default(), "").await;
        let state = State { pid: std::process::id(), layout: net.layout.clone() };
        std::fs::write(&file, serde_json::to_string_pretty(&state)?).with_context(|| file.display().to_string())?;
        println!(
            "testbed up: RESTCONF {}  (layout {}, logs {})",
            net.gw.base,
            file.display(),
            net.layout.dir.display()
        );
        for b in &net.bridges {
            println!("  bridge  {:<4} netns {:<14} NETCONF {}:830  ports {:?}", b.name, b.namespace, b.mgmt, b.ports);
        }
        for s in &net.stations {
            println!(
                "  station {:<4} netns {:<14} gRPC {}:50051  {} {}",
                s.name, s.namespace, s.mgmt, s.interface, s.mac
            );
        }
        println!(
            "next: tsnctl testbed submit --run 10 [--flood-per-ms 1]; tsnctl testbed counters; tsnctl testbed down"
        );
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        eprintln!("tearing down…");
        drop(net);
        let _ = std::fs::remove_file(&file);
        eprintln!("testbed down");
        Ok(ExitCode::SUCCESS)
    })
}

async fn submit(a: &SubmitArgs) -> anyhow::Result<ExitCode> {
    let s = load(&a.state.state)?;
    let l = &s.layout;
    let plans = l.neighbour_streams();
    let request = l.submit(&plans).await;
    println!("compute_streams: request {request}");
    let reported = l.reported(&plans, Duration::from_secs(120)).await;
    println!("{:<26} {:>9} {:>12} {:>12}", "stream", "period", "offset", "latency");
    for (p, r) in plans.iter().zip(&reported) {
        println!(
            "{:<26} {:>6} ms {:>9} ns {:>9} ns",
            p.request.stream_id,
            p.request.period_ns / 1_000_000,
            r.offset_ns,
            r.latency_ns
        );
    }
    let Some(secs) = a.run else { return Ok(ExitCode::SUCCESS) };
    let layout = l.clone();
    let (plans2, reported2, flood) = (plans.clone(), reported.clone(), a.flood_per_ms);
    let traffic =
        tokio::task::spawn_blocking(move || layout.run_traffic(&plans2, &reported2, Duration::from_secs(secs), flood))
            .await?;
    let (results, be, _) = analyse(&plans, &l.stations, None, l.epoch_ns, &traffic, &reported);
    println!("{:<26} {:>8} {:>8} {:>12} {:>12} {:>12}", "stream", "sent", "received", "min", "max", "bound");
    let mut ok = true;
    for ((p, r), rep) in plans.iter().zip(&results).zip(&reported) {
        let within = r.received == r.sent && r.max_latency_ns <= rep.latency_ns as i64;
        ok &= within;
        println!(
            "{:<26} {:>8} {:>8} {:>9} ns {:>9} ns {:>9} ns {}",
            p.request.stream_id,
            r.sent,
            r.received,
            r.min_latency_ns,
            r.max_latency_ns,
            rep.latency_ns,
            if within { "" } else { "  <- late or lost" }
        );
    }
    println!("best-effort frames sent {}, seen on the watched links {be}", traffic.flood_sent);
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn counters(a: &StateArgs) -> anyhow::Result<ExitCode> {
    let s = load(&a.state)?;
    println!(
        "{:<6} {:>4} {:>10} {:>10} {:>6} {:>8} {:>9} {:>8}",
        "node", "gen", "submitted", "sent", "late", "held", "overruns", "dropped"
    );
    for st in &s.layout.stations {
        let state = s.layout.agent_state(st).await;
        let t = state.total.unwrap_or_default();
        println!(
            "{:<6} {:>4} {:>10} {:>10} {:>6} {:>8} {:>9} {:>8}",
            st.name,
            state.generation,
            t.submitted,
            t.sent,
            t.late,
            t.held,
            t.gate_overruns,
            t.dropped()
        );
    }
    println!("(bridges print their counters in their logs under {} when they stop)", s.layout.dir.display());
    Ok(ExitCode::SUCCESS)
}

fn down(a: &StateArgs) -> anyhow::Result<ExitCode> {
    let s = load(&a.state)?;
    let proc_dir = format!("/proc/{}", s.pid);
    if !Path::new(&proc_dir).exists() {
        let _ = std::fs::remove_file(state_file(&a.state));
        bail!("the testbed process {} is gone (stale layout removed)", s.pid);
    }
    let st = std::process::Command::new("kill").args(["-TERM", &s.pid.to_string()]).status()?;
    if !st.success() {
        bail!("kill -TERM {} failed", s.pid);
    }
    for _ in 0..600 {
        if !Path::new(&proc_dir).exists() {
            println!("testbed down");
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("pid {} is still running after 60 s", s.pid)
}
