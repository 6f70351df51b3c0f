use std::collections::HashMap;
use std::time::{Duration, Instant};

use tsn_model::{
    Link, LinkId, Node, NodeId, NodeKind, Problem, Route, Schedule, SchedulingConfig, SolveStatus, Stream, StreamId,
    Topology,
};

use super::*;
use crate::instance::{Instance, StreamPlacement};

const GBIT: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;

/// Bridges `b1 — b2 — b3` in a line; end stations `e1`, `e2` at `b1`, `e4` at `b2`, `e3`
/// at `b3`. 1 Gbit/s, 100 ns propagation, 2 µs processing, `queues` scheduled queues on
/// bridge ports (one on end stations).
fn line(queues: u8) -> Topology {
    let nodes = ["b1", "b2", "b3"]
        .iter()
        .map(|n| Node { id: NodeId((*n).into()), kind: NodeKind::Bridge })
        .chain(["e1", "e2", "e3", "e4"].iter().map(|n| Node { id: NodeId((*n).into()), kind: NodeKind::EndStation }))
        .collect();
    let cables = [("e1", "b1"), ("e2", "b1"), ("b1", "b2"), ("b2", "b3"), ("e3", "b3"), ("e4", "b2")];
    let mut links = Vec::new();
    for (a, b) in cables {
        for (from, to) in [(a, b), (b, a)] {
            let bridge = from.starts_with('b');
            links.push(Link {
                from: NodeId(from.into()),
                to: NodeId(to.into()),
                rate_bps: GBIT,
                propagation_delay_ns: 100,
                processing_delay_ns: if bridge { 2_000 } else { 0 },
                scheduled_queues: if bridge { queues } else { 1 },
                gcl_max_entries: 1024,
                ports: Default::default(),
            });
        }
    }
    Topology { nodes, links }
}

fn stream(id: &str, talker: &str, listeners: &[&str], period: u64, frames: u32, size: u32, latency: u64) -> Stream {
    Stream {
        id: StreamId(id.into()),
        talker: NodeId(talker.into()),
        listeners: listeners.iter().map(|l| NodeId((*l).into())).collect(),
        period_ns: period,
        frames_per_period: frames,
        max_frame_size: size,
        max_latency_ns: latency,
        max_jitter_ns: None,
        earliest_offset_ns: 0,
        latest_offset_ns: None,
        pcp: 7,
        vlan: None,
    }
}

fn problem(topology: Topology, streams: Vec<Stream>) -> Problem {
    Problem::new(topology, streams, SchedulingConfig { sync_error_ns: 40, ..SchedulingConfig::default() })
}

struct Run {
    out: IlpOutcome,
    schedule: Option<Schedule>,
    placements: Option<Vec<StreamPlacement>>,
    elapsed: Duration,
}

fn run_with(
    p: &Problem,
    variant: Variant,
    objective: Objective,
    warm: Option<&[StreamPlacement]>,
    limit: Duration,
    use_seed: bool,
) -> Run {
    let routes = crate::routing::routes(p);
    let inst = Instance::new(p, &routes).expect("instance");
    let started = Instant::now();
    let opts = IlpOptions { variant, objective, time_limit: limit, warm_start: warm };
    let out = solve_with(&inst, &opts, use_seed).expect("solver error");
    let elapsed = started.elapsed();
    assert_eq!(
        out.placements.is_some(),
        matches!(out.status, SolveStatus::Optimal | SolveStatus::Feasible),
        "{}",
        out.detail
    );
    let schedule = out.placements.as_ref().map(|pl| {
        let schedule = inst.expand(pl);
        check_schedule(p, &schedule, variant);
        let verdict = tsn_check::verify(p, &schedule);
        assert!(verdict.is_ok(), "tsn-check rejects the {variant:?} schedule: {verdict}");
        schedule
    });
    eprintln!("{variant:?}/{objective:?}: {} in {:.3} s — {}", out.status, elapsed.as_secs_f64(), out.detail);
    Run { placements: out.placements.clone(), out, schedule, elapsed }
}

/// HiGHS alone (no heuristic start), so that the small tests exercise the solver's search.
fn run(p: &Problem, variant: Variant, objective: Objective) -> Run {
    run_with(p, variant, objective, None, Duration::from_secs(60), false)
}

/// As `solve` does it (no-wait heuristic start when none is given).
fn run_default(p: &Problem, variant: Variant, objective: Objective) -> Run {
    run_with(p, variant, objective, None, Duration::from_secs(60), true)
}

/// An independent brute-force check of the schedule over the hyperperiod: talker window,
/// precedence, no-wait, latency, no overlap on links, queue isolation between streams.
fn check_schedule(p: &Problem, s: &Schedule, variant: Variant) {
    let h = s.hyperperiod_ns;
    let links: HashMap<LinkId, &Link> = p.topology.links.iter().map(|l| (l.id(), l)).collect();
    let sync = p.config.sync_error_ns;
    // Per link: (stream, start, end, arrival, queue).
    type OnLink = (StreamId, u64, u64, u64, u8);
    let mut on_link: HashMap<LinkId, Vec<OnLink>> = HashMap::new();
    for ss in &s.streams {
        let st = p.stream(&ss.stream).unwrap();
        let tx = |l: &LinkId| {
            tsn_model::transmission_time_ns(
                u64::from(st.max_frame_size) + u64::from(p.config.wire_overhead_bytes),
                links[l].rate_bps,
            )
            .unwrap()
        };
        let mut prev: HashMap<&LinkId, &LinkId> = HashMap::new();
        for path in &ss.route.paths {
            for w in path.windows(2) {
                prev.insert(&w[1], &w[0]);
            }
        }
        let by: HashMap<(&LinkId, u32, u32), (u64, u64)> =
            ss.transmissions.iter().map(|t| ((&t.link, t.instance, t.frame), (t.start_ns, t.end_ns))).collect();
        assert_eq!(
            by.len() as u64,
            (h / st.period_ns) * u64::from(st.frames_per_period) * ss.route.links().len() as u64
        );
        for t in &ss.transmissions {
            assert_eq!(t.end_ns - t.start_ns, tx(&t.link), "{}: transmission time", ss.stream);
            let arrival = match prev.get(&t.link) {
                Some(pl) => {
                    let (_, pe) = by[&(*pl, t.instance, t.frame)];
                    let a = pe + links[*pl].propagation_delay_ns + links[&t.link].processing_delay_ns + sync;
                    assert!(t.start_ns >= a, "{}: precedence on {}", ss.stream, t.link);
                    if variant == Variant::NoWait && p.admitted.iter().all(|a| a.stream != ss.stream) {
                        assert_eq!(t.start_ns, a, "{}: waits in no-wait on {}", ss.stream, t.link);
                    }
                    a
                }
                None => {
                    let base = u64::from(t.instance) * st.period_ns;
                    assert!(
                        t.start_ns >= base && t.end_ns <= base + st.period_ns,
                        "{}: talker outside its period",
                        ss.stream
                    );
                    if t.frame == 0 {
                        let off = t.start_ns - base;
                        assert!(
                            off >= st.earliest_offset_ns && off <= st.latest_offset(),
                            "{}: talker window",
                            ss.stream
                        );
                    }
                    t.start_ns
                }
            };
            on_link.entry(t.link.clone()).or_default().push((
                ss.stream.clone(),
                t.start_ns,
                t.end_ns,
                arrival,
                t.queue,
            ));
        }
        for k in 0..(h / st.period_ns) as u32 {
            for f in 0..st.frames_per_period {
                let first = &ss.route.paths[0][0];
                let (s0, _) = by[&(first, k, f)];
                for path in &ss.route.paths {
                    let last = path.last().unwrap();
                    let (_, e) = by[&(last, k, f)];
                    let lat = e + links[last].propagation_delay_ns - s0;
                    assert!(lat <= st.max_latency_ns, "{}: latency {lat} > {}", ss.stream, st.max_latency_ns);
                }
            }
        }
    }
    // Two intervals on the circle of length h overlap?
    let overlap = |a: (u64, u64), b: (u64, u64)| {
        let (as_, ae) = (a.0 % h, a.0 % h + (a.1 - a.0));
        let (bs, be) = (b.0 % h, b.0 % h + (b.1 - b.0));
        [0i128, h as i128, -(h as i128)]
            .iter()
            .any(|&sh| (as_ as i128) < be as i128 + sh && (bs as i128) + sh < ae as i128)
    };
    for (l, txs) in &on_link {
        for (i, a) in txs.iter().enumerate() {
            for b in &txs[i + 1..] {
                assert!(!overlap((a.1, a.2), (b.1, b.2)), "overlap on {l}: {a:?} {b:?}");
                if variant == Variant::QueueBased && a.0 != b.0 && a.4 == b.4 {
                    assert!(!overlap((a.3, a.2), (b.3, b.2)), "isolation on {l}: {a:?} {b:?}");
                }
            }
        }
    }
}

fn queues_used(s: &Schedule) -> HashMap<LinkId, Vec<u8>> {
    let mut out: HashMap<LinkId, Vec<u8>> = HashMap::new();
    for ss in &s.streams {
        for t in &ss.transmissions {
            let v = out.entry(t.link.clone()).or_default();
            if !v.contains(&t.queue) {
                v.push(t.queue);
            }
        }
    }
    out
}

#[test]
fn different_periods_share_links() {
    let p = problem(
        line(2),
        vec![
            stream("a", "e1", &["e3"], MS, 1, 1500, MS),
            stream("b", "e2", &["e3"], MS / 2, 1, 500, MS / 2),
            stream("c", "e4", &["e3"], 2 * MS, 1, 1000, MS),
            stream("d", "e3", &["e1"], 250_000, 1, 200, 250_000),
        ],
    );
    for variant in [Variant::QueueBased, Variant::NoWait] {
        let r = run(&p, variant, Objective::Latency);
        assert_eq!(r.out.status, SolveStatus::Optimal, "{}", r.out.detail);
    }
}

#[test]
fn multicast_tree_with_two_frames_per_period() {
    let p = problem(
        line(2),
        vec![
            stream("m", "e1", &["e3", "e4"], MS, 2, 1500, MS),
            stream("u", "e2", &["e4"], MS / 2, 2, 1000, MS / 2),
            stream("v", "e4", &["e1", "e2"], MS, 3, 300, MS),
        ],
    );
    for variant in [Variant::QueueBased, Variant::NoWait] {
        let r = run(&p, variant, Objective::Latency);
        assert_eq!(r.out.status, SolveStatus::Optimal, "{}", r.out.detail);
        let s = r.schedule.unwrap();
        let m = s.stream(&"m".into()).unwrap();
        assert_eq!(m.transmissions.len(), 2 * 5); // 2 frames × 5 links of the tree
    }
}

#[test]
fn admitted_streams_keep_their_schedule() {
    let first = problem(
        line(2),
        vec![stream("a", "e1", &["e3"], MS, 2, 1500, MS), stream("b", "e2", &["e4"], MS / 2, 1, 1500, MS / 2)],
    );
    let r = run(&first, Variant::QueueBased, Objective::Latency);
    let admitted = r.schedule.unwrap().streams;
    let mut second = problem(
        line(2),
        vec![
            stream("a", "e1", &["e3"], MS, 2, 1500, MS),
            stream("b", "e2", &["e4"], MS / 2, 1, 1500, MS / 2),
            stream("c", "e2", &["e3"], MS / 4, 1, 1500, MS / 4),
            stream("d", "e1", &["e3", "e4"], MS, 2, 800, MS),
        ],
    );
    second.admitted = admitted.clone();
    for variant in [Variant::QueueBased, Variant::NoWait] {
        let r = run(&second, variant, Objective::Latency);
        assert_eq!(r.out.status, SolveStatus::Optimal, "{}", r.out.detail);
        let s = r.schedule.unwrap();
        for a in &admitted {
            assert_eq!(s.stream(&a.stream).unwrap(), a, "admitted stream {} changed", a.stream);
        }
        assert_eq!(r.placements.unwrap().len(), 2);
    }
}

/// Two talkers both fixed at offset 0 meet at `b1 → b2`: one frame must wait there, and
/// while it waits the other is in the queue, so they need two queues.
fn collision(queues: u8) -> Problem {
    let mut a = stream("a", "e1", &["e3"], MS, 1, 1500, MS);
    let mut b = stream("b", "e2", &["e3"], MS, 1, 1500, MS);
    for s in [&mut a, &mut b] {
        s.latest_offset_ns = Some(0);
    }
    problem(line(queues), vec![a, b])
}

#[test]
fn waiting_is_required_no_wait_is_infeasible() {
    let p = collision(2);
    let r = run(&p, Variant::NoWait, Objective::Latency);
    assert_eq!(r.out.status, SolveStatus::Infeasible, "{}", r.out.detail);
    let r = run(&p, Variant::QueueBased, Objective::Latency);
    assert_eq!(r.out.status, SolveStatus::Optimal, "{}", r.out.detail);
    let s = r.schedule.unwrap();
    let q = &queues_used(&s)[&LinkId::new("b1", "b2")];
    assert_eq!(q.len(), 2, "the two streams need two queues on b1 → b2");
}

#[test]
fn solver_proves_infeasibility() {
    // With one queue the frames of `a` and `b` would share it while one waits.
    let p = collision(1);
    let r = run(&p, Variant::QueueBased, Objective::Latency);
    assert_eq!(r.out.status, SolveStatus::Infeasible, "{}", r.out.detail);
    // Too tight a latency bound for the one that waits (it needs 1 tx more).
    let mut p = collision(2);
    // Alone: 4 hops of 12 336 ns, 3 gaps of 100 + 2 000 + 40 ns, 100 ns to the listener.
    let alone = 4 * 12_336 + 3 * 2_140 + 100;
    for s in &mut p.streams {
        s.max_latency_ns = alone + 12_335;
    }
    let r = run(&p, Variant::QueueBased, Objective::Latency);
    assert_eq!(r.out.status, SolveStatus::Infeasible, "{}", r.out.detail);
    for s in &mut p.streams {
        s.max_latency_ns = alone + 12_336;
    }
    let r = run(&p, Variant::QueueBased, Objective::Latency);
    assert_eq!(r.out.status, SolveStatus::Optimal, "{}", r.out.detail);
}

#[test]
fn queue_objective_uses_the_fewest_queues() {
    let mut p = collision(4);
    p.streams.push(stream("c", "e4", &["e3"], MS / 2, 2, 500, MS / 2));
    let r = run(&p, Variant::QueueBased, Objective::Queues);
    assert_eq!(r.out.status, SolveStatus::Optimal, "{}", r.out.detail);
    let used = queues_used(&r.schedule.unwrap());
    let extra: usize = used.values().map(|q| q.iter().map(|&x| usize::from(x)).max().unwrap()).sum();
    assert_eq!(extra, 1, "exactly one port needs a second queue: {used:?}");
}

#[test]
fn warm_start_is_used_and_a_bad_one_ignored() {
    let p = problem(
        line(2),
        vec![
            stream("a", "e1", &["e3"], MS, 2, 1500, MS),
            stream("b", "e2", &["e3", "e4"], MS / 2, 1, 1500, MS / 2),
            stream("c", "e4", &["e1"], MS, 1, 1500, MS),
        ],
    );
    let first = run(&p, Variant::QueueBased, Objective::Latency);
    let pl = first.placements.unwrap();
    let again = run_with(&p, Variant::QueueBased, Objective::Latency, Some(&pl), Duration::from_secs(60), false);
    assert_eq!(again.out.status, SolveStatus::Optimal);
    assert!(again.out.detail.contains("warm start given"), "{}", again.out.detail);
    let bad = &pl[..1];
    let r = run_with(&p, Variant::QueueBased, Objective::Latency, Some(bad), Duration::from_secs(60), false);
    assert!(r.out.detail.contains("ignored"), "{}", r.out.detail);
    assert_eq!(r.out.status, SolveStatus::Optimal);
}

#[test]
fn zero_time_limit_is_not_infeasible() {
    let p = mutsn(20, 7);
    let r = run_with(&p, Variant::QueueBased, Objective::Latency, None, Duration::ZERO, false);
    assert_ne!(r.out.status, SolveStatus::Infeasible, "{}", r.out.detail);
}

#[test]
fn frames_stay_apart_on_a_slower_downstream_link() {
    // 10 Gbit/s from the talker, 1 Gbit/s after: three frames that fit the first link back
    // to back must be spread for the bridges' links (period = 3 slow frames + 1 µs).
    let mut topo = line(1);
    for l in &mut topo.links {
        if l.from.0 == "e1" {
            l.rate_bps = 10 * GBIT;
        }
    }
    let mut s = stream("a", "e1", &["e3"], 3 * 12_336 + 1_000, 3, 1500, MS);
    s.latest_offset_ns = Some(0);
    let p = problem(topo, vec![s]);
    for variant in [Variant::QueueBased, Variant::NoWait] {
        let r = run(&p, variant, Objective::Latency);
        assert_eq!(r.out.status, SolveStatus::Optimal, "{}", r.out.detail);
        let r = run_default(&p, variant, Objective::Latency);
        assert_eq!(r.out.status, SolveStatus::Optimal, "{}", r.out.detail);
    }
}

#[test]
fn admitted_reservations_are_avoided_by_the_heuristic_start() {
    let first = problem(line(2), vec![stream("a", "e1", &["e3"], MS, 2, 1500, MS)]);
    let r = run_default(&first, Variant::QueueBased, Objective::Latency);
    let mut second = problem(
        line(2),
        vec![stream("a", "e1", &["e3"], MS, 2, 1500, MS), stream("b", "e1", &["e3", "e4"], MS / 2, 2, 1500, MS)],
    );
    second.admitted = r.schedule.unwrap().streams;
    for variant in [Variant::QueueBased, Variant::NoWait] {
        let r = run_default(&second, variant, Objective::Latency);
        assert_eq!(r.out.status, SolveStatus::Optimal, "{}", r.out.detail);
        assert!(r.out.detail.contains("no-wait heuristic start given"), "{}", r.out.detail);
    }
}

#[test]
fn unit_scaling_keeps_odd_offset_windows_exact() {
    // A talker window [5, 7] ns that contains no multiple of the other constants' gcd (4).
    let mut s = stream("a", "e1", &["e3"], MS, 1, 1500, MS);
    s.earliest_offset_ns = 5;
    s.latest_offset_ns = Some(7);
    let p = problem(line(1), vec![s, stream("b", "e2", &["e3"], MS, 1, 1500, MS)]);
    for variant in [Variant::QueueBased, Variant::NoWait] {
        let r = run(&p, variant, Objective::Latency);
        assert_eq!(r.out.status, SolveStatus::Optimal, "{}", r.out.detail);
    }
}

/// A μTSN-CP-like workload: 4 bridges in a line with 3 end stations each, 1 Gbit/s,
/// periods 125/250/500 ms, 1–3 frames of ≤ 1500 B, 500 ms latency, some multicast.
fn mutsn(n: usize, seed: u64) -> Problem {
    let mut seed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move |m: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % m
    };
    let bridges = 4;
    let per = 3;
    let mut nodes = Vec::new();
    let mut links = Vec::new();
    let cable = |a: String, b: String, links: &mut Vec<Link>| {
        for (from, to) in [(a.clone(), b.clone()), (b, a)] {
            let bridge = from.starts_with('b');
            links.push(Link {
                from: NodeId(from),
                to: NodeId(to),
                rate_bps: GBIT,
                propagation_delay_ns: 0,
                processing_delay_ns: if bridge { 5_000 } else { 0 },
                scheduled_queues: if bridge { 2 } else { 1 },
                gcl_max_entries: 1024,
                ports: Default::default(),
            });
        }
    };
    for b in 0..bridges {
        nodes.push(Node { id: NodeId(format!("b{b}")), kind: NodeKind::Bridge });
        if b > 0 {
            cable(format!("b{}", b - 1), format!("b{b}"), &mut links);
        }
        for e in 0..per {
            nodes.push(Node { id: NodeId(format!("e{b}_{e}")), kind: NodeKind::EndStation });
            cable(format!("e{b}_{e}"), format!("b{b}"), &mut links);
        }
    }
    let stations: Vec<String> = (0..bridges).flat_map(|b| (0..per).map(move |e| format!("e{b}_{e}"))).collect();
    let mut streams = Vec::new();
    for i in 0..n {
        let talker = stations[next(stations.len() as u64) as usize].clone();
        let mut listeners: Vec<String> = Vec::new();
        let count = if next(5) == 0 { 2 } else { 1 };
        while listeners.len() < count {
            let l = stations[next(stations.len() as u64) as usize].clone();
            if l != talker && !listeners.contains(&l) {
                listeners.push(l);
            }
        }
        let period = [125 * MS, 250 * MS, 500 * MS][next(3) as usize];
        let ls: Vec<&str> = listeners.iter().map(String::as_str).collect();
        streams.push(stream(
            &format!("s{i}"),
            &talker,
            &ls,
            period,
            1 + next(3) as u32,
            64 + next(1437) as u32,
            500 * MS,
        ));
    }
    Problem::new(
        Topology { nodes, links },
        streams,
        SchedulingConfig { sync_error_ns: 1_000, ..SchedulingConfig::default() },
    )
}

/// Timings: `cargo test -p tsn-sched --release ilp::tests::mutsn -- --nocapture`.
#[test]
fn mutsn_50_streams_within_a_minute() {
    let p = mutsn(50, 1);
    for variant in [Variant::NoWait, Variant::QueueBased] {
        let r = run_default(&p, variant, Objective::Latency);
        assert!(matches!(r.out.status, SolveStatus::Optimal | SolveStatus::Feasible), "{}", r.out.detail);
        assert!(r.elapsed < Duration::from_secs(61));
    }
    let r = run_default(&p, Variant::QueueBased, Objective::Queues);
    assert!(matches!(r.out.status, SolveStatus::Optimal | SolveStatus::Feasible), "{}", r.out.detail);
}

#[test]
fn mutsn_12_streams() {
    let p = mutsn(12, 3);
    for variant in [Variant::NoWait, Variant::QueueBased] {
        let r = run(&p, variant, Objective::Latency);
        assert!(matches!(r.out.status, SolveStatus::Optimal | SolveStatus::Feasible), "{}", r.out.detail);
        let r = run_default(&p, variant, Objective::Latency);
        assert_eq!(r.out.status, SolveStatus::Optimal, "{}", r.out.detail);
        assert!(r.out.detail.contains("no-wait heuristic start given"), "{}", r.out.detail);
    }
}

#[test]
fn no_streams_is_trivially_optimal() {
    let p = problem(line(1), Vec::new());
    let inst = Instance::new(&p, &HashMap::<StreamId, Route>::new()).unwrap();
    let out = solve(
        &inst,
        &IlpOptions {
            variant: Variant::QueueBased,
            objective: Objective::Latency,
            time_limit: Duration::from_secs(1),
            warm_start: None,
        },
    )
    .unwrap();
    assert_eq!(out.status, SolveStatus::Optimal);
    assert_eq!(out.placements, Some(Vec::new()));
}
