//! UNI units ⇄ pipeline units, at the edge.
//!
//! 802.1Qcc/Qdj: `interval` is a rational number of seconds; `max-latency`, the transmit
//! offsets and `jitter` are nanoseconds; `max-frame-size` excludes media overhead. The
//! pipeline speaks integer nanoseconds, so an interval that is not a whole number of
//! nanoseconds is refused rather than rounded.

use serde_json::{json, Value};
use tsn_pipeline::v1;

use crate::error::RestconfError;

/// Converts an interval of `numerator/denominator` seconds to nanoseconds.
pub fn interval_ns(numerator: u64, denominator: u64) -> Result<u64, String> {
    if denominator == 0 {
        return Err("interval denominator is 0".into());
    }
    if numerator == 0 {
        return Err("interval is 0 s".into());
    }
    let ns = u128::from(numerator) * 1_000_000_000;
    if ns % u128::from(denominator) != 0 {
        return Err(format!("interval {numerator}/{denominator} s is not a whole number of nanoseconds"));
    }
    u64::try_from(ns / u128::from(denominator)).map_err(|_| "interval too long".into())
}

/// The node names along each path of `route`, talker first (one list per listener).
pub fn route_nodes(route: &tsn_model::Route) -> Vec<Vec<String>> {
    route
        .paths
        .iter()
        .map(|p| {
            let mut nodes: Vec<String> = p.first().map(|l| vec![l.from.0.clone()]).unwrap_or_default();
            nodes.extend(p.iter().map(|l| l.to.0.clone()));
            nodes
        })
        .collect()
}

fn u(v: Option<&Value>) -> Option<u64> {
    v.and_then(Value::as_u64)
}

fn end_station(v: &Value) -> Option<v1::EndStation> {
    let first = v.get("end-station-interfaces")?.as_array()?.first()?;
    Some(v1::EndStation {
        mac_address: first.get("mac-address")?.as_str()?.to_owned(),
        interface_name: first.get("interface-name").and_then(Value::as_str).unwrap_or("").to_owned(),
    })
}

/// The pipeline's view of a stored stream entry (config subtree, RFC 7951).
pub fn stream_request(stream_path: &str, entry: &Value) -> Result<v1::StreamRequest, RestconfError> {
    let err = |node: &str, m: String| RestconfError::bad_request(m).path(format!("{stream_path}/{node}"));
    let stream_id = entry.get("stream-id").and_then(Value::as_str).unwrap_or_default().to_owned();
    let talker = entry.get("talker").ok_or_else(|| err("talker", "the stream has no talker".into()))?;
    let talker_station = end_station(talker)
        .ok_or_else(|| err("talker/end-station-interfaces", "the talker has no end-station interface".into()))?;
    let listeners: Vec<&Value> =
        entry.get("listener").and_then(Value::as_array).map(|l| l.iter().collect()).unwrap_or_default();
    if listeners.is_empty() {
        return Err(err("listener", "the stream has no listener".into()));
    }
    let mut listener_stations = Vec::new();
    for l in &listeners {
        listener_stations.push(
            end_station(l).ok_or_else(|| {
                err("listener/end-station-interfaces", "a listener has no end-station interface".into())
            })?,
        );
    }
    let ts = talker
        .get("traffic-specification")
        .ok_or_else(|| err("talker/traffic-specification", "the talker has no traffic-specification".into()))?;
    let num = u(ts.pointer("/interval/numerator")).unwrap_or(0);
    let den = u(ts.pointer("/interval/denominator")).unwrap_or(0);
    let period_ns = interval_ns(num, den).map_err(|m| err("talker/traffic-specification/interval", m))?;
    let max_frame_size = u(ts.get("max-frame-size")).unwrap_or(0);
    if max_frame_size == 0 {
        return Err(err("talker/traffic-specification/max-frame-size", "max-frame-size is missing or 0".into()));
    }
    let req_latency = |v: &Value| u(v.pointer("/user-to-network-requirements/max-latency")).unwrap_or(0);
    let mut max_latency_ns = req_latency(talker);
    for l in &listeners {
        let lat = req_latency(l);
        if lat > 0 && (max_latency_ns == 0 || lat < max_latency_ns) {
            max_latency_ns = lat;
        }
    }
    let time_aware = ts.get("time-aware");
    let mut frame = v1::DataFrame::default();
    for spec in talker.get("data-frame-specification").and_then(Value::as_array).into_iter().flatten() {
        if let Some(m) = spec.get("ieee802-mac-addresses") {
            frame.destination_mac = m.get("destination-mac-address").and_then(Value::as_str).unwrap_or("").into();
            frame.source_mac = m.get("source-mac-address").and_then(Value::as_str).unwrap_or("").into();
        }
        if let Some(t) = spec.get("ieee802-vlan-tag") {
            frame.vlan_id = u(t.get("vlan-id")).unwrap_or(0) as u32;
            frame.pcp = u(t.get("priority-code-point")).unwrap_or(0) as u32;
        }
        for tuple in ["ipv4-tuple", "ipv6-tuple"] {
            if let Some(t) = spec.get(tuple) {
                frame.source_ip = t.get("source-ip-address").and_then(Value::as_str).unwrap_or("").into();
                frame.destination_ip = t.get("destination-ip-address").and_then(Value::as_str).unwrap_or("").into();
                frame.source_port = u(t.get("source-port")).unwrap_or(0) as u32;
                frame.destination_port = u(t.get("destination-port")).unwrap_or(0) as u32;
                frame.protocol = u(t.get("protocol")).unwrap_or(0) as u32;
            }
        }
    }
    Ok(v1::StreamRequest {
        stream_id,
        talker: Some(talker_station),
        listeners: listener_stations,
        period_ns,
        max_frames_per_period: u(ts.get("max-frames-per-interval")).unwrap_or(1).max(1) as u32,
        max_frame_size: max_frame_size as u32,
        max_latency_ns,
        earliest_transmit_offset_ns: time_aware.and_then(|t| u(t.get("earliest-transmit-offset"))).unwrap_or(0),
        latest_transmit_offset_ns: time_aware.and_then(|t| u(t.get("latest-transmit-offset"))),
        jitter_ns: time_aware.and_then(|t| u(t.get("jitter"))),
        frame: Some(frame),
        rank: u(talker.pointer("/stream-rank/rank")).unwrap_or(1) as u32,
    })
}

fn same_mac(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.chars().filter(char::is_ascii_hexdigit).collect::<String>().to_ascii_lowercase();
    norm(a) == norm(b)
}

fn clamp32(v: u64) -> u64 {
    v.min(u64::from(u32::MAX))
}

/// Config-false status of a stream from its outcome (shape of [`crate::store::StreamRow::status`]),
/// and the new `stream-status`. `entry` is the stream's config subtree.
pub fn status_from_outcome(entry: &Value, outcome: &v1::StreamOutcome) -> (String, Value) {
    let status = v1::StreamStatus::try_from(outcome.status).unwrap_or(v1::StreamStatus::Unspecified);
    let ready = status == v1::StreamStatus::Ready;
    let talker_iface = entry.pointer("/talker/end-station-interfaces/0").cloned();
    let mut st = serde_json::Map::new();
    st.insert(
        "status-info".into(),
        json!({
            "talker-status": if ready { "ready" } else { "failed" },
            "listener-status": if ready { "ready" } else { "failed" },
            "failure-code": if ready { 0 } else { outcome.failure_code.clamp(1, 255) },
        }),
    );
    if !outcome.failed_interfaces.is_empty() {
        let mut seen = Vec::new();
        for f in &outcome.failed_interfaces {
            let v = json!({"mac-address": f.mac_address, "interface-name": f.interface_name});
            if !seen.contains(&v) {
                seen.push(v);
            }
        }
        st.insert("failed-interfaces".into(), Value::Array(seen));
    }
    if ready {
        let mut talker = json!({"accumulated-latency": clamp32(outcome.accumulated_latency_ns)});
        if let Some(iface) = &talker_iface {
            talker["interface-configuration"] = json!({"interface-list": [{
                "mac-address": iface.get("mac-address").cloned().unwrap_or(json!("")),
                "interface-name": iface.get("interface-name").cloned().unwrap_or(json!("")),
                "config-list": [{"index": 0, "time-aware-offset": clamp32(outcome.time_aware_offset_ns)}]
            }]});
        }
        st.insert("talker".into(), talker);
        let mut listeners = Vec::new();
        for l in entry.get("listener").and_then(Value::as_array).into_iter().flatten() {
            let mac = l.pointer("/end-station-interfaces/0/mac-address").and_then(Value::as_str).unwrap_or("");
            let latency = outcome
                .listeners
                .iter()
                .find(|ll| ll.listener.as_ref().is_some_and(|e| same_mac(&e.mac_address, mac)))
                .map(|ll| ll.accumulated_latency_ns)
                .unwrap_or(outcome.accumulated_latency_ns);
            listeners.push(
                json!({"index": l.get("index").cloned().unwrap_or(json!(0)), "accumulated-latency": clamp32(latency)}),
            );
        }
        if !listeners.is_empty() {
            st.insert("listener".into(), Value::Array(listeners));
        }
    }
    let stream_status = if ready { "configured" } else { "planned" };
    (stream_status.into(), Value::Object(st))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn intervals() {
        assert_eq!(interval_ns(1, 1000).unwrap(), 1_000_000);
        assert_eq!(interval_ns(1, 8000).unwrap(), 125_000);
        assert_eq!(interval_ns(3, 1).unwrap(), 3_000_000_000);
        assert!(interval_ns(1, 3).is_err());
        assert!(interval_ns(1, 0).is_err());
        assert!(interval_ns(0, 1).is_err());
    }

    proptest! {
        #[test]
        fn interval_is_exact(n in 1u64..=u32::MAX as u64, d in 1u64..=u32::MAX as u64) {
            match interval_ns(n, d) {
                Ok(ns) => prop_assert_eq!(u128::from(ns) * u128::from(d), u128::from(n) * 1_000_000_000),
                Err(_) => prop_assert!((u128::from(n) * 1_000_000_000) % u128::from(d) != 0),
            }
        }
    }
}
