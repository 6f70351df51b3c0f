//! The visualizer in a real browser: headless Chromium (Debian's, driven over WebDriver by
//! chromedriver) loads the page of a `tsnctl dev --demo` instance, whose demo streams went
//! in over RESTCONF, and the drawing is compared with what the test reads on its own: the
//! stream status from RESTCONF and the deployed schedule the dev mode writes to
//! DIR/schedule (re-verified with tsn-check). A second test (ignored; scripts/check-shared
//! runs it) opens `tsnctl schedule render`'s page of a tsnkit256 instance.
//!
//! Needs the Debian packages chromium and chromium-driver (scripts/setup); without them the
//! test fails and says so.

mod browser;
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use browser::{check_gantt, check_gcl, drawn_gantt, select_link, wait_ready, zoom, Browser, Expected};
use serde_json::{json, Value};
use tsn_model::{LinkId, Problem, Schedule};

use common::BIN;

fn scratch(test: &str) -> PathBuf {
    common::scratch("tsnctl-viz", test)
}

/// Where the screenshots go: `TSN_VIZ_SCREENSHOT_DIR`, else the system's temporary directory.
fn screenshot_path(name: &str) -> PathBuf {
    std::env::var_os("TSN_VIZ_SCREENSHOT_DIR").map(PathBuf::from).unwrap_or_else(std::env::temp_dir).join(name)
}

/// `tsnctl dev --demo --keep-running` on a free port (killed on drop).
struct Dev {
    child: Child,
    url: String,
    data: PathBuf,
    out: Arc<Mutex<String>>,
}

impl Dev {
    fn start(dir: &Path) -> Dev {
        let data = dir.join("data");
        let data_arg = data.display().to_string();
        let args = ["dev", "--demo", "--keep-running", "--listen", "127.0.0.1:0", "--data-dir", &data_arg];
        // Some(URL) when the gateway listens, None when the demo is done.
        let (child, rx, out) = common::spawn_reading(args, &dir.join("stderr.log"), |line| {
            if let Some(rest) = line.trim_start().strip_prefix("restconf: ") {
                return Some(Some(rest.split_whitespace().next().unwrap().trim_end_matches("/restconf").to_owned()));
            }
            line.starts_with("still serving").then_some(None)
        });
        let mut dev = Dev { child, url: String::new(), data, out };
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            match rx.recv_timeout(Duration::from_millis(500)) {
                Ok(Some(url)) => dev.url = url,
                Ok(None) => break,
                Err(_) => {
                    let exited = dev.child.try_wait().unwrap();
                    assert!(
                        exited.is_none() && Instant::now() < deadline,
                        "tsnctl dev --demo did not finish its demo (exit {exited:?}); stdout:\n{}\nstderr:\n{}",
                        dev.out.lock().unwrap(),
                        std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
                    );
                }
            }
        }
        assert!(!dev.url.is_empty(), "no URL in {}", dev.out.lock().unwrap());
        dev
    }

    fn addr(&self) -> String {
        self.url.trim_start_matches("http://").to_owned()
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Stream id → (status, time-aware offset, accumulated latency) as RESTCONF reports them.
fn restconf_streams(dev: &Dev) -> BTreeMap<String, (String, Option<u64>, Option<u64>)> {
    let (status, body) = browser::http(
        &dev.addr(),
        "GET",
        "/restconf/data/ieee802-dot1q-cnc-config:cnc-config",
        None,
        &[("Accept", "application/yang-data+json")],
    );
    assert_eq!(status, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).unwrap();
    let mut out = BTreeMap::new();
    for d in doc["ieee802-dot1q-cnc-config:cnc-config"]["domain"].as_array().into_iter().flatten() {
        for c in d["cuc"].as_array().into_iter().flatten() {
            for s in c["stream"].as_array().into_iter().flatten() {
                let offset = s["talker"]["interface-configuration"]["interface-list"][0]["config-list"][0]
                    ["time-aware-offset"]
                    .as_u64();
                out.insert(
                    s["stream-id"].as_str().unwrap().to_owned(),
                    (
                        s["status-info"]["talker-status"].as_str().unwrap_or("none").to_owned(),
                        offset,
                        s["talker"]["accumulated-latency"].as_u64(),
                    ),
                );
            }
        }
    }
    out
}

/// The problem and schedule the dev mode deployed (DIR/schedule), once the schedule lists
/// exactly `ids`; verified with tsn-check.
fn deployed(data: &Path, ids: &[&String]) -> (Problem, Schedule) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let p = std::fs::read_to_string(data.join("schedule/problem.json"));
        let s = std::fs::read_to_string(data.join("schedule/schedule.json"));
        if let (Ok(p), Ok(s)) = (p, s) {
            if let (Ok(p), Ok(s)) = (tsn_formats::json::read_problem(&p), tsn_formats::json::read_schedule(&s)) {
                let mut have: Vec<&String> = s.streams.iter().map(|x| &x.stream.0).collect();
                have.sort();
                if have == ids && p.streams.len() == s.streams.len() {
                    let report = tsn_check::verify(&p, &s);
                    assert!(report.is_ok(), "the deployed schedule fails tsn-check: {report}");
                    return (p, s);
                }
            }
        }
        assert!(Instant::now() < deadline, "the dev mode never wrote a schedule of exactly {ids:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn on_link(schedule: &Schedule, link: &LinkId) -> Vec<Expected> {
    schedule
        .streams
        .iter()
        .flat_map(|ss| {
            ss.transmissions.iter().filter(|t| &t.link == link).map(|t| Expected {
                stream: ss.stream.0.clone(),
                instance: t.instance,
                frame: t.frame,
                start_ns: t.start_ns,
                end_ns: t.end_ns,
            })
        })
        .collect()
}

/// The link with the most transmissions (ties: the smallest id).
fn busiest(schedule: &Schedule) -> LinkId {
    let mut count: BTreeMap<LinkId, usize> = BTreeMap::new();
    for t in schedule.streams.iter().flat_map(|s| &s.transmissions) {
        *count.entry(t.link.clone()).or_default() += 1;
    }
    count.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0))).expect("a schedule with transmissions").0
}

/// The stream table as drawn: id → row data attributes.
fn drawn_streams(b: &Browser) -> BTreeMap<String, Value> {
    let rows = b.exec(
        "return Array.from(document.querySelectorAll('#streams tbody tr')).map(r => Object.assign({}, r.dataset));",
        json!([]),
    );
    rows.as_array().unwrap().iter().map(|r| (r["stream"].as_str().unwrap().to_owned(), r.clone())).collect()
}

fn attr(row: &Value, name: &str) -> Option<u64> {
    row[name].as_str().filter(|s| !s.is_empty()).map(|s| s.parse().unwrap())
}

/// Every stream the schedule carries is in the table with the schedule's offset and
/// latency, the problem's max latency, and RESTCONF's status, offset and latency.
fn check_streams(
    b: &Browser,
    problem: &Problem,
    schedule: &Schedule,
    rc: &BTreeMap<String, (String, Option<u64>, Option<u64>)>,
) {
    let rows = drawn_streams(b);
    let rc_ids: Vec<&String> = rc.keys().collect();
    let row_ids: Vec<&String> = rows.keys().collect();
    assert_eq!(row_ids, rc_ids, "the page lists other streams than RESTCONF");
    for ss in &schedule.streams {
        let id = &ss.stream.0;
        let row = rows.get(id).unwrap_or_else(|| panic!("admitted stream {id} is not drawn"));
        let max = problem.stream(&ss.stream).unwrap().max_latency_ns;
        let (status, offset, latency) = &rc[id];
        assert_eq!(status, "ready", "{id} is scheduled but RESTCONF says {status}");
        assert_eq!(
            (
                row["status"].as_str(),
                row["scheduled"].as_str(),
                attr(row, "offsetNs"),
                attr(row, "latencyNs"),
                attr(row, "maxLatencyNs")
            ),
            (Some("ready"), Some("true"), Some(ss.talker_offset_ns), Some(ss.worst_latency_ns), Some(max)),
            "stream row of {id}: {row}"
        );
        assert_eq!(
            (*offset, *latency),
            (Some(ss.talker_offset_ns), Some(ss.worst_latency_ns)),
            "RESTCONF vs schedule for {id}"
        );
    }
}

/// The topology: every node and every directed link of the problem drawn once.
fn check_topology(b: &Browser, problem: &Problem) {
    let drawn = b.exec(
        r#"const s = document.getElementById('topology');
           return {nodes: Array.from(s.querySelectorAll('[data-node]')).map(n => n.dataset.node).sort(),
                   links: Array.from(s.querySelectorAll('line.link')).map(l => l.dataset.from + '>' + l.dataset.to).sort()};"#,
        json!([]),
    );
    let mut nodes: Vec<String> = problem.topology.nodes.iter().map(|n| n.id.0.clone()).collect();
    nodes.sort();
    let mut links: Vec<String> = problem.topology.links.iter().map(|l| format!("{}>{}", l.from, l.to)).collect();
    links.sort();
    assert_eq!(drawn, json!({"nodes": nodes, "links": links}), "topology drawing");
}

/// Full view, then a zoomed window around the first transmission of `link`: transmissions
/// and (zoomed) gate states against the schedule. Returns the rectangles checked.
fn check_link(b: &Browser, schedule: &Schedule, link: &LinkId) -> usize {
    let (from, to) = (link.from.0.as_str(), link.to.0.as_str());
    select_link(b, from, to);
    let expected = on_link(schedule, link);
    let h = schedule.hyperperiod_ns;
    let mut checked = check_gantt(&drawn_gantt(b), from, to, &expected, h);
    let first = expected.iter().min_by_key(|e| (e.start_ns % h, &e.stream)).unwrap();
    let d = first.end_ns - first.start_ns;
    let s = first.start_ns % h;
    let (t0, t1) = (s.saturating_sub(3 * d), (s + 12 * d).min(h));
    zoom(b, t0, t1);
    let zoomed = check_gantt(&drawn_gantt(b), from, to, &expected, h);
    assert!(zoomed >= 1, "nothing drawn in the zoomed window [{t0}, {t1})");
    checked += zoomed;
    if let Some(gcl) = schedule.gcls.iter().find(|g| &g.port == link) {
        assert!(check_gcl(b, gcl) > 0, "no open gate drawn around a transmission of {link}");
    }
    checked
}

#[test]
fn the_page_of_a_dev_instance_draws_every_admitted_stream_and_transmission() {
    browser::require_browser();
    let dir = scratch("dev");
    let dev = Dev::start(&dir);
    let rc = restconf_streams(&dev);
    let ready: Vec<&String> = rc.iter().filter(|(_, v)| v.0 == "ready").map(|(k, _)| k).collect();
    assert_eq!(ready.len(), 20, "the demo admits its 20 streams: {rc:?}\n{}", dev.out.lock().unwrap());
    let (problem, schedule) = deployed(&dev.data, &ready);

    let b = Browser::start(&dir.join("profile"));
    let started = Instant::now();
    b.goto(&format!("{}/viz", dev.url));
    wait_ready(&b);
    let ready_after = started.elapsed();
    browser::assert_offline(&b);
    let timing = b.exec(
        "const n = performance.getEntriesByType('navigation')[0]; return {load: n.loadEventEnd, bytes: n.transferSize};",
        json!([]),
    );
    let api = browser::http(&dev.addr(), "GET", "/viz/api/network", None, &[]);
    assert_eq!(api.0, 200);
    println!(
        "page: load event after {} ms, {} bytes; data drawn {} ms after navigation; api/network {} bytes",
        timing["load"],
        timing["bytes"],
        ready_after.as_millis(),
        api.1.len()
    );
    check_topology(&b, &problem);
    check_streams(&b, &problem, &schedule, &rc);
    let link = busiest(&schedule);
    let checked = check_link(&b, &schedule, &link);
    println!("checked {checked} drawn transmissions on {link}");
    let png = b.screenshot();
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    std::fs::write(dir.join("viz-screenshot.png"), &png).unwrap();
    let shot = screenshot_path("viz-screenshot.png");
    std::fs::write(&shot, &png).unwrap_or_else(|e| panic!("writing {}: {e}", shot.display()));
    println!("screenshot: {}", shot.display());

    // Live: remove a stream on that link over RESTCONF; the page follows the event stream
    // (no reload) and draws the new deployed schedule.
    b.exec("window.__sameDocument = true; return null;", json!([]));
    let updates = b.exec("return Number(document.body.dataset.updates);", json!([]));
    let gone = on_link(&schedule, &link)[0].stream.clone();
    let out = Command::new(BIN).args(["streams", "remove", &gone, "--url", &dev.url]).output().unwrap();
    assert!(out.status.success(), "tsnctl streams remove: {}", String::from_utf8_lossy(&out.stderr));
    let rc = restconf_streams(&dev);
    assert!(!rc.contains_key(&gone), "{gone} is still in the datastore");
    let ready: Vec<&String> = rc.iter().filter(|(_, v)| v.0 == "ready").map(|(k, _)| k).collect();
    let (problem, schedule) = deployed(&dev.data, &ready);
    b.wait_for(
        "the page to drop the removed stream",
        &format!(
            "return Number(document.body.dataset.updates) > {updates} && document.body.dataset.state === 'consistent' \
             && !document.querySelector('#streams tbody tr[data-stream=\"{gone}\"]');"
        ),
        Duration::from_secs(60),
    );
    assert_eq!(b.exec("return window.__sameDocument === true;", json!([])), json!(true), "the page reloaded");
    browser::assert_no_script_errors(&b);
    check_streams(&b, &problem, &schedule, &rc);
    // Back to the whole hyperperiod, then the same link again.
    b.click(&b.find("#zoom-reset"));
    let checked =
        check_gantt(&drawn_gantt(&b), &link.from.0, &link.to.0, &on_link(&schedule, &link), schedule.hyperperiod_ns);
    println!("after removing {gone}: {checked} drawn transmissions on {link} checked");
}

/// `tsnctl schedule render` of a tsnkit256 instance (../shared), opened from the file in
/// Chromium: no script errors, every stream listed, the busiest link's transmissions drawn
/// as the schedule says. Run by scripts/check-shared (TSN_SHARED).
#[test]
#[ignore = "needs ../shared (scripts/check-shared runs it)"]
fn the_rendered_page_of_a_tsnkit256_instance_opens_in_chromium() {
    browser::require_browser();
    let shared =
        PathBuf::from(std::env::var("TSN_SHARED").expect("TSN_SHARED names the shared folder (scripts/check-shared)"));
    let data = shared.join("data/tsnkit256");
    assert!(data.is_dir(), "{} not found", data.display());
    let id = std::env::var("TSN_VIZ_TSNKIT_ID").unwrap_or_else(|_| "17".into());
    let dir = scratch("tsnkit");
    let sched = dir.join("schedule.json");
    let html = dir.join("schedule.html");
    let d = data.to_str().unwrap();
    let out = Command::new(BIN)
        .args(["schedule", "solve", "--tsnkit", d, "--id", &id, "--quiet", "--time-limit", "120", "--out"])
        .arg(&sched)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "solving tsnkit256 #{id}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(BIN)
        .args(["schedule", "render", "--tsnkit", d, "--id", &id, "--schedule"])
        .arg(&sched)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "render: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{}", String::from_utf8_lossy(&out.stdout).trim());
    let problem = tsn_formats::tsnkit::read_instance(
        &std::fs::read_to_string(data.join(format!("{id}_task.csv"))).unwrap(),
        &std::fs::read_to_string(data.join(format!("{id}_topo.csv"))).unwrap(),
    )
    .unwrap();
    let schedule = tsn_formats::json::read_schedule(&std::fs::read_to_string(&sched).unwrap()).unwrap();
    let report = tsn_check::verify(&problem, &schedule);
    assert!(report.is_ok(), "{report}");

    let b = Browser::start(&dir.join("profile"));
    b.goto(&format!("file://{}", html.display()));
    wait_ready(&b);
    browser::assert_offline(&b);
    let verdict = b.exec("return document.getElementById('verdict').textContent;", json!([]));
    assert_eq!(verdict, json!("verified by tsn-check"));
    check_topology(&b, &problem);
    let rows = drawn_streams(&b);
    assert_eq!(rows.len(), schedule.streams.len(), "every stream of the instance is listed");
    for ss in &schedule.streams {
        let row = rows.get(&ss.stream.0).unwrap_or_else(|| panic!("{} not listed", ss.stream));
        assert_eq!(
            (attr(row, "offsetNs"), attr(row, "latencyNs")),
            (Some(ss.talker_offset_ns), Some(ss.worst_latency_ns))
        );
    }
    let link = busiest(&schedule);
    let checked = check_link(&b, &schedule, &link);
    println!("tsnkit256 #{id}: checked {checked} drawn transmissions on {link}");
    let png = b.screenshot();
    std::fs::write(screenshot_path("viz-tsnkit-screenshot.png"), &png).unwrap();
}
