//! The `preprocess` binary; see [`preprocess::main`] and docs/pipeline.md.

fn main() -> std::process::ExitCode {
    preprocess::main()
}
