//! The pipeline (preprocess, two scheduler replicas, southbound) in one process on the
//! in-memory bus and SQLite files: compute requests published as the gateway would,
//! outcomes collected as the gateway would. Every deployed schedule is re-verified here.

use std::sync::Arc;
use std::time::Duration;

use tsn_bus::{Bus, ConsumerOptions, MemoryBus};
use tsn_itest::{assert_admitted_once, assert_ready, demo_topology, station, stream_request, unique, Outcomes};
use tsn_pipeline::{decode, encode, model, v1};
use tsn_service::{BusSettings, CancellationToken, CommonSettings};

struct Pipeline {
    bus: Arc<dyn Bus>,
    memory: MemoryBus,
    shutdown: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
    configurator: Arc<southbound::InMemoryConfigurator>,
    dir: std::path::PathBuf,
}

impl Pipeline {
    async fn start(replicas: usize) -> Pipeline {
        let dir = std::env::temp_dir().join(unique("tsn-itest-inproc-"));
        std::fs::create_dir_all(&dir).unwrap();
        let topo_file = dir.join("topology.json");
        std::fs::write(&topo_file, serde_json::to_string(&demo_topology()).unwrap()).unwrap();
        let memory = MemoryBus::new();
        let bus: Arc<dyn Bus> = Arc::new(memory.clone());
        let shutdown = CancellationToken::new();
        let db = |name: &str| format!("sqlite://{}?mode=rwc", dir.join(format!("{name}.db")).display());
        // Bind the services' queues first, so that nothing published from now on is dropped.
        bus.subscribe(preprocess::EVENTS_QUEUE, preprocess::EVENT_PATTERNS, ConsumerOptions::default())
            .await
            .unwrap()
            .close()
            .await;
        bus.subscribe(southbound::SOLVED_QUEUE, &[tsn_pipeline::SCHEDULE_SOLVED], ConsumerOptions::default())
            .await
            .unwrap()
            .close()
            .await;
        let mut tasks = Vec::new();
        let pre = preprocess::PreprocessConfig {
            bus: BusSettings::default(),
            ops: CommonSettings::default(),
            database_url: db("preprocess"),
            topology_file: Some(topo_file),
            ..Default::default()
        };
        tasks.push(tokio::spawn(preprocess::run(pre, bus.clone(), shutdown.clone())));
        for _ in 0..replicas {
            let cfg = scheduler::SchedulerConfig { time_limit_secs: 20.0, ..Default::default() };
            tasks.push(tokio::spawn(scheduler::run(cfg, bus.clone(), shutdown.clone())));
        }
        let configurator = Arc::new(southbound::InMemoryConfigurator::new());
        let sb = southbound::SouthboundConfig { database_url: db("southbound"), ..Default::default() };
        tasks.push(tokio::spawn(southbound::run_with(sb, bus.clone(), configurator.clone(), shutdown.clone())));
        Pipeline { bus, memory, shutdown, tasks, configurator, dir }
    }

    async fn request(&self, request: &v1::ComputeRequest) -> String {
        let id = unique("req-");
        self.bus
            .publish(tsn_pipeline::COMPUTE_REQUESTED, &encode(tsn_pipeline::COMPUTE_REQUESTED, &id, 0, request))
            .await
            .unwrap();
        id
    }

    async fn stop(self) {
        self.shutdown.cancel();
        for t in self.tasks {
            t.await.unwrap().unwrap();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = self.memory;
    }
}

/// Every `schedule.solved` must pass tsn-check against its own problem.
async fn verify_solved(sub: &mut tsn_bus::Subscription, n: usize) -> Vec<v1::SolvedJob> {
    let mut out = Vec::new();
    while out.len() < n {
        let d = tokio::time::timeout(Duration::from_secs(60), sub.next()).await.expect("solved in time").unwrap();
        let solved: v1::SolvedJob = decode(tsn_pipeline::SCHEDULE_SOLVED, d.message()).unwrap();
        let problem = model::problem_from_pb("t", solved.job.as_ref().unwrap().problem.as_ref().unwrap()).unwrap();
        let schedule = model::schedule_from_pb("t", solved.schedule.as_ref().unwrap()).unwrap();
        let verdict = tsn_check::verify(&problem, &schedule);
        assert!(verdict.is_ok(), "{verdict}");
        d.ack().await.unwrap();
        out.push(solved);
    }
    out
}

fn request(streams: Vec<v1::StreamRequest>, remove: Vec<String>) -> v1::ComputeRequest {
    v1::ComputeRequest { domain_id: "d".into(), cuc_id: "cuc".into(), streams, remove }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_streams_incrementally_admitted_then_removed() {
    let p = Pipeline::start(2).await;
    let mut outcomes = Outcomes::subscribe(&p.bus, "test.outcomes").await;
    let mut solved =
        p.bus.subscribe("test.solved", &[tsn_pipeline::SCHEDULE_SOLVED], ConsumerOptions::default()).await.unwrap();

    let first: Vec<v1::StreamRequest> = (0..10).map(stream_request).collect();
    let mut second: Vec<v1::StreamRequest> = (10..20).map(stream_request).collect();
    // One stream of the second request names a talker the topology does not have.
    second[3].talker = Some(v1::EndStation { mac_address: "0A-0B-0C-0D-0E-0F".into(), interface_name: "ghost".into() });
    let ghost = second[3].stream_id.clone();
    let r1 = p.request(&request(first.clone(), vec![])).await;
    let r2 = p.request(&request(second.clone(), vec![])).await;
    let removed = first[0].stream_id.clone();
    let r3 = p.request(&request(vec![], vec![removed.clone()])).await;
    outcomes.wait_for(&[r1.clone(), r2.clone(), r3.clone()], Duration::from_secs(120)).await;
    let jobs = verify_solved(&mut solved, 3).await;

    let ids = |v: &[v1::StreamRequest]| v.iter().map(|s| s.stream_id.clone()).collect::<Vec<_>>();
    assert_ready(p_outcome(&outcomes, &r1), &ids(&first));
    let o2 = p_outcome(&outcomes, &r2);
    let ok2: Vec<String> = ids(&second).into_iter().filter(|id| id != &ghost).collect();
    assert_ready(o2, &ok2);
    let g = o2.streams.iter().find(|s| s.stream_id == ghost).unwrap();
    assert_eq!((g.status, g.failure_code), (v1::StreamStatus::Failed as i32, 8));
    assert_eq!(g.failed_interfaces[0].interface_name, "ghost");
    let o3 = p_outcome(&outcomes, &r3);
    assert!(o3.deployed);
    assert_eq!(o3.streams[0].status, v1::StreamStatus::Removed as i32);

    // One request in flight at a time: each problem was built on the previous deploy.
    let versions: Vec<u64> =
        jobs.iter().map(|j| j.job.as_ref().unwrap().request.as_ref().unwrap().admitted_version).collect();
    assert_eq!(versions, [0, 1, 2]);
    let fixed: Vec<usize> =
        jobs.iter().map(|j| j.job.as_ref().unwrap().problem.as_ref().unwrap().admitted.len()).collect();
    assert_eq!(fixed, [0, 10, 18], "admitted streams are carried as fixed");
    // Admitted streams keep their offsets across requests.
    let before = model::schedule_from_pb("t", jobs[0].schedule.as_ref().unwrap()).unwrap();
    let after = model::schedule_from_pb("t", jobs[1].schedule.as_ref().unwrap()).unwrap();
    for s in &before.streams {
        assert_eq!(after.stream(&s.stream).unwrap().talker_offset_ns, s.talker_offset_ns);
    }
    for o in [p_outcome(&outcomes, &r1), o2, o3] {
        assert_admitted_once(o);
    }
    let state = o3.admitted_state.as_ref().unwrap();
    assert_eq!(state.version, 3);
    assert_eq!(state.streams.len(), 18);
    assert!(state.streams.iter().all(|s| s.id != removed));
    // Southbound configured the talker of every admitted stream.
    let running = p.configurator.all();
    let talkers: usize = running.values().map(|c| c.talker_streams.len()).sum();
    assert_eq!(talkers, 18);
    assert!(running.values().all(|c| c.version == 3));
    assert!(outcomes.seen.values().all(|v| v.len() == 1), "one outcome per request");
    outcomes.close().await;
    p.stop().await;
}

fn p_outcome<'a>(o: &'a Outcomes, id: &str) -> &'a v1::RequestOutcome {
    o.of(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicates_poison_and_failed_deploys_lose_nothing() {
    let p = Pipeline::start(1).await;
    let mut outcomes = Outcomes::subscribe(&p.bus, "test.outcomes").await;

    // The same compute request delivered twice is computed once.
    let req = request(vec![stream_request(0)], vec![]);
    let id = unique("dup-");
    let m = encode(tsn_pipeline::COMPUTE_REQUESTED, &id, 0, &req);
    p.bus.publish(tsn_pipeline::COMPUTE_REQUESTED, &m).await.unwrap();
    p.bus.publish(tsn_pipeline::COMPUTE_REQUESTED, &m).await.unwrap();
    // A poison compute request (not a ComputeRequest body) and a poison work item.
    let poison = unique("poison-");
    p.bus
        .publish(
            tsn_pipeline::COMPUTE_REQUESTED,
            &tsn_bus::Message::new(tsn_pipeline::COMPUTE_REQUESTED, &poison, 0, vec![0xff; 7]),
        )
        .await
        .unwrap();
    let poison_job = unique("poison-job-");
    p.bus
        .send_work(
            tsn_pipeline::SCHEDULE_PROBLEM_QUEUE,
            &tsn_bus::Message::new(tsn_pipeline::SCHEDULE_PROBLEM, &poison_job, 0, vec![0xff; 9]),
        )
        .await
        .unwrap();
    // A request whose deploy fails: nothing changes in the admitted state.
    let after = request(vec![stream_request(1)], vec![]);
    let r_ok = p.request(&after).await;
    outcomes.wait_for(&[id.clone(), poison.clone(), poison_job.clone(), r_ok.clone()], Duration::from_secs(120)).await;
    assert_ready(outcomes.of(&id), &[stream_request(0).stream_id]);
    assert!(outcomes.of(&poison).detail.contains("dead-lettered"), "{}", outcomes.of(&poison).detail);
    assert!(outcomes.of(&poison_job).detail.contains("dead-lettered"), "{}", outcomes.of(&poison_job).detail);
    assert_ready(outcomes.of(&r_ok), &[stream_request(1).stream_id]);
    assert_eq!(outcomes.of(&r_ok).admitted_state.as_ref().unwrap().version, 2);

    p.configurator.set_failing("br1", true);
    let r_fail = p.request(&request(vec![stream_request(2), stream_request(5)], vec![])).await;
    outcomes.wait_for(std::slice::from_ref(&r_fail), Duration::from_secs(60)).await;
    let o = outcomes.of(&r_fail);
    assert!(!o.deployed);
    assert!(o.streams.iter().all(|s| s.status == v1::StreamStatus::Failed as i32 && s.failure_code == 2), "{o:?}");
    assert!(o.detail.contains("br1"), "{}", o.detail);
    p.configurator.set_failing("br1", false);
    // The failed deploy left version 2 in place: the next request builds on it.
    let r_next = p.request(&request(vec![stream_request(2)], vec![])).await;
    outcomes.wait_for(std::slice::from_ref(&r_next), Duration::from_secs(60)).await;
    let o = outcomes.of(&r_next);
    assert_ready(o, &[stream_request(2).stream_id]);
    assert_eq!(o.admitted_state.as_ref().unwrap().version, 3);
    assert_eq!(o.admitted_state.as_ref().unwrap().streams.len(), 3);
    assert!(outcomes.seen.values().all(|v| v.len() == 1), "one outcome per request: {:?}", outcomes.seen.keys());
    let _ = station(0, 0);
    outcomes.close().await;
    p.stop().await;
}

/// A stream of the demo topology (1 Gbit/s ring br0–br1–br2–br3, 2 µs bridge delay) with
/// 958 B frames (8 µs on the wire) every millisecond.
fn ring_stream(id: &str, talker: (usize, usize), listener: (usize, usize)) -> v1::StreamRequest {
    v1::StreamRequest {
        stream_id: id.into(),
        talker: Some(station(talker.0, talker.1)),
        listeners: vec![station(listener.0, listener.1)],
        period_ns: 1_000_000,
        max_frames_per_period: 1,
        max_frame_size: 958,
        max_latency_ns: 1_000_000,
        frame: Some(v1::DataFrame { destination_mac: "01-00-5E-00-00-AA".into(), pcp: 7, ..Default::default() }),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reroute_that_does_not_fit_around_the_fixed_streams_becomes_a_full_reschedule() {
    let p = Pipeline::start(1).await;
    let mut outcomes = Outcomes::subscribe(&p.bus, "test.outcomes").await;
    let mut solved =
        p.bus.subscribe("test.solved", &[tsn_pipeline::SCHEDULE_SOLVED], ConsumerOptions::default()).await.unwrap();

    // b: es0-1 → es3-0 over br0 → br3, admitted first, free to move within its period.
    let b = ring_stream("b", (0, 1), (3, 0));
    let rb = p.request(&request(vec![b], vec![])).await;
    outcomes.wait_for(std::slice::from_ref(&rb), Duration::from_secs(60)).await;
    assert_ready(p_outcome(&outcomes, &rb), &["b".to_owned()]);
    // a: es0-0 → es1-0, sent at offset 0 exactly, with 2 µs of slack over the least latency
    // of the long way round (5 links of 8.05 µs, 4 bridges of 2 µs: 48.25 µs).
    let mut a = ring_stream("a", (0, 0), (1, 0));
    a.latest_transmit_offset_ns = Some(0);
    a.max_latency_ns = 50_250;
    let ra = p.request(&request(vec![a], vec![])).await;
    outcomes.wait_for(std::slice::from_ref(&ra), Duration::from_secs(60)).await;
    assert_ready(p_outcome(&outcomes, &ra), &["a".to_owned()]);
    let first = verify_solved(&mut solved, 2).await;
    let b_before = model::schedule_from_pb("t", first[0].schedule.as_ref().unwrap()).unwrap();
    let b_id = tsn_model::StreamId("b".into());
    let b_offset = b_before.stream(&b_id).unwrap().talker_offset_ns;

    // Cut br0–br1: a must go br0 → br3 → br2 → br1 and leave br0 the moment it arrives
    // there, which is where b's admitted frame is when b is sent at offset 0 (both frames
    // reach br0 at 8.05 µs); b has to move, so the reroute of a alone cannot be scheduled.
    let mut cut = demo_topology();
    cut.links.retain(|l| !matches!((l.from.0.as_str(), l.to.0.as_str()), ("br0", "br1") | ("br1", "br0")));
    let snapshot = tsn_pipeline::topology::to_pb(2, &cut, &[]);
    let m = encode(tsn_pipeline::TOPOLOGY_CHANGED, "topology-2", 2, &snapshot);
    p.bus.publish(tsn_pipeline::TOPOLOGY_CHANGED, &m).await.unwrap();
    let (lost, all) = ("reroute-default-t2".to_owned(), "reroute-default-t2-all".to_owned());
    outcomes.wait_for(&[lost.clone(), all.clone()], Duration::from_secs(60)).await;
    assert_eq!(b_offset, 0, "b was admitted at offset 0, in a's way");
    let o = p_outcome(&outcomes, &lost);
    assert!(!o.deployed, "a alone does not fit around b: {o:?}");
    let failed: Vec<&str> = o.streams.iter().map(|s| s.stream_id.as_str()).collect();
    assert_eq!(failed, ["a"], "only the stream that lost its route was requested");
    // The full reschedule moves b and routes a the long way round.
    let o = p_outcome(&outcomes, &all);
    assert_ready(o, &["a".to_owned(), "b".to_owned()]);
    assert_admitted_once(o);
    let path = |id: &str| o.streams.iter().find(|s| s.stream_id == id).unwrap().paths[0].clone();
    assert_eq!(path("a"), "es0-0,br0,br3,br2,br1,es1-0");
    let last = verify_solved(&mut solved, 1).await;
    let job = last[0].job.as_ref().unwrap();
    assert!(job.problem.as_ref().unwrap().admitted.is_empty(), "nothing was fixed in the full reschedule");
    let after = model::schedule_from_pb("t", last[0].schedule.as_ref().unwrap()).unwrap();
    assert_ne!(after.stream(&b_id), b_before.stream(&b_id), "b's transmissions moved out of a's way");
    let running = p.configurator.all();
    assert!(running.values().all(|c| c.version == 3), "the full reschedule is deployed everywhere");
    assert!(outcomes.seen.values().all(|v| v.len() == 1), "one outcome per request");
    outcomes.close().await;
    solved.close().await;
    p.stop().await;
}
