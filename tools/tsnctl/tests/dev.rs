//! `tsnctl dev` as a user runs it: the built binary on a free port with a scratch data
//! directory, driven with `tsnctl streams …` and curl over real HTTP. Every deployed
//! schedule is re-verified with `tsnctl schedule check` (tsn-check), and what RESTCONF
//! reports is compared with that schedule.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::BIN;
use serde_json::{json, Value};

/// A fresh scratch folder for one test.
fn scratch(test: &str) -> PathBuf {
    common::scratch("tsnctl-dev", test)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn tsnctl(args: &[&str]) -> Output {
    Command::new(BIN).args(args).stdin(Stdio::null()).output().expect("tsnctl runs")
}

fn text(out: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A running `tsnctl dev` (SIGKILLed on drop).
struct Dev {
    child: Child,
    url: String,
    dir: PathBuf,
    out: Arc<Mutex<String>>,
}

impl Dev {
    fn start(test: &str) -> Dev {
        let dir = scratch(test);
        let data = dir.join("data");
        let args = ["dev", "--listen", "127.0.0.1:0", "--data-dir", s(&data), "--log", "info"];
        let (mut child, rx, out) = common::spawn_reading(args, &dir.join("stderr.log"), |line| {
            let i = line.find("http://")?;
            Some(line[i..].split_whitespace().next().unwrap().trim_end_matches("/restconf").to_owned())
        });
        let url = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(u) => u,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "tsnctl dev printed no URL; stdout:\n{}\nstderr:\n{}",
                    out.lock().unwrap(),
                    std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
                );
            }
        };
        Dev { child, url, dir: data, out }
    }

    /// SIGTERM and wait for the exit.
    fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(Instant::now() < deadline, "tsnctl dev did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Stream `n` of the test set on the demo ring (talker and listener on different bridges;
/// every third one time-aware with a transmit-offset window).
fn stream(n: usize) -> Value {
    let (b, k) = (n % 4, (n / 4) % 3);
    let (lb, lk) = ((b + 1 + n % 3) % 4, (k + 2) % 3);
    let talker = format!("02-00-00-00-{b:02X}-{k:02X}");
    let listener = format!("02-00-00-00-{lb:02X}-{lk:02X}");
    let denominator = [1000, 500, 250][n % 3];
    let max_latency = [400_000, 800_000, 1_000_000][n % 3];
    let mut ts = json!({
        "interval": {"numerator": 1, "denominator": denominator},
        "max-frames-per-interval": 1 + n % 2,
        "max-frame-size": 64 + (n * 71) % 1200,
        "transmission-selection": 0
    });
    if n.is_multiple_of(3) {
        ts["time-aware"] =
            json!({"earliest-transmit-offset": 10_000, "latest-transmit-offset": 600_000, "jitter": 1000});
    }
    json!({
        "stream-id": format!("{talker}:{:02X}-{:02X}", 0x40 + n, 1),
        "talker": {
            "stream-rank": {"rank": 1},
            "end-station-interfaces": [{"mac-address": talker, "interface-name": "eth0"}],
            "data-frame-specification": [
                {"index": 0, "ieee802-mac-addresses": {"destination-mac-address": format!("01-1B-19-00-01-{n:02X}"), "source-mac-address": talker}},
                {"index": 1, "ieee802-vlan-tag": {"priority-code-point": 6, "vlan-id": 200}}
            ],
            "traffic-specification": ts,
            "user-to-network-requirements": {"num-seamless-trees": 1, "max-latency": max_latency},
            "interface-capabilities": {"vlan-tag-capable": true}
        },
        "listener": [{
            "index": 0,
            "end-station-interfaces": [{"mac-address": listener, "interface-name": "eth0"}],
            "user-to-network-requirements": {"num-seamless-trees": 1, "max-latency": max_latency},
            "interface-capabilities": {"vlan-tag-capable": true}
        }]
    })
}

fn curl_json(url: &str) -> Value {
    let out = Command::new("curl").args(["-s", "-S", "--max-time", "20", url]).output().expect("curl runs");
    assert!(out.status.success(), "curl {url}: {}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{url}: not JSON ({e}): {}", stdout(&out)))
}

fn datastore_streams(url: &str) -> Vec<Value> {
    let doc = curl_json(&format!("{url}/restconf/data/ieee802-dot1q-cnc-config:cnc-config"));
    let mut out = Vec::new();
    for d in doc["ieee802-dot1q-cnc-config:cnc-config"]["domain"].as_array().into_iter().flatten() {
        for c in d["cuc"].as_array().into_iter().flatten() {
            out.extend(c["stream"].as_array().into_iter().flatten().cloned());
        }
    }
    out
}

fn offset(s: &Value) -> Option<u64> {
    s["talker"]["interface-configuration"]["interface-list"][0]["config-list"][0]["time-aware-offset"].as_u64()
}

/// The deployed schedule the dev mode wrote, once it lists exactly `ids`.
fn deployed_schedule(dir: &Path, ids: &[String]) -> Value {
    let file = dir.join("schedule/schedule.json");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(t) = std::fs::read_to_string(&file) {
            if let Ok(v) = serde_json::from_str::<Value>(&t) {
                let mut have: Vec<String> =
                    v["streams"].as_array().unwrap().iter().map(|s| s["stream"].as_str().unwrap().to_owned()).collect();
                have.sort();
                let mut want = ids.to_vec();
                want.sort();
                if have == want {
                    return v;
                }
            }
        }
        assert!(Instant::now() < deadline, "{} never listed exactly {ids:?}", file.display());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `tsnctl schedule check` (tsn-check) on the deployed problem and schedule.
fn recheck(dir: &Path) {
    let out = tsnctl(&[
        "schedule",
        "check",
        "--problem",
        s(&dir.join("schedule/problem.json")),
        "--schedule",
        s(&dir.join("schedule/schedule.json")),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stdout(&out).starts_with("ok: "), "{}", text(&out));
}

#[test]
fn twenty_streams_through_tsnctl_dev_then_list_show_remove() {
    let dev = Dev::start("twenty");
    let work = dev.dir.parent().unwrap().to_path_buf();
    let streams: Vec<Value> = (0..20).map(stream).collect();
    let ids: Vec<String> = streams.iter().map(|s| s["stream-id"].as_str().unwrap().to_owned()).collect();
    // Ten as JSON (the RESTCONF body shape), ten as YAML.
    let json_file = work.join("first.json");
    std::fs::write(
        &json_file,
        serde_json::to_string_pretty(&json!({"ieee802-dot1q-cnc-config:stream": streams[..10]})).unwrap(),
    )
    .unwrap();
    let yaml_file = work.join("second.yaml");
    std::fs::write(&yaml_file, serde_norway::to_string(&json!({"stream": streams[10..]})).unwrap()).unwrap();
    for f in [&json_file, &yaml_file] {
        let out = tsnctl(&["streams", "submit", s(f), "--url", &dev.url, "--timeout", "300"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(stdout(&out).contains("10 stream(s): 10 ready, 0 failed, 0 pending"), "{}", text(&out));
    }

    // What RESTCONF reports: every stream configured and ready, with an offset and a
    // worst-case latency within its bound.
    let reported = datastore_streams(&dev.url);
    assert_eq!(reported.len(), 20);
    let schedule = deployed_schedule(&dev.dir, &ids);
    recheck(&dev.dir);
    for (n, id) in ids.iter().enumerate() {
        let r = reported.iter().find(|s| s["stream-id"] == id.as_str()).unwrap_or_else(|| panic!("{id} missing"));
        assert_eq!(r["stream-status"], "configured", "{r}");
        assert_eq!(r["status-info"]["talker-status"], "ready", "{r}");
        let latency = r["talker"]["accumulated-latency"].as_u64().expect("accumulated-latency");
        let max = streams[n]["talker"]["user-to-network-requirements"]["max-latency"].as_u64().unwrap();
        assert!(latency > 0 && latency <= max, "{id}: latency {latency} > max {max}");
        let off = offset(r).expect("time-aware-offset");
        if n.is_multiple_of(3) {
            assert!((10_000..=600_000).contains(&off), "{id}: offset {off} outside the window");
        }
        // The same numbers as the deployed (and re-verified) schedule.
        let ss = schedule["streams"].as_array().unwrap().iter().find(|s| s["stream"] == id.as_str()).unwrap();
        assert_eq!(ss["talker_offset_ns"].as_u64(), Some(off), "{id}");
        assert_eq!(ss["worst_latency_ns"].as_u64(), Some(latency), "{id}");
    }
    // The dry-run configurator wrote each bridge's GCLs and each talker's streams.
    let mut talkers = 0;
    for entry in std::fs::read_dir(dev.dir.join("gcl")).unwrap() {
        let c: Value = serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        talkers += c["talker_streams"].as_array().unwrap().len();
        if c["role"] == "bridge" {
            assert!(c["ports"].as_array().unwrap().iter().all(|p| !p["entries"].as_array().unwrap().is_empty()), "{c}");
        }
    }
    assert_eq!(talkers, 20);
    for b in 0..4 {
        assert!(dev.dir.join(format!("gcl/br{b}.json")).exists());
    }

    // list / show / schedule show.
    let out = tsnctl(&["streams", "list", "--url", &dev.url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for id in &ids {
        assert!(stdout(&out).contains(id.as_str()), "{id} not listed: {}", text(&out));
    }
    assert!(stdout(&out).contains("20 stream(s): 20 ready"), "{}", text(&out));
    let out = tsnctl(&["streams", "show", &ids[3], "--url", &dev.url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(shown["ieee802-dot1q-cnc-config:stream"][0]["stream-id"], ids[3].as_str());
    assert_eq!(shown["ieee802-dot1q-cnc-config:stream"][0]["stream-status"], "configured");
    let out = tsnctl(&["schedule", "show", "--url", &dev.url, "--dev-dir", s(&dev.dir)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown = stdout(&out);
    assert!(shown.contains("gate control lists") && shown.contains("gates "), "{shown}");
    assert!(shown.lines().filter(|l| l.contains(" > br")).count() >= 20, "{shown}");

    // A RESTCONF error document is printed with its error-tag.
    let mut bad = stream(30);
    bad["talker"]["traffic-specification"]["max-frame-size"] = json!("big");
    let bad_file = work.join("bad-value.json");
    std::fs::write(&bad_file, json!([bad]).to_string()).unwrap();
    let out = tsnctl(&["streams", "submit", s(&bad_file), "--url", &dev.url]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stderr(&out).contains("HTTP 400") && stderr(&out).contains("error-tag "), "{}", text(&out));

    // remove: the network drops the stream, the new schedule is verified again.
    let out = tsnctl(&["streams", "remove", &ids[0], "--url", &dev.url, "--timeout", "300"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stdout(&out).contains(&format!("{}: removed", ids[0])), "{}", text(&out));
    let out = tsnctl(&["streams", "show", &ids[0], "--url", &dev.url]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stderr(&out).contains("not found"), "{}", text(&out));
    assert_eq!(datastore_streams(&dev.url).len(), 19);
    let schedule_after = deployed_schedule(&dev.dir, &ids[1..]);
    recheck(&dev.dir);
    // Admitted streams keep their offsets.
    for ss in schedule_after["streams"].as_array().unwrap() {
        let before = schedule["streams"].as_array().unwrap().iter().find(|b| b["stream"] == ss["stream"]).unwrap();
        assert_eq!(before["talker_offset_ns"], ss["talker_offset_ns"], "{}", ss["stream"]);
    }

    let out = dev.out.clone();
    let status = dev.terminate();
    assert!(status.success(), "tsnctl dev exit {status:?}; stdout:\n{}", out.lock().unwrap());
}

#[test]
fn demo_submits_the_example_set_and_prints_the_table() {
    let dir = scratch("demo");
    let data = dir.join("data");
    let mut child = Command::new(BIN)
        .args(["dev", "--demo", "--listen", "127.0.0.1:0", "--data-dir", s(&data)])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("stdout.log")).unwrap())
        .stderr(std::fs::File::create(dir.join("stderr.log")).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("tsnctl dev --demo did not finish");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let out = std::fs::read_to_string(dir.join("stdout.log")).unwrap();
    let err = std::fs::read_to_string(dir.join("stderr.log")).unwrap();
    assert_eq!(status.code(), Some(0), "stdout:\n{out}\nstderr:\n{err}");
    assert!(err.contains("waiting for the outcome of 20 stream(s)"), "no progress shown: {err}");
    let header = out.lines().position(|l| l.starts_with("STREAM") && l.contains("PATH")).expect("table header");
    let rows: Vec<&str> = out.lines().skip(header + 1).take_while(|l| !l.trim().is_empty()).collect();
    assert_eq!(rows.len(), 20, "{out}");
    let demo: Value =
        serde_json::from_str(&std::fs::read_to_string(repo_file("examples/demo-streams.json")).unwrap()).unwrap();
    for st in demo["ieee802-dot1q-cnc-config:stream"].as_array().unwrap() {
        let id = st["stream-id"].as_str().unwrap();
        let row = rows.iter().find(|r| r.starts_with(id)).unwrap_or_else(|| panic!("{id} not in the table:\n{out}"));
        assert!(row.trim_end().ends_with("ready"), "{row}");
        assert!(row.contains(" > br"), "no path: {row}");
    }
    assert!(out.contains("20 of 20 streams ready"), "{out}");
    assert!(out.contains("re-checked by tsn-check: verified"), "{out}");
    assert!(
        out.contains(&format!(
            "GCLs and talker schedules written to {}",
            data.canonicalize().unwrap().join("gcl").display()
        )),
        "{out}"
    );
    assert!(data.join("gcl/br0.json").exists());
    recheck(&data);
}

fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo test")).join("../..").join(rel)
}

#[test]
fn client_errors_are_clear() {
    let dir = scratch("errors");
    // Nobody listens on a port we just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    for args in [vec!["streams", "list"], vec!["streams", "show", "x"], vec!["schedule", "show"]] {
        let mut a = args.clone();
        a.extend(["--url", url.as_str()]);
        let out = tsnctl(&a);
        assert_eq!(out.status.code(), Some(1), "{a:?}: {}", text(&out));
        assert!(stderr(&out).contains(&format!("cannot reach the RESTCONF gateway at {url}")), "{}", text(&out));
    }
    // Bad files name the path and the line, before any network traffic.
    let bad_json = dir.join("bad.json");
    std::fs::write(&bad_json, "{\n  \"stream\": [\n    {\"stream-id\": \"a\",}\n  ]\n}\n").unwrap();
    let bad_yaml = dir.join("bad.yaml");
    std::fs::write(&bad_yaml, "stream:\n  - stream-id: a\n    talker: x: y\n").unwrap();
    for (f, line) in [(&bad_json, 3), (&bad_yaml, 3)] {
        let out = tsnctl(&["streams", "submit", s(f), "--url", &url]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(stderr(&out).contains(&format!("{}:{line}:", f.display())), "{}", text(&out));
    }
    let out = tsnctl(&["streams", "submit", s(&dir.join("missing.json")), "--url", &url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot read") && stderr(&out).contains("missing.json"), "{}", text(&out));
    let no_id = dir.join("no-id.yaml");
    std::fs::write(&no_id, "- talker: {}\n").unwrap();
    let out = tsnctl(&["streams", "submit", s(&no_id), "--url", &url]);
    assert!(stderr(&out).contains("stream entry 1 has no \"stream-id\""), "{}", text(&out));
    let out = tsnctl(&["streams", "list", "--url", "https://127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("plain HTTP"), "{}", text(&out));
}
