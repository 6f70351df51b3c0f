//! End to end: a TSN network on one machine (issue 8).
//!
//! A testbed ring of 4 bridges with 2 end stations each. Every bridge runs `node-agent
//! bridge` (gate tables committed over NETCONF, forwarding through the datapath engine),
//! every station `node-agent` in station role (ApplySchedule over gRPC with mTLS); lldpd
//! and sshd run for discovery; the six services run as processes on RabbitMQ and
//! PostgreSQL. 8 streams (every station to the same-index station of the next bridge round
//! the ring, one frame every 4 ms) are written over RESTCONF with curl, discovered, routed, scheduled (every
//! schedule checked by tsn-check), deployed, and then carried: Python talkers under
//! `libktsn.so` (SCHED_FIFO, below the datapath threads, as a time-sensitive application
//! runs) send each frame with SO_TXTIME at the offset RESTCONF reports; listeners and
//! the bridges' ring ports capture with kernel timestamps. Two runs of the same length, the
//! second with a best-effort flood from every station over the same links.
//!
//! What is asserted, per stream and run, for every frame in flight outside a host stall (a
//! time in which a SCHED_FIFO-90 watcher thread per CPU did not run for over 500 µs: the
//! vCPU ran nothing of lower priority, hypervisor or kernel, so no datapath thread could run; frames in stalls are counted and
//! printed):
//! * every frame the talker handed over arrives at the listener, once (a frame a station
//!   released too late is dropped and counts as lost; every other drop by a station fails
//!   the test whenever it happened);
//! * its latency (arrival time stamp − the frame's scheduled transmit time) is at most the
//!   accumulated latency the CNC reported over RESTCONF;
//! * every frame captured on a link (bridge → bridge and bridge → listener) was sent while
//!   a window of its class was open on that link, i.e. inside a scheduled transmission of
//!   the schedule on that link (on veth the receive time stamp is taken inside the
//!   sender's send call). Frames outside their *own* slot are counted and printed, not
//!   asserted: a software bridge receives a frame long before the arrival the model
//!   assumes (previous hop's end at 2.5 Mbit/s + 300 µs), so it may leave in an earlier
//!   window of its class on the same port — earlier, never later, than scheduled;
//! * no best-effort frame was sent inside a scheduled window;
//! * with the flood, the maximum latency is still within the reported bound, and each frame
//!   still inside its own window on the last hop — the flood can move a frame within its
//!   window, never out of it. The change of the maximum is printed.
//!
//! Then the cable b1–b2 is cut: the topology service publishes the ring without it,
//! preprocess holds it and queues the two streams that lost their route as a request of
//! its own, which is routed around the cut (when they do not fit around the 6 fixed
//! streams, preprocess falls back to a full reschedule of all 8), verified by tsn-check and
//! deployed (NETCONF
//! confirmed commit on the bridges, ApplySchedule on the stations); the time from the cut
//! to each step (topology held, deploy completed, the talkers' agents running the new
//! generation) is printed, never asserted. Traffic is not sent on the new routes: the
//! bridges' forwarding entries are given at start, not by the CNC (see `tsn_network`).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use tsn_bus::ConsumerOptions;
use tsn_itest::network::link_pairs;
use tsn_itest::tsn_network::{analyse, counter, StreamPlan, Timing, TsnNetwork};
use tsn_itest::{assert_ready, verified_solutions, Outcomes};
use tsn_model::Schedule;
use tsn_pipeline::v1;

/// Length of each traffic run.
const RUN: Duration = Duration::from_secs(26);
/// Best-effort frames per millisecond from every station in the flooded run: 300 B frames,
/// so 2.4 Mbit/s from each station, about the 2.5 Mbit/s the CNC schedules every link
/// with, and up to 4.8 Mbit/s on a ring link (two stations' floods). (2 per millisecond
/// saturated the two vCPUs: stations then released 5–20 % of their scheduled frames late.)
const FLOOD_PER_MS: u32 = 1;
/// Scheduled frames the two runs must carry together.
const MIN_FRAMES: u64 = 100_000;

fn schedule_of(job: &v1::SolvedJob) -> Schedule {
    tsn_pipeline::model::schedule_from_pb("e2e", job.schedule.as_ref().expect("schedule")).expect("schedule")
}

fn path_of(o: &v1::RequestOutcome, id: &str) -> String {
    o.streams.iter().find(|s| s.stream_id == id).map(|s| s.paths.join(" | ")).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fails on this 2-core VM. 2026-11-22, 2.5 Mbit/s declared links, 8 streams, two 26 s runs, 103k frames: every run had 1-4 frames per stream lost, and on 0-3 streams a frame a cycle late, outside the host stalls the watcher saw (170-720 stalls of up to 40 ms per run). They come on all streams at once: 3-22 ms after a stall ended (the emulated nodes catching up on two CPUs) or at times no stall explains (cause unknown). Stations no longer drop frames as late on arrival (SCHED_FIFO talkers, the shim attaches at setsockopt). The cut phase passes: rerouted (incrementally, or by the full reschedule fallback) and deployed 0.8-1.3 s after the cut, running on the talkers' agents 1.0-2.1 s after it. Run with --ignored (root, lldpd, sshd, RabbitMQ, PostgreSQL)"]
async fn a_tsn_network_on_one_machine_keeps_its_schedule_under_a_flood_and_follows_a_cut() {
    let began = Instant::now();
    let timing = Timing::default();
    let mut n = TsnNetwork::up(4, 2, timing, "").await;
    eprintln!("network up in {:.1} s", began.elapsed().as_secs_f64());
    let bus = n.cluster.bus().await;
    let mut outcomes = Outcomes::subscribe(&bus, "e2e.outcomes").await;
    let mut solved =
        bus.subscribe("e2e.solved", &[tsn_pipeline::SCHEDULE_SOLVED], ConsumerOptions::default()).await.unwrap();

    // 8 streams over RESTCONF, computed, verified and deployed.
    let plans = n.neighbour_streams();
    assert_eq!(plans.len(), 8);
    let ids: Vec<String> = plans.iter().map(|p| p.request.stream_id.clone()).collect();
    let request = n.submit(&plans).await;
    outcomes.wait_for(std::slice::from_ref(&request), Duration::from_secs(240)).await;
    let jobs = verified_solutions(&mut solved, 1, Duration::from_secs(30)).await;
    let o = outcomes.of(&request).clone();
    assert!(o.deployed, "not deployed: {}\n{}", o.detail, n.cluster.logs());
    assert_ready(&o, &ids);
    let schedule = schedule_of(&jobs[0]);
    let reported = n.reported(&plans, Duration::from_secs(30)).await;
    let version = o.admitted_state.as_ref().expect("admitted state").version;
    for s in &n.stations {
        let st = n.agent_state(s).await;
        assert_eq!(st.generation, version, "{} runs generation {} (want {version})", s.name, st.generation);
    }
    eprintln!(
        "{} streams deployed (admitted v{version}) {:.1} s after the start",
        plans.len(),
        began.elapsed().as_secs_f64()
    );

    // Two runs: quiet, then with the best-effort flood on the same links.
    let quiet = tokio::task::block_in_place(|| n.run_traffic(&plans, &reported, RUN, 0));
    let flooded = tokio::task::block_in_place(|| n.run_traffic(&plans, &reported, RUN, FLOOD_PER_MS));
    let (q, q_be, q_be_in) = analyse(&plans, &n.stations, Some(&schedule), n.epoch_ns, &quiet, &reported);
    let (f, f_be, f_be_in) = analyse(&plans, &n.stations, Some(&schedule), n.epoch_ns, &flooded, &reported);
    let stations = n.station_counters().await;

    println!("stream                     path                 period  bound(CNC)  max quiet  max flood  min  frames q/f  outside class window q/f (own slot q/f) of checked q/f");
    let mut failures = Vec::new();
    let mut total = 0;
    for (i, p) in plans.iter().enumerate() {
        let (a, b) = (&q[i], &f[i]);
        total += a.received + b.received;
        println!(
            "{:<26} {:<20} {:>4} ms {:>8} ns {:>8} ns {:>8} ns {:>6} {:>6}/{:<6} {}/{} ({}/{}) of {}/{}",
            p.request.stream_id,
            path_of(&o, &p.request.stream_id),
            p.request.period_ns / 1_000_000,
            reported[i].latency_ns,
            a.max_latency_ns,
            b.max_latency_ns,
            a.min_latency_ns.min(b.min_latency_ns),
            a.received,
            b.received,
            a.outside_window,
            b.outside_window,
            a.outside_own_slot,
            b.outside_own_slot,
            a.checked,
            b.checked
        );
        for (run, r) in [("quiet", a), ("flood", b)] {
            if r.over_bound + r.lost > 0 {
                println!(
                    "  {run}: {} frames over the bound ({} during a host stall), {} lost ({} during a host stall); max outside stalls {} ns; the worst, #{}, seen at {:?}",
                    r.over_bound, r.over_bound_in_stall, r.lost, r.lost_in_stall, r.max_latency_no_stall_ns, r.worst_k, r.worst_hops
                );
            }
            if !r.since_stall_ns.is_empty() {
                let mut gaps: Vec<String> = r
                    .since_stall_ns
                    .iter()
                    .map(|&g| if g == u64::MAX { "-".to_owned() } else { format!("{:.1}", g as f64 / 1e6) })
                    .collect();
                gaps.dedup();
                println!(
                    "  {run}: failures outside stalls came this long (ms) after the last stall: {}; {} of {} in flight during a gap of the FIFO-1 watcher",
                    gaps.join(" "),
                    r.in_busy_gap,
                    r.since_stall_ns.len()
                );
            }
            if r.lost > r.lost_in_stall {
                failures.push(format!(
                    "{} ({run}): {} of {} frames lost outside host stalls",
                    p.request.stream_id,
                    r.lost - r.lost_in_stall,
                    r.sent
                ));
            }
            if r.max_latency_no_stall_ns > reported[i].latency_ns as i64 {
                failures.push(format!(
                    "{} ({run}): max latency outside host stalls {} ns > the reported {} ns ({} frames over it outside stalls)",
                    p.request.stream_id, r.max_latency_no_stall_ns, reported[i].latency_ns, r.over_bound - r.over_bound_in_stall
                ));
            }
            if r.outside_window > 0 {
                println!(
                    "  {run}: {} captured frames sent while no window of their class was open ({} during a host stall)",
                    r.outside_window, r.outside_window_in_stall
                );
            }
            if r.outside_window > r.outside_window_in_stall {
                failures.push(format!(
                    "{} ({run}): {} of {} captured frames sent outside host stalls while no window of their class was open",
                    p.request.stream_id,
                    r.outside_window - r.outside_window_in_stall,
                    r.checked
                ));
            }
            if r.sent == 0 {
                failures.push(format!("{} ({run}): nothing sent", p.request.stream_id));
            }
        }
    }
    let rise = plans.iter().enumerate().map(|(i, _)| f[i].max_latency_ns - q[i].max_latency_ns).max().unwrap_or(0);
    println!(
        "scheduled frames received: {total} ({} quiet, {} flooded); best effort sent {} and captured {} on the watched links ({} quiet), inside a scheduled window: {} + {}",
        q.iter().map(|r| r.received).sum::<u64>(),
        f.iter().map(|r| r.received).sum::<u64>(),
        flooded.flood_sent,
        f_be,
        q_be,
        q_be_in,
        f_be_in
    );
    println!("largest rise of a stream's max latency under the flood: {rise} ns");
    for (run, t) in [("quiet", &quiet), ("flood", &flooded)] {
        let longest = t.stalls.iter().map(|&(_, a, b)| b - a).max().unwrap_or(0);
        println!(
            "host stalls in the {run} run (a SCHED_FIFO 90 watcher per CPU woke more than {} µs late): {}, longest {} µs",
            tsn_itest::tsn_network::STALL_NS / 1000,
            t.stalls.len(),
            longest / 1000
        );
        let busy_longest = t.busy.iter().map(|&(_, a, b)| b - a).max().unwrap_or(0);
        println!(
            "gaps of the SCHED_FIFO 1 watcher in the {run} run (CPU taken by real-time threads, or stalled): {}, longest {} µs",
            t.busy.len(),
            busy_longest / 1000
        );
        let lags: Vec<String> = t
            .talkers
            .iter()
            .map(|(name, r)| {
                format!(
                    "{name} {}/{} ms, {}",
                    r.max_lag_ns / 1_000_000,
                    r.max_lag_steady_ns / 1_000_000,
                    r.after_txtime
                )
            })
            .collect();
        println!(
            "talkers in the {run} run (longest hand-over delay / after the first second, frames handed over after their txtime): {}",
            lags.join(", ")
        );
    }
    for (name, st) in &stations {
        let t = st.total.unwrap_or_default();
        println!(
            "station {name}: submitted={} sent={} late={} held={} gate_overruns={} dropped={}",
            t.submitted,
            t.sent,
            t.late,
            t.held,
            t.gate_overruns,
            t.dropped()
        );
        // A frame the station released too late (its engine thread did not get a CPU in
        // time) is dropped and never arrives: the loss check above judges it, with the same
        // host-stall rule as every other frame. Any other drop is a datapath fault, and a
        // frame handed over after its transmit time a fault of the talker.
        if t.dropped() > 0 || t.late_on_arrival > 0 {
            failures.push(format!("station {name} dropped scheduled frames: {t:?}"));
        }
    }
    if q_be_in + f_be_in > 0 {
        failures.push(format!("{} best-effort frames inside scheduled windows", q_be_in + f_be_in));
    }
    if total < MIN_FRAMES {
        failures.push(format!("only {total} scheduled frames (want {MIN_FRAMES})"));
    }
    if f_be == 0 {
        failures.push("the flood never reached the watched links".into());
    }
    // The traffic verdict is given at the end: the cut below runs (and reports its times)
    // whatever the traffic showed.
    for f in &failures {
        println!("FAILED: {f}");
    }

    // Cut b1–b2.
    let v_full = n.cluster.db.preprocess_topology().map(|(v, _)| v).unwrap_or(0);
    let cut_at = Instant::now();
    n.net.tb.set_link_down("b1", "b2").expect("cut b1–b2");
    let without = n.net.expected();
    let deadline = Instant::now() + Duration::from_secs(90);
    let v_cut = loop {
        if let Some((v, t)) = n.cluster.db.preprocess_topology() {
            if v > v_full && t == without {
                break v;
            }
        }
        assert!(Instant::now() < deadline, "preprocess never held the ring without b1–b2\n{}", n.cluster.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let held = cut_at.elapsed();
    assert!(!link_pairs(&without).contains(&("b1".into(), "b2".into())));
    let bridges_of =
        |p: &StreamPlan| BTreeSet::from([n.stations[p.talker].bridge_index, n.stations[p.listener].bridge_index]);
    let affected: Vec<StreamPlan> = plans.iter().filter(|p| bridges_of(p) == BTreeSet::from([1, 2])).cloned().collect();
    assert_eq!(affected.len(), 2);
    let affected_ids: Vec<String> = affected.iter().map(|p| p.request.stream_id.clone()).collect();
    // preprocess queues the streams that lost their route as its own request.
    let deadline = Instant::now() + Duration::from_secs(30);
    let reroute = loop {
        let q = n
            .cluster
            .db
            .query("SELECT request_id FROM preprocess_requests WHERE request_id LIKE 'reroute-%' ORDER BY seq LIMIT 1");
        if let Ok(id) = q {
            if !id.is_empty() {
                break id;
            }
        }
        assert!(Instant::now() < deadline, "preprocess queued no reroute after the cut\n{}", n.cluster.logs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    outcomes.wait_for(std::slice::from_ref(&reroute), Duration::from_secs(120)).await;
    let first = outcomes.of(&reroute).clone();
    let ids_of = |o: &v1::RequestOutcome| o.streams.iter().map(|s| s.stream_id.clone()).collect::<BTreeSet<_>>();
    assert_eq!(
        ids_of(&first),
        affected_ids.iter().cloned().collect(),
        "the first reroute requests the affected streams"
    );
    // When they do not fit around the fixed streams, preprocess reschedules every stream.
    let reroute = if first.deployed {
        reroute
    } else {
        println!("{reroute} failed ({}): preprocess falls back to a full reschedule", first.detail);
        let all = format!("{reroute}-all");
        outcomes.wait_for(std::slice::from_ref(&all), Duration::from_secs(120)).await;
        all
    };
    let deployed = cut_at.elapsed();
    let o2 = outcomes.of(&reroute).clone();
    assert!(o2.deployed, "rerouted streams not deployed: {}\n{}", o2.detail, n.cluster.logs());
    verified_solutions(&mut solved, 1, Duration::from_secs(30)).await;
    let moved_set = ids_of(&o2);
    let moved: Vec<StreamPlan> = plans.iter().filter(|p| moved_set.contains(&p.request.stream_id)).cloned().collect();
    let moved_ids: Vec<String> = moved.iter().map(|p| p.request.stream_id.clone()).collect();
    assert_ready(&o2, &moved_ids);
    assert!(moved.len() == affected.len() || moved.len() == plans.len(), "the affected streams or all: {o2:?}");
    let v2 = o2.admitted_state.as_ref().expect("admitted state").version;
    for p in &affected {
        let path = path_of(&o2, &p.request.stream_id);
        assert!(
            !path.contains("b1,b2") && !path.contains("b2,b1"),
            "{} still crosses the cut: {path}",
            p.request.stream_id
        );
        println!("{} rerouted: {path}", p.request.stream_id);
    }
    // RESTCONF reports the new offset and latency of each stream the reroute moved.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = n.reported(&moved, Duration::from_secs(10)).await;
        let want: Vec<(u64, u64)> = moved
            .iter()
            .map(|p| {
                let s = o2.streams.iter().find(|s| s.stream_id == p.request.stream_id).expect("outcome");
                (s.time_aware_offset_ns, s.accumulated_latency_ns)
            })
            .collect();
        let got: Vec<(u64, u64)> = now.iter().map(|r| (r.offset_ns, r.latency_ns)).collect();
        if got == want {
            break;
        }
        assert!(Instant::now() < deadline, "RESTCONF shows {got:?} for the rerouted streams, the CNC {want:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let talkers: BTreeSet<usize> = moved.iter().map(|p| p.talker).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    for t in talkers {
        loop {
            let st = n.agent_state(&n.stations[t]).await;
            if st.generation == v2 {
                break;
            }
            assert!(Instant::now() < deadline, "{} still runs generation {}", n.stations[t].name, st.generation);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let active = cut_at.elapsed();
    println!(
        "cut b1–b2: preprocess held topology v{v_cut} after {:.2} s; the {} affected streams were rerouted ({reroute}, {} streams moved) and deployed (admitted v{v2}) {:.2} s after the cut; the talkers' agents ran it {:.2} s after the cut",
        held.as_secs_f64(),
        affected.len(),
        moved.len(),
        deployed.as_secs_f64(),
        active.as_secs_f64()
    );

    // The bridges' final counters (printed on SIGTERM; all classes together, best effort
    // included, so they are reported, not asserted: the scheduled frames are checked above).
    for (name, line) in n.stop_bridges() {
        println!("bridge {name}: {line}");
        assert!(counter(&line, "submitted") > 0, "bridge {name} forwarded nothing: {line:?}");
    }
    println!("test wall time {:.1} s", began.elapsed().as_secs_f64());
    outcomes.close().await;
    solved.close().await;
    assert!(failures.is_empty(), "{}\n(logs in {})", failures.join("\n"), n.cluster.dir.display());
}
