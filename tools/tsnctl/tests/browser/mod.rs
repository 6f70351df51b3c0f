//! A small W3C WebDriver client over HTTP/1.1 (std only) for Debian's chromedriver and
//! headless Chromium, and the drawing checks the visualizer tests share.

#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// Where scripts/setup installs the browser and its driver (Debian packages chromium and
/// chromium-driver); `CHROMIUM` and `CHROMEDRIVER` override.
pub fn chromium() -> PathBuf {
    PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()))
}
pub fn chromedriver() -> PathBuf {
    PathBuf::from(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into()))
}

/// Fails the test with the remedy when the browser is missing.
pub fn require_browser() {
    for (p, pkg) in [(chromium(), "chromium"), (chromedriver(), "chromium-driver")] {
        assert!(
            p.exists(),
            "{} not found: the visualizer's browser test needs the Debian package {pkg}; run scripts/setup",
            p.display()
        );
    }
}

/// One HTTP/1.1 exchange (`Connection: close`): status and body.
pub fn http(addr: &str, method: &str, path: &str, body: Option<&str>, headers: &[(&str, &str)]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let body = body.unwrap_or("");
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if !body.is_empty() {
        req.push_str("Content-Type: application/json; charset=utf-8\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    // Read the head, then exactly the body (servers may keep the connection open).
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut buf).unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        assert!(n > 0, "{method} {path}: connection closed before the response head");
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
    let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let length =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).map(|v| v.trim().parse::<usize>().unwrap_or(0));
    let chunked = head.lines().any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked"));
    loop {
        let body = &raw[head_end..];
        let done = match length {
            Some(n) => body.len() >= n,
            None if chunked => body.ends_with(b"0\r\n\r\n"),
            None => false,
        };
        if done {
            break;
        }
        let n = s.read(&mut buf).unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let rest = String::from_utf8_lossy(&raw[head_end..]).into_owned();
    let body = if chunked { dechunk(&rest) } else { rest };
    (status, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.split(';').next().unwrap_or("0").trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].strip_prefix("\r\n").unwrap_or(&rest[n..]);
    }
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// chromedriver with one headless Chromium session; both end on drop.
pub struct Browser {
    driver: Child,
    addr: String,
    session: String,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    /// Starts chromedriver and a headless Chromium with a profile in `profile_dir`.
    pub fn start(profile_dir: &Path) -> Browser {
        require_browser();
        let port = free_port();
        let driver = Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver().display()));
        let addr = format!("127.0.0.1:{port}");
        let mut b = Browser { driver, addr, session: String::new() };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if TcpStream::connect(&b.addr).is_ok() {
                let (st, body) = http(&b.addr, "GET", "/status", None, &[]);
                if st == 200 && body.contains("\"ready\":true") {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready on {}", b.addr);
            std::thread::sleep(Duration::from_millis(100));
        }
        std::fs::create_dir_all(profile_dir).unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium().to_str().unwrap(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1500,1700", "--hide-scrollbars", "--disable-background-networking",
                         "--no-first-run", format!("--user-data-dir={}", profile_dir.display())]
            }
        }}});
        let v = b.call("POST", "/session", Some(caps));
        b.session = v["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {v}")).to_owned();
        b
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let text = body.map(|b| b.to_string());
        let (status, resp) = http(&self.addr, method, path, text.as_deref(), &[]);
        let v: Value = serde_json::from_str(&resp).unwrap_or_else(|e| panic!("{method} {path}: {e}: {resp}"));
        assert_eq!(status, 200, "WebDriver {method} {path}: {}", v["value"]);
        v["value"].clone()
    }

    fn s(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    /// Loads `url` (waits for the load event).
    pub fn goto(&self, url: &str) {
        self.call("POST", &self.s("/url"), Some(json!({"url": url})));
    }

    /// Runs `script` (a function body; `arguments` = `args`) and returns its value.
    pub fn exec(&self, script: &str, args: Value) -> Value {
        self.call("POST", &self.s("/execute/sync"), Some(json!({"script": script, "args": args})))
    }

    /// The first element matching the CSS selector.
    pub fn find(&self, css: &str) -> String {
        let v = self.call("POST", &self.s("/element"), Some(json!({"using": "css selector", "value": css})));
        v[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {v}")).to_owned()
    }

    /// Clicks an element (WebDriver element click: scrolls it into view, real mouse event).
    pub fn click(&self, element: &str) {
        self.call("POST", &self.s(&format!("/element/{element}/click")), Some(json!({})));
    }

    /// Replaces the text of an input element by typing `text`.
    pub fn type_into(&self, element: &str, text: &str) {
        self.call("POST", &self.s(&format!("/element/{element}/clear")), Some(json!({})));
        self.call("POST", &self.s(&format!("/element/{element}/value")), Some(json!({"text": text})));
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self) -> Vec<u8> {
        let v = self.call("GET", &self.s("/screenshot"), None);
        base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap()
    }

    /// Polls `script` until it returns true.
    pub fn wait_for(&self, what: &str, script: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.exec(script, json!([])) == json!(true) {
                return;
            }
            if Instant::now() > deadline {
                let state = self.exec(
                    "return {state: document.body && document.body.dataset.state, error: (document.getElementById('error')||{}).textContent, errors: window.tsnVizErrors};",
                    json!([]),
                );
                panic!("timed out waiting for {what}; page: {state}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = http(&self.addr, "DELETE", &format!("/session/{}", self.session), None, &[]);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The page has loaded its data, agrees with itself and had no script errors.
pub fn wait_ready(b: &Browser) {
    b.wait_for(
        "the page to draw consistent data",
        "return document.body.dataset.ready === '1' && document.body.dataset.state === 'consistent';",
        Duration::from_secs(60),
    );
    assert_no_script_errors(b);
}

pub fn assert_no_script_errors(b: &Browser) {
    let errors = b.exec("return window.tsnVizErrors || ['the visualizer script did not run'];", json!([]));
    assert_eq!(errors, json!([]), "script errors on the page");
}

/// Every resource the page loaded came from its own origin (or is the page itself).
pub fn assert_offline(b: &Browser) {
    let foreign = b.exec(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith(location.origin));",
        json!([]),
    );
    assert_eq!(foreign, json!([]), "the page fetched from another origin");
}

/// One frame instance on one link, as the schedule has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub stream: String,
    pub instance: u32,
    pub frame: u32,
    pub start_ns: u64,
    pub end_ns: u64,
}

/// The Gantt chart as drawn: its time axis and every transmission rectangle with its data
/// attributes and its pixel geometry (bounding boxes relative to the chart's svg).
pub fn drawn_gantt(b: &Browser) -> Value {
    b.exec(
        r#"const svg = document.getElementById('gantt');
           const box = svg.getBoundingClientRect();
           const rows = {};
           for (const r of svg.querySelectorAll('rect[data-row-stream]')) {
             const bb = r.getBoundingClientRect();
             rows[r.dataset.rowStream] = {top: bb.top - box.top, bottom: bb.bottom - box.top};
           }
           const rects = Array.from(svg.querySelectorAll('rect.tx')).map(r => {
             const bb = r.getBoundingClientRect();
             return {stream: r.dataset.stream, from: r.dataset.from, to: r.dataset.to,
                     instance: Number(r.dataset.instance), frame: Number(r.dataset.frame),
                     start: r.dataset.startNs, end: r.dataset.endNs, duration: r.dataset.durationNs,
                     piece: Number(r.dataset.piece), drawStart: r.dataset.drawStartNs, drawEnd: r.dataset.drawEndNs,
                     left: bb.left - box.left, width: bb.width, top: bb.top - box.top, bottom: bb.bottom - box.top};
           });
           return {from: svg.dataset.from, to: svg.dataset.to, t0: svg.dataset.t0Ns, t1: svg.dataset.t1Ns,
                   x0: Number(svg.dataset.x0), x1: Number(svg.dataset.x1), minWidth: Number(svg.dataset.minWidthPx),
                   drawn: Number(svg.dataset.drawn), rows: rows, rects: rects};"#,
        json!([]),
    )
}

fn num(v: &Value) -> u64 {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|_| panic!("not an integer: {s:?}")),
        Value::Number(n) => n.as_u64().unwrap_or_else(|| panic!("not an integer: {n}")),
        other => panic!("not an integer: {other}"),
    }
}

/// Checks the drawn Gantt chart of link `from → to` against `expected` (every
/// transmission of the schedule on that link) over a hyperperiod of `h`: exactly the
/// pieces inside the chart's time window are drawn, each with the schedule's times, in its
/// stream's row, at the pixel position and width the time axis gives (at least the minimum
/// width). Returns the number of rectangles checked.
pub fn check_gantt(drawn: &Value, from: &str, to: &str, expected: &[Expected], h: u64) -> usize {
    assert_eq!((drawn["from"].as_str(), drawn["to"].as_str()), (Some(from), Some(to)), "the chart shows another link");
    let (t0, t1) = (num(&drawn["t0"]), num(&drawn["t1"]));
    let (x0, x1) = (drawn["x0"].as_f64().unwrap(), drawn["x1"].as_f64().unwrap());
    let min_w = drawn["minWidth"].as_f64().unwrap();
    assert!(t1 > t0 && x1 > x0, "bad axis: {drawn}");
    let px = |t: u64| x0 + (t as f64 - t0 as f64) / (t1 - t0) as f64 * (x1 - x0);
    // key (stream, instance, frame, piece) → (start, end, drawn start, drawn end)
    let mut want = std::collections::BTreeMap::new();
    for e in expected {
        let d = e.end_ns - e.start_ns;
        let s = e.start_ns % h;
        let mut pieces = vec![(s, (s + d).min(h), 1u8)];
        if s + d > h {
            pieces.push((0, s + d - h, 2));
        }
        for (ps, pe, piece) in pieces {
            if pe <= t0 || ps >= t1 {
                continue;
            }
            let dup = want.insert((e.stream.clone(), e.instance, e.frame, piece), (e.start_ns, e.end_ns, ps, pe));
            assert!(dup.is_none(), "the schedule lists {e:?} twice");
        }
    }
    let rects = drawn["rects"].as_array().unwrap();
    assert_eq!(drawn["drawn"].as_u64(), Some(rects.len() as u64), "data-drawn disagrees with the rectangles");
    let mut seen = std::collections::BTreeSet::new();
    for r in rects {
        let stream = r["stream"].as_str().unwrap().to_owned();
        let key = (
            stream.clone(),
            r["instance"].as_u64().unwrap() as u32,
            r["frame"].as_u64().unwrap() as u32,
            r["piece"].as_u64().unwrap() as u8,
        );
        assert_eq!((r["from"].as_str(), r["to"].as_str()), (Some(from), Some(to)), "{r}");
        let Some(&(s, e, ps, pe)) = want.get(&key) else {
            panic!("drawn transmission {r} is not in the schedule's window [{t0}, {t1}) of {from} → {to}");
        };
        assert!(seen.insert(key.clone()), "{key:?} drawn twice");
        assert_eq!((num(&r["start"]), num(&r["end"]), num(&r["duration"])), (s, e, e - s), "times of {key:?}");
        assert_eq!((num(&r["drawStart"]), num(&r["drawEnd"])), (ps, pe), "drawn interval of {key:?}");
        let (cs, ce) = (ps.max(t0), pe.min(t1));
        let want_left = px(cs);
        let want_width = (px(ce) - want_left).max(min_w);
        let (left, width) = (r["left"].as_f64().unwrap(), r["width"].as_f64().unwrap());
        assert!(
            (left - want_left).abs() <= 0.6 && (width - want_width).abs() <= 0.6,
            "{key:?} ({cs}..{ce} ns) is drawn at x = {left:.2} px, width {width:.2} px; the axis puts it at {want_left:.2} px, width {want_width:.2} px"
        );
        let row = &drawn["rows"][&stream];
        let (top, bottom) = (r["top"].as_f64().unwrap(), r["bottom"].as_f64().unwrap());
        assert!(
            row.is_object()
                && top >= row["top"].as_f64().unwrap() - 0.5
                && bottom <= row["bottom"].as_f64().unwrap() + 0.5,
            "{key:?} is not drawn in the row of {stream}: {top}..{bottom}, row {row}"
        );
    }
    let missing: Vec<_> = want.keys().filter(|k| !seen.contains(*k)).collect();
    assert!(missing.is_empty(), "scheduled transmissions not drawn on {from} → {to}: {missing:?}");
    rects.len()
}

/// Selects the link `from → to` by clicking its row in the link table.
pub fn select_link(b: &Browser, from: &str, to: &str) {
    let css = format!("#links tbody tr[data-from=\"{from}\"][data-to=\"{to}\"]");
    let row = b.find(&css);
    b.click(&row);
    let q = json!([from, to]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.exec("const s = document.getElementById('gantt'); return s.dataset.from === arguments[0] && s.dataset.to === arguments[1];", q.clone()) != json!(true) {
        assert!(Instant::now() < deadline, "clicking the row of {from} → {to} did not select it");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Zooms the chart with the page's controls (types the window, clicks Apply).
pub fn zoom(b: &Browser, t0: u64, t1: u64) {
    let from = b.find("#zoom-from");
    b.type_into(&from, &t0.to_string());
    let to = b.find("#zoom-to");
    b.type_into(&to, &t1.to_string());
    b.click(&b.find("#zoom-apply"));
    let got = b.exec("const s = document.getElementById('gantt'); return [s.dataset.t0Ns, s.dataset.t1Ns];", json!([]));
    assert_eq!(got, json!([t0.to_string(), t1.to_string()]), "the zoom controls did not set the window");
}

/// Checks the drawn gate control list of the selected port against `gcl` in the chart's
/// window: exactly the open (traffic class, entry interval) pieces the list gives.
pub fn check_gcl(b: &Browser, gcl: &tsn_model::GateControlList) -> usize {
    let drawn = b.exec(
        r#"const svg = document.getElementById('gcl'); const g = document.getElementById('gantt');
           return {segments: svg.dataset.segments, t0: g.dataset.t0Ns, t1: g.dataset.t1Ns,
                   open: Array.from(svg.querySelectorAll('rect.gate-open')).map(r => [Number(r.dataset.tc), r.dataset.startNs, r.dataset.endNs])};"#,
        json!([]),
    );
    let (t0, t1) = (num(&drawn["t0"]) as i128, num(&drawn["t1"]) as i128);
    let (base, cycle) = (gcl.base_time_ns as i128, gcl.cycle_time_ns as i128);
    let first = (t0 - base).div_euclid(cycle);
    let last = (t1 - base + cycle - 1).div_euclid(cycle);
    let mut want = std::collections::BTreeSet::new();
    for k in first..last {
        let mut t = base + k * cycle;
        for e in &gcl.entries {
            let (a, bnd) = (t, t + e.interval_ns as i128);
            t = bnd;
            if bnd <= t0 || a >= t1 {
                continue;
            }
            for tc in 0..8u8 {
                if e.gate_states & (1 << tc) != 0 {
                    want.insert((tc, a, bnd));
                }
            }
        }
    }
    let int = |v: &Value| -> i128 {
        v.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not an integer: {v}"))
    };
    let got: std::collections::BTreeSet<(u8, i128, i128)> = drawn["open"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s[0].as_u64().unwrap() as u8, int(&s[1]), int(&s[2])))
        .collect();
    assert_eq!(drawn["open"].as_array().unwrap().len(), got.len(), "a gate segment is drawn twice");
    assert_eq!(got, want, "the drawn gate states disagree with the GCL of {}", gcl.port);
    got.len()
}
