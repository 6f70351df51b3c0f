//! Generates the Rust types of `proto/tsn/bus/v1/envelope.proto` with prost-build, using the
//! `protoc` found on `PATH` or in `PROTOC` (Debian's protobuf-compiler, see scripts/setup).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../proto");
    let envelope = format!("{proto_root}/tsn/bus/v1/envelope.proto");
    println!("cargo:rerun-if-changed={envelope}");
    prost_build::Config::new().compile_protos(&[envelope.as_str()], &[proto_root])?;
    Ok(())
}
