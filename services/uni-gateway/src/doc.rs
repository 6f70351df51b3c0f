//! The `ieee802-dot1q-cnc-config` datastore as RFC 7951 JSON, built from store rows and
//! split back into them.

use serde_json::{json, Map, Value};

use crate::auth::Principal;
use crate::error::RestconfError;
use crate::query::Content;
use crate::store::{Snapshot, StreamRow};

/// The UNI module.
pub const MODULE: &str = "ieee802-dot1q-cnc-config";
/// Member name of the top-level container.
pub const TOP: &str = "ieee802-dot1q-cnc-config:cnc-config";
/// Schema path of the stream list.
pub const STREAM_PATH: &str = "/ieee802-dot1q-cnc-config:cnc-config/domain/cuc/stream";

/// Builds the document of `snap` as `principal` may see it (CUCs it may not touch are left
/// out, and domains with none left, unless it is an admin).
pub fn build(snap: &Snapshot, content: Content, principal: Option<&Principal>) -> Value {
    let visible = |cuc: &str| principal.is_none_or(|p| p.may(cuc));
    let admin = principal.is_none_or(|p| p.admin);
    let mut domains = Vec::new();
    for (domain_id, cfg) in &snap.domains {
        let mut d = Map::new();
        d.insert("domain-id".into(), json!(domain_id));
        if content != Content::Nonconfig {
            for (k, v) in cfg {
                d.insert(k.clone(), v.clone());
            }
        }
        let mut cucs = Vec::new();
        for (_, cuc_id) in snap.cucs.iter().filter(|(dd, c)| dd == domain_id && visible(c)) {
            let mut c = Map::new();
            c.insert("cuc-id".into(), json!(cuc_id));
            let streams: Vec<Value> = snap
                .streams
                .iter()
                .filter(|s| &s.domain_id == domain_id && &s.cuc_id == cuc_id)
                .map(|s| stream_entry(s, content))
                .collect();
            if !streams.is_empty() {
                c.insert("stream".into(), Value::Array(streams));
            }
            cucs.push(Value::Object(c));
        }
        if cucs.is_empty() && !admin {
            continue;
        }
        if !cucs.is_empty() {
            d.insert("cuc".into(), Value::Array(cucs));
        }
        domains.push(Value::Object(d));
    }
    let mut top = Map::new();
    if !domains.is_empty() {
        top.insert("domain".into(), Value::Array(domains));
    }
    json!({ TOP: Value::Object(top) })
}

/// One stream list entry with the requested content.
pub fn stream_entry(s: &StreamRow, content: Content) -> Value {
    let mut entry = match content {
        Content::Nonconfig => json!({"stream-id": s.stream_id}),
        _ => s.config.clone(),
    };
    if content == Content::Config {
        return entry;
    }
    let obj = entry.as_object_mut().expect("stream entries are objects");
    obj.insert("stream-status".into(), json!(s.stream_status));
    let Some(Value::Object(status)) = &s.status else { return entry };
    for (k, v) in status {
        match k.as_str() {
            "status-info" | "failed-interfaces" => {
                obj.insert(k.clone(), v.clone());
            }
            "talker" => {
                let t = obj.entry("talker").or_insert_with(|| json!({}));
                if let (Value::Object(t), Value::Object(v)) = (t, v) {
                    for (tk, tv) in v {
                        t.insert(tk.clone(), tv.clone());
                    }
                }
            }
            "listener" => {
                let Value::Array(state) = v else { continue };
                let config_listeners: Vec<Value> = match s.config.get("listener") {
                    Some(Value::Array(l)) => l.clone(),
                    _ => Vec::new(),
                };
                let mut out = Vec::new();
                for cl in &config_listeners {
                    let idx = cl.get("index").cloned().unwrap_or(Value::Null);
                    let mut merged = if content == Content::Nonconfig { json!({"index": idx}) } else { cl.clone() };
                    if let Some(Value::Object(st)) = state.iter().find(|e| e.get("index") == Some(&idx)) {
                        let m = merged.as_object_mut().expect("listener entries are objects");
                        for (sk, sv) in st {
                            if sk != "index" {
                                m.insert(sk.clone(), sv.clone());
                            }
                        }
                    }
                    out.push(merged);
                }
                if !out.is_empty() {
                    obj.insert("listener".into(), Value::Array(out));
                }
            }
            _ => {}
        }
    }
    entry
}

/// Splits a config document back into rows (stream rows get `stream_status` "planned";
/// the caller carries over statuses of existing streams).
pub fn split(doc: &Value) -> Result<Snapshot, RestconfError> {
    let mut snap = Snapshot::default();
    let bad = |m: &str| RestconfError::internal(format!("edited document is malformed: {m}"));
    let Some(top) = doc.get(TOP) else { return Ok(snap) };
    let empty = Vec::new();
    let domains = match top.get("domain") {
        Some(Value::Array(d)) => d,
        None => &empty,
        _ => return Err(bad("domain is not a list")),
    };
    for d in domains {
        let d = d.as_object().ok_or_else(|| bad("domain entry"))?;
        let domain_id = d.get("domain-id").and_then(Value::as_str).ok_or_else(|| bad("domain-id"))?.to_owned();
        let cfg: Map<String, Value> =
            d.iter().filter(|(k, _)| *k != "domain-id" && *k != "cuc").map(|(k, v)| (k.clone(), v.clone())).collect();
        snap.domains.push((domain_id.clone(), cfg));
        let cucs = match d.get("cuc") {
            Some(Value::Array(c)) => c,
            None => &empty,
            _ => return Err(bad("cuc is not a list")),
        };
        for c in cucs {
            let cuc_id = c.get("cuc-id").and_then(Value::as_str).ok_or_else(|| bad("cuc-id"))?.to_owned();
            snap.cucs.push((domain_id.clone(), cuc_id.clone()));
            let streams = match c.get("stream") {
                Some(Value::Array(s)) => s,
                None => &empty,
                _ => return Err(bad("stream is not a list")),
            };
            for s in streams {
                let stream_id = s.get("stream-id").and_then(Value::as_str).ok_or_else(|| bad("stream-id"))?.to_owned();
                snap.streams.push(StreamRow {
                    domain_id: domain_id.clone(),
                    cuc_id: cuc_id.clone(),
                    stream_id,
                    config: s.clone(),
                    status: None,
                    stream_status: "planned".into(),
                    modified_ms: 0,
                });
            }
        }
    }
    Ok(snap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_and_split_round_trip() {
        let doc = json!({TOP: {"domain": [{"domain-id": "d", "cnc-enabled": true, "cuc": [{"cuc-id": "c", "stream": [
            {"stream-id": "00-11-22-33-44-55:00-01", "listener": [{"index": 0}]}]}, {"cuc-id": "e"}]}]}});
        let mut snap = split(&doc).unwrap();
        assert_eq!(snap.streams.len(), 1);
        assert_eq!(build(&snap, Content::Config, None), doc);
        snap.streams[0].status = Some(
            json!({"status-info": {"talker-status": "ready"}, "listener": [{"index": 0, "accumulated-latency": 5}, {"index": 9, "accumulated-latency": 1}]}),
        );
        let all = build(&snap, Content::All, None);
        let s = &all[TOP]["domain"][0]["cuc"][0]["stream"][0];
        assert_eq!(s["stream-status"], json!("planned"));
        assert_eq!(s["listener"], json!([{"index": 0, "accumulated-latency": 5}]));
        let p = Principal { name: "x".into(), admin: false, cucs: ["e".to_string()].into() };
        let v = build(&snap, Content::Config, Some(&p));
        assert_eq!(v, json!({TOP: {"domain": [{"domain-id": "d", "cnc-enabled": true, "cuc": [{"cuc-id": "e"}]}]}}));
    }
}
