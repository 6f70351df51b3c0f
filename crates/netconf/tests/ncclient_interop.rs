//! Our server against ncclient (PyPI), a NETCONF client we did not write.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use common::*;
use tsn_netconf::render::{render, RenderOptions, SchedVariant};
use tsn_netconf::server::RecordingBackend;

const PYTHON: &str = "/var/tmp/tsn-cp-venv/bin/python";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ncclient_edits_validates_and_commits() {
    let dir = TempDir::new("ncclient");
    let key = keygen(dir.path(), "client");
    let backend = Arc::new(RecordingBackend::new());
    let srv = start_server(dir.path(), "br0", backend.clone(), &key).await;
    let port = gcl("br0", "swp1", 6);
    let config =
        render(std::slice::from_ref(&port), &RenderOptions::new(SchedVariant::Qcw2023, 1_700_000_000_000_000_000))
            .unwrap()
            .to_xml();
    let config_file = dir.path().join("config.xml");
    std::fs::write(&config_file, config).unwrap();
    let script = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("tests/ncclient_interop.py");
    let host_key_b64 = std::fs::read_to_string(srv.host_key_file.with_extension("pub")).unwrap();
    let host_key_b64 = host_key_b64.split_whitespace().nth(1).unwrap().to_owned();
    let srv_port = srv.port;
    let out = tokio::task::spawn_blocking(move || {
        Command::new(PYTHON)
            .arg(script)
            .args(["127.0.0.1", &srv_port.to_string(), "tsn"])
            .arg(&key)
            .arg(host_key_b64)
            .arg(&config_file)
            .arg("6")
            .output()
            .expect("the project venv's python runs (scripts/setup installs ncclient)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stdout.contains("OK"), "ncclient failed:\n{stdout}\n{stderr}");
    assert_eq!(backend.current()["swp1"].entries, port.gcl.entries);
}
