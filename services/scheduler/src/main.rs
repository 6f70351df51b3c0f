//! The `scheduler` binary; see [`scheduler::main`] and docs/pipeline.md.

fn main() -> std::process::ExitCode {
    scheduler::main()
}
