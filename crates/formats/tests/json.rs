//! JSON problem and schedule round trips.

mod common;

use tsn_formats::json::{read_problem, read_schedule, write_problem, write_schedule};
use tsn_formats::tsnkit::{read_instance, read_routes};
use tsn_formats::FileKind;
use tsn_model::{LinkId, Route, Schedule, StreamId, StreamSchedule, Transmission};

#[test]
fn problem_round_trips() {
    let mut p = read_instance(common::TASK, common::TOPO).unwrap();
    p.routes = read_routes(common::ROUTES, &p).unwrap();
    let text = write_problem(&p);
    assert!(text.ends_with('\n'));
    assert_eq!(read_problem(&text).unwrap(), p);
    // A BOM is tolerated.
    assert_eq!(read_problem(&format!("\u{feff}{text}")).unwrap(), p);
}

#[test]
fn invalid_problem_is_rejected_after_parsing() {
    let p = read_instance(common::TASK, common::TOPO).unwrap();
    let text = write_problem(&p).replace("\"period_ns\": 500000", "\"period_ns\": 0");
    let e = read_problem(&text).unwrap_err();
    assert_eq!(e.file, FileKind::JsonProblem);
    assert!(e.message.contains("period"), "{e}");
    let e = read_problem("{\"topology\": {\"nodes\": [], \"links\": []}}").unwrap_err();
    assert!(e.message.contains("streams"), "{e}");
    assert_eq!(e.line, Some(1));
}

#[test]
fn schedule_round_trips() {
    let l = LinkId::new("2", "0");
    let s = Schedule {
        version: 1,
        hyperperiod_ns: 1000,
        streams: vec![StreamSchedule {
            stream: StreamId::from("a"),
            route: Route { stream: StreamId::from("a"), paths: vec![vec![l.clone()]] },
            transmissions: vec![Transmission { link: l, instance: 0, frame: 0, start_ns: 5, end_ns: 10, queue: 1 }],
            talker_offset_ns: 5,
            worst_latency_ns: 5,
        }],
        gcls: vec![],
    };
    assert_eq!(read_schedule(&write_schedule(&s)).unwrap(), s);
    let e = read_schedule("{\"hyperperiod_ns\": -1}").unwrap_err();
    assert_eq!(e.file, FileKind::JsonSchedule);
    assert!(e.line.is_some() && e.column.is_some());
}
