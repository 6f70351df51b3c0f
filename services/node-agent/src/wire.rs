//! Protobuf ⇄ domain: the one place where `ApplyScheduleRequest`s (untrusted) are
//! validated and turned into the datapath's types, and counters are turned back into
//! protobuf.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use tsn_datapath::counters::CounterSnapshot;
use tsn_datapath::frame::parse_mac;
use tsn_datapath::{DatapathSchedule, EngineCounters, GateEntry, Gcl, PortSchedule, StreamSpec};

use crate::pb;

/// Line rate assumed when a port schedule gives none.
pub const DEFAULT_RATE_BPS: u64 = 1_000_000_000;

/// A validated schedule: the datapath's form plus what the agent reports back.
#[derive(Clone, Debug)]
pub struct ValidSchedule {
    /// What the engine applies.
    pub datapath: DatapathSchedule,
    /// The request as received (for `GetState`).
    pub request: pb::ApplyScheduleRequest,
}

/// Why a request is invalid (reported as `INVALID_ARGUMENT`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

fn invalid(msg: impl Into<String>) -> Invalid {
    Invalid(msg.into())
}

/// Validates a request and converts it. Never panics on any input.
pub fn validate(req: &pb::ApplyScheduleRequest) -> Result<ValidSchedule, Invalid> {
    if req.generation == 0 {
        return Err(invalid("generation must be > 0"));
    }
    let mut names = BTreeSet::new();
    let mut ports = Vec::with_capacity(req.ports.len());
    for p in &req.ports {
        if p.port.is_empty()
            || p.port.len() > 15
            || p.port.contains(['/', '\0'])
            || p.port.contains(char::is_whitespace)
        {
            return Err(invalid(format!("port name {:?} is not an interface name", p.port)));
        }
        if !names.insert(p.port.clone()) {
            return Err(invalid(format!("port {} listed twice", p.port)));
        }
        let gcl = if p.entries.is_empty() {
            None
        } else {
            let mut entries = Vec::with_capacity(p.entries.len());
            for e in &p.entries {
                let gate_states = u8::try_from(e.gate_states)
                    .map_err(|_| invalid(format!("port {}: gate states {} exceed 8 bits", p.port, e.gate_states)))?;
                entries.push(GateEntry { gate_states, interval_ns: e.interval_ns });
            }
            let base = if p.base_time_ns != 0 { p.base_time_ns } else { req.base_time_ns };
            Some(Gcl::new(base, p.cycle_time_ns, entries).map_err(|e| invalid(format!("port {}: {e}", p.port)))?)
        };
        ports.push(PortSchedule {
            name: p.port.clone(),
            rate_bps: if p.rate_bps == 0 { DEFAULT_RATE_BPS } else { p.rate_bps },
            gcl,
        });
    }
    let mut ids = BTreeSet::new();
    let mut streams = Vec::with_capacity(req.streams.len());
    for s in &req.streams {
        if s.stream_id.is_empty() {
            return Err(invalid("a stream has no id"));
        }
        if !ids.insert(s.stream_id.clone()) {
            return Err(invalid(format!("stream {} listed twice", s.stream_id)));
        }
        let pcp = u8::try_from(s.pcp).ok().filter(|p| *p <= 7);
        let Some(pcp) = pcp else { return Err(invalid(format!("stream {}: PCP {} not in 0..=7", s.stream_id, s.pcp))) };
        let vlan_id = u16::try_from(s.vlan_id).ok().filter(|v| *v <= 4094);
        let Some(vlan_id) = vlan_id else {
            return Err(invalid(format!("stream {}: VLAN {} not in 0..=4094", s.stream_id, s.vlan_id)));
        };
        let Some(d) = &s.destination else { return Err(invalid(format!("stream {}: no destination", s.stream_id))) };
        let dst_ip: Ipv4Addr =
            d.ip.parse().map_err(|_| invalid(format!("stream {}: destination {:?} is not IPv4", s.stream_id, d.ip)))?;
        let dst_port = u16::try_from(d.udp_port).ok().filter(|p| *p != 0);
        let Some(dst_port) = dst_port else {
            return Err(invalid(format!("stream {}: UDP port {} not in 1..=65535", s.stream_id, d.udp_port)));
        };
        let dst_mac = if d.mac.is_empty() {
            None
        } else {
            Some(parse_mac(&d.mac).ok_or_else(|| invalid(format!("stream {}: bad MAC {:?}", s.stream_id, d.mac)))?)
        };
        let src_port = match s.source_udp_port {
            0 => None,
            p => Some(
                u16::try_from(p).map_err(|_| invalid(format!("stream {}: source port {p} too large", s.stream_id)))?,
            ),
        };
        if !names.contains(&s.egress_port) {
            return Err(invalid(format!(
                "stream {}: egress port {:?} is not one of the request's ports",
                s.stream_id, s.egress_port
            )));
        }
        if s.period_ns == 0 || s.offset_ns >= s.period_ns {
            return Err(invalid(format!("stream {}: offset must be within a non-zero period", s.stream_id)));
        }
        streams.push(StreamSpec {
            id: s.stream_id.clone(),
            dst_ip,
            dst_port,
            src_port,
            port: s.egress_port.clone(),
            pcp,
            vlan_id,
            dst_mac,
            period_ns: s.period_ns,
            offset_ns: s.offset_ns,
            max_frame_size: s.max_frame_size,
        });
    }
    Ok(ValidSchedule {
        datapath: DatapathSchedule { generation: req.generation, ports, streams },
        request: req.clone(),
    })
}

/// Counters to protobuf.
pub fn counters(c: &CounterSnapshot, queued: u64) -> pb::Counters {
    pb::Counters {
        submitted: c.submitted,
        sent: c.sent,
        late: c.late,
        late_on_arrival: c.late_on_arrival,
        dropped_gate_closed: c.dropped_gate_closed,
        dropped_queue_full: c.dropped_queue_full,
        dropped_no_route: c.dropped_no_route,
        dropped_tx_error: c.dropped_tx_error,
        held: c.held,
        gate_overruns: c.gate_overruns,
        max_lateness_ns: c.max_lateness_ns,
        queued,
    }
}

impl pb::Counters {
    /// Frames dropped for any reason (gate closed, queue full, no route, send error): the
    /// wire form of [`CounterSnapshot::dropped`].
    pub fn dropped(&self) -> u64 {
        self.dropped_gate_closed + self.dropped_queue_full + self.dropped_no_route + self.dropped_tx_error
    }
}

/// Per-port counters to protobuf (classes with no traffic are left out).
pub fn port_counters(c: &EngineCounters) -> Vec<pb::PortCounters> {
    c.ports
        .iter()
        .map(|(name, classes)| pb::PortCounters {
            port: name.clone(),
            classes: classes
                .iter()
                .enumerate()
                .filter(|(_, s)| s.submitted > 0)
                .map(|(tc, s)| pb::ClassCounters { traffic_class: tc as u32, counters: Some(counters(s, 0)) })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use prost::Message;

    pub(crate) fn request() -> pb::ApplyScheduleRequest {
        pb::ApplyScheduleRequest {
            request_id: "r1".into(),
            generation: 3,
            base_time_ns: 1_000,
            ports: vec![pb::PortSchedule {
                port: "eth1".into(),
                link_id: "a->b".into(),
                rate_bps: 0,
                base_time_ns: 0,
                cycle_time_ns: 1_000_000,
                entries: vec![
                    pb::GateEntry { gate_states: 0x80, interval_ns: 100_000 },
                    pb::GateEntry { gate_states: 0x7f, interval_ns: 900_000 },
                ],
            }],
            streams: vec![pb::StreamEntry {
                stream_id: "s1".into(),
                period_ns: 1_000_000,
                offset_ns: 10_000,
                max_frame_size: 100,
                pcp: 7,
                vlan_id: 0,
                destination: Some(pb::Destination {
                    ip: "10.0.0.2".into(),
                    udp_port: 7000,
                    mac: "02:00:00:00:00:02".into(),
                }),
                egress_port: "eth1".into(),
                source_udp_port: 0,
            }],
            topology_version: 9,
        }
    }

    #[test]
    fn a_valid_request_converts() {
        let v = validate(&request()).unwrap();
        assert_eq!(v.datapath.generation, 3);
        let p = &v.datapath.ports[0];
        assert_eq!(p.rate_bps, DEFAULT_RATE_BPS);
        let gcl = p.gcl.as_ref().unwrap();
        assert_eq!(gcl.base_ns(), 1_000);
        assert!(gcl.is_open(7, 1_000));
        let s = &v.datapath.streams[0];
        assert_eq!((s.pcp, s.dst_port, s.dst_mac), (7, 7000, Some([2, 0, 0, 0, 0, 2])));
    }

    #[test]
    fn invalid_requests_are_refused_with_a_reason() {
        type Mutation = fn(&mut pb::ApplyScheduleRequest);
        let cases: Vec<(Mutation, &str)> = vec![
            (|r| r.generation = 0, "generation"),
            (|r| r.ports[0].entries[0].gate_states = 256, "8 bits"),
            (|r| r.ports[0].cycle_time_ns = 5, "sum"),
            (|r| r.ports[0].port = "a b".into(), "interface name"),
            (|r| r.ports.push(r.ports[0].clone()), "twice"),
            (|r| r.streams[0].pcp = 8, "PCP"),
            (|r| r.streams[0].vlan_id = 4095, "VLAN"),
            (|r| r.streams[0].destination = None, "destination"),
            (|r| r.streams[0].destination.as_mut().unwrap().ip = "x".into(), "IPv4"),
            (|r| r.streams[0].destination.as_mut().unwrap().udp_port = 70000, "UDP port"),
            (|r| r.streams[0].destination.as_mut().unwrap().mac = "zz".into(), "MAC"),
            (|r| r.streams[0].egress_port = "eth9".into(), "egress port"),
            (|r| r.streams[0].offset_ns = 2_000_000, "offset"),
            (|r| r.streams[0].source_udp_port = 70000, "source port"),
            (|r| r.streams.push(r.streams[0].clone()), "twice"),
        ];
        for (mutate, want) in cases {
            let mut r = request();
            mutate(&mut r);
            let e = validate(&r).unwrap_err();
            assert!(e.0.contains(want), "{:?} should mention {want}", e.0);
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(req) = pb::ApplyScheduleRequest::decode(bytes.as_slice()) {
                let _ = validate(&req);
            }
        }

        #[test]
        fn mutated_valid_requests_never_panic(gen in any::<u64>(), gates in any::<u32>(), interval in any::<u64>(),
                                              pcp in any::<u32>(), port in any::<u32>(), ip in ".{0,20}") {
            let mut r = request();
            r.generation = gen;
            r.ports[0].entries[0].gate_states = gates;
            r.ports[0].entries[1].interval_ns = interval;
            r.streams[0].pcp = pcp;
            r.streams[0].destination.as_mut().unwrap().udp_port = port;
            r.streams[0].destination.as_mut().unwrap().ip = ip;
            let _ = validate(&r);
        }
    }
}
