//! tsnkit CSV reading and writing on small inline fixtures.

mod common;

use common::{ROUTES, TASK, TOPO};
use tsn_formats::tsnkit::{read_instance, read_routes, write_outputs};
use tsn_formats::FileKind;
use tsn_model::{
    GateControlEntry, GateControlList, LinkId, NodeId, NodeKind, Route, Schedule, StreamId, StreamSchedule,
    Transmission,
};

#[test]
fn reads_the_fixture() {
    let p = read_instance(TASK, TOPO).unwrap();
    assert_eq!(p.topology.nodes.len(), 5);
    let kind = |n: &str| p.topology.node(&NodeId::from(n)).unwrap().kind;
    assert_eq!(kind("0"), NodeKind::Bridge);
    assert_eq!(kind("1"), NodeKind::Bridge);
    for es in ["2", "3", "4"] {
        assert_eq!(kind(es), NodeKind::EndStation);
    }
    assert_eq!(p.config.wire_overhead_bytes, 0);
    assert_eq!(p.config.sync_error_ns, 0);
    let l = p.topology.link(&LinkId::new("1", "4")).unwrap();
    assert_eq!(l.rate_bps, 100_000_000);
    assert_eq!(l.processing_delay_ns, 1000);
    assert_eq!(l.propagation_delay_ns, 50);
    assert_eq!(l.scheduled_queues, 4);
    assert_eq!(l.gcl_max_entries, 1024);
    let l = p.topology.link(&LinkId::new("0", "1")).unwrap();
    assert_eq!(l.rate_bps, 1_000_000_000);
    assert_eq!(p.streams.len(), 3);
    let s = &p.streams[2];
    assert_eq!(s.id, StreamId::from("2"));
    assert_eq!(s.talker, NodeId::from("2"));
    assert_eq!(s.listeners, [NodeId::from("3"), NodeId::from("4")]);
    assert_eq!(s.max_frame_size, 500);
    assert_eq!(s.period_ns, 1_000_000);
    assert_eq!(s.max_latency_ns, 800_000);
    assert_eq!(s.max_jitter_ns, Some(1000));
    assert_eq!(s.earliest_offset_ns, 0);
    assert_eq!(s.frames_per_period, 1);
    assert_eq!(s.pcp, 7);
    assert!(p.routes.is_empty());
}

#[test]
fn tolerates_crlf_bom_whitespace_and_id_header() {
    let task = format!(
        "\u{feff}ID , Src,DST,size,period,deadline,jitter\r\n{}\r\n\r\n",
        " 0 , 2 , [3] , 200 , 500000.0 , 500000 , 500000 "
    );
    let topo = TOPO.replace('\n', "\r\n");
    let p = read_instance(&task, &topo).unwrap();
    assert_eq!(p.streams[0].period_ns, 500_000);
    assert_eq!(p.streams[0].id, StreamId::from("0"));
}

#[test]
fn routes_are_ordered_by_listener() {
    let p = read_instance(TASK, TOPO).unwrap();
    let routes = read_routes(ROUTES, &p).unwrap();
    assert_eq!(routes.len(), 2);
    assert_eq!(routes[0].stream, StreamId::from("0"));
    assert_eq!(routes[1].stream, StreamId::from("2"));
    assert_eq!(routes[1].paths[0].last().unwrap(), &LinkId::new("1", "3"));
    assert_eq!(routes[1].paths[1].last().unwrap(), &LinkId::new("1", "4"));
    let mut with_routes = p.clone();
    with_routes.routes = routes;
    with_routes.validate().unwrap();
}

fn task_err(task: &str) -> tsn_formats::FormatError {
    read_instance(task, TOPO).unwrap_err()
}

#[test]
fn task_errors_name_file_line_and_problem() {
    let h = "stream,src,dst,size,period,deadline,jitter\n";
    let cases: &[(&str, &str)] = &[
        ("0,2,[3],200,abc,500000,500000\n", "period"),
        ("0,2,[3],200,0,500000,500000\n", "period"),
        ("0,2,[3],200,500000,0,500000\n", "deadline"),
        ("0,2,[3],0,500000,500000,500000\n", "size"),
        ("0,2,[3],99999999999,500000,500000,500000\n", "size"),
        ("0,2,[9],200,500000,500000,500000\n", "not in the topology"),
        ("0,2,[],200,500000,500000,500000\n", "empty"),
        ("0,2,[2],200,500000,500000,500000\n", "talker"),
        ("0,2,\"[3, 3]\",200,500000,500000,500000\n", "twice"),
        ("0,2,[3],200,500000,500000\n", "fields"),
        ("0,2,[3],200,500000,500000,-1\n", "jitter"),
        ("0,2,[3],200,500000,500000,500000\n0,2,[3],200,500000,500000,500000\n", "twice"),
    ];
    for (rows, needle) in cases {
        let e = task_err(&format!("{h}{rows}"));
        assert_eq!(e.file, FileKind::TsnkitTask, "{rows}");
        assert!(e.line.is_some(), "{rows}: {e}");
        assert!(e.to_string().contains(needle), "{rows}: {e}");
    }
    let e = task_err("stream,src,size,period,deadline\n");
    assert!(e.to_string().contains("`dst`"), "{e}");
    assert_eq!(e.line, Some(1));
    let e = task_err("");
    assert!(e.to_string().contains("empty"), "{e}");
    // Hyperperiod overflow is caught by validation (no line).
    let e = task_err(&format!(
        "{h}0,2,[3],200,18446744073709551557,500000,500000\n1,2,[3],200,18446744073709551533,500000,500000\n"
    ));
    assert!(e.to_string().contains("LCM"), "{e}");
}

#[test]
fn topology_errors_name_line() {
    let h = "link,q_num,rate,t_proc,t_prop\n";
    let cases: &[(&str, &str, usize)] = &[
        ("\"(0, 1)\",8,1,2000,0\n\"(0, 1)\",8,1,2000,0\n", "twice", 3),
        ("\"(0, 0)\",8,1,2000,0\n", "itself", 2),
        ("\"(0, 1)\",0,1,2000,0\n", "q_num", 2),
        ("\"(0, 1)\",8,0.001,2000,0\n", "rate", 2),
        ("\"(0, 1)\",8,1001,2000,0\n", "rate", 2),
        ("\"(0, 1)\",8,1,2000.5,0\n", "t_proc", 2),
        ("\"(0, 1)\",8,1,2000,x\n", "t_prop", 2),
        ("(0, 1),8,1,2000,0\n", "fields", 2),
        ("\"(0; 1)\",8,1,2000,0\n", "link", 2),
        ("\"(0, 1)\",8,1,2000,0,5\n", "fields", 2),
        ("\"(0, 1),8,1,2000,0\n", "quote", 2),
    ];
    for (rows, needle, line) in cases {
        let e = read_instance(TASK, &format!("{h}{rows}")).unwrap_err();
        assert_eq!(e.file, FileKind::TsnkitTopo, "{rows}");
        assert_eq!(e.line, Some(*line), "{rows}: {e}");
        assert!(e.to_string().contains(needle), "{rows}: {e}");
    }
    let e = read_instance(TASK, h).unwrap_err();
    assert!(e.to_string().contains("no links"), "{e}");
}

#[test]
fn q_num_above_eight_is_clamped() {
    let topo = TOPO.replace(",8,1,", ",16,1,");
    let p = read_instance(TASK, &topo).unwrap();
    assert!(p.topology.links.iter().all(|l| l.scheduled_queues <= 8));
    assert_eq!(p.topology.link(&LinkId::new("0", "1")).unwrap().scheduled_queues, 8);
}

#[test]
fn route_errors() {
    let p = read_instance(TASK, TOPO).unwrap();
    let h = "stream,route\n";
    let cases: &[(&str, &str)] = &[
        ("9,\"[(2, 0), (0, 1), (1, 3)]\"\n", "not in the task file"),
        ("0,\"[(3, 1), (1, 0)]\"\n", "talker"),
        ("0,\"[(2, 0), (1, 3)]\"\n", "contiguous"),
        ("0,\"[(2, 0), (0, 3)]\"\n", "not in the topology"),
        ("0,\"[(2, 0), (0, 1)]\"\n", "not a listener"),
        ("0,\"[(2, 0), (0, 2)]\"\n", "twice"),
        ("0,\"[]\"\n", "empty"),
        ("0,\"[(2, 0), (0, 1), (1, 3)]\"\n0,\"[(2, 0), (0, 1), (1, 3)]\"\n", "second route"),
        ("2,\"[(2, 0), (0, 1), (1, 3)]\"\n", "no route to listener 4"),
    ];
    for (rows, needle) in cases {
        let e = read_routes(&format!("{h}{rows}"), &p).unwrap_err();
        assert_eq!(e.file, FileKind::TsnkitRoutes, "{rows}");
        assert!(e.line.is_some(), "{rows}: {e}");
        assert!(e.to_string().contains(needle), "{rows}: {e}");
    }
    assert!(read_routes("stream,path\n", &p).is_err());
    assert_eq!(read_routes("id,route\n", &p).unwrap(), Vec::<Route>::new());
}

#[test]
fn writes_gcl_offset_and_route_files() {
    let p = read_instance(TASK, TOPO).unwrap();
    let path = vec![LinkId::new("2", "0"), LinkId::new("0", "1"), LinkId::new("1", "3")];
    let tx = |link: &LinkId, instance, start| Transmission {
        link: link.clone(),
        instance,
        frame: 0,
        start_ns: start,
        end_ns: start + 1600,
        queue: 0,
    };
    let mut transmissions = Vec::new();
    for (k, l) in path.iter().enumerate() {
        for i in 0..2u32 {
            transmissions.push(tx(l, i, u64::from(i) * 500_000 + 10 + k as u64 * 4000));
        }
    }
    let schedule = Schedule {
        version: 1,
        hyperperiod_ns: 1_000_000,
        streams: vec![StreamSchedule {
            stream: StreamId::from("0"),
            route: Route { stream: StreamId::from("0"), paths: vec![path.clone()] },
            transmissions,
            talker_offset_ns: 10,
            worst_latency_ns: 9610,
        }],
        gcls: vec![GateControlList {
            port: LinkId::new("0", "1"),
            base_time_ns: 0,
            cycle_time_ns: 500_000,
            entries: vec![
                GateControlEntry { gate_states: 0b0111_1111, interval_ns: 4010 },
                GateControlEntry { gate_states: 0b1000_0000, interval_ns: 1000 },
                GateControlEntry { gate_states: 0b1100_0000, interval_ns: 600 },
                GateControlEntry { gate_states: 0b0111_1111, interval_ns: 494_390 },
            ],
        }],
    };
    let out = write_outputs(&p, &schedule);
    assert_eq!(out.gcl_csv, "link,queue,start,end,cycle\n\"(0, 1)\",0,4010,5610,500000\n");
    assert_eq!(out.offset_csv, "stream,frame,offset\n0,0,10\n0,1,500010\n");
    assert_eq!(out.route_csv, "stream,link\n0,\"(2, 0)\"\n0,\"(0, 1)\"\n0,\"(1, 3)\"\n");
}
