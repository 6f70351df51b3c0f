//! End-to-end tests of the `tsnctl` binary on the fixtures in `tests/data`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// This package's directory, read when the test runs: a test binary compiled from another
/// checkout of the workspace can be reused by cargo, so `env!` could name that checkout.
fn manifest_dir() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR is set by cargo test"))
}

fn data(name: &str) -> PathBuf {
    manifest_dir().join("tests/data").join(name)
}

/// A fresh scratch folder for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tsnctl-cli").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tsnctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tsnctl")).args(args).output().expect("tsnctl runs")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("tsnctl exited normally")
}

fn text(out: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn feasible_tsnkit_pair_solves_writes_and_rechecks() {
    let dir = scratch("feasible");
    let schedule = dir.join("schedule.json");
    let csv_dir = dir.join("csv");
    let out = tsnctl(&[
        "schedule",
        "solve",
        "--tsnkit-task",
        s(&data("tsnkit/1_task.csv")),
        "--tsnkit-topo",
        s(&data("tsnkit/1_topo.csv")),
        "--out",
        s(&schedule),
        "--tsnkit-out",
        s(&csv_dir),
        "--time-limit",
        "30",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The summary line, then a table header and one row per stream.
    assert_eq!(stdout.lines().count(), 1 + 1 + 5, "{}", text(&out));
    let summary = stdout.lines().next().unwrap();
    assert!(summary.contains("verified") && summary.contains("streams=5"), "{}", text(&out));

    let gcl = std::fs::read_to_string(csv_dir.join("GCL.csv")).unwrap();
    assert!(gcl.starts_with("link,queue,start,end,cycle\n"), "{gcl}");
    let offset = std::fs::read_to_string(csv_dir.join("OFFSET.csv")).unwrap();
    assert!(offset.starts_with("stream,frame,offset\n"), "{offset}");
    // Streams 0 and 3 have 2 instances in the 1 ms hyperperiod, the others 1.
    assert_eq!(offset.lines().count(), 1 + 2 + 1 + 1 + 2 + 1, "{offset}");
    let route = std::fs::read_to_string(csv_dir.join("ROUTE.csv")).unwrap();
    assert!(route.starts_with("stream,link\n0,\"(3, 0)\"\n0,\"(0, 1)\"\n0,\"(1, 2)\"\n0,\"(2, 5)\"\n"), "{route}");

    let check = tsnctl(&["schedule", "check", "--tsnkit", s(&data("tsnkit")), "--id", "1", "--schedule", s(&schedule)]);
    assert_eq!(code(&check), 0, "{}", text(&check));
    assert!(String::from_utf8_lossy(&check.stdout).starts_with("ok"), "{}", text(&check));
}

#[test]
fn tampered_schedule_fails_the_check() {
    let dir = scratch("tampered");
    let schedule = dir.join("schedule.json");
    let out = tsnctl(&[
        "schedule",
        "solve",
        "--tsnkit",
        s(&data("tsnkit")),
        "--id",
        "1",
        "--algorithm",
        "heuristic",
        "--out",
        s(&schedule),
        "--quiet",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&schedule).unwrap()).unwrap();
    // Drop one frame instance of the first stream.
    let txs = json["streams"][0]["transmissions"].as_array_mut().unwrap();
    txs.remove(0);
    let tampered = dir.join("tampered.json");
    std::fs::write(&tampered, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    let check = tsnctl(&[
        "schedule",
        "check",
        "--tsnkit-task",
        s(&data("tsnkit/1_task.csv")),
        "--tsnkit-topo",
        s(&data("tsnkit/1_topo.csv")),
        "--schedule",
        s(&tampered),
    ]);
    assert_eq!(code(&check), 1, "{}", text(&check));
    assert!(String::from_utf8_lossy(&check.stdout).contains("violation"), "{}", text(&check));
}

#[test]
fn latency_bound_violation_is_proven_infeasible() {
    let out = tsnctl(&["schedule", "solve", "--tsnkit", s(&data("tsnkit")), "--id", "2", "--quiet"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("infeasible"), "{}", text(&out));
    assert!(stdout.contains("reason:") && stdout.contains("stream 1"), "{}", text(&out));
}

#[test]
fn malformed_csv_is_an_error_with_its_line() {
    let out = tsnctl(&[
        "schedule",
        "solve",
        "--tsnkit-task",
        s(&data("malformed_task.csv")),
        "--tsnkit-topo",
        s(&data("tsnkit/1_topo.csv")),
    ]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("malformed_task.csv"), "{}", text(&out));
    assert!(stderr.contains("line 3") && stderr.contains("period"), "{}", text(&out));
}

#[test]
fn missing_file_and_bad_flags_are_errors() {
    let out = tsnctl(&["schedule", "solve", "--tsnkit", s(&data("tsnkit")), "--id", "99"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("99_task.csv"), "{}", text(&out));
    // No input at all, or two inputs: clap refuses (its usage error code is 2, so check
    // only that it fails without solving).
    let out = tsnctl(&["schedule", "solve"]);
    assert!(!out.status.success());
    let out = tsnctl(&["schedule", "solve", "--problem", "x.json", "--tsnkit", "d", "--id", "1"]);
    assert!(!out.status.success());
}

#[test]
fn given_routes_are_used() {
    let dir = scratch("routes");
    let csv_dir = dir.join("csv");
    let out = tsnctl(&[
        "schedule",
        "solve",
        "--tsnkit",
        s(&data("tsnkit")),
        "--id",
        "1",
        "--tsnkit-routes",
        s(&data("tsnkit/1_routes.csv")),
        "--tsnkit-out",
        s(&csv_dir),
        "--quiet",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let route = std::fs::read_to_string(csv_dir.join("ROUTE.csv")).unwrap();
    assert!(route.contains("3,\"(3, 0)\"\n3,\"(0, 1)\"\n3,\"(1, 4)\"\n"), "{route}");
}

#[test]
fn json_problem_input_works() {
    let dir = scratch("json");
    let task = std::fs::read_to_string(data("tsnkit/1_task.csv")).unwrap();
    let topo = std::fs::read_to_string(data("tsnkit/1_topo.csv")).unwrap();
    let problem = tsn_formats::tsnkit::read_instance(&task, &topo).unwrap();
    let path = dir.join("problem.json");
    std::fs::write(&path, tsn_formats::json::write_problem(&problem)).unwrap();
    let schedule = dir.join("schedule.json");
    let out = tsnctl(&["schedule", "solve", "--problem", s(&path), "--out", s(&schedule), "--quiet"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let check = tsnctl(&["schedule", "check", "--problem", s(&path), "--schedule", s(&schedule)]);
    assert_eq!(code(&check), 0, "{}", text(&check));

    // A JSON syntax error names the file, line and column.
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\n  \"streams\": [\n}\n").unwrap();
    let out = tsnctl(&["schedule", "solve", "--problem", s(&bad)]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.json") && stderr.contains("line 3"), "{}", text(&out));
}

/// The README's run command, on the example it names; the written schedule re-checks, and
/// the ILP answers the same problem with a verified schedule too.
#[test]
fn readme_example_solves_with_heuristic_and_ilp() {
    let example = manifest_dir().join("../../examples/line.json");
    let dir = scratch("readme");
    let schedule = dir.join("schedule.json");
    let out = tsnctl(&["schedule", "solve", "--problem", s(&example), "--out", s(&schedule)]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for stream in ["control-loop-1", "control-loop-2", "camera", "drive-sync", "telemetry"] {
        assert!(stdout.lines().any(|l| l.trim_start().starts_with(stream)), "{stream} missing: {}", text(&out));
    }
    let check = tsnctl(&["schedule", "check", "--problem", s(&example), "--schedule", s(&schedule)]);
    assert_eq!(code(&check), 0, "{}", text(&check));
    let ilp = tsnctl(&["schedule", "solve", "--problem", s(&example), "--algorithm", "ilp", "--quiet"]);
    assert_eq!(code(&ilp), 0, "{}", text(&ilp));
    assert!(String::from_utf8_lossy(&ilp.stdout).contains("algorithm=ilp"), "{}", text(&ilp));
}

/// A limit that leaves no time is a timeout (exit 3), never a schedule or a proof.
#[test]
fn exhausted_time_limit_exits_3_with_the_solvers_status() {
    let example = manifest_dir().join("../../examples/line.json");
    for algorithm in ["heuristic", "ilp", "auto"] {
        let out = tsnctl(&[
            "schedule",
            "solve",
            "--problem",
            s(&example),
            "--algorithm",
            algorithm,
            "--time-limit",
            "0",
            "-q",
        ]);
        assert_eq!(code(&out), 3, "{algorithm}: {}", text(&out));
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("timeout "), "{algorithm}: {}", text(&out));
    }
}
