//! Test harness: a gateway served in process on 127.0.0.1:0, driven with the real `curl`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uni_gateway::GatewayConfig;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A unique scratch directory (removed on drop of [`Scratch`]).
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("uni-gw-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
}

pub fn topology_file() -> PathBuf {
    manifest_dir().join("tests/data/topology.json")
}

/// A config with a SQLite store in `dir` and the test topology.
pub fn sqlite_config(dir: &Scratch) -> GatewayConfig {
    GatewayConfig {
        database_url: format!("sqlite://{}?mode=rwc", dir.path("gw.db").display()),
        topology_file: Some(topology_file()),
        outbox_poll_ms: 100,
        ..GatewayConfig::default()
    }
}

/// A running gateway.
pub struct Gateway {
    pub base: String,
    pub shutdown: CancellationToken,
    pub task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Gateway {
    pub async fn start(config: GatewayConfig, bus: Option<Arc<dyn tsn_bus::Bus>>) -> Gateway {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let scheme = if config.tls.is_some() { "https://localhost" } else { "http://127.0.0.1" };
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(uni_gateway::serve(config, listener, bus, shutdown.clone()));
        let gw = Gateway { base: format!("{scheme}:{}", addr.port()), shutdown, task: Some(task) };
        gw
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(t) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(15), t).await.expect("gateway stops").unwrap().unwrap();
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// One curl exchange.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    /// `error-tag` of an `ietf-restconf:errors` body.
    pub fn error_tag(&self) -> String {
        self.json()["ietf-restconf:errors"]["error"][0]["error-tag"].as_str().unwrap_or("").to_owned()
    }
}

/// Runs `curl` with `args` (plus -s -S -i) and parses the reply. Panics if curl fails.
pub async fn curl(args: &[&str]) -> Reply {
    try_curl(args).await.unwrap_or_else(|e| panic!("curl {args:?} failed: {e}"))
}

/// Runs `curl`; Err with curl's exit code and stderr when it fails.
pub async fn try_curl(args: &[&str]) -> Result<Reply, String> {
    let out = tokio::process::Command::new("curl")
        .args(["-s", "-S", "-i", "--max-time", "20"])
        .args(args)
        .output()
        .await
        .expect("curl is installed");
    if !out.status.success() {
        return Err(format!("exit {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr)));
    }
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    // Skip interim responses (100 Continue).
    let mut rest = text.as_str();
    loop {
        let (head, body) = rest.split_once("\r\n\r\n").unwrap_or((rest, ""));
        let mut lines = head.lines();
        let status_line = lines.next().unwrap_or("");
        let mut parts = status_line.split_whitespace();
        let version = parts.next().unwrap_or("").to_owned();
        let status: u16 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        if status == 100 {
            rest = body;
            continue;
        }
        let headers = lines
            .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned())))
            .collect();
        return Ok(Reply { status, version, headers, body: body.to_owned() });
    }
}

pub const JSON: &str = "content-type: application/yang-data+json";
pub const XML: &str = "content-type: application/yang-data+xml";

pub fn example_stream(id: &str, talker_mac: &str, listener_mac: &str) -> Value {
    serde_json::json!({
        "stream-id": id,
        "talker": {
            "stream-rank": {"rank": 1},
            "end-station-interfaces": [{"mac-address": talker_mac, "interface-name": "eth0"}],
            "data-frame-specification": [
                {"index": 0, "ieee802-mac-addresses": {"destination-mac-address": "01-1B-19-00-00-01", "source-mac-address": talker_mac}},
                {"index": 1, "ieee802-vlan-tag": {"priority-code-point": 7, "vlan-id": 100}}
            ],
            "traffic-specification": {
                "interval": {"numerator": 1, "denominator": 1000},
                "max-frames-per-interval": 1, "max-frame-size": 128, "transmission-selection": 0,
                "time-aware": {"earliest-transmit-offset": 0, "latest-transmit-offset": 100000, "jitter": 1000}
            },
            "user-to-network-requirements": {"num-seamless-trees": 1, "max-latency": 500000},
            "interface-capabilities": {"vlan-tag-capable": true}
        },
        "listener": [{
            "index": 0,
            "end-station-interfaces": [{"mac-address": listener_mac, "interface-name": "eth0"}],
            "user-to-network-requirements": {"num-seamless-trees": 1, "max-latency": 500000},
            "interface-capabilities": {"vlan-tag-capable": true}
        }]
    })
}

pub fn example_document() -> Value {
    serde_json::json!({"ieee802-dot1q-cnc-config:cnc-config": {"domain": [{"domain-id": "domain-1", "cnc-enabled": true,
        "cuc": [{"cuc-id": "cuc-1", "stream": [example_stream("00-11-22-33-44-55:00-01", "00-11-22-33-44-55", "00-11-22-33-44-66")]}]}]}})
}

pub const STREAM_1: &str =
    "/restconf/data/ieee802-dot1q-cnc-config:cnc-config/domain=domain-1/cuc=cuc-1/stream=00-11-22-33-44-55%3A00-01";
pub const CUC_1: &str = "/restconf/data/ieee802-dot1q-cnc-config:cnc-config/domain=domain-1/cuc=cuc-1";

/// Polls `url` until `pred` holds on its JSON (up to 20 s).
pub async fn wait_for(url: &str, extra: &[&str], pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut args: Vec<&str> = extra.to_vec();
        args.push(url);
        let r = curl(&args).await;
        if r.status == 200 {
            let v = r.json();
            if pred(&v) {
                return v;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "condition not reached on {url}: {}", r.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}
