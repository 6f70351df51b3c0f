//! Path computation on petgraph: Dijkstra over the directed links, weighted by the per-hop
//! latency one frame of the stream sees alone (transmission + propagation, plus bridge
//! processing and synchronisation error on every hop after the talker's), and Yen's
//! k-shortest paths as the fallback when the shortest path cannot carry the stream.
//!
//! Only bridges forward: the graph of a stream holds the links leaving a bridge or the
//! stream's own talker.

use std::collections::{BTreeMap, HashMap, HashSet};

use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;
use tsn_model::{transmission_time_ns, LinkId, NodeId, NodeKind, SchedulingConfig, Stream, Topology};

/// A path and the latency of one frame alone on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// Links from the talker to the listener.
    pub links: Vec<LinkId>,
    /// Latency of one frame alone on the path, ns.
    pub latency_ns: u64,
}

/// The stream's graph: nodes of the topology, links a frame of `stream` may take.
pub struct StreamGraph<'a> {
    graph: DiGraph<&'a NodeId, u64>,
    index: HashMap<&'a NodeId, NodeIndex>,
    talker: Option<NodeIndex>,
}

impl std::fmt::Debug for StreamGraph<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamGraph").field("nodes", &self.graph.node_count()).finish()
    }
}

impl<'a> StreamGraph<'a> {
    /// Builds the graph of `stream` on `topology`.
    pub fn new(topology: &'a Topology, config: &SchedulingConfig, stream: &Stream) -> Self {
        let mut graph = DiGraph::new();
        let mut index = HashMap::new();
        for n in &topology.nodes {
            index.insert(&n.id, graph.add_node(&n.id));
        }
        let kinds: HashMap<&NodeId, NodeKind> = topology.nodes.iter().map(|n| (&n.id, n.kind)).collect();
        let wire = u64::from(stream.max_frame_size) + u64::from(config.wire_overhead_bytes);
        for l in &topology.links {
            let from_talker = l.from == stream.talker;
            if !from_talker && kinds.get(&l.from) != Some(&NodeKind::Bridge) {
                continue;
            }
            let Some(tx) = transmission_time_ns(wire, l.rate_bps) else { continue };
            let gap = if from_talker { 0 } else { l.processing_delay_ns.saturating_add(config.sync_error_ns) };
            let w = gap.saturating_add(tx).saturating_add(l.propagation_delay_ns);
            if let (Some(&a), Some(&b)) = (index.get(&l.from), index.get(&l.to)) {
                graph.add_edge(a, b, w);
            }
        }
        let talker = index.get(&stream.talker).copied();
        StreamGraph { graph, index, talker }
    }

    fn link(&self, e: EdgeIndex) -> LinkId {
        let (a, b) = self.graph.edge_endpoints(e).expect("edge of this graph");
        LinkId { from: self.graph[a].clone(), to: self.graph[b].clone() }
    }

    /// Shortest-path tree from the talker (petgraph Dijkstra): per listener its path, or
    /// `None` when unreachable. Ties go to the edge added first (topology order), so that
    /// the result is deterministic and paths to several listeners share their prefix.
    pub fn shortest_tree(&self, listeners: &[NodeId]) -> Vec<Option<Path>> {
        let Some(src) = self.talker else { return vec![None; listeners.len()] };
        let dist = petgraph::algo::dijkstra(&self.graph, src, None, |e| *e.weight());
        // Predecessor edge of every reached node: the first edge on a shortest path.
        let mut pred: HashMap<NodeIndex, EdgeIndex> = HashMap::new();
        for e in self.graph.edge_references() {
            let (u, v) = (e.source(), e.target());
            if v == src || pred.contains_key(&v) {
                continue;
            }
            if let (Some(du), Some(dv)) = (dist.get(&u), dist.get(&v)) {
                if du.saturating_add(*e.weight()) == *dv {
                    pred.insert(v, e.id());
                }
            }
        }
        listeners
            .iter()
            .map(|l| {
                let &dst = self.index.get(l)?;
                let latency_ns = *dist.get(&dst)?;
                let mut links = Vec::new();
                let mut v = dst;
                let mut guard = 0;
                while v != src {
                    let e = *pred.get(&v)?;
                    links.push(self.link(e));
                    v = self.graph.edge_endpoints(e)?.0;
                    guard += 1;
                    if guard > self.graph.node_count() {
                        return None;
                    }
                }
                links.reverse();
                Some(Path { links, latency_ns })
            })
            .collect()
    }

    /// Up to `k` loop-free paths from the talker to `listener`, shortest first (Yen).
    pub fn k_shortest(&self, listener: &NodeId, k: usize) -> Vec<Path> {
        let (Some(src), Some(&dst)) = (self.talker, self.index.get(listener)) else { return Vec::new() };
        let Some(first) = self.shortest_avoiding(src, dst, &HashSet::new(), &HashSet::new()) else {
            return Vec::new();
        };
        let mut found: Vec<Vec<EdgeIndex>> = vec![first];
        let mut candidates: BTreeMap<(u64, usize, Vec<usize>), Vec<EdgeIndex>> = BTreeMap::new();
        while found.len() < k {
            let last = found.last().expect("non-empty").clone();
            for i in 0..last.len() {
                let root = &last[..i];
                let spur = if i == 0 { src } else { self.graph.edge_endpoints(last[i - 1]).expect("edge").1 };
                let mut banned_edges = HashSet::new();
                for p in &found {
                    if p.len() > i && p[..i] == *root {
                        banned_edges.insert(p[i]);
                    }
                }
                let mut banned_nodes: HashSet<NodeIndex> = HashSet::new();
                for e in root {
                    banned_nodes.insert(self.graph.edge_endpoints(*e).expect("edge").0);
                }
                if let Some(tail) = self.shortest_avoiding(spur, dst, &banned_edges, &banned_nodes) {
                    let mut path = root.to_vec();
                    path.extend(tail);
                    let cost = self.cost(&path);
                    let key = (cost, path.len(), path.iter().map(|e| e.index()).collect());
                    if !found.contains(&path) {
                        candidates.entry(key).or_insert(path);
                    }
                }
            }
            let Some((_, next)) = candidates.pop_first() else { break };
            found.push(next);
        }
        found
            .into_iter()
            .map(|p| Path { latency_ns: self.cost(&p), links: p.into_iter().map(|e| self.link(e)).collect() })
            .collect()
    }

    fn cost(&self, path: &[EdgeIndex]) -> u64 {
        path.iter().fold(0u64, |acc, e| acc.saturating_add(self.graph[*e]))
    }

    /// Dijkstra from `from` to `to` without the banned edges and nodes.
    fn shortest_avoiding(
        &self,
        from: NodeIndex,
        to: NodeIndex,
        banned_edges: &HashSet<EdgeIndex>,
        banned_nodes: &HashSet<NodeIndex>,
    ) -> Option<Vec<EdgeIndex>> {
        let filtered = petgraph::visit::EdgeFiltered::from_fn(&self.graph, |e| {
            !banned_edges.contains(&e.id())
                && !banned_nodes.contains(&e.target())
                && !banned_nodes.contains(&e.source())
        });
        let (_, nodes) = petgraph::algo::astar(&filtered, from, |n| n == to, |e| *e.weight(), |_| 0)?;
        nodes
            .windows(2)
            .map(|w| {
                self.graph
                    .edges_connecting(w[0], w[1])
                    .filter(|e| !banned_edges.contains(&e.id()))
                    .min_by_key(|e| (*e.weight(), e.id()))
                    .map(|e| e.id())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tsn_model::{Link, LinkPorts, Node};

    /// t — a — b — l plus a slower detour t — a — c — b (and a direct slow a — l link).
    fn net() -> Topology {
        let mut t = Topology::default();
        for (id, kind) in [
            ("t", NodeKind::EndStation),
            ("a", NodeKind::Bridge),
            ("b", NodeKind::Bridge),
            ("c", NodeKind::Bridge),
            ("l", NodeKind::EndStation),
            ("x", NodeKind::EndStation),
        ] {
            t.nodes.push(Node { id: id.into(), kind });
        }
        let mut add = |a: &str, b: &str, rate: u64| {
            for (f, to) in [(a, b), (b, a)] {
                t.links.push(Link {
                    from: f.into(),
                    to: to.into(),
                    rate_bps: rate,
                    propagation_delay_ns: 50,
                    processing_delay_ns: 1000,
                    scheduled_queues: 1,
                    gcl_max_entries: 64,
                    ports: LinkPorts::default(),
                });
            }
        };
        add("t", "a", 1_000_000_000);
        add("a", "b", 1_000_000_000);
        add("b", "l", 1_000_000_000);
        add("a", "c", 1_000_000_000);
        add("c", "b", 1_000_000_000);
        add("x", "c", 1_000_000_000);
        t
    }

    fn stream(talker: &str, listeners: &[&str]) -> Stream {
        tsn_workloads::simple_stream("s", talker, listeners, 1_000_000, 100)
    }

    #[test]
    fn shortest_tree_takes_the_fast_path_and_never_forwards_through_stations() {
        let t = net();
        let s = stream("t", &["l", "x"]);
        let g = StreamGraph::new(&t, &SchedulingConfig::default(), &s);
        let tree = g.shortest_tree(&s.listeners);
        let p = tree[0].as_ref().unwrap();
        assert_eq!(p.links, vec![LinkId::new("t", "a"), LinkId::new("a", "b"), LinkId::new("b", "l")]);
        // 142 B at 1 Gbit/s = 1136 ns per hop, + 50 propagation, + 1000 processing after the first.
        assert_eq!(p.latency_ns, 3 * 1186 + 2 * 1000);
        let p = tree[1].as_ref().unwrap();
        assert_eq!(p.links[..1], [LinkId::new("t", "a")]);
        // x is an end station: nothing may go t → … → x → c.
        let s2 = stream("l", &["t"]);
        let g2 = StreamGraph::new(&t, &SchedulingConfig::default(), &s2);
        assert!(g2.shortest_tree(&s2.listeners)[0].as_ref().unwrap().links.iter().all(|l| l.from.0 != "x"));
    }

    #[test]
    fn unknown_or_unreachable_listeners_have_no_path() {
        let mut t = net();
        t.nodes.push(Node { id: "island".into(), kind: NodeKind::EndStation });
        let s = stream("t", &["island", "nobody"]);
        let g = StreamGraph::new(&t, &SchedulingConfig::default(), &s);
        assert_eq!(g.shortest_tree(&s.listeners), vec![None, None]);
        assert!(g.k_shortest(&"island".into(), 3).is_empty());
    }

    #[test]
    fn yen_lists_loop_free_paths_in_order() {
        let t = net();
        let s = stream("t", &["l"]);
        let g = StreamGraph::new(&t, &SchedulingConfig::default(), &s);
        let paths = g.k_shortest(&"l".into(), 5);
        assert_eq!(paths.len(), 2, "{paths:?}");
        assert_eq!(paths[0].links.len(), 3);
        assert_eq!(
            paths[1].links,
            vec![LinkId::new("t", "a"), LinkId::new("a", "c"), LinkId::new("c", "b"), LinkId::new("b", "l")]
        );
        assert!(paths[0].latency_ns < paths[1].latency_ns);
        assert_eq!(paths[0], g.shortest_tree(&s.listeners)[0].clone().unwrap());
    }
}
