//! Tests on the real tsnkit256 files in `/work/shared/data/tsnkit256`. They are ignored by
//! default (the data is not part of the repository); run them with
//! `cargo test -p tsn-formats --test shared_data -- --ignored`. The data is looked up in
//! `$TSN_SHARED/data/tsnkit256`, else in `../shared/data/tsnkit256` next to the repository.

use std::path::{Path, PathBuf};

use tsn_formats::json::{read_problem, write_problem};
use tsn_formats::tsnkit::read_instance;
use tsn_model::NodeKind;

fn data_dir() -> PathBuf {
    let shared = std::env::var_os("TSN_SHARED").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR is set by cargo test"))
            .join("../../../shared")
    });
    shared.join("data/tsnkit256")
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()))
}

#[test]
#[ignore = "needs ../shared/data/tsnkit256 (or $TSN_SHARED)"]
fn instance_1_matches_its_generator_log() {
    let dir = data_dir();
    let p = read_instance(&read(&dir, "1_task.csv"), &read(&dir, "1_topo.csv")).unwrap();
    // Instance 1: 10 streams, 8 switches, line topology (dataset_logs.csv).
    assert_eq!(p.streams.len(), 10);
    assert_eq!(p.topology.nodes.len(), 16);
    let bridges = p.topology.nodes.iter().filter(|n| n.kind == NodeKind::Bridge).count();
    assert_eq!(bridges, 8);
    assert_eq!(p.topology.links.len(), 2 * (7 + 8));
    assert!(p
        .topology
        .links
        .iter()
        .all(|l| l.rate_bps == 1_000_000_000 && l.processing_delay_ns == 2000 && l.scheduled_queues == 8));
    assert_eq!(p.streams[0].period_ns, 500_000);
    assert_eq!(p.streams[0].max_frame_size, 200);
}

#[test]
#[ignore = "needs ../shared/data/tsnkit256 (or $TSN_SHARED)"]
fn all_256_instances_read_and_round_trip() {
    let dir = data_dir();
    let logs = read(&dir, "dataset_logs.csv");
    let mut checked = 0;
    for line in logs.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        // id,size,period,deadline,topo,num_stream,num_sw
        let f: Vec<u64> = line.split(',').map(|x| x.trim().parse().unwrap()).collect();
        let id = f[0];
        let p = read_instance(&read(&dir, &format!("{id}_task.csv")), &read(&dir, &format!("{id}_topo.csv")))
            .unwrap_or_else(|e| panic!("instance {id}: {e}"));
        assert_eq!(p.streams.len() as u64, f[5], "instance {id}");
        let bridges = p.topology.nodes.iter().filter(|n| n.kind == NodeKind::Bridge).count() as u64;
        assert_eq!(bridges, f[6], "instance {id}");
        assert_eq!(p.topology.nodes.len() as u64, 2 * f[6], "instance {id}");
        let hp = p.hyperperiod_ns().unwrap();
        assert_eq!(4_000_000 % hp, 0, "instance {id}: hyperperiod {hp}");
        assert_eq!(read_problem(&write_problem(&p)).unwrap(), p, "instance {id}");
        checked += 1;
    }
    assert_eq!(checked, 256);
}
