//! End to end on one node: the `node-agent` binary runs in a namespace, a gRPC client applies
//! a schedule (port GCL + stream with PCP), an unmodified Python SO_TXTIME sender runs under
//! `libktsn.so` next to it, and the frames arrive in the peer namespace tagged with the
//! scheduled PCP, inside the port's windows; GetState and WatchCounters account for them.

mod common;

use std::process::Command;
use std::time::Duration;

use common::Agent;

use node_agent::pb::node_agent_client::NodeAgentClient;
use node_agent::pb::{self, ApplyScheduleRequest};
use tokio_stream::StreamExt;
use tsn_datapath::bench::{default_python, find_shim, PY_TXTIME_TALKER};
use tsn_datapath::netns::{in_netns, unique_prefix, Capture, Netns};
use tsn_datapath::{sys, Clock, DatapathError, GateEntry, Gcl};

const CYCLE_NS: u64 = 1_000_000;
const FRAMES: usize = 200;

#[test]
fn grpc_schedule_drives_the_datapath() {
    assert!(tsn_datapath::netns::available(), "this test needs root and iproute2");
    let shim = find_shim(None).expect("libktsn.so (ktsn-shim is a dev-dependency, so cargo builds it)");
    let p = unique_prefix();
    let (na, nb) = (format!("{p}a"), format!("{p}b"));
    let ns = Netns::create(&[na.clone(), nb.clone()]).unwrap();
    let (a, b) = ns.veth((&na, &format!("{p}a0")), (&nb, &format!("{p}b0")), [10, 218, 1]).unwrap();
    let b_if = b.ifname.clone();
    let b_mac =
        in_netns(&nb, move || sys::if_addresses(&b_if).map_err(|e| DatapathError::Io("mac".into(), e))).unwrap().0;
    let dir = std::env::temp_dir().join(format!("node-agent-e2e-{p}"));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("agent.sock");

    let sock_arg = sock.display().to_string();
    let mut agent = Agent::start(
        &na,
        &[
            "--insecure",
            "--node",
            "e2e",
            "--grpc-listen",
            "127.0.0.1:0",
            "--health-listen",
            "127.0.0.1:0",
            "--realtime-priority",
            "50",
            "--shim-socket",
            &sock_arg,
        ],
        &dir.join("agent.stderr"),
    );
    let grpc = agent.wait_value("grpc", Duration::from_secs(60));

    // Class 6 open for the first 600 µs of each 1 ms cycle.
    let base = Clock::Tai.now_ns() / CYCLE_NS * CYCLE_NS;
    let entries = [(1u32 << 6, 600_000u64), (0x3f, 400_000)];
    let request = ApplyScheduleRequest {
        request_id: "e2e".into(),
        generation: 1,
        base_time_ns: base,
        ports: vec![pb::PortSchedule {
            port: a.ifname.clone(),
            link_id: "a->b".into(),
            rate_bps: 1_000_000_000,
            base_time_ns: 0,
            cycle_time_ns: CYCLE_NS,
            entries: entries.iter().map(|&(g, i)| pb::GateEntry { gate_states: g, interval_ns: i }).collect(),
        }],
        streams: vec![pb::StreamEntry {
            stream_id: "bench".into(),
            period_ns: CYCLE_NS,
            offset_ns: 0,
            max_frame_size: 64,
            pcp: 6,
            vlan_id: 0,
            destination: Some(pb::Destination {
                ip: b.ip.to_string(),
                udp_port: u32::from(tsn_datapath::bench::BENCH_PORT),
                mac: tsn_datapath::frame::format_mac(&b_mac),
            }),
            egress_port: a.ifname.clone(),
            source_udp_port: 0,
        }],
        topology_version: 1,
    };
    // The gRPC server listens on the namespace's loopback: the client runs in there too.
    let addr = format!("http://{grpc}");
    let applied = in_netns(&na, move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut c =
                NodeAgentClient::connect(addr).await.map_err(|e| DatapathError::Setup(format!("connect: {e}")))?;
            let r = c.apply_schedule(request).await.map_err(|e| DatapathError::Setup(format!("ApplySchedule: {e}")))?;
            Ok(r.into_inner())
        })
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", agent.diagnostics()));
    assert!(applied.changed);

    let capture = Capture::start(&nb, &b.ifname, vec![tsn_datapath::bench::BENCH_PORT]).unwrap();
    let script = dir.join("talker.py");
    std::fs::write(&script, PY_TXTIME_TALKER).unwrap();
    // Transmit times all over the cycle: those in the closed 400 µs are held to the next window.
    // Room for Python to start on a busy machine before the first transmit time.
    let start = Clock::Tai.now_ns() + 1_500_000_000;
    let out = Command::new("ip")
        .args(["netns", "exec", &na, "env"])
        .arg(format!("LD_PRELOAD={}", shim.display()))
        .arg(format!("KTSN_AGENT_SOCKET={}", sock.display()))
        .arg(default_python())
        .arg(&script)
        .args([b.ip.to_string(), tsn_datapath::bench::BENCH_PORT.to_string(), FRAMES.to_string()])
        .args([(CYCLE_NS + 333_333).to_string(), start.to_string(), "3000000".into(), "64".into(), "1".into()])
        .output()
        .unwrap();
    assert!(out.status.success(), "talker: {}\n{}", String::from_utf8_lossy(&out.stderr), agent.diagnostics());
    std::thread::sleep(Duration::from_millis(300));
    let frames = capture.finish().unwrap();

    let addr = format!("http://{grpc}");
    let (state, reports) = in_netns(&na, move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let e = |what: &str, e: &dyn std::fmt::Display| DatapathError::Setup(format!("{what}: {e}"));
            let mut c = NodeAgentClient::connect(addr).await.map_err(|x| e("connect", &x))?;
            let state = c.get_state(pb::GetStateRequest {}).await.map_err(|x| e("GetState", &x))?.into_inner();
            let mut w = c
                .watch_counters(pb::WatchCountersRequest { interval_ms: 10 })
                .await
                .map_err(|x| e("WatchCounters", &x))?
                .into_inner();
            let mut reports = Vec::new();
            for _ in 0..2 {
                match w.next().await {
                    Some(r) => reports.push(r.map_err(|x| e("counter report", &x))?),
                    None => return Err(DatapathError::Setup("counter stream ended".into())),
                }
            }
            Ok((state, reports))
        })
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", agent.diagnostics()));
    let _ = std::fs::remove_dir_all(&dir);
    drop(ns);

    let total = state.total.unwrap();
    assert_eq!(state.generation, 1);
    assert_eq!(total.submitted, FRAMES as u64, "{total:?}");
    assert_eq!(total.sent + total.late + total.dropped(), total.submitted);
    assert!(total.sent > 0 && total.held > 0, "{total:?}");
    assert_eq!(frames.len() as u64, total.sent);
    assert_eq!(reports.last().unwrap().total.as_ref().unwrap().submitted, FRAMES as u64);
    let gcl = Gcl::new(
        base,
        CYCLE_NS,
        entries.iter().map(|&(g, i)| GateEntry { gate_states: g as u8, interval_ns: i }).collect(),
    )
    .unwrap();
    let in_closed = frames.iter().filter(|r| !gcl.is_open(6, r.rx_tai_ns)).count() as u64;
    for r in &frames {
        assert_eq!(r.frame.eth.vlan.map(|v| v.pcp), Some(6), "the scheduled PCP");
        assert_eq!(r.frame.src_ip, a.ip);
    }
    assert!(in_closed <= total.gate_overruns, "{in_closed} frames in the closed window");
}
