//! `tsnctl streams submit|list|show|remove` and `tsnctl schedule show`: the RESTCONF client
//! side of the UNI (802.1Qdj `ieee802-dot1q-cnc-config`).

use std::collections::BTreeMap;
use std::future::Future;
use std::io::{IsTerminal as _, Write as _};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use hyper::Method;
use serde_json::{json, Value};

use crate::cli::{ListArgs, RemoveArgs, ScheduleShowArgs, ShowArgs, SubmitArgs};
use crate::client::{cuc_path, key, Gateway, CNC_CONFIG};

/// Every stream ready.
pub const EXIT_READY: u8 = 0;
/// Some stream failed.
pub const EXIT_FAILED: u8 = 2;
/// Some stream still pending when the wait ended.
pub const EXIT_PENDING: u8 = 3;

const TOP: &str = "ieee802-dot1q-cnc-config:cnc-config";
const STREAM_MEMBER: &str = "ieee802-dot1q-cnc-config:stream";

/// Runs an async command on a small runtime of its own.
pub fn block_on(f: impl Future<Output = Result<ExitCode>>) -> Result<ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(f)
}

fn gateway(g: &crate::cli::GatewayArgs) -> Result<Gateway> {
    Gateway::new(&g.url, g.user.as_deref(), g.password.as_deref())
}

// ---------------------------------------------------------------------------------------
// Stream files.

/// Reads a stream file: JSON or YAML (by extension; otherwise by its first character).
pub fn read_stream_file(path: &Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let yaml = match ext.as_str() {
        "yaml" | "yml" => true,
        "json" => false,
        _ => !matches!(text.trim_start().chars().next(), Some('{' | '[')),
    };
    parse_streams(&path.display().to_string(), &text, yaml)
}

/// Parses the stream entries of a stream file named `name` (for messages): a
/// `{"ieee802-dot1q-cnc-config:stream": [...]}` document, `{"stream": [...]}`, or a list.
pub fn parse_streams(name: &str, text: &str, yaml: bool) -> Result<Vec<Value>> {
    let doc: Value = if yaml {
        serde_norway::from_str(text).map_err(|e| match e.location() {
            Some(l) => anyhow!("{name}:{}:{}: not valid YAML: {e}", l.line(), l.column()),
            None => anyhow!("{name}: not valid YAML: {e}"),
        })?
    } else {
        serde_json::from_str(text).map_err(|e| anyhow!("{name}:{}:{}: not valid JSON: {e}", e.line(), e.column()))?
    };
    let list = match &doc {
        Value::Array(a) => a.clone(),
        Value::Object(o) => match [STREAM_MEMBER, "stream", "streams"].iter().find_map(|k| o.get(*k)) {
            Some(Value::Array(a)) => a.clone(),
            _ => {
                bail!("{name}: expected {{\"{STREAM_MEMBER}\": [ ... ]}}, {{\"stream\": [ ... ]}} or a list of streams")
            }
        },
        _ => bail!("{name}: expected a list of streams or an object holding one"),
    };
    if list.is_empty() {
        bail!("{name}: the file holds no stream");
    }
    let mut seen = Vec::new();
    for (i, s) in list.iter().enumerate() {
        let id = s
            .get("stream-id")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("{name}: stream entry {} has no \"stream-id\" string", i + 1))?;
        if seen.contains(&id) {
            bail!("{name}: stream {id} is listed twice");
        }
        seen.push(id);
    }
    Ok(list)
}

// ---------------------------------------------------------------------------------------
// What the gateway reports about a stream.

/// Outcome of a stream as far as the gateway knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Admitted and deployed (`configured`, talker-status ready).
    Ready,
    /// Not admitted (talker-status failed; `failure-code` says why).
    Failed,
    /// No outcome yet.
    Pending,
}

/// One stream entry of the datastore, reduced to what tables show.
#[derive(Debug, Clone)]
pub struct StreamState {
    /// Domain id.
    pub domain: String,
    /// CUC id.
    pub cuc: String,
    /// Stream id.
    pub id: String,
    /// `planned`, `configured` or `modified`.
    pub stream_status: String,
    /// Ready, failed, pending.
    pub outcome: Outcome,
    /// 802.1Q Table 46-15 failure code (failed streams).
    pub failure_code: Option<u64>,
    /// The talker's time-aware-offset, ns.
    pub offset_ns: Option<u64>,
    /// Worst-case accumulated latency, ns.
    pub latency_ns: Option<u64>,
    /// The strictest max-latency the talker or a listener asked for, ns.
    pub max_latency_ns: Option<u64>,
    /// Talker MAC.
    pub talker: String,
    /// Listener MACs.
    pub listeners: Vec<String>,
}

fn arr<'a>(v: &'a Value, k: &str) -> impl Iterator<Item = &'a Value> {
    v.get(k).and_then(Value::as_array).into_iter().flatten()
}

fn text(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or("").to_owned()
}

/// Reads an unsigned number that RFC 7951 may encode as a string (64-bit types).
fn num(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Every stream of a cnc-config document.
pub fn stream_states(doc: &Value) -> Vec<StreamState> {
    let mut out = Vec::new();
    let top = doc.get(TOP).cloned().unwrap_or(Value::Null);
    for d in arr(&top, "domain") {
        for c in arr(d, "cuc") {
            for s in arr(c, "stream") {
                out.push(stream_state(&text(d, "domain-id"), &text(c, "cuc-id"), s));
            }
        }
    }
    out
}

fn stream_state(domain: &str, cuc: &str, s: &Value) -> StreamState {
    let talker = s.get("talker").cloned().unwrap_or(Value::Null);
    let info = s.get("status-info");
    let talker_status = info.map(|i| text(i, "talker-status")).unwrap_or_default();
    let stream_status = text(s, "stream-status");
    let outcome = match (stream_status.as_str(), talker_status.as_str()) {
        ("configured", "ready") => Outcome::Ready,
        ("planned", "failed") => Outcome::Failed,
        _ => Outcome::Pending,
    };
    let offset_ns = arr(&talker, "interface-configuration")
        .next()
        .or_else(|| talker.get("interface-configuration"))
        .into_iter()
        .flat_map(|ic| arr(ic, "interface-list"))
        .flat_map(|i| arr(i, "config-list"))
        .find_map(|c| num(c.get("time-aware-offset")));
    let req = |v: &Value| num(v.pointer("/user-to-network-requirements/max-latency")).filter(|l| *l > 0);
    let mut max_latency_ns = req(&talker);
    for l in arr(s, "listener") {
        if let Some(m) = req(l) {
            max_latency_ns = Some(max_latency_ns.map_or(m, |t| t.min(m)));
        }
    }
    let mac = |v: &Value| {
        v.pointer("/end-station-interfaces/0/mac-address").and_then(Value::as_str).unwrap_or("?").to_owned()
    };
    StreamState {
        domain: domain.to_owned(),
        cuc: cuc.to_owned(),
        id: text(s, "stream-id"),
        stream_status,
        outcome,
        failure_code: info.and_then(|i| num(i.get("failure-code"))).filter(|c| *c != 0),
        offset_ns,
        latency_ns: num(talker.get("accumulated-latency")),
        max_latency_ns,
        talker: mac(&talker),
        listeners: arr(s, "listener").map(mac).collect(),
    }
}

/// The whole cnc-config datastore (configuration and state).
pub async fn fetch_all(gw: &Gateway) -> Result<Vec<StreamState>> {
    Ok(stream_states(&gw.get_json(CNC_CONFIG).await?))
}

/// `12 ns`, `3.456 µs`, `1.250 ms`.
pub fn fmt_ns(ns: u64) -> String {
    if ns < 1_000 {
        format!("{ns} ns")
    } else if ns < 1_000_000 {
        format!("{:.3} µs", ns as f64 / 1e3)
    } else {
        format!("{:.3} ms", ns as f64 / 1e6)
    }
}

fn opt_ns(v: Option<u64>) -> String {
    v.map_or_else(|| "-".into(), fmt_ns)
}

/// `ready`, `failed (code 8)`, `pending (planned)`.
pub fn status_text(s: &StreamState) -> String {
    match s.outcome {
        Outcome::Ready => "ready".into(),
        Outcome::Failed => match s.failure_code {
            Some(c) => format!("failed (code {c})"),
            None => "failed".into(),
        },
        Outcome::Pending => format!("pending ({})", s.stream_status),
    }
}

/// Prints rows under a header, columns padded to their widest cell.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(c);
            } else {
                out.push_str(c);
                out.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
            }
        }
        println!("{}", out.trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r.clone());
    }
}

// ---------------------------------------------------------------------------------------
// Submitting and waiting.

/// Stores `streams` under (domain, cuc) with a merge (RESTCONF PATCH on the cnc-config
/// container: creates the domain and CUC when missing, replaces nothing else) and, with
/// `compute`, asks for their computation (`compute_streams`). Returns the gateway's answer
/// to the operation.
pub async fn submit_streams(
    gw: &Gateway,
    domain: &str,
    cuc: &str,
    streams: &[Value],
    compute: bool,
) -> Result<Option<String>> {
    let body = json!({ TOP: {"domain": [{"domain-id": domain, "cuc": [{"cuc-id": cuc, "stream": streams}]}]} });
    gw.send(Method::PATCH, CNC_CONFIG, Some(&body)).await.context("storing the streams")?;
    if !compute {
        return Ok(None);
    }
    let ids: Vec<Value> = streams.iter().map(|s| json!({"stream-id": s["stream-id"]})).collect();
    let input = json!({"ieee802-dot1q-cnc-config:input": {"domain": [{"domain-id": domain, "cuc": [{"cuc-id": cuc, "stream-list": ids}]}]}});
    let r = gw
        .send(Method::POST, "/restconf/operations/ieee802-dot1q-cnc-config:compute_streams", Some(&input))
        .await
        .context("asking for the computation (compute_streams)")?;
    let out: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    Ok(Some(
        out.pointer("/ieee802-dot1q-cnc-config:output/result").and_then(Value::as_str).unwrap_or(&r.body).to_owned(),
    ))
}

/// Shows progress on stderr: one updated line on a terminal, a line per change otherwise.
#[derive(Debug)]
pub struct Progress {
    tty: bool,
    last: String,
    last_print: Instant,
    started: Instant,
}

impl Progress {
    /// Starts the clock.
    pub fn new() -> Progress {
        Progress {
            tty: std::io::stderr().is_terminal(),
            last: String::new(),
            last_print: Instant::now(),
            started: Instant::now(),
        }
    }

    /// Reports `what` (printed when it changed, or every 5 s).
    pub fn report(&mut self, what: &str) {
        let elapsed = self.started.elapsed().as_secs_f64();
        let mut err = std::io::stderr();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{what} ({elapsed:.1} s)");
            let _ = err.flush();
        } else if what != self.last || self.last_print.elapsed() >= Duration::from_secs(5) {
            let _ = writeln!(err, "{what} ({elapsed:.1} s)");
            self.last_print = Instant::now();
        }
        self.last = what.to_owned();
    }

    /// Ends the progress line.
    pub fn done(&self) {
        if self.tty && !self.last.is_empty() {
            eprintln!();
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

/// Polls the gateway until every stream of `ids` in (domain, cuc) has an outcome or
/// `timeout` passes. Returns their states in the order of `ids`.
pub async fn wait_for_outcomes(
    gw: &Gateway,
    domain: &str,
    cuc: &str,
    ids: &[String],
    timeout: Duration,
    progress: &mut Progress,
) -> Result<Vec<StreamState>> {
    let deadline = Instant::now() + timeout;
    loop {
        let all = fetch_all(gw).await?;
        let mine: Vec<StreamState> =
            ids.iter()
                .map(|id| {
                    all.iter().find(|s| s.domain == domain && s.cuc == cuc && &s.id == id).cloned().ok_or_else(|| {
                        anyhow!("stream {id} disappeared from {domain}/{cuc} at {} while waiting", gw.url())
                    })
                })
                .collect::<Result<_>>()?;
        let count = |o: Outcome| mine.iter().filter(|s| s.outcome == o).count();
        let (ready, failed, pending) = (count(Outcome::Ready), count(Outcome::Failed), count(Outcome::Pending));
        progress.report(&format!(
            "waiting for the outcome of {} stream(s): {ready} ready, {failed} failed, {pending} pending",
            ids.len()
        ));
        if pending == 0 || Instant::now() >= deadline {
            progress.done();
            return Ok(mine);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The exit code of a set of outcomes.
pub fn outcome_code(states: &[StreamState]) -> u8 {
    if states.iter().any(|s| s.outcome == Outcome::Pending) {
        EXIT_PENDING
    } else if states.iter().any(|s| s.outcome == Outcome::Failed) {
        EXIT_FAILED
    } else {
        EXIT_READY
    }
}

fn summary(states: &[StreamState]) -> String {
    let count = |o: Outcome| states.iter().filter(|s| s.outcome == o).count();
    format!(
        "{} stream(s): {} ready, {} failed, {} pending",
        states.len(),
        count(Outcome::Ready),
        count(Outcome::Failed),
        count(Outcome::Pending)
    )
}

/// `tsnctl streams submit`
pub async fn submit(args: &SubmitArgs) -> Result<ExitCode> {
    let streams = read_stream_file(&args.file)?;
    let gw = gateway(&args.gateway)?;
    let (domain, cuc) = (&args.cuc.domain, &args.cuc.cuc);
    let answer = submit_streams(&gw, domain, cuc, &streams, !args.no_compute).await?;
    println!("stored {} stream(s) in {domain}/{cuc} at {}", streams.len(), gw.url());
    let Some(answer) = answer else { return Ok(ExitCode::SUCCESS) };
    println!("{answer}");
    if args.no_wait {
        return Ok(ExitCode::SUCCESS);
    }
    let ids: Vec<String> = streams.iter().filter_map(|s| s["stream-id"].as_str().map(str::to_owned)).collect();
    let states = wait_for_outcomes(&gw, domain, cuc, &ids, args.timeout, &mut Progress::new()).await?;
    print_states(&states);
    println!("{}", summary(&states));
    Ok(ExitCode::from(outcome_code(&states)))
}

fn print_states(states: &[StreamState]) {
    let rows: Vec<Vec<String>> = states
        .iter()
        .map(|s| {
            vec![
                s.id.clone(),
                status_text(s),
                opt_ns(s.offset_ns),
                opt_ns(s.latency_ns),
                opt_ns(s.max_latency_ns),
                format!("{} -> {}", s.talker, s.listeners.join(",")),
            ]
        })
        .collect();
    print_table(&["STREAM", "STATUS", "TALKER OFFSET", "WORST LATENCY", "MAX LATENCY", "TALKER -> LISTENERS"], &rows);
}

/// `tsnctl streams list`
pub async fn list(args: &ListArgs) -> Result<ExitCode> {
    let gw = gateway(&args.gateway)?;
    let all = fetch_all(&gw).await?;
    if all.is_empty() {
        println!("no streams at {}", gw.url());
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|s| {
            vec![
                format!("{}/{}", s.domain, s.cuc),
                s.id.clone(),
                status_text(s),
                opt_ns(s.offset_ns),
                opt_ns(s.latency_ns),
                format!("{} -> {}", s.talker, s.listeners.join(",")),
            ]
        })
        .collect();
    print_table(&["DOMAIN/CUC", "STREAM", "STATUS", "TALKER OFFSET", "WORST LATENCY", "TALKER -> LISTENERS"], &rows);
    println!("{}", summary(&all));
    Ok(ExitCode::SUCCESS)
}

async fn find(gw: &Gateway, id: &str) -> Result<StreamState> {
    fetch_all(gw)
        .await?
        .into_iter()
        .find(|s| s.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| anyhow!("stream {id} not found at {}", gw.url()))
}

fn stream_path(s: &StreamState) -> String {
    format!("{}/stream={}", cuc_path(&s.domain, &s.cuc), key(&s.id))
}

/// `tsnctl streams show`
pub async fn show(args: &ShowArgs) -> Result<ExitCode> {
    let gw = gateway(&args.gateway)?;
    let s = find(&gw, &args.id).await?;
    let doc = gw.get_json(&stream_path(&s)).await?;
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(ExitCode::SUCCESS)
}

/// `tsnctl streams remove`
pub async fn remove(args: &RemoveArgs) -> Result<ExitCode> {
    let gw = gateway(&args.gateway)?;
    let all = fetch_all(&gw).await?;
    let mut admitted: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut waiting = Vec::new();
    for id in &args.ids {
        let s = all
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| anyhow!("stream {id} not found at {}", gw.url()))?;
        if s.stream_status == "planned" {
            // Never admitted: nothing runs in the network, so deleting the entry is all.
            gw.send(Method::DELETE, &stream_path(s), None).await?;
            println!("{}: deleted (it was never admitted)", s.id);
        } else {
            admitted.entry((s.domain.clone(), s.cuc.clone())).or_default().push(s.id.clone());
            waiting.push((s.domain.clone(), s.cuc.clone(), s.id.clone()));
        }
    }
    for ((domain, cuc), ids) in &admitted {
        let list: Vec<Value> = ids.iter().map(|id| json!({"stream-id": id})).collect();
        let input = json!({"ieee802-dot1q-cnc-config:input": {"stream-list": list}});
        let r = gw.send(Method::POST, &format!("{}/remove_streams", cuc_path(domain, cuc)), Some(&input)).await?;
        let out: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        println!(
            "{}",
            out.pointer("/ieee802-dot1q-cnc-config:output/result").and_then(Value::as_str).unwrap_or("removal started")
        );
    }
    if args.no_wait || waiting.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let deadline = Instant::now() + args.timeout;
    let mut progress = Progress::new();
    loop {
        let all = fetch_all(&gw).await?;
        let left: Vec<&(String, String, String)> = waiting
            .iter()
            .filter(|(d, c, id)| all.iter().any(|s| &s.domain == d && &s.cuc == c && &s.id == id))
            .collect();
        progress.report(&format!("waiting for the network to drop {} stream(s): {} left", waiting.len(), left.len()));
        if left.is_empty() {
            progress.done();
            for (_, _, id) in &waiting {
                println!("{id}: removed");
            }
            return Ok(ExitCode::SUCCESS);
        }
        if Instant::now() >= deadline {
            progress.done();
            let ids: Vec<&str> = left.iter().map(|(_, _, id)| id.as_str()).collect();
            eprintln!("error: still in the network after {:?}: {}", args.timeout, ids.join(", "));
            return Ok(ExitCode::from(EXIT_PENDING));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// ---------------------------------------------------------------------------------------
// tsnctl schedule show

/// Routes of the deployed schedule `tsnctl dev` keeps in DIR/schedule/schedule.json:
/// stream id → node names along each path.
pub fn dev_routes(dir: &Path) -> Result<BTreeMap<String, Vec<String>>> {
    let file = dir.join("schedule").join("schedule.json");
    let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let schedule = tsn_formats::json::read_schedule(&text).map_err(|e| anyhow!("{}: {e}", file.display()))?;
    Ok(schedule
        .streams
        .iter()
        .map(|ss| {
            let paths =
                uni_gateway::convert::route_nodes(&ss.route).into_iter().map(|nodes| nodes.join(" > ")).collect();
            (ss.stream.0.clone(), paths)
        })
        .collect())
}

/// The device configurations `tsnctl dev`'s dry-run configurator wrote into DIR/gcl.
pub fn dev_device_configs(dir: &Path) -> Result<Vec<southbound::DeviceConfig>> {
    let gcl = dir.join("gcl");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&gcl)
        .with_context(|| format!("cannot list {}", gcl.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).with_context(|| format!("cannot read {}", f.display()))?;
        out.push(
            serde_json::from_str(&text).with_context(|| format!("{} is not a device configuration", f.display()))?,
        );
    }
    Ok(out)
}

/// `tsnctl schedule show`
pub async fn schedule_show(args: &ScheduleShowArgs) -> Result<ExitCode> {
    let gw = gateway(&args.gateway)?;
    let all = fetch_all(&gw).await?;
    let routes = match &args.dev_dir {
        Some(d) if d.join("schedule/schedule.json").exists() => Some(dev_routes(d)?),
        Some(_) => Some(BTreeMap::new()),
        None => None,
    };
    let mut header = vec!["STREAM", "STATUS", "TALKER OFFSET", "WORST LATENCY", "MAX LATENCY"];
    if routes.is_some() {
        header.push("PATH");
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|s| {
            let mut row =
                vec![s.id.clone(), status_text(s), opt_ns(s.offset_ns), opt_ns(s.latency_ns), opt_ns(s.max_latency_ns)];
            if let Some(r) = &routes {
                row.push(r.get(&s.id).map_or_else(|| "-".into(), |p| p.join(" | ")));
            }
            row
        })
        .collect();
    println!("streams at {} ({}):", gw.url(), summary(&all));
    print_table(&header, &rows);
    let Some(dir) = &args.dev_dir else {
        println!("(RESTCONF carries no routes or gate control lists; --dev-dir DIR adds those of a `tsnctl dev`)");
        return Ok(ExitCode::SUCCESS);
    };
    let configs = dev_device_configs(dir)?;
    println!();
    println!("gate control lists ({}):", dir.join("gcl").display());
    for c in &configs {
        for p in &c.ports {
            println!(
                "{} {} -> {}: cycle {}, base time {}, {} entries (version {})",
                c.device,
                p.port,
                p.neighbour,
                fmt_ns(p.cycle_time_ns),
                p.base_time_ns,
                p.entries.len(),
                c.version
            );
            for e in &p.entries {
                println!("    gates {:08b}  {}", e.gate_states, fmt_ns(e.interval_ns));
            }
        }
        for t in &c.talker_streams {
            let offsets: Vec<String> = t.frame_offsets_ns.iter().map(|o| fmt_ns(*o)).collect();
            println!(
                "{} talks {} on {}: period {}, frame offsets {}",
                c.device,
                t.stream_id,
                t.port,
                fmt_ns(t.period_ns),
                offsets.join(", ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_files() {
        let j = r#"{"ieee802-dot1q-cnc-config:stream": [{"stream-id": "a"}, {"stream-id": "b"}]}"#;
        assert_eq!(parse_streams("f.json", j, false).unwrap().len(), 2);
        let y = "stream:\n  - stream-id: \"02-00-00-00-00-00:00-01\"\n    talker: {}\n";
        assert_eq!(parse_streams("f.yaml", y, true).unwrap()[0]["stream-id"], "02-00-00-00-00-00:00-01");
        let e = parse_streams("f.json", "{\n  \"stream\": [\n    {\"stream-id\": }\n  ]\n}", false).unwrap_err();
        assert!(e.to_string().starts_with("f.json:3:"), "{e}");
        let e = parse_streams("f.yaml", "stream:\n  - stream-id: a\n   bad: [\n", true).unwrap_err();
        assert!(e.to_string().starts_with("f.yaml:3:"), "{e}");
        assert!(parse_streams("f.json", "[]", false).is_err());
        assert!(parse_streams("f.json", r#"[{"x": 1}]"#, false).unwrap_err().to_string().contains("entry 1"));
        assert!(parse_streams("f.json", r#"[{"stream-id": "a"}, {"stream-id": "a"}]"#, false).is_err());
    }

    #[test]
    fn states_from_a_document() {
        let doc = json!({TOP: {"domain": [{"domain-id": "d", "cuc": [{"cuc-id": "c", "stream": [
            {"stream-id": "s1", "stream-status": "configured",
             "status-info": {"talker-status": "ready", "listener-status": "ready", "failure-code": 0},
             "talker": {"accumulated-latency": 12000,
                "end-station-interfaces": [{"mac-address": "02-00-00-00-00-00", "interface-name": "eth0"}],
                "user-to-network-requirements": {"max-latency": 100000},
                "interface-configuration": {"interface-list": [{"mac-address": "x", "interface-name": "eth0",
                    "config-list": [{"index": 0, "time-aware-offset": 5000}]}]}},
             "listener": [{"index": 0, "user-to-network-requirements": {"max-latency": 50000},
                "end-station-interfaces": [{"mac-address": "02-00-00-00-01-01"}]}]},
            {"stream-id": "s2", "stream-status": "planned",
             "status-info": {"talker-status": "failed", "listener-status": "failed", "failure-code": 8}},
            {"stream-id": "s3", "stream-status": "planned"}
        ]}]}]}});
        let s = stream_states(&doc);
        assert_eq!(s.len(), 3);
        assert_eq!(
            (s[0].outcome, s[0].offset_ns, s[0].latency_ns, s[0].max_latency_ns),
            (Outcome::Ready, Some(5000), Some(12000), Some(50000))
        );
        assert_eq!(s[0].listeners, vec!["02-00-00-00-01-01"]);
        assert_eq!((s[1].outcome, s[1].failure_code), (Outcome::Failed, Some(8)));
        assert_eq!(status_text(&s[1]), "failed (code 8)");
        assert_eq!(s[2].outcome, Outcome::Pending);
        assert_eq!(outcome_code(&s), EXIT_PENDING);
        assert_eq!(outcome_code(&s[..2]), EXIT_FAILED);
        assert_eq!(outcome_code(&s[..1]), EXIT_READY);
        assert_eq!(fmt_ns(999), "999 ns");
        assert_eq!(fmt_ns(1500), "1.500 µs");
        assert_eq!(fmt_ns(2_000_000), "2.000 ms");
    }
}
