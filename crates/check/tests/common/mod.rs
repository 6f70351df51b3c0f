//! Hand-built problems and schedules for the verifier's tests.
#![allow(dead_code)]

use tsn_model::{
    GateControlEntry, GateControlList, Link, LinkId, Node, NodeId, NodeKind, Problem, Route, Schedule,
    SchedulingConfig, Stream, StreamId, StreamSchedule, Topology, Transmission, SCHEDULE_FORMAT_VERSION,
};

/// The link `a → b`.
pub fn lid(a: &str, b: &str) -> LinkId {
    LinkId::new(a, b)
}

/// A topology of 1 Gbit/s full-duplex cables with 100 ns propagation, 500 ns processing,
/// two scheduled queues and 16 GCL entries per port.
pub fn topology(bridges: &[&str], stations: &[&str], cables: &[(&str, &str)]) -> Topology {
    let mut nodes = Vec::new();
    for b in bridges {
        nodes.push(Node { id: NodeId::from(*b), kind: NodeKind::Bridge });
    }
    for s in stations {
        nodes.push(Node { id: NodeId::from(*s), kind: NodeKind::EndStation });
    }
    let mut links = Vec::new();
    for (a, b) in cables {
        for (from, to) in [(a, b), (b, a)] {
            links.push(Link {
                from: NodeId::from(*from),
                to: NodeId::from(*to),
                rate_bps: 1_000_000_000,
                propagation_delay_ns: 100,
                processing_delay_ns: 500,
                scheduled_queues: 2,
                gcl_max_entries: 16,
                ports: Default::default(),
            });
        }
    }
    Topology { nodes, links }
}

/// Overhead 0 (so 125 bytes take 1000 ns), sync error 50 ns (so every hop gap is
/// 100 + 500 + 50 = 650 ns), best-effort frames of 125 bytes (guard band 1000 ns).
pub fn config() -> SchedulingConfig {
    SchedulingConfig { wire_overhead_bytes: 0, sync_error_ns: 50, best_effort_max_frame_size: 125 }
}

/// A stream with the given basics; everything else default.
pub fn stream(
    id: &str,
    talker: &str,
    listeners: &[&str],
    period_ns: u64,
    frames: u32,
    size: u32,
    max_latency_ns: u64,
) -> Stream {
    Stream {
        id: StreamId::from(id),
        talker: NodeId::from(talker),
        listeners: listeners.iter().map(|l| NodeId::from(*l)).collect(),
        period_ns,
        frames_per_period: frames,
        max_frame_size: size,
        max_latency_ns,
        max_jitter_ns: None,
        earliest_offset_ns: 0,
        latest_offset_ns: None,
        pcp: 7,
        vlan: None,
    }
}

/// A route from `(from, to)` pairs per path.
pub fn route(id: &str, paths: &[&[(&str, &str)]]) -> Route {
    Route {
        stream: StreamId::from(id),
        paths: paths.iter().map(|p| p.iter().map(|(a, b)| lid(a, b)).collect()).collect(),
    }
}

/// Every instance over `hyperperiod` of a periodic pattern: per hop, its link, queue and
/// the start offset of every frame within the period; every frame lasts `tx_ns`.
pub fn expand(period: u64, hyperperiod: u64, tx_ns: u64, hops: &[((&str, &str), u8, &[u64])]) -> Vec<Transmission> {
    let mut out = Vec::new();
    for k in 0..hyperperiod / period {
        for ((a, b), queue, offsets) in hops {
            for (f, off) in offsets.iter().enumerate() {
                let start = k * period + off;
                out.push(Transmission {
                    link: lid(a, b),
                    instance: k as u32,
                    frame: f as u32,
                    start_ns: start,
                    end_ns: start + tx_ns,
                    queue: *queue,
                });
            }
        }
    }
    out
}

/// A GCL from `(gate_states, interval)` pairs; the cycle is their sum.
pub fn gcl(port: (&str, &str), base_time_ns: u64, entries: &[(u8, u64)]) -> GateControlList {
    GateControlList {
        port: lid(port.0, port.1),
        base_time_ns,
        cycle_time_ns: entries.iter().map(|e| e.1).sum(),
        entries: entries
            .iter()
            .map(|&(gate_states, interval_ns)| GateControlEntry { gate_states, interval_ns })
            .collect(),
    }
}

/// A problem and a schedule for it.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The problem.
    pub problem: Problem,
    /// The schedule.
    pub schedule: Schedule,
}

impl Fixture {
    /// The schedule of stream `id`.
    pub fn stream_mut(&mut self, id: &str) -> &mut StreamSchedule {
        self.schedule.streams.iter_mut().find(|s| s.stream.0 == id).unwrap()
    }

    /// The transmission of stream `id` on `link`, instance `k`, frame `f`.
    pub fn tx_mut(&mut self, id: &str, link: (&str, &str), k: u32, f: u32) -> &mut Transmission {
        let l = lid(link.0, link.1);
        self.stream_mut(id).transmissions.iter_mut().find(|t| t.link == l && t.instance == k && t.frame == f).unwrap()
    }

    /// Moves a transmission (start and end) by `delta` ns.
    pub fn shift(&mut self, id: &str, link: (&str, &str), k: u32, f: u32, delta: i64) {
        let t = self.tx_mut(id, link, k, f);
        t.start_ns = t.start_ns.checked_add_signed(delta).unwrap();
        t.end_ns = t.end_ns.checked_add_signed(delta).unwrap();
    }

    /// The problem stream `id`.
    pub fn problem_stream_mut(&mut self, id: &str) -> &mut Stream {
        self.problem.streams.iter_mut().find(|s| s.id.0 == id).unwrap()
    }

    /// The GCL of `port`.
    pub fn gcl_mut(&mut self, port: (&str, &str)) -> &mut GateControlList {
        let l = lid(port.0, port.1);
        self.schedule.gcls.iter_mut().find(|g| g.port == l).unwrap()
    }

    /// The same fixture without GCLs (still valid: GCL checks are skipped).
    pub fn without_gcls(mut self) -> Self {
        self.schedule.gcls.clear();
        self
    }
}

/// Two talkers, two bridges on a line, two listeners; a detour bridge B3 and an end
/// station E that both join B1 and B2.
///
/// * `s1`: T1 → {L1, L2}, period 100 µs, 2 frames of 1000 ns, multicast at B2, jitter
///   500 ns (bound 1000), offset window [5000, 50000].
/// * `s2`: T2 → L1, period 200 µs, 1 frame of 2000 ns; shares queue 0 with s1 on B1→B2
///   (at other times), waits at B2 in queue 1 while s1's frames pass in queue 0.
///
/// Hyperperiod 200 µs. Every port carries a hand-written GCL.
pub fn line() -> Fixture {
    let topology = topology(
        &["B1", "B2", "B3"],
        &["T1", "T2", "L1", "L2", "E"],
        &[
            ("T1", "B1"),
            ("T2", "B1"),
            ("B1", "B2"),
            ("B1", "B3"),
            ("B3", "B2"),
            ("B2", "L1"),
            ("B2", "L2"),
            ("B1", "E"),
            ("E", "B2"),
        ],
    );
    let mut topology = topology;
    topology.links.iter_mut().find(|l| l.id() == lid("T1", "B1")).unwrap().gcl_max_entries = 4;
    let mut s1 = stream("s1", "T1", &["L1", "L2"], 100_000, 2, 125, 20_000);
    s1.max_jitter_ns = Some(1_000);
    s1.earliest_offset_ns = 5_000;
    s1.latest_offset_ns = Some(50_000);
    let s2 = stream("s2", "T2", &["L1"], 200_000, 1, 250, 50_000);
    let problem = Problem::new(topology, vec![s1, s2], config());
    let h = 200_000;
    let s1_route =
        route("s1", &[&[("T1", "B1"), ("B1", "B2"), ("B2", "L1")], &[("T1", "B1"), ("B1", "B2"), ("B2", "L2")]]);
    let s2_route = route("s2", &[&[("T2", "B1"), ("B1", "B2"), ("B2", "L1")]]);
    let s1_sched = StreamSchedule {
        stream: StreamId::from("s1"),
        route: s1_route,
        transmissions: expand(
            100_000,
            h,
            1_000,
            &[
                (("T1", "B1"), 0, &[10_000, 11_500]),
                (("B1", "B2"), 0, &[13_000, 14_000]),
                (("B2", "L1"), 0, &[16_000, 17_000]),
                (("B2", "L2"), 0, &[16_000, 17_000]),
            ],
        ),
        talker_offset_ns: 10_000,
        // Frame 0: 17 000 + 100 − 10 000; frame 1: 18 100 − 11 500 = 6 600.
        worst_latency_ns: 7_100,
    };
    let s2_sched = StreamSchedule {
        stream: StreamId::from("s2"),
        route: s2_route,
        transmissions: expand(
            200_000,
            h,
            2_000,
            &[(("T2", "B1"), 0, &[5_000]), (("B1", "B2"), 0, &[8_000]), (("B2", "L1"), 1, &[18_000])],
        ),
        talker_offset_ns: 5_000,
        worst_latency_ns: 15_100,
    };
    const BE: u8 = 0x7f;
    const BE2: u8 = 0x3f; // B2→L1 schedules classes 7 and 6
    let gcls = vec![
        gcl(("T1", "B1"), 0, &[(BE, 9_000), (0, 1_000), (0x80, 2_500), (BE, 87_500)]),
        gcl(("T2", "B1"), 0, &[(BE, 4_000), (0, 1_000), (0x80, 2_000), (BE, 193_000)]),
        gcl(
            ("B1", "B2"),
            0,
            &[
                (BE, 7_000),
                (0, 1_000),
                (0x80, 2_000),
                (BE, 2_000),
                (0, 1_000),
                (0x80, 2_000),
                (BE, 97_000),
                (0, 1_000),
                (0x80, 2_000),
                (BE, 85_000),
            ],
        ),
        gcl(
            ("B2", "L1"),
            0,
            &[
                (BE2, 15_000),
                (0, 1_000),
                (0x80, 2_000),
                (0x40, 2_000),
                (BE2, 95_000),
                (0, 1_000),
                (0x80, 2_000),
                (BE2, 82_000),
            ],
        ),
        // Base time 15 000: the cycle starts with the guard band; the last two entries are
        // both best effort and continue into the first.
        gcl(("B2", "L2"), 15_000, &[(0, 1_000), (0x80, 2_000), (BE, 82_000), (BE, 15_000)]),
    ];
    Fixture {
        problem,
        schedule: Schedule {
            version: SCHEDULE_FORMAT_VERSION,
            hyperperiod_ns: h,
            streams: vec![s1_sched, s2_sched],
            gcls,
        },
    }
}

/// One bridge B between talkers T, T2 and listener L; transmissions cross the end of the
/// hyperperiod (200 µs).
///
/// * `s1`: T → L, period 100 µs, frames at offsets 10 000 and 98 000; instance 1 frame 1
///   is on B→L during [199 650, 200 650), i.e. across the boundary.
/// * `s2`: T2 → L, period 200 µs, leaves at 199 000, on B→L during [200 700, 201 700) in
///   queue 1, right after s1's wrapped frame.
pub fn wrap() -> Fixture {
    let topology = topology(&["B"], &["T", "T2", "L"], &[("T", "B"), ("T2", "B"), ("B", "L")]);
    let mut s1 = stream("s1", "T", &["L"], 100_000, 2, 125, 20_000);
    s1.earliest_offset_ns = 5_000;
    let s2 = stream("s2", "T2", &["L"], 200_000, 1, 125, 20_000);
    let problem = Problem::new(topology, vec![s1, s2], config());
    let h = 200_000;
    let s1_sched = StreamSchedule {
        stream: StreamId::from("s1"),
        route: route("s1", &[&[("T", "B"), ("B", "L")]]),
        transmissions: expand(
            100_000,
            h,
            1_000,
            &[(("T", "B"), 0, &[10_000, 98_000]), (("B", "L"), 0, &[11_650, 99_650])],
        ),
        talker_offset_ns: 10_000,
        worst_latency_ns: 2_750,
    };
    let s2_sched = StreamSchedule {
        stream: StreamId::from("s2"),
        route: route("s2", &[&[("T2", "B"), ("B", "L")]]),
        transmissions: expand(200_000, h, 1_000, &[(("T2", "B"), 0, &[199_000]), (("B", "L"), 1, &[200_700])]),
        talker_offset_ns: 199_000,
        worst_latency_ns: 2_800,
    };
    const BE: u8 = 0x7f;
    const BE2: u8 = 0x3f;
    let gcls = vec![
        gcl(
            ("T", "B"),
            0,
            &[(BE, 9_000), (0, 1_000), (0x80, 1_000), (BE, 86_000), (0, 1_000), (0x80, 1_000), (BE, 1_000)],
        ),
        gcl(("T2", "B"), 0, &[(BE, 198_000), (0, 1_000), (0x80, 1_000)]),
        gcl(
            ("B", "L"),
            0,
            &[
                (0x80, 650), // the end of the window that opened at 199 650
                (0, 50),
                (0x40, 1_000),
                (BE2, 8_950),
                (0, 1_000),
                (0x80, 1_000),
                (BE2, 86_000),
                (0, 1_000),
                (0x80, 1_000),
                (BE2, 10_000),
                (0, 1_000),
                (0x80, 1_000),
                (BE2, 86_000),
                (0, 1_000),
                (0x80, 350),
            ],
        ),
    ];
    Fixture {
        problem,
        schedule: Schedule {
            version: SCHEDULE_FORMAT_VERSION,
            hyperperiod_ns: h,
            streams: vec![s1_sched, s2_sched],
            gcls,
        },
    }
}
