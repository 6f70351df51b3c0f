//! A RESTCONF client of the uni-gateway binary, driven with the real `curl` (as a CUC would
//! talk to it): stream documents from [`v1::StreamRequest`]s, `compute_streams`, and the
//! stream status read back.

use std::time::Duration;

use serde_json::{json, Value};
use tsn_pipeline::v1;

/// The YANG module of the UNI.
pub const MODULE: &str = "ieee802-dot1q-cnc-config";
/// The domain every test stream is in.
pub const DOMAIN: &str = "domain-1";
/// The CUC every test stream belongs to.
pub const CUC: &str = "cuc-1";
const JSON: &str = "content-type: application/yang-data+json";

/// One curl exchange.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body.
    pub body: String,
}

impl Reply {
    /// The body as JSON (panics otherwise).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Runs `curl -s -S -i` with `args`; Err when curl itself fails (connection refused...).
pub async fn try_curl(args: &[&str]) -> Result<Reply, String> {
    let out = tokio::process::Command::new("curl")
        .args(["-s", "-S", "-i", "--max-time", "30"])
        .args(args)
        .output()
        .await
        .map_err(|e| format!("curl: {e}"))?;
    if !out.status.success() {
        return Err(format!("curl exit {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr)));
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut rest = text.as_str();
    loop {
        let (head, body) = rest.split_once("\r\n\r\n").unwrap_or((rest, ""));
        let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        if status == 100 {
            rest = body;
            continue;
        }
        return Ok(Reply { status, body: body.to_owned() });
    }
}

/// The IEEE form (`02-00-5E-...`, upper case) of a MAC in any spelling.
pub fn ieee_mac(mac: &str) -> String {
    mac.replace(':', "-").to_ascii_uppercase()
}

/// The RESTCONF `stream` entry of `req` (talker and its single listener on the named
/// interfaces).
pub fn stream_entry(req: &v1::StreamRequest, talker_iface: &str, listener_iface: &str) -> Value {
    let talker = req.talker.as_ref().expect("talker");
    let listener = &req.listeners[0];
    let frame = req.frame.clone().unwrap_or_default();
    let period_us = req.period_ns / 1000;
    assert_eq!(period_us * 1000, req.period_ns, "periods of whole microseconds");
    let mut time_aware = json!({"earliest-transmit-offset": req.earliest_transmit_offset_ns});
    if let Some(j) = req.jitter_ns {
        time_aware["jitter"] = json!(j);
    }
    if let Some(l) = req.latest_transmit_offset_ns {
        time_aware["latest-transmit-offset"] = json!(l);
    }
    json!({
        "stream-id": req.stream_id,
        "talker": {
            "stream-rank": {"rank": 1},
            "end-station-interfaces": [{"mac-address": ieee_mac(&talker.mac_address), "interface-name": talker_iface}],
            "data-frame-specification": [
                {"index": 0, "ieee802-mac-addresses": {"destination-mac-address": frame.destination_mac, "source-mac-address": ieee_mac(&talker.mac_address)}},
                {"index": 1, "ieee802-vlan-tag": {"priority-code-point": frame.pcp, "vlan-id": frame.vlan_id}}
            ],
            "traffic-specification": {
                "interval": {"numerator": period_us, "denominator": 1_000_000},
                "max-frames-per-interval": req.max_frames_per_period,
                "max-frame-size": req.max_frame_size,
                "transmission-selection": 0,
                "time-aware": time_aware
            },
            "user-to-network-requirements": {"num-seamless-trees": 1, "max-latency": req.max_latency_ns},
            "interface-capabilities": {"vlan-tag-capable": true}
        },
        "listener": [{
            "index": 0,
            "end-station-interfaces": [{"mac-address": ieee_mac(&listener.mac_address), "interface-name": listener_iface}],
            "user-to-network-requirements": {"num-seamless-trees": 1, "max-latency": req.max_latency_ns},
            "interface-capabilities": {"vlan-tag-capable": true}
        }]
    })
}

/// A gateway reached at `base` (`http://127.0.0.1:PORT`).
#[derive(Debug, Clone)]
pub struct Gateway {
    /// Scheme, host and port.
    pub base: String,
}

impl Gateway {
    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The data resource of stream `id`.
    pub fn stream_path(id: &str) -> String {
        format!("/restconf/data/{MODULE}:cnc-config/domain={DOMAIN}/cuc={CUC}/stream={}", id.replace(':', "%3A"))
    }

    /// Replaces the datastore with [`DOMAIN`]/[`CUC`] holding `streams` (PUT, 201 or 204).
    pub async fn put_streams(&self, streams: &[Value]) {
        let doc = json!({format!("{MODULE}:cnc-config"): {"domain": [{"domain-id": DOMAIN, "cnc-enabled": true,
            "cuc": [{"cuc-id": CUC, "stream": streams}]}]}});
        let r = curl(&["-X", "PUT", "-H", JSON, "--data-binary", &doc.to_string(), &self.url("/restconf/data")]).await;
        assert!(r.status == 201 || r.status == 204, "PUT /restconf/data: {} {}", r.status, r.body);
    }

    /// Adds one stream (POST on the CUC, 201).
    pub async fn post_stream(&self, stream: &Value) {
        let body = json!({format!("{MODULE}:stream"): [stream]});
        let url = self.url(&format!("/restconf/data/{MODULE}:cnc-config/domain={DOMAIN}/cuc={CUC}"));
        let r = curl(&["-X", "POST", "-H", JSON, "--data-binary", &body.to_string(), &url]).await;
        assert_eq!(r.status, 201, "POST stream: {}", r.body);
    }

    /// `compute_streams` for `ids` (200); returns the request id the gateway answered with.
    pub async fn compute(&self, ids: &[String]) -> String {
        let list: Vec<Value> = ids.iter().map(|id| json!({"stream-id": id})).collect();
        let body = json!({format!("{MODULE}:input"): {"domain": [{"domain-id": DOMAIN, "cuc": [{"cuc-id": CUC, "stream-list": list}]}]}});
        let url = self.url(&format!("/restconf/operations/{MODULE}:compute_streams"));
        let r = curl(&["-X", "POST", "-H", JSON, "-d", &body.to_string(), &url]).await;
        assert_eq!(r.status, 200, "compute_streams: {}", r.body);
        let result = r.json()[format!("{MODULE}:output")]["result"].as_str().unwrap_or_default().to_owned();
        result
            .split_whitespace()
            .skip_while(|w| *w != "request")
            .nth(1)
            .unwrap_or_else(|| panic!("no request id in {result:?}"))
            .to_owned()
    }

    /// The `stream` entry of `id` with its state (`content=all`).
    pub async fn stream(&self, id: &str) -> Value {
        let r = curl(&[&self.url(&Self::stream_path(id))]).await;
        assert_eq!(r.status, 200, "GET {id}: {}", r.body);
        r.json()[format!("{MODULE}:stream")][0].clone()
    }

    /// Polls stream `id` until its status is no longer `planned` (or `limit` passes); returns
    /// the entry.
    pub async fn wait_status(&self, id: &str, limit: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let s = self.stream(id).await;
            if s["stream-status"] != "planned" && s["status-info"].is_object() {
                return s;
            }
            assert!(tokio::time::Instant::now() < deadline, "{id} still without an outcome after {limit:?}: {s}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// [`try_curl`], panicking when curl fails.
pub async fn curl(args: &[&str]) -> Reply {
    try_curl(args).await.unwrap_or_else(|e| panic!("curl {args:?}: {e}"))
}

/// Checks a stream entry read back over RESTCONF: configured, talker and listener ready, a
/// time-aware offset and an accumulated latency; returns (offset, latency) in ns.
pub fn assert_stream_ready(s: &Value) -> (u64, u64) {
    let id = &s["stream-id"];
    assert_eq!(s["stream-status"], "configured", "{id}: {s}");
    let info = &s["status-info"];
    assert_eq!(
        (&info["talker-status"], &info["listener-status"], &info["failure-code"]),
        (&json!("ready"), &json!("ready"), &json!(0)),
        "{id}: {s}"
    );
    let offset = s["talker"]["interface-configuration"]["interface-list"][0]["config-list"][0]["time-aware-offset"]
        .as_u64()
        .unwrap_or_else(|| panic!("{id} has no time-aware-offset: {s}"));
    let latency = s["talker"]["accumulated-latency"].as_u64().unwrap_or(0);
    assert!(latency > 0, "{id} has no accumulated latency: {s}");
    let listener_latency = s["listener"][0]["accumulated-latency"].as_u64().unwrap_or(0);
    assert!(listener_latency > 0, "{id} has no listener latency: {s}");
    (offset, latency)
}
