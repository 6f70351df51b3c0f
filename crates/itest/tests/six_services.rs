//! The six service binaries as separate processes on the real RabbitMQ (a namespace of this
//! test) and PostgreSQL (a database for the pipeline services, another for the gateway):
//! topology discovers an emulated network (namespaces, lldpd, sshd) over SSH and publishes
//! it; preprocess routes on what it received; two scheduler replicas solve; southbound
//! deploys with the dry-run configurator; node-agent runs `--dry-run`; uni-gateway takes
//! 20 streams over RESTCONF (curl) and reports them ready with offsets. Every schedule is
//! checked by tsn-check. Then a cable is cut: preprocess holds the new topology version
//! without it, reroutes the admitted streams that crossed it (or reschedules them all when
//! they do not fit around the others), and a new stream is routed around the cut.

use std::time::{Duration, Instant};

use tsn_bus::ConsumerOptions;
use tsn_itest::network::{self, link_pairs, Network};
use tsn_itest::restconf::{assert_stream_ready, stream_entry, Gateway};
use tsn_itest::{
    assert_admitted_once, assert_ready, bind_service_queues, free_port, verified_solutions, wait_healthy, Cluster,
    Outcomes, PgDatabase,
};
use tsn_model::Topology;
use tsn_pipeline::v1;

/// Stream `n` of the test set on `net`: talker station `n % 6`, its listener on another
/// bridge; periods 1/2/4 ms, 1–2 frames of 100–1000 B, latency bound of one period.
fn stream(net: &Network, n: usize) -> (v1::StreamRequest, String, String) {
    let s = &net.stations;
    let t = n % s.len();
    let l = (t + 2 + (n / s.len()) % 3) % s.len();
    assert_ne!(s[t].bridge, s[l].bridge);
    let period_ns = [1_000_000u64, 2_000_000, 4_000_000][n % 3];
    let req = v1::StreamRequest {
        stream_id: format!("{}:{n:02X}-00", s[t].mac),
        talker: Some(v1::EndStation { mac_address: s[t].mac.clone(), interface_name: s[t].interface.clone() }),
        listeners: vec![v1::EndStation { mac_address: s[l].mac.clone(), interface_name: s[l].interface.clone() }],
        period_ns,
        max_frames_per_period: 1 + (n % 2) as u32,
        max_frame_size: 100 + (n as u32 * 97) % 900,
        max_latency_ns: period_ns,
        frame: Some(v1::DataFrame {
            destination_mac: format!("01-00-5E-00-00-{n:02X}"),
            pcp: 7,
            vlan_id: 100,
            ..Default::default()
        }),
        ..Default::default()
    };
    (req, s[t].interface.clone(), s[l].interface.clone())
}

/// Waits until preprocess's table holds a topology equal to `want` at a version above
/// `above`; returns that version.
async fn preprocess_holds(c: &Cluster, want: &Topology, above: u64, limit: Duration, what: &str) -> u64 {
    let deadline = Instant::now() + limit;
    loop {
        let held = c.db.preprocess_topology();
        if let Some((v, t)) = &held {
            if *v > above && t == want {
                return *v;
            }
        }
        if Instant::now() > deadline {
            let got = held.map(|(v, t)| (v, link_pairs(&t)));
            panic!("{what}: preprocess holds {got:?}, want {:?} above v{above}\n{}", link_pairs(want), c.logs());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_service_processes_discover_admit_twenty_streams_and_follow_a_cut_cable() {
    // b0–b1–b2–b0, two stations on each bridge (known from the inventory, no LLDP).
    let net = network::ring(3, 2);
    let mut c = Cluster::new("six");
    c.static_topology = false;
    let gw_db = PgDatabase::create();
    let bus = c.bus().await;
    bind_service_queues(&bus).await;
    let mut outcomes = Outcomes::subscribe(&bus, "test.outcomes").await;
    let mut solved =
        bus.subscribe("test.solved", &[tsn_pipeline::SCHEDULE_SOLVED], ConsumerOptions::default()).await.unwrap();

    let inventory = net.inventory().display().to_string();
    let topo = c.start_with_args("topology", "topology", &["--config", &inventory], &[]);
    let pre = c.start("preprocess", "preprocess", &[]);
    let s1 = c.start("scheduler", "scheduler-1", &[]);
    let s2 = c.start("scheduler", "scheduler-2", &[]);
    let sb = c.start("southbound", "southbound", &[]);
    let agent = format!("127.0.0.1:{}", free_port());
    c.spawn(
        "node-agent",
        "node-agent",
        &["--dry-run", "--node", "e00", "--grpc-listen", "127.0.0.1:0", "--health-listen", &agent],
        &[],
    );
    for addr in [&topo, &pre, &s1, &s2, &sb, &agent] {
        assert!(wait_healthy(addr, Duration::from_secs(60)).await, "{addr} not healthy\n{}", c.logs());
    }
    let gw: Gateway = c.start_gateway("uni-gateway", &gw_db).await;

    // preprocess holds what the topology service discovered over SSH: the network as built.
    let full = net.expected();
    let v_full = preprocess_holds(&c, &full, 0, Duration::from_secs(90), "initial discovery").await;

    // 20 streams written over RESTCONF, computed in four requests of five.
    let streams: Vec<_> = (0..20).map(|n| stream(&net, n)).collect();
    let entries: Vec<_> = streams.iter().map(|(r, t, l)| stream_entry(r, t, l)).collect();
    gw.put_streams(&entries).await;
    let mut ids = Vec::new();
    let mut requested = Vec::new();
    for chunk in streams.chunks(5) {
        let sids: Vec<String> = chunk.iter().map(|(r, _, _)| r.stream_id.clone()).collect();
        ids.push(gw.compute(&sids).await);
        requested.push(sids);
    }
    outcomes.wait_for(&ids, Duration::from_secs(300)).await;
    let jobs = verified_solutions(&mut solved, 4, Duration::from_secs(30)).await;
    for (id, sids) in ids.iter().zip(&requested) {
        assert_ready(outcomes.of(id), sids);
        assert_admitted_once(outcomes.of(id));
        assert_eq!(outcomes.seen[id].len(), 1, "one outcome per request");
    }
    let last = ids.iter().filter_map(|id| outcomes.of(id).admitted_state.as_ref()).max_by_key(|s| s.version).unwrap();
    assert_eq!((last.version, last.streams.len()), (4, 20));
    let solvers: std::collections::BTreeSet<&str> = jobs.iter().map(|j| j.solver.as_str()).collect();
    eprintln!("solved by {solvers:?}");

    // Read back over RESTCONF: every stream configured, ready, with its offset and latency.
    for (r, _, _) in &streams {
        let s = gw.wait_status(&r.stream_id, Duration::from_secs(30)).await;
        let (offset, latency) = assert_stream_ready(&s);
        eprintln!("{}  offset {offset} ns  latency {latency} ns", r.stream_id);
    }
    assert!(wait_healthy(&agent, Duration::from_secs(5)).await, "the node agent is still up");

    // Cut b1–b2: the topology service publishes a new version without it, and preprocess
    // holds that version.
    net.tb.set_link_down("b1", "b2").expect("cut b1–b2");
    let cut_at = Instant::now();
    let without = net.expected();
    assert_eq!(without.links.len(), full.links.len() - 2);
    let v_cut = preprocess_holds(&c, &without, v_full, Duration::from_secs(60), "after the cut").await;
    let held = cut_at.elapsed();
    println!(
        "preprocess holds v{v_cut} without b1–b2 {:.2} s after the cut (was v{v_full}; lldpd tx-interval 1 s, discovery every 1 s)",
        held.as_secs_f64()
    );

    // The admitted streams that crossed b1–b2 lost their route: preprocess requests them
    // again under its own id, and when they do not fit around the others, every admitted
    // stream (a full reschedule); the result is verified and deployed like any other.
    let crosses = |path: &str| path.contains("b1,b2") || path.contains("b2,b1");
    let crossing: Vec<String> = ids
        .iter()
        .flat_map(|id| &outcomes.of(id).streams)
        .filter(|s| s.paths.iter().any(|p| crosses(p)))
        .map(|s| s.stream_id.clone())
        .collect();
    assert!(!crossing.is_empty(), "some admitted stream crossed b1–b2");
    // Discovery may see the two directions of the cable go in different polls, so there
    // may be one reroute per topology version: wait until deployed reroutes placed them all.
    let deadline = Instant::now() + Duration::from_secs(180);
    let deployed: Vec<String> = loop {
        let listed =
            c.db.query("SELECT request_id FROM preprocess_requests WHERE request_id LIKE 'reroute-%' ORDER BY seq")
                .unwrap_or_default();
        let rids: Vec<String> = listed.lines().map(str::to_owned).collect();
        if !rids.is_empty() {
            outcomes.wait_for(&rids, Duration::from_secs(120)).await;
            let deployed: Vec<String> = rids.into_iter().filter(|r| outcomes.of(r).deployed).collect();
            let placed: Vec<&str> =
                deployed.iter().flat_map(|r| &outcomes.of(r).streams).map(|s| s.stream_id.as_str()).collect();
            if crossing.iter().all(|id| placed.contains(&id.as_str())) {
                break deployed;
            }
        }
        assert!(Instant::now() < deadline, "the streams that crossed b1–b2 were not rerouted\n{}", c.logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let rerouted = cut_at.elapsed();
    verified_solutions(&mut solved, deployed.len(), Duration::from_secs(30)).await;
    let last = deployed.last().expect("a deployed reroute");
    for r in &deployed {
        let o = outcomes.of(r);
        assert_admitted_once(o);
        for s in &o.streams {
            assert_eq!(s.status, v1::StreamStatus::Ready as i32, "{r}: {} {}", s.stream_id, s.reason);
            assert!(!s.paths.iter().any(|p| crosses(p)), "{} still crosses the cut: {:?}", s.stream_id, s.paths);
        }
    }
    let admitted = outcomes.of(last).admitted_state.as_ref().map(|a| a.streams.len());
    assert_eq!(admitted, Some(20), "every stream is still admitted");
    println!(
        "{} streams crossed b1–b2; rerouted by {deployed:?} ({} streams moved), deployed {:.2} s after the cut",
        crossing.len(),
        deployed.iter().map(|r| outcomes.of(r).streams.len()).sum::<usize>(),
        rerouted.as_secs_f64()
    );
    for id in &crossing {
        assert_stream_ready(&gw.wait_status(id, Duration::from_secs(30)).await);
    }

    // A new stream from b1 to b2 is routed around the cut, through b0.
    let e10 = net.stations.iter().find(|s| s.name == "e10").unwrap();
    let e20 = net.stations.iter().find(|s| s.name == "e20").unwrap();
    let mut req = stream(&net, 0).0;
    req.stream_id = format!("{}:AA-00", e10.mac);
    req.talker = Some(v1::EndStation { mac_address: e10.mac.clone(), interface_name: e10.interface.clone() });
    req.listeners = vec![v1::EndStation { mac_address: e20.mac.clone(), interface_name: e20.interface.clone() }];
    gw.post_stream(&stream_entry(&req, &e10.interface, &e20.interface)).await;
    let around = gw.compute(std::slice::from_ref(&req.stream_id)).await;
    outcomes.wait_for(std::slice::from_ref(&around), Duration::from_secs(120)).await;
    verified_solutions(&mut solved, 1, Duration::from_secs(30)).await;
    let o = outcomes.of(&around);
    assert_ready(o, std::slice::from_ref(&req.stream_id));
    assert_admitted_once(o);
    let path = &o.streams.iter().find(|s| s.stream_id == req.stream_id).unwrap().paths[0];
    assert_eq!(path, "e10,b1,b0,b2,e20", "routed around the cut");
    assert_stream_ready(&gw.wait_status(&req.stream_id, Duration::from_secs(30)).await);

    // SIGTERM: every service stops cleanly.
    for p in &mut c.procs {
        p.terminate();
        let status = p.child.wait().unwrap();
        assert!(status.success(), "{} exited with {status}", p.name);
    }
    outcomes.close().await;
    solved.close().await;
    net.tb.teardown().expect("teardown");
}
