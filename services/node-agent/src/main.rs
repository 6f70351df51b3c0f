//! `node-agent`: the enforcing datapath on every Linux node.
//!
//! ```sh
//! node-agent --tls-cert server.pem --tls-key server.key --tls-client-ca ca.pem   # production
//! node-agent --dry-run --grpc-listen 127.0.0.1:0 --health-listen 127.0.0.1:0     # record only
//! node-agent bench --frames 2000                                                 # datapath bench
//! node-agent bridge --port p0 --port p1 --host-key key --authorized-keys keys    # bridge role
//! ```
//!
//! On start it prints `grpc=<addr>` and `health=<addr>` lines on stdout (useful with port 0);
//! the bridge prints `netconf=<addr>`, and on SIGTERM its final `counters …` line.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use node_agent::bridge::BridgeOptions;
use node_agent::core::CoreOptions;
use node_agent::{AgentOptions, TlsFiles};
use tsn_datapath::{BenchOptions, EngineConfig, GatePolicy, StaticEntry, TxMode};

#[derive(Parser, Debug)]
#[command(name = "node-agent", about = "KTSNd-style enforcing datapath with a gRPC (mTLS) schedule API")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Datapath latency benchmark: talker and listener on a veth pair (needs root).
    Bench(BenchArgs),
    /// Bridge role: forward between ports through the engine, gate control lists over
    /// NETCONF (SSH) (needs root).
    Bridge(BridgeArgs),
}

#[derive(Args, Debug)]
struct BridgeArgs {
    /// Bridge name in NETCONF logs (default: the host name).
    #[arg(long)]
    name: Option<String>,
    /// A member port (repeat: two or more).
    #[arg(long = "port", required = true)]
    ports: Vec<String>,
    /// A static forwarding entry `MAC=PORT` (repeat).
    #[arg(long = "static-entry", value_parser = parse_static_entry)]
    static_entries: Vec<StaticEntry>,
    /// Do not learn source addresses (static entries and flooding only).
    #[arg(long)]
    no_learning: bool,
    /// Drop frames to unknown destinations instead of flooding them: for a network with
    /// loops and no spanning tree, whose forwarding entries are configured.
    #[arg(long)]
    no_flood: bool,
    /// Line rate of the ports, bit/s.
    #[arg(long, default_value_t = 1_000_000_000)]
    rate_bps: u64,
    /// NETCONF-over-SSH listen address.
    #[arg(long, default_value = "[::]:830")]
    netconf_listen: SocketAddr,
    /// OpenSSH private host key (unencrypted).
    #[arg(long)]
    host_key: PathBuf,
    /// OpenSSH authorized_keys file of the NETCONF clients.
    #[arg(long)]
    authorized_keys: PathBuf,
    /// A user name allowed to log in (repeat; default: any user with an authorized key).
    #[arg(long = "user")]
    users: Vec<String>,
    /// Run the engine thread SCHED_FIFO at this priority.
    #[arg(long)]
    realtime_priority: Option<i32>,
    /// Pin the engine thread to this CPU.
    #[arg(long)]
    cpu: Option<usize>,
    /// What to do with a frame its window cannot hold.
    #[arg(long, value_enum, default_value_t = Policy::Hold)]
    gate_policy: Policy,
    /// Frames released later than this after their time are late and not sent (ns).
    #[arg(long, default_value_t = 200_000)]
    late_tolerance_ns: u64,
    /// Sleep until this long (µs) before a release time, then spin: small values save CPU,
    /// large ones buy precision (each release costs up to this much spinning).
    #[arg(long, default_value_t = 50)]
    spin_us: u64,
    /// Longest sleep (µs) between polls of the applications' rings; with no application
    /// attached (always in the bridge role) the engine waits on its input instead and this
    /// only bounds that wait.
    #[arg(long, default_value_t = 50)]
    poll_us: u64,
}

fn parse_static_entry(s: &str) -> Result<StaticEntry, String> {
    let (mac, port) = s.split_once('=').ok_or("expected MAC=PORT")?;
    let mac = tsn_datapath::frame::parse_mac(mac).ok_or_else(|| format!("{mac:?} is not a MAC address"))?;
    if port.is_empty() {
        return Err("empty port name".into());
    }
    Ok(StaticEntry { mac, port: port.to_string() })
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Node name reported in GetState (default: the host name).
    #[arg(long)]
    node: Option<String>,
    /// gRPC listen address.
    #[arg(long, default_value = "0.0.0.0:50051")]
    grpc_listen: SocketAddr,
    /// /healthz listen address.
    #[arg(long, default_value = "0.0.0.0:8081")]
    health_listen: SocketAddr,
    /// Server certificate (PEM) for mTLS.
    #[arg(long, requires_all = ["tls_key", "tls_client_ca"])]
    tls_cert: Option<PathBuf>,
    /// Server private key (PEM).
    #[arg(long)]
    tls_key: Option<PathBuf>,
    /// CA (PEM) whose client certificates are accepted.
    #[arg(long)]
    tls_client_ca: Option<PathBuf>,
    /// Serve gRPC without TLS (development only).
    #[arg(long)]
    insecure: bool,
    /// Accept and record schedules without touching any NIC (plaintext unless TLS is given).
    #[arg(long)]
    dry_run: bool,
    /// Unix socket for libktsn.so (default: $KTSN_AGENT_SOCKET, else /run/ktsn/agent.sock).
    #[arg(long)]
    shim_socket: Option<PathBuf>,
    /// Run the engine thread SCHED_FIFO at this priority.
    #[arg(long)]
    realtime_priority: Option<i32>,
    /// Pin the engine thread to this CPU.
    #[arg(long)]
    cpu: Option<usize>,
    /// What to do with a frame its window cannot hold.
    #[arg(long, value_enum, default_value_t = Policy::Hold)]
    gate_policy: Policy,
    /// Frames released later than this after their time are late and not sent (ns).
    #[arg(long, default_value_t = 200_000)]
    late_tolerance_ns: u64,
    /// Sleep until this long (µs) before a release time, then spin: small values save CPU,
    /// large ones buy precision (each release costs up to this much spinning).
    #[arg(long, default_value_t = 50)]
    spin_us: u64,
    /// Longest sleep (µs) between polls of the applications' rings; with no application
    /// attached (always in the bridge role) the engine waits on its input instead and this
    /// only bounds that wait.
    #[arg(long, default_value_t = 50)]
    poll_us: u64,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Policy {
    Hold,
    Drop,
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Frames per row.
    #[arg(long, default_value_t = 2000)]
    frames: usize,
    /// Cycle (one frame per cycle), µs.
    #[arg(long, default_value_t = 1000)]
    cycle_us: u64,
    /// UDP payload sizes.
    #[arg(long, value_delimiter = ',', default_values_t = [64usize, 256, 1024])]
    payloads: Vec<usize>,
    /// Rows to run: a (kernel sleep), b (kernel SO_TXTIME), c (agent AF_PACKET), d (agent DPDK).
    #[arg(long, value_delimiter = ',', default_values_t = ['a', 'b', 'c', 'd'])]
    rows: Vec<char>,
    /// Path of libktsn.so (default: KTSN_SHIM or next to this binary).
    #[arg(long)]
    shim: Option<PathBuf>,
    /// Do not run the agent engine SCHED_FIFO.
    #[arg(long)]
    no_realtime: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info".parse().unwrap_or_default()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Bench(b)) => bench(b),
        Some(Command::Bridge(b)) => bridge(b),
        None => run(cli.run),
    }
}

/// Writes one line on stdout. A reader that went away (a test or supervisor that read the
/// address lines and closed the pipe) is not an error of the agent: `println!` would panic
/// on EPIPE and take the whole agent down with it.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default()
}

fn policy(p: Policy) -> GatePolicy {
    match p {
        Policy::Hold => GatePolicy::Hold,
        Policy::Drop => GatePolicy::Drop,
    }
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("node-agent: cannot start the runtime: {e}");
            None
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn bridge(b: BridgeArgs) -> ExitCode {
    let opts = BridgeOptions {
        name: b.name.unwrap_or_else(host_name),
        ports: b.ports,
        static_entries: b.static_entries,
        learning: !b.no_learning,
        flood_unknown: !b.no_flood,
        rate_bps: b.rate_bps,
        tx_guard_ns: 20_000,
        engine: EngineConfig {
            late_tolerance_ns: b.late_tolerance_ns,
            gate_policy: policy(b.gate_policy),
            realtime_priority: b.realtime_priority,
            cpu: b.cpu,
            spin_ns: b.spin_us * 1000,
            poll_interval_ns: b.poll_us.max(1) * 1000,
            ..EngineConfig::default()
        },
        netconf_listen: b.netconf_listen,
        host_key: b.host_key,
        authorized_keys: b.authorized_keys,
        users: b.users,
    };
    let Some(rt) = runtime() else { return ExitCode::FAILURE };
    rt.block_on(async move {
        let mut running = match node_agent::bridge::start(opts).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("node-agent bridge: {e}");
                return ExitCode::FAILURE;
            }
        };
        say(&format!("netconf={}", running.netconf_addr));
        let failed = tokio::select! {
            () = shutdown_signal() => None,
            r = &mut running.task => Some(match r {
                Ok(Ok(())) => "the NETCONF listener stopped".to_string(),
                Ok(Err(e)) => format!("NETCONF server: {e}"),
                Err(e) => format!("NETCONF task: {e}"),
            }),
        };
        let c = running.stop(Duration::from_secs(2));
        say(&format!(
            "counters submitted={} sent={} late={} dropped={} held={} gate_overruns={}",
            c.submitted,
            c.sent,
            c.late,
            c.dropped(),
            c.held,
            c.gate_overruns
        ));
        match failed {
            None => ExitCode::SUCCESS,
            Some(why) => {
                eprintln!("node-agent bridge: {why}");
                ExitCode::FAILURE
            }
        }
    })
}

fn bench(b: BenchArgs) -> ExitCode {
    let modes = match TxMode::from_rows(&b.rows) {
        Ok(m) => m,
        Err(other) => {
            eprintln!("node-agent bench: unknown row {other:?} (a, b, c or d)");
            return ExitCode::from(2);
        }
    };
    let opts = BenchOptions {
        frames: b.frames,
        cycle_ns: b.cycle_us * 1000,
        payloads: b.payloads,
        modes,
        shim_path: b.shim,
        realtime: !b.no_realtime,
        ..BenchOptions::default()
    };
    match tsn_datapath::run_bench(opts) {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("node-agent bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(a: RunArgs) -> ExitCode {
    let tls = match (a.tls_cert, a.tls_key, a.tls_client_ca) {
        (Some(cert), Some(key), Some(client_ca)) => Some(TlsFiles { cert, key, client_ca }),
        _ => None,
    };
    if tls.is_none() && !a.insecure && !a.dry_run {
        eprintln!("node-agent: give --tls-cert/--tls-key/--tls-client-ca for mTLS, or --insecure (development only)");
        return ExitCode::from(2);
    }
    let node = a.node.unwrap_or_else(host_name);
    let opts = AgentOptions {
        core: CoreOptions {
            node,
            dry_run: a.dry_run,
            engine: EngineConfig {
                late_tolerance_ns: a.late_tolerance_ns,
                gate_policy: policy(a.gate_policy),
                realtime_priority: a.realtime_priority,
                cpu: a.cpu,
                spin_ns: a.spin_us * 1000,
                poll_interval_ns: a.poll_us.max(1) * 1000,
                ..EngineConfig::default()
            },
            shim_socket: a.shim_socket.unwrap_or_else(tsn_datapath::agent_socket::socket_path_from_env),
            shim_slots: tsn_datapath::shm::DEFAULT_SLOT_COUNT,
        },
        grpc_listen: a.grpc_listen,
        health_listen: a.health_listen,
        tls,
    };
    let Some(rt) = runtime() else { return ExitCode::FAILURE };
    rt.block_on(async move {
        match node_agent::serve(opts, shutdown_signal()).await {
            Ok(running) => {
                say(&format!("grpc={}", running.grpc_addr));
                say(&format!("health={}", running.health_addr));
                match running.task.await {
                    Ok(Ok(())) => ExitCode::SUCCESS,
                    Ok(Err(e)) => {
                        eprintln!("node-agent: {e}");
                        ExitCode::FAILURE
                    }
                    Err(e) => {
                        eprintln!("node-agent: server task failed: {e}");
                        ExitCode::FAILURE
                    }
                }
            }
            Err(e) => {
                eprintln!("node-agent: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
