//! Generates the Rust types of `proto/tsn/bus/v1/envelope.proto` with prost-build, using the
//! `protoc` found on `PATH` or in `PROTOC` (Debian's protobuf-compiler, see scripts/setup).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read the manifest dir when the script runs, not when it is compiled (`env!`): cargo
    // reuses a compiled build script across checkouts of the workspace at other paths, so
    // a path baked in at compile time can point at a checkout that no longer exists.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR")?;
    let proto_root = format!("{manifest_dir}/../../proto");
    let envelope = format!("{proto_root}/tsn/bus/v1/envelope.proto");
    println!("cargo:rerun-if-changed={envelope}");
    prost_build::Config::new().compile_protos(&[envelope.as_str()], &[proto_root])?;
    Ok(())
}
