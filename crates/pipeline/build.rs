//! Generates the Rust types of every `proto/tsn/pipeline/v1/*.proto` with prost-build.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time, never `env!`: the compiled build script is reused across checkouts.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR")?;
    let proto_root = format!("{manifest_dir}/../../proto");
    let dir = format!("{proto_root}/tsn/pipeline/v1");
    println!("cargo:rerun-if-changed={dir}");
    let mut files: Vec<String> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "proto"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    files.sort();
    for f in &files {
        println!("cargo:rerun-if-changed={f}");
    }
    prost_build::Config::new().compile_protos(&files, &[proto_root])?;
    Ok(())
}
