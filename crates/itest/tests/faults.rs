//! Fault tests on the service processes, the real RabbitMQ and PostgreSQL. Each asserts that
//! no request is lost and no stream is admitted twice. They run one at a time (one mutex in
//! this binary) because one of them restarts RabbitMQ; cargo runs test binaries one after
//! the other, so no other RabbitMQ test runs meanwhile.

use std::time::Duration;

use tsn_bus::ConsumerOptions;
use tsn_itest::restconf::{assert_stream_ready, stream_entry};
use tsn_itest::{
    assert_admitted_once, assert_ready, bind_service_queues, stream_request, submit, verified_solutions, Cluster,
    Outcomes, PgDatabase,
};
use tsn_pipeline::{decode, v1};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn env(k: &str, v: &str) -> (String, String) {
    (k.to_owned(), v.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduler_killed_mid_solve_loses_nothing() {
    let _serial = SERIAL.lock().await;
    let mut c = Cluster::new("kill");
    let bus = c.bus().await;
    bind_service_queues(&bus).await;
    let mut outcomes = Outcomes::subscribe(&bus, "test.outcomes").await;
    let mut progress =
        bus.subscribe("test.progress", &[tsn_pipeline::SCHEDULE_PROGRESS], ConsumerOptions::default()).await.unwrap();
    let mut solved =
        bus.subscribe("test.solved", &[tsn_pipeline::SCHEDULE_SOLVED], ConsumerOptions::default()).await.unwrap();
    for (svc, name, extra) in [
        ("preprocess", "preprocess", vec![]),
        ("southbound", "southbound", vec![]),
        // A replica that takes every job and then "solves" for ten minutes.
        ("scheduler", "slow", vec![env("TSN_SCHEDULER_DEBUG_DELAY_MS", "600000")]),
    ] {
        c.start_healthy(svc, name, &extra).await;
    }
    let streams: Vec<_> = (0..5).map(stream_request).collect();
    let ids: Vec<String> = streams.iter().map(|s| s.stream_id.clone()).collect();
    let rid = submit(&bus, streams, vec![]).await;
    // Wait until the slow replica holds the job, then kill it (SIGKILL: no goodbye).
    let d = tokio::time::timeout(Duration::from_secs(60), progress.next()).await.expect("job taken").unwrap();
    let p: v1::SolveProgress = decode(tsn_pipeline::SCHEDULE_PROGRESS, d.message()).unwrap();
    assert_eq!((p.phase.as_str(), d.message().request_id.as_str()), ("received", rid.as_str()));
    d.ack().await.unwrap();
    c.proc("slow").kill();
    c.start_healthy("scheduler", "fast", &[]).await;
    outcomes.wait_for(std::slice::from_ref(&rid), Duration::from_secs(120)).await;
    let jobs = verified_solutions(&mut solved, 1, Duration::from_secs(30)).await;
    assert_ne!(jobs[0].solver, p.solver, "the surviving replica solved it");
    assert_ready(outcomes.of(&rid), &ids);
    assert_admitted_once(outcomes.of(&rid));
    assert_eq!(outcomes.seen[&rid].len(), 1);
    outcomes.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_is_dead_lettered_without_blocking_the_others() {
    let _serial = SERIAL.lock().await;
    let mut c = Cluster::new("poison");
    let bus = c.bus().await;
    bind_service_queues(&bus).await;
    let mut outcomes = Outcomes::subscribe(&bus, "test.outcomes").await;
    c.start_pipeline().await;
    let before = submit(&bus, vec![stream_request(0)], vec![]).await;
    let poison = tsn_itest::unique("poison-");
    let garbage = tsn_bus::Message::new(tsn_pipeline::COMPUTE_REQUESTED, &poison, 0, vec![0xff; 11]);
    bus.publish(tsn_pipeline::COMPUTE_REQUESTED, &garbage).await.unwrap();
    let poison_job = tsn_itest::unique("poison-job-");
    let garbage = tsn_bus::Message::new(tsn_pipeline::SCHEDULE_PROBLEM, &poison_job, 0, vec![0xfe; 13]);
    bus.send_work(tsn_pipeline::SCHEDULE_PROBLEM_QUEUE, &garbage).await.unwrap();
    let after = submit(&bus, vec![stream_request(1)], vec![]).await;
    outcomes
        .wait_for(&[before.clone(), poison.clone(), poison_job.clone(), after.clone()], Duration::from_secs(120))
        .await;
    for id in [&poison, &poison_job] {
        let o = outcomes.of(id);
        assert!(!o.deployed && o.detail.contains("dead-lettered"), "{o:?}");
    }
    assert_ready(outcomes.of(&before), &[stream_request(0).stream_id]);
    assert_ready(outcomes.of(&after), &[stream_request(1).stream_id]);
    let state = outcomes.of(&after).admitted_state.as_ref().unwrap();
    assert_eq!((state.version, state.streams.len()), (2, 2));
    assert_admitted_once(outcomes.of(&after));
    outcomes.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_right_after_acknowledging_a_submission_loses_nothing() {
    let _serial = SERIAL.lock().await;
    let mut c = Cluster::new("gwkill");
    let gw_db = PgDatabase::create();
    let bus = c.bus().await;
    bind_service_queues(&bus).await;
    let mut outcomes = Outcomes::subscribe(&bus, "test.outcomes").await;
    // Every compute request the gateway publishes, to count them.
    let mut published =
        bus.subscribe("test.requested", &[tsn_pipeline::COMPUTE_REQUESTED], ConsumerOptions::default()).await.unwrap();
    // No preprocess yet: no outcome can exist before the gateway is killed.
    c.start_healthy("southbound", "southbound", &[]).await;
    c.start_healthy("scheduler", "scheduler", &[]).await;
    let gw = c.start_gateway("uni-gateway", &gw_db).await;
    let all: Vec<_> = (0..10).map(stream_request).collect();
    let entries: Vec<_> = all.iter().map(|r| stream_entry(r, "eth0", "eth0")).collect();
    gw.put_streams(&entries).await;
    let first: Vec<String> = all[..5].iter().map(|r| r.stream_id.clone()).collect();
    let rid = gw.compute(&first).await;
    // Acknowledged (200 with the request id): SIGKILL at once, no goodbye.
    c.proc("uni-gateway").kill();
    let unpublished = gw_db.query("SELECT COUNT(*) FROM outbox WHERE published_ms IS NULL").unwrap();
    eprintln!("killed after the 200; outbox rows not marked published: {unpublished}");

    // The rest of the pipeline comes up, and the gateway restarts on its database.
    c.start_healthy("preprocess", "preprocess", &[]).await;
    let gw = c.start_gateway("uni-gateway-2", &gw_db).await;
    outcomes.wait_for(std::slice::from_ref(&rid), Duration::from_secs(120)).await;
    assert_ready(outcomes.of(&rid), &first);
    assert_admitted_once(outcomes.of(&rid));
    for id in &first {
        assert_stream_ready(&gw.wait_status(id, Duration::from_secs(30)).await);
    }

    // The restarted gateway takes new work; everything is admitted exactly once.
    let second: Vec<String> = all[5..].iter().map(|r| r.stream_id.clone()).collect();
    let rid2 = gw.compute(&second).await;
    outcomes.wait_for(std::slice::from_ref(&rid2), Duration::from_secs(120)).await;
    assert_ready(outcomes.of(&rid2), &second);
    assert_admitted_once(outcomes.of(&rid2));
    let state = outcomes.of(&rid2).admitted_state.as_ref().unwrap();
    assert_eq!((state.version, state.streams.len()), (2, 10), "every stream admitted exactly once");
    for id in &second {
        assert_stream_ready(&gw.wait_status(id, Duration::from_secs(30)).await);
    }
    assert!(outcomes.seen.values().all(|v| v.len() == 1), "one outcome per request: {:?}", outcomes.seen.keys());
    let mut times = std::collections::BTreeMap::<String, usize>::new();
    while let Ok(Ok(d)) = tokio::time::timeout(Duration::from_secs(2), published.next()).await {
        *times.entry(d.message().request_id.clone()).or_default() += 1;
        d.ack().await.unwrap();
    }
    eprintln!("compute.requested publications per request: {times:?}");
    assert!(times.get(&rid).is_some_and(|n| *n >= 1) && times.get(&rid2) == Some(&1), "{times:?}");
    published.close().await;
    outcomes.close().await;
}

fn rabbitmqctl(args: &[&str]) -> bool {
    std::process::Command::new("rabbitmqctl").args(args).status().is_ok_and(|s| s.success())
}

/// Brings RabbitMQ back whatever happens to the test.
struct StartAppOnDrop;

impl Drop for StartAppOnDrop {
    fn drop(&mut self) {
        for _ in 0..5 {
            if rabbitmqctl(&["start_app"]) {
                return;
            }
            std::thread::sleep(Duration::from_secs(2));
        }
        eprintln!("could not restart RabbitMQ: run `rabbitmqctl start_app`");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbitmq_restarted_mid_run_the_run_completes() {
    let _serial = SERIAL.lock().await;
    let mut c = Cluster::new("restart");
    let bus = c.bus().await;
    bind_service_queues(&bus).await;
    let mut outcomes = Outcomes::subscribe(&bus, "test.outcomes").await;
    c.start_pipeline().await;
    let mut ids = Vec::new();
    for chunk in 0..4 {
        ids.push(submit(&bus, (chunk * 3..chunk * 3 + 3).map(stream_request).collect(), vec![]).await);
    }
    outcomes.wait_for(&ids[..1], Duration::from_secs(120)).await;
    {
        let _restart = StartAppOnDrop;
        assert!(rabbitmqctl(&["stop_app"]), "rabbitmqctl stop_app");
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    outcomes.wait_for(&ids, Duration::from_secs(180)).await;
    for (i, id) in ids.iter().enumerate() {
        let want: Vec<String> = (i * 3..i * 3 + 3).map(|n| stream_request(n).stream_id).collect();
        assert_ready(outcomes.of(id), &want);
        assert_admitted_once(outcomes.of(id));
    }
    let last = outcomes.of(&ids[3]).admitted_state.as_ref().unwrap();
    assert_eq!((last.version, last.streams.len()), (4, 12), "every request admitted exactly once");
    outcomes.close().await;
}
