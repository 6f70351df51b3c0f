//! The whole solve pipeline on small networks: every accepted schedule passes the
//! independent verifier (again, here, on top of the check inside `solve`).

use std::time::Duration;

use tsn_model::{InfeasibilityReason, Problem, SchedulingConfig, SolveStatus, Stream, Topology};
use tsn_sched::{solve, Algorithm, Objective, SolveOptions};

/// `bridges` bridges in a ring (or a line), each with `stations` end stations
/// `e{bridge}_{k}`, 8 queues per port.
fn network(bridges: usize, stations: usize, ring: bool) -> Topology {
    tsn_workloads::bridged_network(bridges, stations, ring, 8)
}

/// A one-frame stream with no latency variation allowed, tagged with VLAN 100.
fn stream(id: &str, talker: &str, listeners: &[&str], period_ns: u64, size: u32) -> Stream {
    Stream {
        max_jitter_ns: Some(0),
        vlan: Some(100),
        ..tsn_workloads::simple_stream(id, talker, listeners, period_ns, size)
    }
}

fn workload() -> Problem {
    let streams = vec![
        stream("a", "e0_0", &["e2_0"], 250_000, 1500),
        stream("b", "e0_1", &["e2_0", "e3_1"], 500_000, 800),
        stream("c", "e1_0", &["e3_0"], 250_000, 200),
        stream("d", "e3_1", &["e0_0"], 1_000_000, 1500),
        Stream { frames_per_period: 3, max_jitter_ns: Some(20_000), ..stream("e", "e2_1", &["e0_1"], 500_000, 1000) },
        stream("f", "e1_1", &["e2_0"], 125_000, 64),
    ];
    Problem::new(network(4, 2, true), streams, SchedulingConfig::default())
}

fn options(algorithm: Algorithm) -> SolveOptions<'static> {
    SolveOptions { algorithm, objective: Objective::Latency, time_limit: Duration::from_secs(30), progress: None }
}

fn assert_verified(problem: &Problem, outcome: &tsn_sched::SolveOutcome) {
    let schedule = outcome.schedule.as_ref().expect("a schedule");
    let report = tsn_check::verify(problem, schedule);
    assert!(report.is_ok(), "{report}");
    assert!(!schedule.gcls.is_empty(), "GCLs are synthesised");
}

#[test]
fn every_algorithm_gives_a_verified_schedule() {
    let p = workload();
    let mut algorithms = vec![Algorithm::Auto, Algorithm::Heuristic, Algorithm::NoWaitHeuristic];
    if cfg!(feature = "ilp") {
        algorithms.extend([Algorithm::Ilp, Algorithm::NoWaitIlp]);
    }
    for a in algorithms {
        let out = solve(&p, &options(a)).unwrap_or_else(|e| panic!("{a}: {e}"));
        assert!(
            matches!(out.status, SolveStatus::Optimal | SolveStatus::Feasible),
            "{a}: {:?} {}",
            out.status,
            out.detail
        );
        assert_verified(&p, &out);
    }
}

#[test]
fn incremental_admission_keeps_admitted_streams_as_they_were() {
    let mut p = workload();
    let later: Vec<Stream> = p.streams.split_off(3);
    let first = solve(&p, &options(Algorithm::Heuristic)).unwrap();
    assert_verified(&p, &first);
    let admitted = first.schedule.unwrap().streams;

    // The new streams double the hyperperiod (500 µs → 1 ms): admitted schedules repeat.
    let mut q = workload();
    q.admitted = admitted.clone();
    assert_eq!(q.streams.len(), 3 + later.len());
    assert_eq!(q.hyperperiod_ns().unwrap(), 2 * p.hyperperiod_ns().unwrap());
    for a in [Algorithm::Heuristic, Algorithm::Auto] {
        let out = solve(&q, &options(a)).unwrap();
        assert_verified(&q, &out);
        let s = out.schedule.unwrap();
        for old in &admitted {
            let period = q.stream(&old.stream).unwrap().period_ns;
            let now = s.stream(&old.stream).unwrap();
            assert_eq!(now, &old.repeat_to(period, s.hyperperiod_ns), "{a}: {} moved", old.stream);
            assert_eq!(now.transmissions.len(), 2 * old.transmissions.len());
        }
        // Moving an admitted frame in the repeated half is caught by the verifier.
        let mut moved = s.clone();
        let t = moved.streams.iter_mut().find(|x| x.stream == admitted[0].stream).unwrap();
        let last = t.transmissions.iter_mut().max_by_key(|t| t.instance).unwrap();
        last.start_ns += 1;
        last.end_ns += 1;
        let report = tsn_check::verify(&q, &moved);
        assert!(report.to_string().contains("admitted"), "{report}");
    }
}

#[test]
fn certificate_proves_infeasibility_before_solving() {
    let mut p = workload();
    p.streams[0].max_latency_ns = 10_000; // 4 hops of 12.3 µs cannot make it
    let out = solve(&p, &options(Algorithm::Auto)).unwrap();
    assert_eq!(out.status, SolveStatus::Infeasible);
    assert!(out.schedule.is_none());
    let reasons = out.infeasibility.unwrap().reasons;
    assert!(
        matches!(&reasons[0], InfeasibilityReason::LatencyBound { stream, hops: 4, .. } if stream.0 == "a"),
        "{reasons:?}"
    );
    assert_eq!(out.algorithm, "certificate");
}

#[test]
fn malformed_problem_is_an_error_not_a_status() {
    let mut p = workload();
    p.streams[1].talker = "nowhere".into();
    assert!(solve(&p, &options(Algorithm::Auto)).is_err());
}

#[test]
fn a_heuristic_failure_is_never_called_infeasible() {
    // 95 % of the talker's uplink: certificates say nothing, and whatever the heuristic
    // answers it must not claim a proof.
    let topo = network(2, 2, false);
    let streams = (0..19)
        .map(|i| Stream { max_jitter_ns: None, ..stream(&format!("s{i}"), "e0_0", &["e1_0"], 100_000, 458) })
        .collect();
    let p = Problem::new(topo, streams, SchedulingConfig::default());
    let out = solve(&p, &options(Algorithm::Heuristic)).unwrap();
    match out.status {
        SolveStatus::Feasible => assert_verified(&p, &out),
        SolveStatus::Timeout => assert!(out.schedule.is_none()),
        s => panic!("heuristic cannot prove {s}"),
    }
}
