//! The `southbound` binary; see [`southbound::main`] and docs/pipeline.md.

fn main() -> std::process::ExitCode {
    southbound::main()
}
