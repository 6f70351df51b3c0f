//! Shortest routes: Dijkstra over directed links weighted by the per-hop latency a frame
//! of the stream would see alone (transmission + propagation, plus processing and
//! synchronisation error on every hop after the first). Only bridges forward.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use tsn_model::{transmission_time_ns, LinkId, NodeId, NodeKind, Problem, Route, Stream};

/// The fastest path from the talker to one listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FastestPath {
    /// Links from the talker to the listener.
    pub links: Vec<LinkId>,
    /// Latency of one frame alone on this path.
    pub latency_ns: u64,
}

/// Dijkstra from `stream.talker`: for every listener (in order) its fastest path, or `None`
/// when it is unreachable. Ties are broken by fewer hops, then by link order, so that the
/// result is deterministic and the paths form a tree.
pub fn fastest_paths(problem: &Problem, stream: &Stream) -> Vec<Option<FastestPath>> {
    let topo = &problem.topology;
    let overhead = u64::from(problem.config.wire_overhead_bytes);
    let sync = problem.config.sync_error_ns;
    let node_index: HashMap<&NodeId, usize> = topo.nodes.iter().enumerate().map(|(i, n)| (&n.id, i)).collect();
    let mut out_links: Vec<Vec<usize>> = vec![Vec::new(); topo.nodes.len()];
    for (li, l) in topo.links.iter().enumerate() {
        if let Some(&u) = node_index.get(&l.from) {
            out_links[u].push(li);
        }
    }
    let Some(&src) = node_index.get(&stream.talker) else {
        return vec![None; stream.listeners.len()];
    };
    // dist = (latency up to the last bit arriving at the node, hops)
    let mut dist: Vec<Option<(u64, u32)>> = vec![None; topo.nodes.len()];
    let mut pred: Vec<Option<usize>> = vec![None; topo.nodes.len()];
    let mut heap = BinaryHeap::new();
    dist[src] = Some((0, 0));
    heap.push(Reverse((0u64, 0u32, src)));
    while let Some(Reverse((d, hops, u))) = heap.pop() {
        if dist[u] != Some((d, hops)) {
            continue;
        }
        // End stations do not forward.
        if u != src && topo.nodes[u].kind == NodeKind::EndStation {
            continue;
        }
        for &li in &out_links[u] {
            let l = &topo.links[li];
            let Some(tx) = transmission_time_ns(u64::from(stream.max_frame_size) + overhead, l.rate_bps) else {
                continue;
            };
            let gap = if u == src { 0 } else { l.processing_delay_ns + sync };
            let nd = d.saturating_add(gap).saturating_add(tx).saturating_add(l.propagation_delay_ns);
            let v = node_index[&l.to];
            let better = match dist[v] {
                None => true,
                Some(old) => (nd, hops + 1) < old,
            };
            if better {
                dist[v] = Some((nd, hops + 1));
                pred[v] = Some(li);
                heap.push(Reverse((nd, hops + 1, v)));
            }
        }
    }
    stream
        .listeners
        .iter()
        .map(|listener| {
            let &dst = node_index.get(listener)?;
            let (latency_ns, _) = dist[dst]?;
            let mut links = Vec::new();
            let mut v = dst;
            while v != src {
                let li = pred[v]?;
                links.push(topo.links[li].id());
                v = node_index[&topo.links[li].from];
            }
            links.reverse();
            Some(FastestPath { links, latency_ns })
        })
        .collect()
}

/// The route of every stream: the problem's own where given, the fastest paths otherwise.
/// Streams with an unreachable listener are left out (the certificate reports them).
pub fn routes(problem: &Problem) -> HashMap<tsn_model::StreamId, Route> {
    let mut out = HashMap::new();
    for s in &problem.streams {
        if let Some(r) = problem.route(&s.id) {
            out.insert(s.id.clone(), r.clone());
            continue;
        }
        if let Some(a) = problem.admitted.iter().find(|a| a.stream == s.id) {
            out.insert(s.id.clone(), a.route.clone());
            continue;
        }
        let paths: Option<Vec<Vec<LinkId>>> =
            fastest_paths(problem, s).into_iter().map(|p| p.map(|p| p.links)).collect();
        if let Some(paths) = paths {
            out.insert(s.id.clone(), Route { stream: s.id.clone(), paths });
        }
    }
    out
}
