//! Generates the gRPC client of the node agent's API (`proto/tsn/agent/v1/agent.proto`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time, never `env!`: the compiled build script is reused across checkouts.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR")?;
    let proto_root = format!("{manifest_dir}/../../proto");
    let file = format!("{proto_root}/tsn/agent/v1/agent.proto");
    println!("cargo:rerun-if-changed={file}");
    tonic_prost_build::configure().build_client(true).build_server(false).compile_protos(&[file], &[proto_root])?;
    Ok(())
}
