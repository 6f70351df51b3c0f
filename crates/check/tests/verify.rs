//! Valid hand-built schedules pass; each mutation breaks exactly one property.

mod common;

use std::collections::BTreeSet;

use common::*;
use tsn_check::{verify, ViolationKind as K};
use tsn_model::{NodeId, Problem, Schedule, StreamId, StreamSchedule};

fn assert_ok(fx: &Fixture) {
    let report = verify(&fx.problem, &fx.schedule);
    assert!(report.is_ok(), "expected ok, got:\n{report}");
    assert_eq!(report.to_string(), "ok");
}

/// The set of kinds reported equals `{expected}`.
fn assert_only(fx: &Fixture, expected: K) {
    let report = verify(&fx.problem, &fx.schedule);
    let kinds: BTreeSet<K> = report.violations.iter().map(|v| v.kind()).collect();
    assert_eq!(kinds, BTreeSet::from([expected]), "report:\n{report}");
    // Every violation renders as one line.
    assert_eq!(report.to_string().lines().count(), report.violations.len());
}

fn mutated(base: fn() -> Fixture, m: impl FnOnce(&mut Fixture)) -> Fixture {
    let mut fx = base();
    m(&mut fx);
    fx
}

fn line_no_gcl() -> Fixture {
    line().without_gcls()
}

fn wrap_no_gcl() -> Fixture {
    wrap().without_gcls()
}

// ---------------------------------------------------------------- valid schedules

#[test]
fn line_with_gcls_is_ok() {
    assert_ok(&line());
}

#[test]
fn line_without_gcls_is_ok() {
    assert_ok(&line_no_gcl());
}

#[test]
fn wrap_around_schedules_are_ok() {
    assert_ok(&wrap());
    assert_ok(&wrap_no_gcl());
}

#[test]
fn given_routes_and_admitted_streams_are_ok() {
    let mut fx = line();
    let s2 = fx.schedule.streams[1].clone();
    fx.problem.routes.push(s2.route.clone());
    fx.problem.admitted.push(s2);
    assert_ok(&fx);
}

#[test]
fn stream_order_in_the_schedule_does_not_matter() {
    let mut fx = line();
    fx.schedule.streams.reverse();
    fx.schedule.gcls.reverse();
    assert_ok(&fx);
}

#[test]
fn gcl_base_time_rotates_the_cycle() {
    // The T1→B1 list rotated by 9 000 ns with base time 9 000 describes the same gates.
    let mut fx = line();
    *fx.gcl_mut(("T1", "B1")) = gcl(("T1", "B1"), 9_000, &[(0, 1_000), (0x80, 2_500), (0x7f, 87_500), (0x7f, 9_000)]);
    fx.problem.topology.links.iter_mut().find(|l| l.id() == lid("T1", "B1")).unwrap().gcl_max_entries = 16;
    assert_ok(&fx);
    // Base time beyond the cycle is the same phase.
    fx.gcl_mut(("T1", "B1")).base_time_ns = 309_000;
    assert_ok(&fx);
}

#[test]
fn wire_overhead_is_added() {
    // 100 bytes + 42 overhead at 100 Mbit/s: 142 · 8 · 10 ns = 11 360 ns.
    let mut topo = topology(&["B"], &["T", "L"], &[("T", "B"), ("B", "L")]);
    for l in &mut topo.links {
        l.rate_bps = 100_000_000;
    }
    let mut cfg = config();
    cfg.wire_overhead_bytes = 42;
    let s = stream("s", "T", &["L"], 1_000_000, 1, 100, 100_000);
    let problem = Problem::new(topo, vec![s], cfg);
    let schedule = Schedule {
        version: 1,
        hyperperiod_ns: 1_000_000,
        streams: vec![StreamSchedule {
            stream: StreamId::from("s"),
            route: route("s", &[&[("T", "B"), ("B", "L")]]),
            transmissions: expand(1_000_000, 1_000_000, 11_360, &[(("T", "B"), 0, &[0]), (("B", "L"), 0, &[12_010])]),
            talker_offset_ns: 0,
            worst_latency_ns: 12_010 + 11_360 + 100,
        }],
        gcls: Vec::new(),
    };
    let mut fx = Fixture { problem, schedule };
    assert_ok(&fx);
    fx.tx_mut("s", ("T", "B"), 0, 0).end_ns -= 1;
    assert_only(&fx, K::Duration);
}

#[test]
fn report_serializes_with_kinds() {
    let fx = mutated(line, |fx| fx.stream_mut("s2").worst_latency_ns += 1);
    let report = verify(&fx.problem, &fx.schedule);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["violations"][0]["kind"], "latency-misreported");
    assert!(report.to_string().contains("reported worst latency 15101 ns, actual 15100 ns"));
}

// ---------------------------------------------------------------- stream set and routes

#[test]
fn invalid_problem() {
    assert_only(&mutated(line, |fx| fx.problem_stream_mut("s1").period_ns = 0), K::ProblemInvalid);
}

#[test]
fn stream_missing() {
    assert_only(
        &mutated(line, |fx| {
            fx.schedule.streams.remove(1);
        }),
        K::StreamMissing,
    );
}

#[test]
fn stream_unknown() {
    assert_only(
        &mutated(line, |fx| {
            let mut extra = fx.schedule.streams[1].clone();
            extra.stream = StreamId::from("nobody");
            fx.schedule.streams.push(extra);
        }),
        K::StreamUnknown,
    );
}

#[test]
fn stream_duplicate() {
    assert_only(&mutated(line, |fx| fx.schedule.streams.push(fx.schedule.streams[1].clone())), K::StreamDuplicate);
}

#[test]
fn route_with_a_path_missing() {
    assert_only(
        &mutated(line, |fx| {
            fx.stream_mut("s1").route.paths.pop();
        }),
        K::RouteShape,
    );
}

#[test]
fn route_over_an_unknown_link() {
    assert_only(&mutated(line, |fx| fx.stream_mut("s2").route.paths[0][1] = lid("B1", "L1")), K::RouteUnknownLink);
}

#[test]
fn route_not_connected() {
    assert_only(
        &mutated(line, |fx| {
            fx.stream_mut("s2").route.paths[0].remove(1);
        }),
        K::RouteDisconnected,
    );
}

#[test]
fn route_ending_elsewhere() {
    assert_only(&mutated(line, |fx| fx.stream_mut("s2").route.paths[0][2] = lid("B2", "L2")), K::RouteDisconnected);
}

#[test]
fn route_not_simple() {
    assert_only(
        &mutated(line, |fx| {
            fx.stream_mut("s2").route =
                route("s2", &[&[("T2", "B1"), ("B1", "B3"), ("B3", "B2"), ("B2", "B1"), ("B1", "B2"), ("B2", "L1")]])
        }),
        K::RouteNotSimple,
    );
}

#[test]
fn route_through_an_end_station() {
    assert_only(
        &mutated(line, |fx| {
            fx.stream_mut("s2").route = route("s2", &[&[("T2", "B1"), ("B1", "E"), ("E", "B2"), ("B2", "L1")]])
        }),
        K::RouteThroughEndStation,
    );
}

#[test]
fn route_not_a_tree() {
    // Paths split at B1, meet again at B2 and share B2→B4 from different previous links.
    let topo = topology(
        &["B1", "B2", "B3", "B4"],
        &["T", "L1", "L2"],
        &[("T", "B1"), ("B1", "B2"), ("B1", "B3"), ("B3", "B2"), ("B2", "B4"), ("B4", "L1"), ("B4", "L2")],
    );
    let s = stream("s", "T", &["L1", "L2"], 100_000, 1, 125, 50_000);
    let problem = Problem::new(topo, vec![s], config());
    let schedule = Schedule {
        version: 1,
        hyperperiod_ns: 100_000,
        streams: vec![StreamSchedule {
            stream: StreamId::from("s"),
            route: route(
                "s",
                &[
                    &[("T", "B1"), ("B1", "B2"), ("B2", "B4"), ("B4", "L1")],
                    &[("T", "B1"), ("B1", "B3"), ("B3", "B2"), ("B2", "B4"), ("B4", "L2")],
                ],
            ),
            transmissions: Vec::new(),
            talker_offset_ns: 0,
            worst_latency_ns: 0,
        }],
        gcls: Vec::new(),
    };
    assert_only(&Fixture { problem, schedule }, K::RouteNotTree);
}

#[test]
fn route_not_the_given_one() {
    assert_only(
        &mutated(line, |fx| {
            fx.problem.routes.push(route("s2", &[&[("T2", "B1"), ("B1", "B3"), ("B3", "B2"), ("B2", "L1")]]))
        }),
        K::RouteNotGiven,
    );
}

#[test]
fn admitted_stream_changed() {
    assert_only(
        &mutated(line, |fx| {
            let mut a = fx.schedule.streams[1].clone();
            // The admitted schedule had another (valid) offset: the new one moved it.
            a.talker_offset_ns = 4_000;
            fx.problem.admitted.push(a);
        }),
        K::AdmittedChanged,
    );
}

// ---------------------------------------------------------------- completeness, duration

#[test]
fn hyperperiod_mismatch() {
    assert_only(&mutated(line, |fx| fx.schedule.hyperperiod_ns = 400_000), K::HyperperiodMismatch);
}

#[test]
fn dropped_transmission() {
    assert_only(
        &mutated(line, |fx| fx.stream_mut("s2").transmissions.retain(|t| t.link != lid("B1", "B2"))),
        K::MissingTransmission,
    );
}

#[test]
fn duplicated_transmission() {
    assert_only(
        &mutated(line, |fx| {
            let t = fx.stream_mut("s1").transmissions[3].clone();
            fx.stream_mut("s1").transmissions.push(t);
        }),
        K::DuplicateTransmission,
    );
}

#[test]
fn transmission_of_an_instance_out_of_range() {
    assert_only(
        &mutated(line, |fx| {
            let mut t = fx.tx_mut("s2", ("T2", "B1"), 0, 0).clone();
            t.instance = 1;
            fx.stream_mut("s2").transmissions.push(t);
        }),
        K::ExtraTransmission,
    );
}

#[test]
fn transmission_of_a_frame_out_of_range() {
    assert_only(
        &mutated(line, |fx| {
            let mut t = fx.tx_mut("s2", ("T2", "B1"), 0, 0).clone();
            t.frame = 1;
            fx.stream_mut("s2").transmissions.push(t);
        }),
        K::ExtraTransmission,
    );
}

#[test]
fn transmission_off_the_route() {
    assert_only(
        &mutated(line, |fx| {
            let mut t = fx.tx_mut("s2", ("B1", "B2"), 0, 0).clone();
            t.link = lid("B1", "B3");
            fx.stream_mut("s2").transmissions.push(t);
        }),
        K::ExtraTransmission,
    );
    // Moving it off the route also leaves its slot empty.
    let fx = mutated(line, |fx| fx.tx_mut("s2", ("B1", "B2"), 0, 0).link = lid("B1", "B3"));
    let kinds: BTreeSet<K> = verify(&fx.problem, &fx.schedule).violations.iter().map(|v| v.kind()).collect();
    assert_eq!(kinds, BTreeSet::from([K::ExtraTransmission, K::MissingTransmission]));
}

#[test]
fn wrong_duration() {
    assert_only(&mutated(line, |fx| fx.tx_mut("s1", ("B1", "B2"), 0, 0).end_ns -= 1), K::Duration);
    assert_only(&mutated(line, |fx| fx.tx_mut("s2", ("B2", "L1"), 0, 0).end_ns += 1), K::Duration);
}

// ---------------------------------------------------------------- timing

#[test]
fn hop_starts_before_arrival() {
    // 11 600 < 11 000 (end on T1→B1) + 100 + 500 + 50.
    assert_only(&mutated(line_no_gcl, |fx| fx.shift("s1", ("B1", "B2"), 0, 0, -1_400)), K::HopTiming);
}

#[test]
fn hop_starts_exactly_on_arrival_is_ok() {
    assert_ok(&mutated(line_no_gcl, |fx| fx.shift("s1", ("B1", "B2"), 0, 0, -1_350)));
}

#[test]
fn talker_outside_its_period() {
    // Instance 0's second frame (all hops, so latency is unchanged) leaves at 100 000.
    assert_only(
        &mutated(line_no_gcl, |fx| {
            for l in [("T1", "B1"), ("B1", "B2"), ("B2", "L1"), ("B2", "L2")] {
                fx.shift("s1", l, 0, 1, 88_500);
            }
        }),
        K::ReleaseWindow,
    );
}

#[test]
fn talker_offset_before_the_earliest() {
    // Instance 1 frame 0 at offset 4 000 < 5 000 (instance 0 keeps the reported offset).
    assert_only(
        &mutated(line_no_gcl, |fx| {
            for l in [("T1", "B1"), ("B1", "B2"), ("B2", "L1"), ("B2", "L2")] {
                fx.shift("s1", l, 1, 0, -6_000);
            }
        }),
        K::TalkerOffset,
    );
}

#[test]
fn talker_offset_after_the_latest() {
    assert_only(&mutated(line, |fx| fx.problem_stream_mut("s1").latest_offset_ns = Some(9_999)), K::TalkerOffset);
}

#[test]
fn talker_offset_misreported() {
    assert_only(&mutated(line, |fx| fx.stream_mut("s1").talker_offset_ns += 1), K::TalkerOffsetReported);
}

#[test]
fn frames_leave_the_talker_out_of_order() {
    // Swap the labels of instance 1's two frames everywhere: times are unchanged.
    assert_only(
        &mutated(line, |fx| {
            for t in &mut fx.stream_mut("s1").transmissions {
                if t.instance == 1 {
                    t.frame = 1 - t.frame;
                }
            }
        }),
        K::FrameOrder,
    );
}

#[test]
fn latency_exceeded() {
    assert_only(&mutated(line, |fx| fx.problem_stream_mut("s2").max_latency_ns = 15_099), K::LatencyExceeded);
}

#[test]
fn latency_exactly_at_the_bound_is_ok() {
    assert_ok(&mutated(line, |fx| fx.problem_stream_mut("s2").max_latency_ns = 15_100));
}

#[test]
fn latency_under_and_over_reported() {
    assert_only(&mutated(line, |fx| fx.stream_mut("s2").worst_latency_ns -= 1), K::LatencyMisreported);
    assert_only(&mutated(line, |fx| fx.stream_mut("s1").worst_latency_ns += 1), K::LatencyMisreported);
}

#[test]
fn jitter_exceeded_by_the_bound() {
    assert_only(&mutated(line, |fx| fx.problem_stream_mut("s1").max_jitter_ns = Some(499)), K::JitterExceeded);
    assert_ok(&mutated(line, |fx| fx.problem_stream_mut("s1").max_jitter_ns = Some(500)));
}

#[test]
fn jitter_exceeded_by_the_schedule() {
    // Frame 1 leaves 600 ns later: its latency drops to 6 000, jitter 1 100 > 1 000.
    assert_only(&mutated(line_no_gcl, |fx| fx.shift("s1", ("T1", "B1"), 0, 1, 600)), K::JitterExceeded);
}

// ---------------------------------------------------------------- ports and queues

#[test]
fn overlap_on_a_link() {
    // s1's frames on B1→B2 overlap by 500 ns; still inside the GCL window, FIFO kept.
    assert_only(&mutated(line, |fx| fx.shift("s1", ("B1", "B2"), 0, 1, -500)), K::LinkOverlap);
}

#[test]
fn overlap_across_the_hyperperiod_boundary() {
    // s2 moved 100 ns earlier on both hops: on B→L it starts at 200 600 ≡ 600, inside s1's
    // wrapped frame [199 650, 200 650). Different queues, same latency.
    assert_only(
        &mutated(wrap_no_gcl, |fx| {
            fx.shift("s2", ("T2", "B"), 0, 0, -100);
            fx.shift("s2", ("B", "L"), 0, 0, -100);
            fx.stream_mut("s2").talker_offset_ns -= 100;
        }),
        K::LinkOverlap,
    );
}

#[test]
fn queue_out_of_range() {
    assert_only(&mutated(line, |fx| fx.tx_mut("s1", ("T1", "B1"), 0, 0).queue = 2), K::QueueOutOfRange);
}

#[test]
fn two_streams_waiting_in_one_queue() {
    // s2 waits at B2 from 10 650 to 20 000; in queue 0 it meets s1's frames.
    assert_only(&mutated(line_no_gcl, |fx| fx.tx_mut("s2", ("B2", "L1"), 0, 0).queue = 0), K::QueueIsolation);
}

#[test]
fn two_streams_waiting_in_one_queue_across_the_boundary() {
    // s2's queue on B→L is [200 650, 201 700) ≡ [650, 1 700); with s2 50 ns earlier on
    // T2→B it arrives at 200 600, while s1's wrapped frame is still queued until 650.
    assert_only(
        &mutated(wrap_no_gcl, |fx| {
            fx.tx_mut("s2", ("B", "L"), 0, 0).queue = 0;
            fx.shift("s2", ("T2", "B"), 0, 0, -50);
            fx.stream_mut("s2").talker_offset_ns -= 50;
            fx.stream_mut("s2").worst_latency_ns += 50;
        }),
        K::QueueIsolation,
    );
}

#[test]
fn sharing_a_queue_at_different_times_is_ok() {
    let fx = mutated(wrap_no_gcl, |fx| fx.tx_mut("s2", ("B", "L"), 0, 0).queue = 0);
    assert_ok(&fx);
}

#[test]
fn frames_overtake_in_a_queue() {
    // On B1→B2 frame 1 (arrived 13 150) leaves before frame 0 (arrived 11 650); downstream
    // the order is back, so frame 1 waits at B2 while frame 0 overtakes it again.
    assert_only(
        &mutated(line_no_gcl, |fx| {
            fx.shift("s1", ("B1", "B2"), 0, 0, 1_200);
            fx.shift("s1", ("B1", "B2"), 0, 1, -850);
        }),
        K::QueueFifo,
    );
}

// ---------------------------------------------------------------- gate control lists

#[test]
fn gcl_missing() {
    assert_only(&mutated(line, |fx| fx.schedule.gcls.retain(|g| g.port != lid("T2", "B1"))), K::GclMissing);
}

#[test]
fn gcl_duplicate() {
    assert_only(&mutated(line, |fx| fx.schedule.gcls.push(fx.schedule.gcls[2].clone())), K::GclDuplicate);
}

#[test]
fn gcl_for_an_unknown_port() {
    assert_only(
        &mutated(line, |fx| {
            let mut g = fx.schedule.gcls[0].clone();
            g.port = lid("L1", "T1");
            fx.schedule.gcls.push(g);
        }),
        K::GclUnknownPort,
    );
}

#[test]
fn gcl_too_many_entries() {
    // T1→B1 allows 4 entries; splitting one best-effort entry makes 5 equivalent ones.
    assert_only(
        &mutated(line, |fx| {
            *fx.gcl_mut(("T1", "B1")) =
                gcl(("T1", "B1"), 0, &[(0x7f, 9_000), (0, 1_000), (0x80, 2_500), (0x7f, 43_750), (0x7f, 43_750)]);
        }),
        K::GclTooManyEntries,
    );
}

#[test]
fn gcl_intervals_do_not_sum_to_the_cycle() {
    assert_only(&mutated(line, |fx| fx.gcl_mut(("T1", "B1")).entries[3].interval_ns += 1), K::GclIntervals);
}

#[test]
fn gcl_zero_interval() {
    assert_only(
        &mutated(line, |fx| {
            fx.gcl_mut(("B1", "B2"))
                .entries
                .insert(3, tsn_model::GateControlEntry { gate_states: 0xff, interval_ns: 0 })
        }),
        K::GclIntervals,
    );
}

#[test]
fn gcl_cycle_does_not_divide_the_hyperperiod() {
    assert_only(
        &mutated(line, |fx| {
            let g = fx.gcl_mut(("T2", "B1"));
            g.entries[3].interval_ns += 100_000;
            g.cycle_time_ns += 100_000;
        }),
        K::GclCycle,
    );
}

#[test]
fn transmission_outside_its_window() {
    // T2→B1's window closes 1 ns before s2's frame ends.
    assert_only(
        &mutated(line, |fx| {
            let g = fx.gcl_mut(("T2", "B1"));
            g.entries[2].interval_ns -= 1;
            g.entries[3].interval_ns += 1;
        }),
        K::GclClosedGate,
    );
}

#[test]
fn transmission_in_the_wrong_class_window() {
    // B2→L1: s2's window opens class 5 instead of class 6.
    assert_only(&mutated(line, |fx| fx.gcl_mut(("B2", "L1")).entries[3].gate_states = 0x20), K::GclClosedGate);
}

#[test]
fn transmission_across_the_cycle_needs_both_ends_open() {
    // The wrapped window on B→L loses its head [0, 650).
    assert_only(&mutated(wrap, |fx| fx.gcl_mut(("B", "L")).entries[0].gate_states = 0), K::GclClosedGate);
}

#[test]
fn base_time_shift_moves_windows_away() {
    assert_only(&mutated(line, |fx| fx.gcl_mut(("B2", "L2")).base_time_ns += 1), K::GclClosedGate);
}

#[test]
fn overlapping_windows_of_two_queues() {
    assert_only(&mutated(line, |fx| fx.gcl_mut(("B2", "L1")).entries[3].gate_states = 0xc0), K::GclWindowOverlap);
}

#[test]
fn missing_guard_band() {
    assert_only(
        &mutated(line, |fx| {
            let g = fx.gcl_mut(("B1", "B2"));
            g.entries[0].interval_ns += 500;
            g.entries[1].interval_ns -= 500;
        }),
        K::GclGuardBand,
    );
}

#[test]
fn missing_guard_band_across_the_cycle() {
    // T2→B's list with base time 199 000 starts with s2's window; its guard band is the
    // last entry of the cycle.
    let mut fx = wrap();
    *fx.gcl_mut(("T2", "B")) = gcl(("T2", "B"), 199_000, &[(0x80, 1_000), (0x7f, 198_000), (0, 1_000)]);
    assert_ok(&fx);
    let g = fx.gcl_mut(("T2", "B"));
    g.entries[1].interval_ns += 1;
    g.entries[2].interval_ns -= 1;
    assert_only(&fx, K::GclGuardBand);
}

#[test]
fn best_effort_open_together_with_a_scheduled_class() {
    assert_only(&mutated(line, |fx| fx.gcl_mut(("T2", "B1")).entries[2].gate_states = 0x81), K::GclGuardBand);
}

#[test]
fn violations_name_what_is_wrong() {
    let fx = mutated(line_no_gcl, |fx| fx.tx_mut("s2", ("B2", "L1"), 0, 0).queue = 0);
    let text = verify(&fx.problem, &fx.schedule).to_string();
    assert!(text.contains("on port (B2, L1) queue 0"), "{text}");
    assert!(text.contains("stream s2 instance 0 frame 0 on (B2, L1) [10650, 20000) ns"), "{text}");
    let fx = mutated(line, |fx| fx.problem_stream_mut("s2").max_latency_ns = 15_099);
    let report = verify(&fx.problem, &fx.schedule);
    assert!(matches!(
        &report.violations[0],
        tsn_check::Violation::LatencyExceeded { listener, latency_ns: 15_100, .. } if *listener == NodeId::from("L1")
    ));
}
