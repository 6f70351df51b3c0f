//! `tsnctl bench datapath`: the datapath latency benchmark of issue 7 — a talker and a
//! listener on a veth pair between two namespaces, one frame per cycle, latency = receive
//! timestamp − transmit time, rows (a) kernel sleep+send, (b) kernel `SO_TXTIME` without
//! etf, (c) the agent via `libktsn.so` over AF_PACKET, (d) the agent over DPDK.
//!
//! The benchmark itself is [`tsn_datapath::run_bench`] (also behind `node-agent bench`);
//! this is only its command line. Row (d) needs a build with the `dpdk` feature
//! (`cargo run -p tsnctl --features dpdk`); without it the row says so. Rows (c) and (d)
//! need `libktsn.so` (`cargo build -p ktsn-shim` puts it next to `tsnctl`, or `--shim`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use tsn_datapath::{BenchOptions, TxMode};

/// Options of `tsnctl bench datapath`.
#[derive(Debug, Clone, clap::Args)]
pub struct DatapathArgs {
    /// Frames per row.
    #[arg(long, default_value_t = 2000)]
    pub frames: usize,
    /// Cycle (one frame per cycle), µs.
    #[arg(long, default_value_t = 1000)]
    pub cycle_us: u64,
    /// UDP payload sizes, bytes.
    #[arg(long, value_delimiter = ',', default_values_t = [64usize, 256, 1024])]
    pub payloads: Vec<usize>,
    /// Rows: a (kernel sleep), b (kernel SO_TXTIME), c (agent AF_PACKET), d (agent DPDK).
    #[arg(long, value_delimiter = ',', default_values_t = ['a', 'b', 'c', 'd'])]
    pub rows: Vec<char>,
    /// Path of libktsn.so (default: KTSN_SHIM, else next to this binary).
    #[arg(long)]
    pub shim: Option<PathBuf>,
    /// Do not run the agent engine SCHED_FIFO on the last CPU.
    #[arg(long)]
    pub no_realtime: bool,
}

/// Runs the benchmark (needs root) and prints its table.
pub fn run(args: &DatapathArgs) -> anyhow::Result<ExitCode> {
    let modes = TxMode::from_rows(&args.rows).map_err(|r| anyhow!("unknown row {r:?} (a, b, c or d)"))?;
    let opts = BenchOptions {
        frames: args.frames,
        cycle_ns: args.cycle_us.checked_mul(1000).context("--cycle-us is too large")?,
        payloads: args.payloads.clone(),
        modes,
        shim_path: args.shim.clone(),
        realtime: !args.no_realtime,
        ..BenchOptions::default()
    };
    let report = tsn_datapath::run_bench(opts).context("datapath benchmark")?;
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}
