//! `tsnctl`, the command line of tsn-cp. See `tsnctl --help`.

use std::process::ExitCode;

use clap::Parser;

mod bench;
mod bench_datapath;
mod cli;
mod client;
mod dev;
mod input;
mod schedule_cmd;
mod streams_cmd;
mod testbed_cmd;

use cli::{BenchCommand, Cli, Command, ScheduleCommand, StreamsCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Schedule(ScheduleCommand::Solve(args)) => schedule_cmd::solve(args),
        Command::Schedule(ScheduleCommand::Check(args)) => schedule_cmd::check(args),
        Command::Schedule(ScheduleCommand::Render(args)) => schedule_cmd::render(args),
        Command::Bench(BenchCommand::Schedule(args)) => bench::run(args).map(|()| ExitCode::SUCCESS),
        Command::Bench(BenchCommand::Datapath(args)) => bench_datapath::run(args),
        Command::Schedule(ScheduleCommand::Show(args)) => streams_cmd::block_on(streams_cmd::schedule_show(args)),
        Command::Dev(args) => dev::run(args),
        Command::Streams(StreamsCommand::Submit(args)) => streams_cmd::block_on(streams_cmd::submit(args)),
        Command::Streams(StreamsCommand::List(args)) => streams_cmd::block_on(streams_cmd::list(args)),
        Command::Streams(StreamsCommand::Show(args)) => streams_cmd::block_on(streams_cmd::show(args)),
        Command::Streams(StreamsCommand::Remove(args)) => streams_cmd::block_on(streams_cmd::remove(args)),
        Command::Testbed(cmd) => testbed_cmd::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(schedule_cmd::EXIT_ERROR)
        }
    }
}
