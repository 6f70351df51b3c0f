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
