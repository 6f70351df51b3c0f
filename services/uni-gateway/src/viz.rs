//! The schedule and network visualizer: a web page served by the gateway (`/viz`) and the
//! data it draws (`/viz/api/network`), with the same authentication and CUC scoping as
//! RESTCONF.
//!
//! ```text
//!  bus: schedule.solved ──┐                         ┌─▶ GET /viz/api/network (scoped View)
//!  bus: deploy.completed ─┼─▶ queue "uni-gateway.viz" ─▶ Visualizer (deployed problem + schedule,
//!  bus: topology.changed ─┘        (tracker task)          topology) ─▶ table `deployed`
//!  page (vanilla JS + SVG, built into the binary) ◀── SSE /restconf/streams/NETCONF: refetch
//! ```
//!
//! The RESTCONF model carries no routes, transmissions or gate control lists, so the
//! gateway follows the pipeline: it keeps the `schedule.solved` job of each request and
//! adopts it as the network's schedule when `deploy.completed` reports that request
//! deployed (re-verified with tsn-check). A [`View`] is what one principal may see: the
//! topology, its CUCs' streams, their transmissions, and only the gate control lists of
//! ports that carry none of another CUC's streams. `tsnctl schedule render` builds the
//! same [`View`] from files and embeds it into the same page.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tsn_bus::{Bus, ConsumerOptions};
use tsn_model::{NodeKind, Problem, Schedule, Topology};
use tsn_pipeline::v1;

use crate::app::App;
use crate::auth::{authenticate, PeerIdentity, Principal};
use crate::error::RestconfError;
use crate::media::Media;
use crate::store::{Scope, StreamRow};

/// Queue of the visualizer's tracker (schedule.solved, deploy.completed, topology.changed).
pub const QUEUE: &str = "uni-gateway.viz";
/// How many solved-but-not-yet-deployed jobs the tracker keeps.
const PENDING_JOBS: usize = 32;

const PAGE: &str = include_str!("../assets/viz.html");
const SCRIPT: &str = include_str!("../assets/viz.js");
const STYLE: &str = include_str!("../assets/viz.css");

/// The schedule the network runs, as the pipeline reported it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Deployed {
    /// The request whose deploy made it current.
    pub request_id: String,
    /// Admitted-state version southbound reported (0 when unknown).
    pub version: u64,
    /// The problem it answers (topology, streams, config).
    pub problem: Problem,
    /// The schedule.
    pub schedule: Schedule,
    /// tsn-check's verdict, recomputed by the gateway ("verified" or the violations).
    pub verdict: String,
    /// When it was adopted (ms since the epoch).
    pub deployed_ms: i64,
}

#[derive(Debug, Default)]
struct State_ {
    /// Newest topology from `topology.changed`.
    discovered: Option<(u64, Topology)>,
    /// The configured topology (`topology_file`), shown until another one is known.
    configured: Option<Topology>,
    deployed: Option<Arc<Deployed>>,
    pending: VecDeque<(String, v1::SolvedJob)>,
}

/// What the visualizer knows about the network (shared by the tracker and the handlers).
#[derive(Debug, Default)]
pub struct Visualizer {
    state: RwLock<State_>,
}

impl Visualizer {
    /// A visualizer that shows `configured` until the pipeline reports a topology.
    pub fn new(configured: Option<Topology>) -> Self {
        Visualizer { state: RwLock::new(State_ { configured, ..Default::default() }) }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State_> {
        self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State_> {
        self.state.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The deployed schedule, if any.
    pub fn deployed(&self) -> Option<Arc<Deployed>> {
        self.read().deployed.clone()
    }

    /// The topology to draw: discovered, else the deployed problem's, else the configured one.
    pub fn topology(&self) -> Option<Topology> {
        let s = self.read();
        s.discovered
            .as_ref()
            .map(|(_, t)| t.clone())
            .or_else(|| s.deployed.as_ref().map(|d| d.problem.topology.clone()))
            .or_else(|| s.configured.clone())
    }

    fn set_deployed(&self, d: Deployed) {
        self.write().deployed = Some(Arc::new(d));
    }
}

/// Binds the tracker's queue (before the gateway accepts requests, so that no result of a
/// request made through it is missed).
pub async fn subscribe(bus: &dyn Bus) -> Result<tsn_bus::Subscription, tsn_bus::BusError> {
    bus.subscribe(
        QUEUE,
        &[tsn_pipeline::SCHEDULE_SOLVED, tsn_pipeline::DEPLOY_COMPLETED, tsn_pipeline::TOPOLOGY_CHANGED],
        ConsumerOptions::default(),
    )
    .await
}

/// Restores the last deployed schedule from the store (after a restart).
pub async fn restore(app: &App) {
    match app.store.deployed_schedule().await {
        Ok(Some(text)) => match serde_json::from_str::<Deployed>(&text) {
            Ok(d) => app.viz.set_deployed(d),
            Err(e) => tracing::warn!(error = %e, "the stored deployed schedule is unreadable; ignored"),
        },
        Ok(None) => {}
        Err(e) => e.log("reading the deployed schedule"),
    }
}

/// Follows the pipeline until `shutdown` (subscribing first when `sub` is None).
pub async fn tracker(app: Arc<App>, sub: Option<tsn_bus::Subscription>, shutdown: CancellationToken) {
    let mut sub = match sub {
        Some(s) => s,
        None => {
            const EVERY: Duration = Duration::from_secs(1);
            let subscribe = || subscribe(app.bus.as_ref());
            match crate::tasks::subscribe_retrying(
                "the visualizer's queue",
                &mut EVERY.clone(),
                EVERY,
                &shutdown,
                subscribe,
            )
            .await
            {
                Some(s) => s,
                None => return,
            }
        }
    };
    loop {
        let delivery = tokio::select! {
            _ = shutdown.cancelled() => return,
            d = sub.next() => d,
        };
        let delivery = match delivery {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "visualizer subscription failed");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let message = delivery.message().clone();
        if let Err(e) = track(&app, &message).await {
            // Nothing to retry: a body we cannot use stays unusable.
            tracing::warn!(kind = %message.kind, request_id = %message.request_id, error = %e, "visualizer ignores a message");
        }
        let _ = delivery.ack().await;
    }
}

async fn track(app: &App, message: &tsn_bus::Message) -> anyhow::Result<()> {
    match message.kind.as_str() {
        tsn_pipeline::SCHEDULE_SOLVED => {
            let job: v1::SolvedJob = tsn_pipeline::decode(&message.kind, message)?;
            let mut s = app.viz.write();
            s.pending.retain(|(id, _)| id != &message.request_id);
            s.pending.push_back((message.request_id.clone(), job));
            while s.pending.len() > PENDING_JOBS {
                s.pending.pop_front();
            }
        }
        tsn_pipeline::DEPLOY_COMPLETED => {
            let outcome: v1::RequestOutcome = tsn_pipeline::decode(&message.kind, message)?;
            let job = {
                let mut s = app.viz.write();
                let i = s.pending.iter().position(|(id, _)| id == &message.request_id);
                i.and_then(|i| s.pending.remove(i)).map(|(_, j)| j)
            };
            if !outcome.deployed {
                return Ok(());
            }
            let Some(job) = job else {
                anyhow::bail!("deployed, but its schedule.solved was not seen; the shown schedule may be stale");
            };
            let kind = tsn_pipeline::SCHEDULE_SOLVED;
            let pb_problem = job.job.as_ref().and_then(|j| j.problem.as_ref());
            let problem = tsn_pipeline::model::problem_from_pb(
                kind,
                pb_problem.ok_or_else(|| anyhow::anyhow!("schedule.solved without a problem"))?,
            )?;
            let schedule = tsn_pipeline::model::schedule_from_pb(
                kind,
                job.schedule.as_ref().ok_or_else(|| anyhow::anyhow!("schedule.solved without a schedule"))?,
            )?;
            let report = tsn_check::verify(&problem, &schedule);
            let verdict = if report.is_ok() { "verified".to_owned() } else { report.to_string() };
            if !report.is_ok() {
                tracing::error!(request_id = %message.request_id, %verdict, "a deployed schedule fails tsn-check");
            }
            let d = Deployed {
                request_id: message.request_id.clone(),
                version: outcome.admitted_state.as_ref().map_or(0, |a| a.version),
                problem,
                schedule,
                verdict,
                deployed_ms: crate::store::now_ms(),
            };
            let text = serde_json::to_string(&d)?;
            {
                let _guard = app.store.write_lock.lock().await;
                app.store.save_deployed_schedule(&text).await?;
            }
            app.viz.set_deployed(d);
        }
        tsn_pipeline::TOPOLOGY_CHANGED => {
            let snap: v1::TopologySnapshot = tsn_pipeline::decode(&message.kind, message)?;
            let topology = tsn_pipeline::topology::from_pb(&snap)?;
            let mut s = app.viz.write();
            if s.discovered.as_ref().is_none_or(|(v, _)| *v <= message.topology_version) {
                s.discovered = Some((message.topology_version, topology));
            }
        }
        _ => {}
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The view: what the page draws.

/// Everything the page draws, as one principal may see it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct View {
    /// `live` (a running gateway) or `file` (`tsnctl schedule render`).
    pub source: String,
    /// Page title.
    pub title: String,
    /// tsn-check's verdict on the schedule shown (None without a schedule).
    pub verdict: Option<String>,
    /// Admitted-state version of the deployed schedule (live).
    pub version: Option<u64>,
    /// The schedule's hyperperiod (0 without a schedule).
    pub hyperperiod_ns: u64,
    /// Bridges and end stations.
    pub nodes: Vec<ViewNode>,
    /// Directed links with their scheduled utilisation.
    pub links: Vec<ViewLink>,
    /// The streams (admitted, failed, planned) the principal may see.
    pub streams: Vec<ViewStream>,
    /// Every frame instance of the visible streams on every link, over one hyperperiod.
    pub transmissions: Vec<ViewTransmission>,
    /// Gate control lists of the ports whose every stream is visible.
    pub gcls: Vec<ViewGcl>,
}

/// A node.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ViewNode {
    /// Node id.
    pub id: String,
    /// `bridge` or `end-station`.
    pub kind: String,
}

/// A directed link (egress port).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ViewLink {
    /// Transmitting node.
    pub from: String,
    /// Receiving node.
    pub to: String,
    /// Line rate, bit/s.
    pub rate_bps: u64,
    /// Egress interface name, when known.
    pub port: Option<String>,
    /// Time on the wire of the visible streams per hyperperiod, ns.
    pub busy_ns: u64,
    /// `busy_ns / hyperperiod_ns` (0 without a schedule).
    pub utilisation: f64,
    /// Visible transmissions on it.
    pub transmissions: usize,
}

/// A stream.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ViewStream {
    /// Stream id (802.1Qcc `AA-BB-CC-DD-EE-FF:00-01`, or the instance's id).
    pub id: String,
    /// Domain (live).
    pub domain: Option<String>,
    /// CUC (live).
    pub cuc: Option<String>,
    /// Talker node (or MAC address when not resolved).
    pub talker: String,
    /// Listener nodes (or MAC addresses).
    pub listeners: Vec<String>,
    /// Period, ns.
    pub period_ns: Option<u64>,
    /// Frames per period.
    pub frames_per_period: Option<u32>,
    /// 802.1Qcc max-frame-size, bytes.
    pub max_frame_size: Option<u32>,
    /// Required end-to-end latency bound, ns.
    pub max_latency_ns: Option<u64>,
    /// Scheduled talker offset, ns.
    pub talker_offset_ns: Option<u64>,
    /// Scheduled worst-case latency, ns.
    pub worst_latency_ns: Option<u64>,
    /// Node ids along each path (one per listener).
    pub paths: Vec<Vec<String>>,
    /// `scheduled` (file), or the UNI's `ready` / `failed` / `planned` / `modified`.
    pub status: String,
    /// IEEE 802.1Q Table 46-15 failure code (0 = none).
    pub failure_code: u32,
    /// Whether the shown schedule carries it.
    pub scheduled: bool,
}

/// One frame instance on one link.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ViewTransmission {
    /// Stream id.
    pub stream: String,
    /// Link: transmitting node.
    pub from: String,
    /// Link: receiving node.
    pub to: String,
    /// Period index within the hyperperiod.
    pub instance: u32,
    /// Frame index within the period.
    pub frame: u32,
    /// First bit on the wire (may exceed the hyperperiod: times repeat modulo it).
    pub start_ns: u64,
    /// Last bit on the wire.
    pub end_ns: u64,
    /// Egress queue (traffic class 7 − queue).
    pub queue: u8,
}

/// A port's gate control list.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ViewGcl {
    /// Port: transmitting node.
    pub from: String,
    /// Port: receiving node.
    pub to: String,
    /// Start of the first cycle.
    pub base_time_ns: u64,
    /// Cycle length.
    pub cycle_time_ns: u64,
    /// (gate states, bit tc = open; interval ns).
    pub entries: Vec<(u8, u64)>,
}

/// Builds the view of `schedule` (answering `problem`) on `topology`: `meta` gives the
/// UNI's view of each stream it knows (status, CUC), `visible` says whether the viewer may
/// see a stream. Streams the schedule carries but `meta` does not know are shown when
/// `show_unknown` (an administrator, or a file).
pub fn build_view(
    topology: Option<&Topology>,
    deployed: Option<(&Problem, &Schedule)>,
    meta: &[ViewStream],
    visible: &dyn Fn(&str) -> bool,
    show_unknown: bool,
) -> View {
    let mut view = View::default();
    let topology = topology.or(deployed.map(|(p, _)| &p.topology));
    if let Some(t) = topology {
        view.nodes = t
            .nodes
            .iter()
            .map(|n| ViewNode {
                id: n.id.0.clone(),
                kind: match n.kind {
                    NodeKind::Bridge => "bridge".into(),
                    NodeKind::EndStation => "end-station".into(),
                },
            })
            .collect();
        view.links = t
            .links
            .iter()
            .map(|l| ViewLink {
                from: l.from.0.clone(),
                to: l.to.0.clone(),
                rate_bps: l.rate_bps,
                port: l.ports.from_port.clone(),
                busy_ns: 0,
                utilisation: 0.0,
                transmissions: 0,
            })
            .collect();
    }
    let known: BTreeMap<&str, &ViewStream> = meta.iter().map(|m| (m.id.as_str(), m)).collect();
    let mut streams: BTreeMap<String, ViewStream> =
        meta.iter().filter(|m| visible(&m.id)).map(|m| (m.id.clone(), m.clone())).collect();
    if let Some((problem, schedule)) = deployed {
        view.hyperperiod_ns = schedule.hyperperiod_ns;
        // Ports with a stream the viewer may not see keep their GCL hidden.
        let mut foreign_ports = BTreeSet::new();
        for ss in &schedule.streams {
            let id = ss.stream.0.as_str();
            let shown = visible(id) && (known.contains_key(id) || show_unknown);
            if !shown {
                foreign_ports.extend(ss.transmissions.iter().map(|t| (t.link.from.0.clone(), t.link.to.0.clone())));
                continue;
            }
            let def = problem.stream(&ss.stream);
            let entry = streams.entry(id.to_owned()).or_insert_with(|| ViewStream {
                id: id.to_owned(),
                status: "scheduled".into(),
                ..Default::default()
            });
            if let Some(d) = def {
                entry.talker = d.talker.0.clone();
                entry.listeners = d.listeners.iter().map(|l| l.0.clone()).collect();
                entry.period_ns = Some(d.period_ns);
                entry.frames_per_period = Some(d.frames_per_period);
                entry.max_frame_size = Some(d.max_frame_size);
                entry.max_latency_ns = Some(d.max_latency_ns);
            }
            entry.talker_offset_ns = Some(ss.talker_offset_ns);
            entry.worst_latency_ns = Some(ss.worst_latency_ns);
            entry.scheduled = true;
            entry.paths = crate::convert::route_nodes(&ss.route);
            for t in &ss.transmissions {
                view.transmissions.push(ViewTransmission {
                    stream: id.to_owned(),
                    from: t.link.from.0.clone(),
                    to: t.link.to.0.clone(),
                    instance: t.instance,
                    frame: t.frame,
                    start_ns: t.start_ns,
                    end_ns: t.end_ns,
                    queue: t.queue,
                });
            }
        }
        for l in &mut view.links {
            let on: Vec<&ViewTransmission> =
                view.transmissions.iter().filter(|t| t.from == l.from && t.to == l.to).collect();
            l.transmissions = on.len();
            l.busy_ns = on.iter().map(|t| t.end_ns.saturating_sub(t.start_ns)).sum();
            if schedule.hyperperiod_ns > 0 {
                l.utilisation = l.busy_ns as f64 / schedule.hyperperiod_ns as f64;
            }
        }
        view.gcls = schedule
            .gcls
            .iter()
            .filter(|g| !foreign_ports.contains(&(g.port.from.0.clone(), g.port.to.0.clone())))
            .map(|g| ViewGcl {
                from: g.port.from.0.clone(),
                to: g.port.to.0.clone(),
                base_time_ns: g.base_time_ns,
                cycle_time_ns: g.cycle_time_ns,
                entries: g.entries.iter().map(|e| (e.gate_states, e.interval_ns)).collect(),
            })
            .collect();
    }
    view.streams = streams.into_values().collect();
    view
}

/// The UNI's view of a stored stream: identity, status and requirements from its config.
pub fn stream_meta(row: &StreamRow) -> ViewStream {
    let c = &row.config;
    let mac = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_owned();
    let status = row.status.as_ref();
    let talker_status = status.and_then(|s| s.pointer("/status-info/talker-status")).and_then(Value::as_str);
    let failure_code =
        status.and_then(|s| s.pointer("/status-info/failure-code")).and_then(Value::as_u64).unwrap_or(0) as u32;
    let status_text = match (talker_status, row.stream_status.as_str()) {
        (_, "modified") => "modified",
        (Some("ready"), _) => "ready",
        (Some("failed"), _) => "failed",
        _ => "planned",
    };
    ViewStream {
        id: row.stream_id.clone(),
        domain: Some(row.domain_id.clone()),
        cuc: Some(row.cuc_id.clone()),
        talker: mac(c.pointer("/talker/end-station-interfaces/0/mac-address")),
        listeners: c
            .get("listener")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|l| mac(l.pointer("/end-station-interfaces/0/mac-address")))
            .collect(),
        max_latency_ns: c.pointer("/talker/user-to-network-requirements/max-latency").and_then(Value::as_u64),
        status: status_text.into(),
        failure_code,
        ..Default::default()
    }
}

/// The page with `view` embedded (no requests for data: `tsnctl schedule render`).
pub fn render_html(view: &View) -> String {
    // `<` escaped, so that nothing in the data can close the script element.
    let data = serde_json::to_string(view).unwrap_or_default().replace('<', "\\u003c");
    page(&format!("<script id=\"viz-data\" type=\"application/json\">{data}</script>"), &view.title)
}

/// The live page (fetches `api/network` and follows the event stream).
pub fn live_html() -> String {
    page("", "tsn-cp network and schedule")
}

/// Fills the template's `{{NAME}}` slots in one pass (so that no inserted text is read as
/// a slot).
fn page(data: &str, title: &str) -> String {
    let title = crate::error::xml_escape(title);
    let mut out = String::with_capacity(PAGE.len() + SCRIPT.len() + STYLE.len() + data.len());
    let mut rest = PAGE;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(j) = after.find("}}") else { break };
        match &after[..j] {
            "TITLE" => out.push_str(&title),
            "STYLE" => out.push_str(STYLE),
            "DATA" => out.push_str(data),
            "SCRIPT" => out.push_str(SCRIPT),
            other => {
                out.push_str("{{");
                out.push_str(other);
                out.push_str("}}");
            }
        }
        rest = &after[j + 2..];
    }
    out.push_str(rest);
    out
}

/// Bytes of the page's built-in assets (HTML template, script, style sheet).
pub fn asset_bytes() -> usize {
    PAGE.len() + SCRIPT.len() + STYLE.len()
}

// ---------------------------------------------------------------------------------------
// Handlers.

/// The caller of a GET (or HEAD), authenticated as for RESTCONF.
fn admit(app: &App, req: &Request, peer: Option<&PeerIdentity>) -> Result<Principal, Box<Response>> {
    if req.method() != axum::http::Method::GET && req.method() != axum::http::Method::HEAD {
        let mut r = RestconfError::new(
            crate::error::ErrorType::Protocol,
            crate::error::ErrorTag::OperationNotSupported,
            format!("method {} is not allowed here", req.method()),
        )
        .into_response_in(Media::Json);
        r.headers_mut().insert("allow", HeaderValue::from_static("GET, HEAD"));
        return Err(Box::new(r));
    }
    authenticate(&app.config.auth, req.headers(), peer.unwrap_or(&PeerIdentity::default()))
        .map_err(|e| Box::new(e.into_response_in(Media::Json)))
}

/// `GET /viz`: the page (authenticated like RESTCONF, so that a browser asks for the
/// credentials the page's requests then carry).
pub async fn page_handler(
    State(app): State<Arc<App>>,
    peer: Option<Extension<PeerIdentity>>,
    req: Request,
) -> Response {
    if let Err(r) = admit(&app, &req, peer.as_deref()) {
        return *r;
    }
    let mut resp = (StatusCode::OK, live_html()).into_response();
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert("cache-control", HeaderValue::from_static("no-store"));
    // Everything the page needs is in it or on this origin.
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
        ),
    );
    resp
}

/// `GET /viz/api/network`: the [`View`] of the deployed schedule for the caller.
pub async fn network_handler(
    State(app): State<Arc<App>>,
    peer: Option<Extension<PeerIdentity>>,
    req: Request,
) -> Response {
    let p = match admit(&app, &req, peer.as_deref()) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    match live_view(&app, &p).await {
        Ok(view) => {
            let mut resp = (StatusCode::OK, serde_json::to_string(&view).unwrap_or_default()).into_response();
            resp.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
            resp.headers_mut().insert("cache-control", HeaderValue::from_static("no-store"));
            resp
        }
        Err(e) => e.into_response_in(Media::Json),
    }
}

/// The view of the running network for principal `p`.
pub async fn live_view(app: &App, p: &Principal) -> Result<View, RestconfError> {
    let mut tx = app.store.begin(false).await?;
    let snap = app.store.load(&mut tx, &Scope::default()).await?;
    tx.commit().await?;
    // A stream id names one stream network-wide; its owner is the CUC that stored it.
    let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in &snap.streams {
        owners.entry(s.stream_id.clone()).or_default().push(s.cuc_id.clone());
    }
    let meta: Vec<ViewStream> = snap.streams.iter().filter(|s| p.may(&s.cuc_id)).map(stream_meta).collect();
    let visible =
        |id: &str| p.admin || owners.get(id).is_some_and(|cucs| !cucs.is_empty() && cucs.iter().all(|c| p.may(c)));
    let deployed = app.viz.deployed();
    let topology = app.viz.topology();
    let mut view =
        build_view(topology.as_ref(), deployed.as_ref().map(|d| (&d.problem, &d.schedule)), &meta, &visible, p.admin);
    view.source = "live".into();
    view.title = "tsn-cp network and schedule".into();
    view.version = deployed.as_ref().map(|d| d.version);
    view.verdict = deployed.as_ref().map(|d| d.verdict.clone());
    Ok(view)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tsn_model::{GateControlEntry, GateControlList, LinkId, Route, StreamId, StreamSchedule, Transmission};

    fn line() -> (Problem, Schedule) {
        let topology: Topology = serde_json::from_value(serde_json::json!({
            "nodes": [{"id": "a", "kind": "end-station"}, {"id": "b", "kind": "bridge"}, {"id": "c", "kind": "end-station"}],
            "links": [{"from": "a", "to": "b", "rate_bps": 1_000_000_000u64}, {"from": "b", "to": "c", "rate_bps": 1_000_000_000u64}]
        }))
        .unwrap();
        let stream = |id: &str| tsn_model::Stream {
            id: StreamId(id.into()),
            talker: "a".into(),
            listeners: vec!["c".into()],
            period_ns: 1000,
            frames_per_period: 1,
            max_frame_size: 64,
            max_latency_ns: 900,
            max_jitter_ns: None,
            earliest_offset_ns: 0,
            latest_offset_ns: None,
            pcp: 7,
            vlan: None,
        };
        let problem = Problem::new(topology, vec![stream("s1"), stream("s2")], tsn_model::SchedulingConfig::default());
        let tx = |l: (&str, &str), s: u64| Transmission {
            link: LinkId::new(l.0, l.1),
            instance: 0,
            frame: 0,
            start_ns: s,
            end_ns: s + 100,
            queue: 0,
        };
        let ss = |id: &str, s: u64| StreamSchedule {
            stream: StreamId(id.into()),
            route: Route {
                stream: StreamId(id.into()),
                paths: vec![vec![LinkId::new("a", "b"), LinkId::new("b", "c")]],
            },
            transmissions: vec![tx(("a", "b"), s), tx(("b", "c"), s + 200)],
            talker_offset_ns: s,
            worst_latency_ns: 300,
        };
        let gcl = |f: &str, t: &str| GateControlList {
            port: LinkId::new(f, t),
            base_time_ns: 0,
            cycle_time_ns: 1000,
            entries: vec![GateControlEntry { gate_states: 0x80, interval_ns: 1000 }],
        };
        let schedule = Schedule {
            version: 1,
            hyperperiod_ns: 1000,
            streams: vec![ss("s1", 0), ss("s2", 400)],
            gcls: vec![gcl("a", "b"), gcl("b", "c")],
        };
        (problem, schedule)
    }

    #[test]
    fn a_view_shows_only_visible_streams_and_their_ports() {
        let (p, s) = line();
        let meta = |id: &str| ViewStream { id: id.into(), status: "ready".into(), ..Default::default() };
        let all = build_view(None, Some((&p, &s)), &[meta("s1"), meta("s2")], &|_| true, false);
        assert_eq!(all.streams.len(), 2);
        assert_eq!(all.transmissions.len(), 4);
        assert_eq!(all.gcls.len(), 2);
        let ab = all.links.iter().find(|l| l.from == "a").unwrap();
        assert_eq!((ab.busy_ns, ab.transmissions), (200, 2));
        assert!((ab.utilisation - 0.2).abs() < 1e-9);
        let one = build_view(None, Some((&p, &s)), &[meta("s1"), meta("s2")], &|id| id == "s1", false);
        assert_eq!(one.streams.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["s1"]);
        assert!(one.transmissions.iter().all(|t| t.stream == "s1"));
        assert!(one.gcls.is_empty(), "both ports carry s2 too");
        let text = serde_json::to_string(&one).unwrap();
        assert!(!text.contains("s2"), "{text}");
        // A stream the UNI does not know is shown only with show_unknown.
        let unknown = build_view(None, Some((&p, &s)), &[meta("s1")], &|_| true, false);
        assert_eq!(unknown.streams.len(), 1);
        assert!(unknown.gcls.is_empty());
        assert_eq!(build_view(None, Some((&p, &s)), &[], &|_| true, true).streams.len(), 2);
    }

    #[test]
    fn embedded_data_cannot_close_its_script_element() {
        let view = View { title: "</script><b>".into(), ..Default::default() };
        let html = render_html(&view);
        assert!(!html.contains("</script><b>"));
        assert!(html.contains("&lt;/script&gt;"));
        let data = html.split("<script id=\"viz-data\" type=\"application/json\">").nth(1).unwrap();
        let json = data.split("</script>").next().unwrap();
        let back: View = serde_json::from_str(json).unwrap();
        assert_eq!(back, view);
    }
}
