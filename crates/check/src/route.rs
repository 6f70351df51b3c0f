//! Stream set and routes: every problem stream scheduled once, one connected simple path
//! per listener through bridges, paths forming a tree, prescribed routes and admitted
//! schedules kept.

use std::collections::{HashMap, HashSet};

use tsn_model::{LinkId, NodeKind, Schedule, StreamSchedule, Transmission};

use crate::{Net, Violation};

/// A route that passed every structural check, by link index.
#[derive(Debug)]
pub(crate) struct Tree {
    /// `paths[i]` leads to listener `i`.
    pub paths: Vec<Vec<usize>>,
    /// For every link of the route, the link before it (`None` for a talker link).
    pub parent: HashMap<usize, Option<usize>>,
    /// Every distinct link, in first-use order (parents before children).
    pub links: Vec<usize>,
}

/// A stream schedule matched with its problem stream.
#[derive(Debug)]
pub(crate) struct Scheduled<'a> {
    /// Index into `problem.streams`.
    pub index: usize,
    /// The schedule.
    pub schedule: &'a StreamSchedule,
    /// The route, when it is a valid tree.
    pub tree: Option<Tree>,
}

/// Matches stream schedules to problem streams and checks their routes.
pub(crate) fn check<'a>(net: &Net<'_>, schedule: &'a Schedule, out: &mut Vec<Violation>) -> Vec<Scheduled<'a>> {
    let problem = net.problem;
    let by_id: HashMap<_, usize> = problem.streams.iter().enumerate().map(|(i, s)| (&s.id, i)).collect();
    let mut seen = HashSet::new();
    let mut result = Vec::new();
    for ss in &schedule.streams {
        let Some(&index) = by_id.get(&ss.stream) else {
            out.push(Violation::StreamUnknown { stream: ss.stream.clone() });
            continue;
        };
        if !seen.insert(index) {
            out.push(Violation::StreamDuplicate { stream: ss.stream.clone() });
            continue;
        }
        if let Some(a) = problem.admitted.iter().find(|a| a.stream == ss.stream) {
            if !keeps_admitted(a, ss, problem.streams[index].period_ns) {
                out.push(Violation::AdmittedChanged { stream: ss.stream.clone() });
            }
        }
        if let Some(r) = problem.route(&ss.stream) {
            if r.paths != ss.route.paths {
                out.push(Violation::RouteNotGiven { stream: ss.stream.clone() });
            }
        }
        let tree = check_tree(net, index, ss, out);
        result.push(Scheduled { index, schedule: ss, tree });
    }
    for (i, s) in problem.streams.iter().enumerate() {
        if !seen.contains(&i) {
            out.push(Violation::StreamMissing { stream: s.id.clone() });
        }
    }
    result
}

/// Whether `now` keeps the admitted schedule `before` of a stream with period `period_ns`:
/// same route and reported figures, and every transmission equal to the admitted one of
/// the same link and frame at instance `k mod n` shifted by `(k div n)·n·period` (the `n`
/// admitted instances repeat when the hyperperiod grows). Missing or extra instances are
/// the completeness check's business.
fn keeps_admitted(before: &StreamSchedule, now: &StreamSchedule, period_ns: u64) -> bool {
    if before.route != now.route
        || before.talker_offset_ns != now.talker_offset_ns
        || before.worst_latency_ns != now.worst_latency_ns
    {
        return false;
    }
    let n = before.transmissions.iter().map(|t| u64::from(t.instance) + 1).max().unwrap_or(1);
    let admitted: HashMap<(&LinkId, u64, u32), &Transmission> =
        before.transmissions.iter().map(|t| ((&t.link, u64::from(t.instance), t.frame), t)).collect();
    now.transmissions.iter().all(|t| {
        let k = u64::from(t.instance);
        let shift = u128::from(k / n) * u128::from(n) * u128::from(period_ns);
        admitted.get(&(&t.link, k % n, t.frame)).is_some_and(|a| {
            u128::from(a.start_ns) + shift == u128::from(t.start_ns)
                && u128::from(a.end_ns) + shift == u128::from(t.end_ns)
                && a.queue == t.queue
        })
    })
}

/// Checks the route of one stream; returns it indexed when it is a valid tree.
fn check_tree(net: &Net<'_>, index: usize, ss: &StreamSchedule, out: &mut Vec<Violation>) -> Option<Tree> {
    let stream = &net.problem.streams[index];
    let id = &stream.id;
    let before = out.len();
    if ss.route.stream != *id {
        out.push(Violation::RouteShape {
            stream: id.clone(),
            detail: format!("the route belongs to stream {}", ss.route.stream),
        });
    }
    if ss.route.paths.len() != stream.listeners.len() {
        out.push(Violation::RouteShape {
            stream: id.clone(),
            detail: format!("{} paths for {} listeners", ss.route.paths.len(), stream.listeners.len()),
        });
        return None;
    }
    let topo = &net.problem.topology;
    let mut paths = Vec::new();
    for (p, (path, listener)) in ss.route.paths.iter().zip(&stream.listeners).enumerate() {
        if path.is_empty() {
            out.push(Violation::RouteShape { stream: id.clone(), detail: format!("path {p} is empty") });
            continue;
        }
        let mut indices = Vec::new();
        for l in path {
            match net.link_index.get(l) {
                Some(&i) => indices.push(i),
                None => out.push(Violation::RouteUnknownLink { stream: id.clone(), path: p, link: l.clone() }),
            }
        }
        if indices.len() != path.len() {
            continue;
        }
        let disconnected = |detail: String| Violation::RouteDisconnected { stream: id.clone(), path: p, detail };
        let mut connected = true;
        if path[0].from != stream.talker {
            out.push(disconnected(format!("it starts at {}, not at the talker {}", path[0].from, stream.talker)));
            connected = false;
        }
        for w in path.windows(2) {
            if w[0].to != w[1].from {
                out.push(disconnected(format!("{} is followed by {}", w[0], w[1])));
                connected = false;
            }
        }
        let last = &path[path.len() - 1];
        if last.to != *listener {
            out.push(disconnected(format!("it ends at {}, not at listener {listener}", last.to)));
            connected = false;
        }
        if !connected {
            continue;
        }
        let mut visited = HashSet::from([&stream.talker]);
        for l in path {
            if !visited.insert(&l.to) {
                out.push(Violation::RouteNotSimple { stream: id.clone(), path: p, node: l.to.clone() });
                break;
            }
        }
        for l in &path[..path.len() - 1] {
            if topo.node(&l.to).map(|n| n.kind) != Some(NodeKind::Bridge) {
                out.push(Violation::RouteThroughEndStation { stream: id.clone(), path: p, node: l.to.clone() });
            }
        }
        paths.push(indices);
    }
    let mut parent: HashMap<usize, Option<usize>> = HashMap::new();
    let mut links = Vec::new();
    let mut reported = HashSet::new();
    for path in &paths {
        let mut prev = None;
        for &l in path {
            match parent.get(&l) {
                Some(&p) if p != prev => {
                    if reported.insert(l) {
                        out.push(Violation::RouteNotTree { stream: id.clone(), link: topo.links[l].id() });
                    }
                }
                Some(_) => {}
                None => {
                    parent.insert(l, prev);
                    links.push(l);
                }
            }
            prev = Some(l);
        }
    }
    (out.len() == before).then_some(Tree { paths, parent, links })
}
