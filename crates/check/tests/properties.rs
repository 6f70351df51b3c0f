//! Random shifts against a brute-force overlap check, and a large schedule.

mod common;

use common::*;
use proptest::prelude::*;
use tsn_check::{verify, ViolationKind as K};
use tsn_model::{Problem, Schedule, StreamId, StreamSchedule, Transmission};

/// Whether two transmissions on one link overlap modulo `h`, by trying every shift.
fn brute_overlap(schedule: &Schedule) -> bool {
    let h = schedule.hyperperiod_ns as i128;
    let all: Vec<&Transmission> = schedule.streams.iter().flat_map(|s| &s.transmissions).collect();
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            if a.link != b.link {
                continue;
            }
            for j in -3..=3 {
                let (sa, ea) = (a.start_ns as i128, a.end_ns as i128);
                let (sb, eb) = (b.start_ns as i128 + j * h, b.end_ns as i128 + j * h);
                if sa < eb && sb < ea {
                    return true;
                }
            }
        }
    }
    false
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn shifted_transmissions_overlap_iff_brute_force_says_so(
        stream in 0usize..2,
        index in 0usize..16,
        delta in -12_000i64..12_000,
        wrap_fixture in any::<bool>(),
    ) {
        let mut fx = if wrap_fixture { wrap() } else { line() }.without_gcls();
        let s = &mut fx.schedule.streams[stream];
        let n = s.transmissions.len();
        let t = &mut s.transmissions[index % n];
        prop_assume!(t.start_ns as i64 + delta >= 0);
        t.start_ns = (t.start_ns as i64 + delta) as u64;
        t.end_ns = (t.end_ns as i64 + delta) as u64;
        let report = verify(&fx.problem, &fx.schedule);
        let reported = report.kinds().contains(&K::LinkOverlap);
        prop_assert_eq!(reported, brute_overlap(&fx.schedule), "report:\n{}", report);
        if delta == 0 {
            prop_assert!(report.is_ok(), "report:\n{}", report);
        }
    }
}

#[test]
fn two_hundred_thousand_transmissions() {
    // 100 000 instances of a 10 µs stream over two hops (a 1 s stream sets the hyperperiod).
    let topo = topology(&["B"], &["T", "T2", "L"], &[("T", "B"), ("T2", "B"), ("B", "L")]);
    let fast = stream("fast", "T", &["L"], 10_000, 1, 125, 5_000);
    let slow = stream("slow", "T2", &["L"], 1_000_000_000, 1, 125, 5_000);
    let problem = Problem::new(topo, vec![fast, slow], config());
    let h = 1_000_000_000;
    let schedule = Schedule {
        version: 1,
        hyperperiod_ns: h,
        streams: vec![
            StreamSchedule {
                stream: StreamId::from("fast"),
                route: route("fast", &[&[("T", "B"), ("B", "L")]]),
                transmissions: expand(10_000, h, 1_000, &[(("T", "B"), 0, &[0]), (("B", "L"), 0, &[1_650])]),
                talker_offset_ns: 0,
                worst_latency_ns: 2_750,
            },
            StreamSchedule {
                stream: StreamId::from("slow"),
                route: route("slow", &[&[("T2", "B"), ("B", "L")]]),
                transmissions: expand(h, h, 1_000, &[(("T2", "B"), 1, &[5_000]), (("B", "L"), 1, &[6_650])]),
                talker_offset_ns: 5_000,
                worst_latency_ns: 2_750,
            },
        ],
        gcls: Vec::new(),
    };
    let started = std::time::Instant::now();
    let report = verify(&problem, &schedule);
    assert!(report.is_ok(), "{report}");
    let mut broken = schedule.clone();
    broken.streams[1].transmissions[1].start_ns = 1_000_001_650;
    broken.streams[1].transmissions[1].end_ns = 1_000_002_650;
    broken.streams[1].worst_latency_ns = 1_000_002_650 + 100 - 5_000;
    let kinds = verify(&problem, &broken).kinds();
    assert!(kinds.contains(&K::LinkOverlap), "{kinds:?}");
    assert!(started.elapsed().as_secs() < 30, "took {:?}", started.elapsed());
}
