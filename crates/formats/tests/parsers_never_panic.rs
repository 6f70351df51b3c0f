//! Property tests: every parser returns `Ok` or `Err` — never panics — on arbitrary text and
//! on byte-level mutations of valid files. (The cargo-fuzz targets in `/fuzz` do the same
//! with coverage guidance on nightly.)

mod common;

use proptest::prelude::*;
use tsn_formats::json::{read_problem, read_schedule, write_problem};
use tsn_formats::tsnkit::{read_instance, read_routes, write_outputs};

#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, u8),
    Delete(usize),
    Replace(usize, u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    // Bytes biased towards the syntax of the formats.
    let byte = prop_oneof![
        4 => prop::sample::select(b"0123456789,\"[]()\n\r .-e{}:".to_vec()),
        1 => any::<u8>(),
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), byte).prop_map(|(i, b)| Edit::Replace(i, b)),
    ]
}

fn mutate(base: &str, edits: &[Edit]) -> String {
    let mut b = base.as_bytes().to_vec();
    for e in edits {
        let n = b.len();
        match *e {
            Edit::Insert(i, x) => b.insert(i % (n + 1), x),
            Edit::Delete(i) if n > 0 => {
                b.remove(i % n);
            }
            Edit::Replace(i, x) if n > 0 => b[i % n] = x,
            _ => {}
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn exercise_all(task: &str, topo: &str, routes: &str) {
    if let Ok(p) = read_instance(task, topo) {
        if let Ok(r) = read_routes(routes, &p) {
            let mut p = p;
            p.routes = r;
            let again = read_problem(&write_problem(&p)).expect("a read problem re-reads");
            assert_eq!(again, p);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text(s in ".*", t in "(?s).{0,200}") {
        let _ = read_instance(&s, common::TOPO);
        let _ = read_instance(common::TASK, &s);
        let _ = read_instance(&s, &t);
        if let Ok(p) = read_instance(common::TASK, common::TOPO) {
            let _ = read_routes(&s, &p);
        }
        let _ = read_problem(&s);
        let _ = read_schedule(&s);
    }

    #[test]
    fn mutated_task(edits in prop::collection::vec(edit(), 1..8)) {
        exercise_all(&mutate(common::TASK, &edits), common::TOPO, common::ROUTES);
    }

    #[test]
    fn mutated_topo(edits in prop::collection::vec(edit(), 1..8)) {
        exercise_all(common::TASK, &mutate(common::TOPO, &edits), common::ROUTES);
    }

    #[test]
    fn mutated_routes(edits in prop::collection::vec(edit(), 1..8)) {
        exercise_all(common::TASK, common::TOPO, &mutate(common::ROUTES, &edits));
    }

    #[test]
    fn mutated_json(edits in prop::collection::vec(edit(), 1..8)) {
        let mut p = read_instance(common::TASK, common::TOPO).unwrap();
        p.routes = read_routes(common::ROUTES, &p).unwrap();
        let text = write_problem(&p);
        let m = mutate(&text, &edits);
        if let Ok(q) = read_problem(&m) {
            // Whatever parses and validates can be written out in tsnkit style without panic.
            let _ = write_outputs(&q, &tsn_model::Schedule {
                version: 1, hyperperiod_ns: 1, streams: vec![], gcls: vec![],
            });
        }
        let _ = read_schedule(&m);
    }
}
