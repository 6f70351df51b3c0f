//! `node-agent`: the enforcing datapath on every Linux node.
//!
//! ```sh
//! node-agent --tls-cert server.pem --tls-key server.key --tls-client-ca ca.pem   # production
//! node-agent --dry-run --grpc-listen 127.0.0.1:0 --health-listen 127.0.0.1:0     # record only
//! node-agent bench --frames 2000                                                 # datapath bench
//! ```
//!
//! On start it prints `grpc=<addr>` and `health=<addr>` lines on stdout (useful with port 0).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use node_agent::core::CoreOptions;
use node_agent::{AgentOptions, TlsFiles};
use tsn_datapath::{BenchOptions, EngineConfig, GatePolicy, TxMode};

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
        None => run(cli.run),
    }
}

fn bench(b: BenchArgs) -> ExitCode {
    let mut modes = Vec::new();
    for r in &b.rows {
        match r {
            'a' => modes.push(TxMode::KernelSleep),
            'b' => modes.push(TxMode::KernelTxtime),
            'c' => modes.push(TxMode::AgentAfPacket),
            'd' => modes.push(TxMode::AgentDpdk),
            other => {
                eprintln!("node-agent bench: unknown row {other:?} (a, b, c or d)");
                return ExitCode::from(2);
            }
        }
    }
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
    let node = a.node.unwrap_or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default()
    });
    let opts = AgentOptions {
        core: CoreOptions {
            node,
            dry_run: a.dry_run,
            engine: EngineConfig {
                late_tolerance_ns: a.late_tolerance_ns,
                gate_policy: match a.gate_policy {
                    Policy::Hold => GatePolicy::Hold,
                    Policy::Drop => GatePolicy::Drop,
                },
                realtime_priority: a.realtime_priority,
                cpu: a.cpu,
                ..EngineConfig::default()
            },
            shim_socket: a.shim_socket.unwrap_or_else(tsn_datapath::agent_socket::socket_path_from_env),
            shim_slots: tsn_datapath::shm::DEFAULT_SLOT_COUNT,
        },
        grpc_listen: a.grpc_listen,
        health_listen: a.health_listen,
        tls,
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("node-agent: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let shutdown = async {
            let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        };
        match node_agent::serve(opts, shutdown).await {
            Ok(running) => {
                println!("grpc={}", running.grpc_addr);
                println!("health={}", running.health_addr);
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
