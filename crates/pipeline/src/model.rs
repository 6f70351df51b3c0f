//! tsn-model types ⇄ their protobuf mirrors (`proto/tsn/pipeline/v1/model.proto`).
//!
//! `to_pb` functions cannot fail; `from_pb` functions check what the wire cannot express
//! (integer ranges of `u8`/`u16` fields, required sub-messages) and return a
//! [`DecodeError`] naming the message kind they were decoding.

use tsn_model::{
    GateControlEntry, GateControlList, LinkId, NodeId, Problem, Route, Schedule, SchedulingConfig, Stream, StreamId,
    StreamSchedule, Transmission,
};

use crate::{topology, v1, DecodeError};

fn bad(kind: &str, detail: impl Into<String>) -> DecodeError {
    DecodeError { kind: kind.into(), detail: detail.into() }
}

fn link_to_pb(l: &LinkId) -> v1::LinkRef {
    v1::LinkRef { from: l.from.0.clone(), to: l.to.0.clone() }
}

fn link_from_pb(l: &v1::LinkRef) -> LinkId {
    LinkId { from: NodeId(l.from.clone()), to: NodeId(l.to.clone()) }
}

/// A stream on the wire.
pub fn stream_to_pb(s: &Stream) -> v1::Stream {
    v1::Stream {
        id: s.id.0.clone(),
        talker: s.talker.0.clone(),
        listeners: s.listeners.iter().map(|l| l.0.clone()).collect(),
        period_ns: s.period_ns,
        frames_per_period: s.frames_per_period,
        max_frame_size: s.max_frame_size,
        max_latency_ns: s.max_latency_ns,
        max_jitter_ns: s.max_jitter_ns,
        earliest_offset_ns: s.earliest_offset_ns,
        latest_offset_ns: s.latest_offset_ns,
        pcp: u32::from(s.pcp),
        vlan: s.vlan.map(u32::from),
    }
}

/// The stream of a wire stream; `kind` names the enclosing message for errors.
pub fn stream_from_pb(kind: &str, s: &v1::Stream) -> Result<Stream, DecodeError> {
    let pcp = u8::try_from(s.pcp).map_err(|_| bad(kind, format!("stream {:?}: pcp {} out of range", s.id, s.pcp)))?;
    let vlan = s
        .vlan
        .map(|v| u16::try_from(v).map_err(|_| bad(kind, format!("stream {:?}: vlan {v} out of range", s.id))))
        .transpose()?;
    Ok(Stream {
        id: StreamId(s.id.clone()),
        talker: NodeId(s.talker.clone()),
        listeners: s.listeners.iter().map(|l| NodeId(l.clone())).collect(),
        period_ns: s.period_ns,
        frames_per_period: s.frames_per_period,
        max_frame_size: s.max_frame_size,
        max_latency_ns: s.max_latency_ns,
        max_jitter_ns: s.max_jitter_ns,
        earliest_offset_ns: s.earliest_offset_ns,
        latest_offset_ns: s.latest_offset_ns,
        pcp,
        vlan,
    })
}

/// A route on the wire.
pub fn route_to_pb(r: &Route) -> v1::Route {
    v1::Route {
        stream: r.stream.0.clone(),
        paths: r.paths.iter().map(|p| v1::Path { links: p.iter().map(link_to_pb).collect() }).collect(),
    }
}

/// The route of a wire route.
pub fn route_from_pb(r: &v1::Route) -> Route {
    Route {
        stream: StreamId(r.stream.clone()),
        paths: r.paths.iter().map(|p| p.links.iter().map(link_from_pb).collect()).collect(),
    }
}

/// A stream schedule on the wire.
pub fn stream_schedule_to_pb(s: &StreamSchedule) -> v1::StreamSchedule {
    v1::StreamSchedule {
        stream: s.stream.0.clone(),
        route: Some(route_to_pb(&s.route)),
        transmissions: s
            .transmissions
            .iter()
            .map(|t| v1::Transmission {
                link: Some(link_to_pb(&t.link)),
                instance: t.instance,
                frame: t.frame,
                start_ns: t.start_ns,
                end_ns: t.end_ns,
                queue: u32::from(t.queue),
            })
            .collect(),
        talker_offset_ns: s.talker_offset_ns,
        worst_latency_ns: s.worst_latency_ns,
    }
}

/// The stream schedule of a wire stream schedule.
pub fn stream_schedule_from_pb(kind: &str, s: &v1::StreamSchedule) -> Result<StreamSchedule, DecodeError> {
    let route = s.route.as_ref().ok_or_else(|| bad(kind, format!("schedule of stream {:?} has no route", s.stream)))?;
    let transmissions = s
        .transmissions
        .iter()
        .map(|t| {
            let link =
                t.link.as_ref().ok_or_else(|| bad(kind, format!("a transmission of {:?} has no link", s.stream)))?;
            let queue = u8::try_from(t.queue)
                .map_err(|_| bad(kind, format!("a transmission of {:?} has queue {}", s.stream, t.queue)))?;
            Ok(Transmission {
                link: link_from_pb(link),
                instance: t.instance,
                frame: t.frame,
                start_ns: t.start_ns,
                end_ns: t.end_ns,
                queue,
            })
        })
        .collect::<Result<_, DecodeError>>()?;
    Ok(StreamSchedule {
        stream: StreamId(s.stream.clone()),
        route: route_from_pb(route),
        transmissions,
        talker_offset_ns: s.talker_offset_ns,
        worst_latency_ns: s.worst_latency_ns,
    })
}

/// A problem on the wire.
pub fn problem_to_pb(p: &Problem) -> v1::Problem {
    v1::Problem {
        version: p.version,
        topology: Some(topology::to_pb(0, &p.topology, &[])),
        streams: p.streams.iter().map(stream_to_pb).collect(),
        routes: p.routes.iter().map(route_to_pb).collect(),
        config: Some(v1::SchedulingConfig {
            wire_overhead_bytes: p.config.wire_overhead_bytes,
            sync_error_ns: p.config.sync_error_ns,
            best_effort_max_frame_size: p.config.best_effort_max_frame_size,
        }),
        admitted: p.admitted.iter().map(stream_schedule_to_pb).collect(),
    }
}

/// The problem of a wire problem. The topology is validated; the rest is left to
/// [`Problem::validate`] (the scheduler runs it).
pub fn problem_from_pb(kind: &str, p: &v1::Problem) -> Result<Problem, DecodeError> {
    let topology = p.topology.as_ref().ok_or_else(|| bad(kind, "problem has no topology"))?;
    let topology = topology::from_pb(topology).map_err(|e| bad(kind, format!("problem topology: {}", e.detail)))?;
    let config = p.config.as_ref().ok_or_else(|| bad(kind, "problem has no scheduling config"))?;
    Ok(Problem {
        version: p.version,
        topology,
        streams: p.streams.iter().map(|s| stream_from_pb(kind, s)).collect::<Result<_, _>>()?,
        routes: p.routes.iter().map(route_from_pb).collect(),
        config: SchedulingConfig {
            wire_overhead_bytes: config.wire_overhead_bytes,
            sync_error_ns: config.sync_error_ns,
            best_effort_max_frame_size: config.best_effort_max_frame_size,
        },
        admitted: p.admitted.iter().map(|s| stream_schedule_from_pb(kind, s)).collect::<Result<_, _>>()?,
    })
}

/// A schedule on the wire.
pub fn schedule_to_pb(s: &Schedule) -> v1::Schedule {
    v1::Schedule {
        version: s.version,
        hyperperiod_ns: s.hyperperiod_ns,
        streams: s.streams.iter().map(stream_schedule_to_pb).collect(),
        gcls: s
            .gcls
            .iter()
            .map(|g| v1::GateControlList {
                port: Some(link_to_pb(&g.port)),
                base_time_ns: g.base_time_ns,
                cycle_time_ns: g.cycle_time_ns,
                entries: g
                    .entries
                    .iter()
                    .map(|e| v1::GateControlEntry { gate_states: u32::from(e.gate_states), interval_ns: e.interval_ns })
                    .collect(),
            })
            .collect(),
    }
}

/// The schedule of a wire schedule.
pub fn schedule_from_pb(kind: &str, s: &v1::Schedule) -> Result<Schedule, DecodeError> {
    let gcls = s
        .gcls
        .iter()
        .map(|g| {
            let port = g.port.as_ref().ok_or_else(|| bad(kind, "a gate control list has no port"))?;
            let entries = g
                .entries
                .iter()
                .map(|e| {
                    let gate_states = u8::try_from(e.gate_states)
                        .map_err(|_| bad(kind, format!("gate states {:#x} do not fit 8 gates", e.gate_states)))?;
                    Ok(GateControlEntry { gate_states, interval_ns: e.interval_ns })
                })
                .collect::<Result<_, DecodeError>>()?;
            Ok(GateControlList {
                port: link_from_pb(port),
                base_time_ns: g.base_time_ns,
                cycle_time_ns: g.cycle_time_ns,
                entries,
            })
        })
        .collect::<Result<_, DecodeError>>()?;
    Ok(Schedule {
        version: s.version,
        hyperperiod_ns: s.hyperperiod_ns,
        streams: s.streams.iter().map(|x| stream_schedule_from_pb(kind, x)).collect::<Result<_, _>>()?,
        gcls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tsn_model::{Link, LinkPorts, Node, NodeKind, Topology};

    fn name() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9]{0,6}"
    }

    fn link_id() -> impl Strategy<Value = LinkId> {
        (name(), name()).prop_map(|(a, b)| LinkId::new(a, b))
    }

    fn stream() -> impl Strategy<Value = Stream> {
        (
            (name(), name(), proptest::collection::vec(name(), 1..4), 1..u64::MAX, 1..16u32, 1..9000u32),
            (any::<u64>(), proptest::option::of(any::<u64>()), any::<u64>(), proptest::option::of(any::<u64>())),
            (0..8u8, proptest::option::of(1..4095u16)),
        )
            .prop_map(
                |((id, talker, listeners, period_ns, frames, size), (lat, jit, early, late), (pcp, vlan))| Stream {
                    id: StreamId(id),
                    talker: NodeId(talker),
                    listeners: listeners.into_iter().map(NodeId).collect(),
                    period_ns,
                    frames_per_period: frames,
                    max_frame_size: size,
                    max_latency_ns: lat,
                    max_jitter_ns: jit,
                    earliest_offset_ns: early,
                    latest_offset_ns: late,
                    pcp,
                    vlan,
                },
            )
    }

    fn route() -> impl Strategy<Value = Route> {
        (name(), proptest::collection::vec(proptest::collection::vec(link_id(), 0..4), 0..3))
            .prop_map(|(s, paths)| Route { stream: StreamId(s), paths })
    }

    fn stream_schedule() -> impl Strategy<Value = StreamSchedule> {
        let tx = (link_id(), any::<u32>(), any::<u32>(), any::<u64>(), any::<u64>(), 0..8u8).prop_map(
            |(link, instance, frame, start_ns, end_ns, queue)| Transmission {
                link,
                instance,
                frame,
                start_ns,
                end_ns,
                queue,
            },
        );
        (route(), proptest::collection::vec(tx, 0..6), any::<u64>(), any::<u64>()).prop_map(
            |(route, transmissions, talker_offset_ns, worst_latency_ns)| StreamSchedule {
                stream: route.stream.clone(),
                route,
                transmissions,
                talker_offset_ns,
                worst_latency_ns,
            },
        )
    }

    /// A valid topology: a chain of `n` distinct nodes, both directions.
    fn topology() -> impl Strategy<Value = Topology> {
        (2..6usize, any::<u64>(), 1..u64::MAX, 1..9u8, 2..2000u32, proptest::option::of("[a-f0-9:]{17}")).prop_map(
            |(n, delay, rate, queues, entries, mac)| {
                let mut t = Topology::default();
                for i in 0..n {
                    let kind = if i % 2 == 0 { NodeKind::EndStation } else { NodeKind::Bridge };
                    t.nodes.push(Node { id: NodeId(format!("n{i}")), kind });
                }
                for i in 1..n {
                    for (a, b) in [(i - 1, i), (i, i - 1)] {
                        t.links.push(Link {
                            from: NodeId(format!("n{a}")),
                            to: NodeId(format!("n{b}")),
                            rate_bps: rate,
                            propagation_delay_ns: delay,
                            processing_delay_ns: delay / 2,
                            scheduled_queues: queues,
                            gcl_max_entries: entries,
                            ports: LinkPorts {
                                from_mac: mac.clone(),
                                from_port: Some(format!("eth{b}")),
                                ..Default::default()
                            },
                        });
                    }
                }
                t
            },
        )
    }

    fn problem() -> impl Strategy<Value = Problem> {
        (
            topology(),
            proptest::collection::vec(stream(), 0..4),
            proptest::collection::vec(route(), 0..3),
            (any::<u32>(), any::<u64>(), any::<u32>()),
            proptest::collection::vec(stream_schedule(), 0..3),
        )
            .prop_map(|(topology, streams, routes, (o, s, b), admitted)| Problem {
                version: 1,
                topology,
                streams,
                routes,
                config: SchedulingConfig { wire_overhead_bytes: o, sync_error_ns: s, best_effort_max_frame_size: b },
                admitted,
            })
    }

    fn schedule() -> impl Strategy<Value = Schedule> {
        let entry = (any::<u8>(), any::<u64>()).prop_map(|(g, i)| GateControlEntry { gate_states: g, interval_ns: i });
        let gcl = (link_id(), any::<u64>(), any::<u64>(), proptest::collection::vec(entry, 0..5)).prop_map(
            |(port, base_time_ns, cycle_time_ns, entries)| GateControlList {
                port,
                base_time_ns,
                cycle_time_ns,
                entries,
            },
        );
        (any::<u64>(), proptest::collection::vec(stream_schedule(), 0..4), proptest::collection::vec(gcl, 0..4))
            .prop_map(|(hyperperiod_ns, streams, gcls)| Schedule { version: 1, hyperperiod_ns, streams, gcls })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn problems_round_trip(p in problem()) {
            use prost::Message as _;
            let bytes = problem_to_pb(&p).encode_to_vec();
            let back = problem_from_pb("t", &v1::Problem::decode(bytes.as_slice()).unwrap()).unwrap();
            prop_assert_eq!(back, p);
        }

        #[test]
        fn schedules_round_trip(s in schedule()) {
            use prost::Message as _;
            let bytes = schedule_to_pb(&s).encode_to_vec();
            let back = schedule_from_pb("t", &v1::Schedule::decode(bytes.as_slice()).unwrap()).unwrap();
            prop_assert_eq!(back, s);
        }

        /// Arbitrary bytes never panic the decoders.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            use prost::Message as _;
            if let Ok(p) = v1::Problem::decode(bytes.as_slice()) { let _ = problem_from_pb("t", &p); }
            if let Ok(s) = v1::Schedule::decode(bytes.as_slice()) { let _ = schedule_from_pb("t", &s); }
            if let Ok(j) = v1::ScheduleJob::decode(bytes.as_slice()) {
                if let Some(p) = &j.problem { let _ = problem_from_pb("t", p); }
            }
        }
    }

    #[test]
    fn out_of_range_fields_are_refused() {
        let mut s = stream_to_pb(&Stream {
            id: "s".into(),
            talker: "a".into(),
            listeners: vec!["b".into()],
            period_ns: 10,
            frames_per_period: 1,
            max_frame_size: 100,
            max_latency_ns: 10,
            max_jitter_ns: None,
            earliest_offset_ns: 0,
            latest_offset_ns: None,
            pcp: 7,
            vlan: None,
        });
        s.pcp = 300;
        assert!(stream_from_pb("k", &s).unwrap_err().to_string().contains("pcp 300"));
        s.pcp = 1;
        s.vlan = Some(70_000);
        assert!(stream_from_pb("k", &s).unwrap_err().to_string().contains("vlan 70000"));
        let sched = v1::StreamSchedule { stream: "s".into(), ..Default::default() };
        assert!(stream_schedule_from_pb("k", &sched).unwrap_err().to_string().contains("no route"));
        assert!(problem_from_pb("k", &v1::Problem::default()).unwrap_err().to_string().contains("no topology"));
    }
}
