//! The pipeline benchmark: scheduling problems per second with 1 and 2 scheduler replica
//! processes on the real RabbitMQ. Independent problems (μTSN-CP paper workload, 25 streams,
//! seeded) go straight onto the `schedule.problem` work queue of a fresh namespace; the time
//! from the first send to the last `schedule.solved` is measured. Every schedule is checked
//! with tsn-check. Run: `cargo run -p tsn-itest --bin pipeline-bench [-- PROBLEMS]`.

use std::time::{Duration, Instant};

use tsn_bus::ConsumerOptions;
use tsn_itest::{verified_solutions, wait_healthy, Cluster};
use tsn_pipeline::{encode, model, v1};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(40);
    println!("{n} independent problems (paper workload, 25 streams each), heuristic-first Auto solver");
    println!("{:>9} {:>10} {:>12}", "replicas", "seconds", "problems/s");
    for replicas in [1usize, 2] {
        let mut c = Cluster::new("bench");
        let bus = c.bus().await;
        let mut solved =
            bus.subscribe("bench.solved", &[tsn_pipeline::SCHEDULE_SOLVED], ConsumerOptions::default()).await.unwrap();
        for r in 0..replicas {
            let addr = c.start(
                "scheduler",
                &format!("scheduler-{r}"),
                &[("TSN_SCHEDULER_OPS__LOG_LEVEL".into(), "warn".into())],
            );
            assert!(wait_healthy(&addr, Duration::from_secs(60)).await, "replica not healthy");
        }
        let started = Instant::now();
        for i in 0..n {
            let problem = tsn_workloads::paper_workload(25, 25_000 + i as u64);
            let job = v1::ScheduleJob {
                request: Some(v1::RequestContext { network: format!("bench-{i}"), ..Default::default() }),
                problem: Some(model::problem_to_pb(&problem)),
            };
            let m = encode(tsn_pipeline::SCHEDULE_PROBLEM, &format!("bench-{i}"), 0, &job);
            bus.send_work(tsn_pipeline::SCHEDULE_PROBLEM_QUEUE, &m).await.unwrap();
        }
        let jobs = verified_solutions(&mut solved, n, Duration::from_secs(600)).await;
        let secs = started.elapsed().as_secs_f64();
        let solvers: std::collections::BTreeSet<&str> = jobs.iter().map(|j| j.solver.as_str()).collect();
        println!("{replicas:>9} {secs:>10.2} {:>12.1}   ({} replica(s) answered)", n as f64 / secs, solvers.len());
        solved.close().await;
    }
}
