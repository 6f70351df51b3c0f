//! `tsnctl`, the command line of tsn-cp. See `tsnctl --help`.

use std::process::ExitCode;

use clap::Parser;

mod bench;
mod cli;
mod input;
mod schedule_cmd;

use cli::{BenchCommand, Cli, Command, ScheduleCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Schedule(ScheduleCommand::Solve(args)) => schedule_cmd::solve(args),
        Command::Schedule(ScheduleCommand::Check(args)) => schedule_cmd::check(args),
        Command::Bench(BenchCommand::Schedule(args)) => bench::run(args).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(schedule_cmd::EXIT_ERROR)
        }
    }
}
