//! From a compute request, the topology and the admitted network state to a scheduling
//! job (or, when nothing is left to schedule, the request's failed outcome). Pure: no I/O.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use tsn_model::{
    transmission_time_ns, LinkId, NodeId, NodeKind, Problem, Route, SchedulingConfig, Stream, StreamId, Topology,
};
use tsn_pipeline::failure_code::FailureReason;
use tsn_pipeline::{model, normalize_mac, outcome, v1};

use crate::routing::StreamGraph;

/// How problems are built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BuildSettings {
    /// Problem-wide scheduling parameters (wire overhead, sync error, best-effort size).
    pub scheduling: SchedulingConfig,
    /// Paths Yen's algorithm tries when the shortest one cannot carry a stream.
    pub k_paths: usize,
    /// Largest `max-frame-size` accepted (bytes, without media overhead).
    pub max_frame_size: u32,
}

impl Default for BuildSettings {
    fn default() -> Self {
        BuildSettings { scheduling: SchedulingConfig::default(), k_paths: 4, max_frame_size: 1500 }
    }
}

/// What a request turns into.
#[derive(Debug, Clone, PartialEq)]
pub enum Built {
    /// A problem for the scheduler replicas.
    Job(Box<v1::ScheduleJob>),
    /// Nothing to schedule: the request's final outcome.
    Failed(v1::RequestOutcome),
}

/// The admitted state in model types.
struct Admitted {
    streams: Vec<Stream>,
    schedules: Vec<tsn_model::StreamSchedule>,
    endpoints: HashMap<String, v1::StreamEndpoints>,
}

fn admitted_from_pb(state: &v1::AdmittedState) -> Admitted {
    let kind = "admitted state";
    Admitted {
        streams: state.streams.iter().filter_map(|s| model::stream_from_pb(kind, s).ok()).collect(),
        schedules: state.schedules.iter().filter_map(|s| model::stream_schedule_from_pb(kind, s).ok()).collect(),
        endpoints: state.endpoints.iter().map(|e| (e.stream_id.clone(), e.clone())).collect(),
    }
}

/// Finds the end station an interface belongs to: the `from` node of a link leaving an end
/// station whose `from_mac` is the interface's MAC (any spelling), else the end station
/// whose id is the interface name.
pub fn resolve(topology: &Topology, station: &v1::EndStation) -> Option<NodeId> {
    let kinds: HashMap<&NodeId, NodeKind> = topology.nodes.iter().map(|n| (&n.id, n.kind)).collect();
    if let Some(mac) = normalize_mac(&station.mac_address) {
        let hit = topology.links.iter().find(|l| {
            kinds.get(&l.from) == Some(&NodeKind::EndStation)
                && l.ports.from_mac.as_deref().and_then(normalize_mac).as_deref() == Some(mac.as_str())
        });
        if let Some(l) = hit {
            return Some(l.from.clone());
        }
    }
    let id = NodeId(station.interface_name.clone());
    (kinds.get(&id) == Some(&NodeKind::EndStation)).then_some(id)
}

fn station_text(s: &v1::EndStation) -> String {
    match (s.mac_address.is_empty(), s.interface_name.is_empty()) {
        (false, false) => format!("{} ({})", s.mac_address, s.interface_name),
        (false, true) => s.mac_address.clone(),
        (true, false) => s.interface_name.clone(),
        (true, true) => "(unnamed interface)".into(),
    }
}

/// The nodes and links a topology has, to tell whether an admitted route survives it.
struct Present<'a> {
    nodes: HashSet<&'a NodeId>,
    links: HashSet<LinkId>,
}

impl<'a> Present<'a> {
    fn of(topology: &'a Topology) -> Self {
        Present {
            nodes: topology.nodes.iter().map(|n| &n.id).collect(),
            links: topology.links.iter().map(|l| l.id()).collect(),
        }
    }

    /// Whether `stream`'s end stations and every link of its admitted route still exist.
    fn carries(&self, stream: &Stream, schedule: &tsn_model::StreamSchedule) -> bool {
        std::iter::once(&stream.talker).chain(&stream.listeners).all(|n| self.nodes.contains(n))
            && schedule.route.links().iter().all(|l| self.links.contains(l))
    }
}

/// Scheduled load per link in parts per million of its capacity.
struct Load<'a> {
    topology: &'a Topology,
    overhead: u64,
    ppm: HashMap<LinkId, u64>,
}

impl<'a> Load<'a> {
    fn stream_ppm(&self, stream: &Stream, link: &LinkId) -> u64 {
        let Some(l) = self.topology.link(link) else { return 0 };
        let wire = u64::from(stream.max_frame_size) + self.overhead;
        let tx = transmission_time_ns(wire, l.rate_bps).unwrap_or(u64::MAX);
        let busy = u128::from(tx) * u128::from(stream.frames_per_period) * 1_000_000;
        u64::try_from(busy / u128::from(stream.period_ns.max(1))).unwrap_or(u64::MAX)
    }

    fn add(&mut self, stream: &Stream, links: &[LinkId]) {
        let unique: HashSet<&LinkId> = links.iter().collect();
        for l in unique {
            let p = self.stream_ppm(stream, l);
            let e = self.ppm.entry(l.clone()).or_insert(0);
            *e = e.saturating_add(p);
        }
    }

    /// Whether `stream` fits on every link of `links` next to what is already placed.
    fn fits(&self, stream: &Stream, links: &[LinkId]) -> bool {
        links
            .iter()
            .all(|l| self.ppm.get(l).copied().unwrap_or(0).saturating_add(self.stream_ppm(stream, l)) <= 1_000_000)
    }
}

/// The stream a request describes, or why it cannot be carried.
fn stream_of(
    req: &v1::StreamRequest,
    talker: NodeId,
    listeners: Vec<NodeId>,
    settings: &BuildSettings,
) -> Result<Stream, (FailureReason, String)> {
    let frame = req.frame.clone().unwrap_or_default();
    let invalid = |why: String| Err((FailureReason::Invalid, why));
    if req.period_ns == 0 {
        return invalid("the interval is zero".into());
    }
    if req.max_frame_size == 0 {
        return invalid("max-frame-size is zero".into());
    }
    if req.max_frame_size > settings.max_frame_size {
        return Err((
            FailureReason::FrameTooLarge,
            format!("max-frame-size {} exceeds the media's {} bytes", req.max_frame_size, settings.max_frame_size),
        ));
    }
    let pcp = match u8::try_from(frame.pcp) {
        Ok(p) if p <= 7 => p,
        _ => return Err((FailureReason::Priority, format!("priority {} is not 0..=7", frame.pcp))),
    };
    let vlan = match frame.vlan_id {
        0 => None,
        v @ 1..=4094 => Some(v as u16),
        v => return invalid(format!("VLAN id {v} is not 1..=4094")),
    };
    let earliest = req.earliest_transmit_offset_ns;
    let latest = req.latest_transmit_offset_ns;
    if earliest >= req.period_ns || latest.is_some_and(|l| l < earliest) {
        return invalid("the transmit offset window is empty or outside the interval".into());
    }
    if listeners.contains(&talker) {
        return invalid("the talker cannot listen to its own stream".into());
    }
    let mut seen = HashSet::new();
    if !listeners.iter().all(|l| seen.insert(l.clone())) {
        return invalid("two listeners resolve to the same end station".into());
    }
    Ok(Stream {
        id: StreamId(req.stream_id.clone()),
        talker,
        listeners,
        period_ns: req.period_ns,
        frames_per_period: req.max_frames_per_period.max(1),
        max_frame_size: req.max_frame_size,
        // No requirement given: one interval is the bound (the frame must arrive before the next).
        max_latency_ns: if req.max_latency_ns == 0 { req.period_ns } else { req.max_latency_ns },
        max_jitter_ns: req.jitter_ns,
        earliest_offset_ns: earliest,
        latest_offset_ns: latest,
        pcp,
        vlan,
    })
}

/// Builds the job of `request` (id `request_id`, for logs) on `topology` and the admitted
/// `state` (version `state.version`) of `network`.
pub fn build(
    network: &str,
    topology: &Topology,
    topology_version: u64,
    state: &v1::AdmittedState,
    request: &v1::ComputeRequest,
    settings: &BuildSettings,
) -> Built {
    let admitted = admitted_from_pb(state);
    let removed: Vec<String> = {
        let mut seen = HashSet::new();
        request.remove.iter().filter(|id| seen.insert(id.as_str())).cloned().collect()
    };
    let requested_ids: HashSet<&str> = request.streams.iter().map(|s| s.stream_id.as_str()).collect();
    let present = Present::of(topology);

    // Admitted streams that stay: not removed, not re-requested, still on existing links.
    let mut kept_streams = Vec::new();
    let mut kept_schedules = Vec::new();
    let mut kept_endpoints = Vec::new();
    for s in &admitted.streams {
        if removed.contains(&s.id.0) || requested_ids.contains(s.id.0.as_str()) {
            continue;
        }
        let Some(sched) = admitted.schedules.iter().find(|a| a.stream == s.id) else { continue };
        if !present.carries(s, sched) {
            tracing::warn!(stream = %s.id, "admitted stream no longer fits the topology; it is dropped from the problem");
            continue;
        }
        kept_streams.push(s.clone());
        kept_schedules.push(sched.clone());
        if let Some(e) = admitted.endpoints.get(&s.id.0) {
            kept_endpoints.push(e.clone());
        }
    }

    let mut load = Load { topology, overhead: u64::from(settings.scheduling.wire_overhead_bytes), ppm: HashMap::new() };
    for (s, a) in kept_streams.iter().zip(&kept_schedules) {
        load.add(s, &a.route.links());
    }

    let mut rejected = Vec::new();
    let mut requested = Vec::new();
    let mut new_streams = Vec::new();
    let mut routes = Vec::new();
    let mut seen_ids = HashSet::new();
    for req in &request.streams {
        let talker_station = req.talker.clone().unwrap_or_default();
        let reject = |reason: FailureReason, why: String, failed: Vec<v1::EndStation>| {
            outcome::failed_stream(&req.stream_id, reason, &why, failed)
        };
        if req.stream_id.is_empty() || !seen_ids.insert(req.stream_id.as_str()) {
            rejected.push(reject(FailureReason::Invalid, "empty or repeated stream id".into(), vec![]));
            continue;
        }
        let Some(talker) = resolve(topology, &talker_station) else {
            let why = format!("talker {} is not an end station of the topology", station_text(&talker_station));
            rejected.push(reject(FailureReason::UnknownEndStation, why, vec![talker_station]));
            continue;
        };
        let mut listeners = Vec::new();
        let mut unknown = Vec::new();
        for l in &req.listeners {
            match resolve(topology, l) {
                Some(n) => listeners.push(n),
                None => unknown.push(l.clone()),
            }
        }
        if !unknown.is_empty() || req.listeners.is_empty() {
            let names: Vec<String> = unknown.iter().map(station_text).collect();
            let why = if req.listeners.is_empty() {
                "the stream has no listener".to_owned()
            } else {
                format!("listener {} is not an end station of the topology", names.join(", "))
            };
            rejected.push(reject(FailureReason::UnknownEndStation, why, unknown));
            continue;
        }
        let stream = match stream_of(req, talker.clone(), listeners.clone(), settings) {
            Ok(s) => s,
            Err((reason, why)) => {
                rejected.push(reject(reason, why, vec![talker_station]));
                continue;
            }
        };
        let graph = StreamGraph::new(topology, &settings.scheduling, &stream);
        let tree = graph.shortest_tree(&stream.listeners);
        let unreachable: Vec<v1::EndStation> =
            tree.iter().zip(&req.listeners).filter(|(p, _)| p.is_none()).map(|(_, l)| l.clone()).collect();
        if !unreachable.is_empty() {
            let names: Vec<String> = unreachable.iter().map(station_text).collect();
            let why = format!("listener {} cannot be reached from talker {talker}", names.join(", "));
            rejected.push(reject(FailureReason::Unreachable, why, unreachable));
            continue;
        }
        let mut paths: Vec<Vec<LinkId>> = tree.into_iter().flatten().map(|p| p.links).collect();
        // k-shortest fallback (unicast): the shortest path is full or too slow → the next one that fits.
        if paths.len() == 1 {
            let links = &paths[0];
            let too_slow =
                graph.k_shortest(&stream.listeners[0], 1).first().is_some_and(|p| p.latency_ns > stream.max_latency_ns);
            if !load.fits(&stream, links) || too_slow {
                let alternative = graph
                    .k_shortest(&stream.listeners[0], settings.k_paths.max(1))
                    .into_iter()
                    .find(|p| p.latency_ns <= stream.max_latency_ns && load.fits(&stream, &p.links));
                if let Some(p) = alternative {
                    tracing::info!(stream = %stream.id, hops = p.links.len(), "shortest path is full; using a longer one");
                    paths[0] = p.links;
                }
            }
        }
        let all_links: Vec<LinkId> = paths.iter().flatten().cloned().collect();
        load.add(&stream, &all_links);
        routes.push(Route { stream: stream.id.clone(), paths });
        requested.push(v1::StreamEndpoints {
            stream_id: req.stream_id.clone(),
            talker: Some(talker_station),
            listeners: req.listeners.clone(),
            talker_node: talker.0.clone(),
            listener_nodes: listeners.iter().map(|n| n.0.clone()).collect(),
            frame: req.frame.clone(),
        });
        new_streams.push(stream);
    }

    let ctx = v1::RequestContext {
        domain_id: request.domain_id.clone(),
        cuc_id: request.cuc_id.clone(),
        network: network.to_owned(),
        admitted_version: state.version,
        requested,
        rejected,
        removed,
        admitted: kept_endpoints,
    };
    if new_streams.is_empty() && ctx.removed.is_empty() {
        let why = if ctx.rejected.is_empty() {
            "the request names no stream to compute or remove".to_owned()
        } else {
            "no stream of the request can be scheduled".to_owned()
        };
        return Built::Failed(outcome::failed(&ctx, FailureReason::Invalid, &why));
    }
    let mut streams = kept_streams;
    streams.extend(new_streams);
    let problem = Problem {
        version: tsn_model::PROBLEM_FORMAT_VERSION,
        topology: topology.clone(),
        streams,
        routes,
        config: settings.scheduling.clone(),
        admitted: kept_schedules,
    };
    let mut pb = model::problem_to_pb(&problem);
    if let Some(t) = pb.topology.as_mut() {
        t.version = topology_version;
    }
    Built::Job(Box::new(v1::ScheduleJob { request: Some(ctx), problem: Some(pb) }))
}

/// Which admitted streams a reroute requests again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RerouteScope {
    /// Only the streams that lost their route; every other admitted stream keeps its slots.
    Lost,
    /// Every admitted stream, so the scheduler may move them all (a full reschedule): the
    /// fallback when the lost streams do not fit around the fixed ones.
    All,
}

/// The compute request that re-routes the admitted streams after a topology change, or
/// None when every admitted stream still fits `topology` (no link of its route and none of
/// its end stations is gone). With [`RerouteScope::Lost`] it requests only the streams that
/// lost their route; with [`RerouteScope::All`] every admitted stream. Each stream is
/// requested again with its admitted requirements and UNI identities, so the normal
/// pipeline routes it on the new topology, schedules it (with the admitted streams not
/// requested fixed), verifies and deploys it; a stream that cannot be placed any more
/// fails with its reason in the request's outcome.
pub fn reroute_request(
    state: &v1::AdmittedState,
    topology: &Topology,
    scope: RerouteScope,
) -> Option<v1::ComputeRequest> {
    let admitted = admitted_from_pb(state);
    let present = Present::of(topology);
    let lost: HashSet<&StreamId> = admitted
        .streams
        .iter()
        .filter(|s| admitted.schedules.iter().find(|a| a.stream == s.id).is_some_and(|a| !present.carries(s, a)))
        .map(|s| &s.id)
        .collect();
    if lost.is_empty() {
        return None;
    }
    let mut streams = Vec::new();
    for s in &admitted.streams {
        if scope == RerouteScope::Lost && !lost.contains(&s.id) {
            continue;
        }
        let Some(e) = admitted.endpoints.get(&s.id.0) else {
            tracing::warn!(stream = %s.id, "admitted stream without its UNI identities: it cannot be rerouted");
            continue;
        };
        streams.push(v1::StreamRequest {
            stream_id: s.id.0.clone(),
            talker: e.talker.clone(),
            listeners: e.listeners.clone(),
            period_ns: s.period_ns,
            max_frames_per_period: s.frames_per_period,
            max_frame_size: s.max_frame_size,
            max_latency_ns: s.max_latency_ns,
            earliest_transmit_offset_ns: s.earliest_offset_ns,
            latest_transmit_offset_ns: s.latest_offset_ns,
            jitter_ns: s.max_jitter_ns,
            frame: e.frame.clone(),
            rank: 0,
        });
    }
    (!streams.is_empty()).then(|| v1::ComputeRequest {
        domain_id: String::new(),
        cuc_id: String::new(),
        streams,
        remove: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tsn_model::{Link, LinkPorts, Node};

    /// s1 — br0 — br1 — s2, s3 on br1, and an isolated station s4; station links carry MACs.
    pub(crate) fn topo() -> Topology {
        let mut t = Topology::default();
        for (id, kind) in [
            ("s1", NodeKind::EndStation),
            ("br0", NodeKind::Bridge),
            ("br1", NodeKind::Bridge),
            ("s2", NodeKind::EndStation),
            ("s3", NodeKind::EndStation),
            ("s4", NodeKind::EndStation),
        ] {
            t.nodes.push(Node { id: id.into(), kind });
        }
        let mut add = |a: &str, b: &str, mac: Option<&str>| {
            for (f, to) in [(a, b), (b, a)] {
                t.links.push(Link {
                    from: f.into(),
                    to: to.into(),
                    rate_bps: 1_000_000_000,
                    propagation_delay_ns: 50,
                    processing_delay_ns: 2000,
                    scheduled_queues: 2,
                    gcl_max_entries: 64,
                    ports: LinkPorts {
                        from_mac: if f == a { mac.map(str::to_owned) } else { None },
                        from_port: Some(format!("to-{to}")),
                        ..Default::default()
                    },
                });
            }
        };
        add("s1", "br0", Some("02:00:00:00:00:01"));
        add("br0", "br1", None);
        add("s2", "br1", Some("02:00:00:00:00:02"));
        add("s3", "br1", Some("02:00:00:00:00:03"));
        t.nodes.push(Node { id: "s5".into(), kind: NodeKind::EndStation });
        t
    }

    fn station(mac: &str, name: &str) -> v1::EndStation {
        v1::EndStation { mac_address: mac.into(), interface_name: name.into() }
    }

    fn req(id: &str, talker: v1::EndStation, listeners: Vec<v1::EndStation>) -> v1::StreamRequest {
        v1::StreamRequest {
            stream_id: id.into(),
            talker: Some(talker),
            listeners,
            period_ns: 1_000_000,
            max_frames_per_period: 1,
            max_frame_size: 200,
            max_latency_ns: 500_000,
            frame: Some(v1::DataFrame {
                pcp: 7,
                vlan_id: 10,
                destination_mac: "01-00-5E-00-00-01".into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn resolves_by_mac_any_spelling_then_by_name() {
        let t = topo();
        assert_eq!(resolve(&t, &station("02-00-00-00-00-01", "")), Some("s1".into()));
        assert_eq!(resolve(&t, &station("02:00:00:00:00:02", "eth0")), Some("s2".into()));
        assert_eq!(resolve(&t, &station("", "s3")), Some("s3".into()));
        assert_eq!(resolve(&t, &station("02-00-00-00-00-99", "br0")), None, "bridges are not end stations");
        assert_eq!(resolve(&t, &station("", "nobody")), None);
    }

    #[test]
    fn bad_streams_fail_with_their_code_and_the_others_go_on() {
        let t = topo();
        let request = v1::ComputeRequest {
            domain_id: "d".into(),
            cuc_id: "c".into(),
            streams: vec![
                req("ok", station("02-00-00-00-00-01", ""), vec![station("02-00-00-00-00-02", "")]),
                req("unknown-talker", station("0A-00-00-00-00-00", "ghost"), vec![station("", "s2")]),
                req("unknown-listener", station("", "s1"), vec![station("", "ghost")]),
                req("unreachable", station("", "s1"), vec![station("", "s5")]),
                {
                    let mut r = req("bad-pcp", station("", "s1"), vec![station("", "s3")]);
                    r.frame.as_mut().unwrap().pcp = 9;
                    r
                },
            ],
            remove: vec![],
        };
        let Built::Job(job) = build("n", &t, 3, &v1::AdmittedState::default(), &request, &BuildSettings::default())
        else {
            panic!("expected a job")
        };
        let ctx = job.request.as_ref().unwrap();
        assert_eq!(ctx.requested.len(), 1);
        assert_eq!(ctx.requested[0].talker_node, "s1");
        let codes: Vec<(&str, u32)> = ctx.rejected.iter().map(|r| (r.stream_id.as_str(), r.failure_code)).collect();
        assert_eq!(codes, [("unknown-talker", 8), ("unknown-listener", 8), ("unreachable", 8), ("bad-pcp", 13)]);
        assert_eq!(ctx.rejected[2].failed_interfaces, vec![station("", "s5")]);
        let problem = model::problem_from_pb("t", job.problem.as_ref().unwrap()).unwrap();
        problem.validate().unwrap();
        assert_eq!(problem.routes[0].paths[0].len(), 3);
        assert_eq!(job.problem.as_ref().unwrap().topology.as_ref().unwrap().version, 3);
        assert_eq!(problem.streams[0].vlan, Some(10));
    }

    #[test]
    fn nothing_to_schedule_is_a_failed_outcome() {
        let t = topo();
        let request = v1::ComputeRequest {
            streams: vec![req("x", station("", "ghost"), vec![station("", "s2")])],
            ..Default::default()
        };
        let Built::Failed(o) = build("n", &t, 1, &v1::AdmittedState::default(), &request, &BuildSettings::default())
        else {
            panic!("expected a failure")
        };
        assert_eq!(o.streams.len(), 1);
        assert_eq!(o.streams[0].failure_code, 8);
        assert!(!o.deployed);
    }

    /// `first` built on `t` with nothing admitted and solved by the heuristic (checked by
    /// tsn-check): its problem, and the admitted state (version 1) its deploy leaves.
    fn admitted_after(t: &Topology, first: &v1::ComputeRequest) -> (tsn_model::Problem, v1::AdmittedState) {
        let empty = v1::AdmittedState::default();
        let Built::Job(job) = build("n", t, 1, &empty, first, &BuildSettings::default()) else { panic!() };
        let problem = model::problem_from_pb("t", job.problem.as_ref().unwrap()).unwrap();
        let schedule = tsn_sched::solve(
            &problem,
            &tsn_sched::SolveOptions { algorithm: tsn_sched::Algorithm::Heuristic, ..Default::default() },
        )
        .unwrap()
        .schedule
        .unwrap();
        assert!(tsn_check::verify(&problem, &schedule).is_ok());
        let state = v1::AdmittedState {
            network: "n".into(),
            version: 1,
            streams: problem.streams.iter().map(model::stream_to_pb).collect(),
            schedules: schedule.streams.iter().map(model::stream_schedule_to_pb).collect(),
            endpoints: job.request.as_ref().unwrap().requested.clone(),
        };
        (problem, state)
    }

    #[test]
    fn streams_on_a_vanished_link_are_requested_again_with_their_identities() {
        let t = topo();
        let mut a = req("a", station("", "s1"), vec![station("", "s2")]);
        a.max_latency_ns = 3_000_000;
        a.frame = Some(v1::DataFrame { destination_mac: "02-00-00-00-00-02".into(), pcp: 6, ..Default::default() });
        let first = v1::ComputeRequest {
            streams: vec![a, req("b", station("", "s2"), vec![station("", "s3")])],
            ..Default::default()
        };
        let (problem, state) = admitted_after(&t, &first);
        for scope in [RerouteScope::Lost, RerouteScope::All] {
            assert!(reroute_request(&state, &t, scope).is_none(), "every route is intact");
        }
        // br0–br1 cut: a (s1 → s2) lost its route, b (s2 → s3, both on br1) did not.
        let mut cut = t.clone();
        cut.links.retain(|l| !matches!((l.from.0.as_str(), l.to.0.as_str()), ("br0", "br1") | ("br1", "br0")));
        let again = reroute_request(&state, &cut, RerouteScope::Lost).expect("a is requested again");
        assert_eq!(again.streams.len(), 1);
        let r = &again.streams[0];
        assert_eq!(r.stream_id, "a");
        assert_eq!((r.max_latency_ns, r.period_ns), (3_000_000, problem.streams[0].period_ns));
        assert_eq!(r.frame.as_ref().map(|f| (f.destination_mac.as_str(), f.pcp)), Some(("02-00-00-00-00-02", 6)));
        assert_eq!(r.talker.as_ref().map(|s| s.interface_name.as_str()), Some("s1"));
        // The full reschedule requests b too, with its own identities.
        let all = reroute_request(&state, &cut, RerouteScope::All).expect("a full reschedule");
        let ids: Vec<&str> = all.streams.iter().map(|s| s.stream_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(all.streams[0], *r);
        assert_eq!(all.streams[1].talker.as_ref().map(|s| s.interface_name.as_str()), Some("s2"));
    }

    #[test]
    fn admitted_streams_are_fixed_removed_or_replaced() {
        let t = topo();
        let settings = BuildSettings::default();
        let first = v1::ComputeRequest {
            streams: vec![
                req("a", station("", "s1"), vec![station("", "s2")]),
                req("b", station("", "s1"), vec![station("", "s3")]),
            ],
            ..Default::default()
        };
        let (_, state) = admitted_after(&t, &first);
        let second = v1::ComputeRequest {
            streams: vec![
                req("b", station("", "s3"), vec![station("", "s1")]),
                req("c", station("", "s2"), vec![station("", "s3")]),
            ],
            remove: vec!["a".into()],
            ..Default::default()
        };
        let Built::Job(job) = build("n", &t, 1, &state, &second, &settings) else { panic!() };
        let ctx = job.request.as_ref().unwrap();
        assert_eq!(ctx.admitted_version, 1);
        assert_eq!(ctx.removed, ["a"]);
        assert!(ctx.admitted.is_empty(), "b is re-requested, a removed: nothing stays fixed");
        let problem = model::problem_from_pb("t", job.problem.as_ref().unwrap()).unwrap();
        assert!(problem.admitted.is_empty());
        assert_eq!(problem.streams.len(), 2);
        assert_eq!(problem.stream(&"b".into()).unwrap().talker.0, "s3");

        let third = v1::ComputeRequest {
            streams: vec![req("d", station("", "s2"), vec![station("", "s1")])],
            ..Default::default()
        };
        let Built::Job(job) = build("n", &t, 1, &state, &third, &settings) else { panic!() };
        let problem = model::problem_from_pb("t", job.problem.as_ref().unwrap()).unwrap();
        assert_eq!(problem.admitted.len(), 2);
        assert_eq!(problem.streams.len(), 3);
        assert_eq!(job.request.as_ref().unwrap().admitted.len(), 2);
    }

    #[test]
    fn a_full_shortest_path_falls_back_to_a_longer_one() {
        // Two parallel bridges between s1 and s2: br0–br1 direct, and br0–br2–br1.
        let mut t = topo();
        t.nodes.push(Node { id: "br2".into(), kind: NodeKind::Bridge });
        for (a, b) in [("br0", "br2"), ("br2", "br1")] {
            for (f, to) in [(a, b), (b, a)] {
                t.links.push(Link {
                    from: f.into(),
                    to: to.into(),
                    rate_bps: 1_000_000_000,
                    propagation_delay_ns: 50,
                    processing_delay_ns: 2000,
                    scheduled_queues: 2,
                    gcl_max_entries: 64,
                    ports: LinkPorts::default(),
                });
            }
        }
        // br0→br1 at 1 Mbit/s: a 200 B frame every 1 ms is 1.9 ms of wire time.
        for l in t.links.iter_mut().filter(|l| l.from.0 == "br0" && l.to.0 == "br1") {
            l.rate_bps = 1_000_000;
        }
        let request = v1::ComputeRequest {
            streams: vec![req("a", station("", "s1"), vec![station("", "s2")])],
            ..Default::default()
        };
        let Built::Job(job) = build("n", &t, 1, &v1::AdmittedState::default(), &request, &BuildSettings::default())
        else {
            panic!()
        };
        let problem = model::problem_from_pb("t", job.problem.as_ref().unwrap()).unwrap();
        let hops: Vec<String> = problem.routes[0].paths[0].iter().map(|l| l.to.0.clone()).collect();
        assert_eq!(hops, ["br0", "br2", "br1", "s2"]);
    }
}
