//! Proofs of infeasibility computed before any solver runs.
//!
//! Each reason is a certificate that no schedule exists, whatever the scheduler:
//!
//! * **Latency bound**: a frame alone on the fastest path (Dijkstra over every path, see
//!   [`crate::routing`]) needs `Σ tx + Σ propagation + Σ_{hops ≥ 2} (processing + sync)`.
//!   If that exceeds the stream's max latency, no routing and no schedule can meet it. When
//!   the problem fixes the route, the bound is taken on that route instead.
//! * **Unreachable listener**: no path of bridges joins talker and listener.
//! * **Frame exceeds period**: the frames of one period do not fit one period on a link.
//! * **Link utilisation**: on a link that every admissible route must use (a talker's only
//!   uplink, a listener's only downlink, or a link of a fixed or admitted route), the
//!   scheduled transmission time per hyperperiod exceeds the hyperperiod.

use std::collections::HashMap;

use tsn_model::{transmission_time_ns, Infeasibility, InfeasibilityReason, LinkId, NodeId, Problem, Stream};

use crate::routing::fastest_paths;

/// Every reason found that `problem` has no schedule, or `None` when none is known.
/// Assumes `problem.validate()` succeeded.
pub fn certify(problem: &Problem) -> Option<Infeasibility> {
    let mut reasons = Vec::new();
    let overhead = u64::from(problem.config.wire_overhead_bytes);
    let sync = problem.config.sync_error_ns;
    let links: HashMap<LinkId, &tsn_model::Link> = problem.topology.links.iter().map(|l| (l.id(), l)).collect();
    let tx = |s: &Stream, l: &LinkId| -> Option<u64> {
        transmission_time_ns(u64::from(s.max_frame_size) + overhead, links.get(l)?.rate_bps)
    };

    // Links each stream is certain to use.
    let mut out_degree: HashMap<&NodeId, Vec<LinkId>> = HashMap::new();
    let mut in_degree: HashMap<&NodeId, Vec<LinkId>> = HashMap::new();
    for l in &problem.topology.links {
        out_degree.entry(&l.from).or_default().push(l.id());
        in_degree.entry(&l.to).or_default().push(l.id());
    }
    let mut certain: HashMap<LinkId, Vec<&Stream>> = HashMap::new();

    for s in &problem.streams {
        let fixed_route =
            problem.route(&s.id).or_else(|| problem.admitted.iter().find(|a| a.stream == s.id).map(|a| &a.route));
        let mut used: Vec<LinkId> = Vec::new();
        match fixed_route {
            Some(route) => {
                for (listener, path) in s.listeners.iter().zip(&route.paths) {
                    let mut lb: u64 = 0;
                    for (i, l) in path.iter().enumerate() {
                        let (Some(link), Some(t)) = (links.get(l), tx(s, l)) else { continue };
                        if i > 0 {
                            lb = lb.saturating_add(link.processing_delay_ns + sync);
                        }
                        lb = lb.saturating_add(t + link.propagation_delay_ns);
                    }
                    if lb > s.max_latency_ns {
                        reasons.push(InfeasibilityReason::LatencyBound {
                            stream: s.id.clone(),
                            listener: listener.clone(),
                            hops: path.len() as u32,
                            lower_bound_ns: lb,
                            max_latency_ns: s.max_latency_ns,
                        });
                    }
                }
                used.extend(route.links());
            }
            None => {
                for (listener, path) in s.listeners.iter().zip(fastest_paths(problem, s)) {
                    match path {
                        None => reasons.push(InfeasibilityReason::Unreachable {
                            stream: s.id.clone(),
                            listener: listener.clone(),
                        }),
                        Some(p) if p.latency_ns > s.max_latency_ns => reasons.push(InfeasibilityReason::LatencyBound {
                            stream: s.id.clone(),
                            listener: listener.clone(),
                            hops: p.links.len() as u32,
                            lower_bound_ns: p.latency_ns,
                            max_latency_ns: s.max_latency_ns,
                        }),
                        Some(_) => {}
                    }
                }
                if let Some([only]) = out_degree.get(&s.talker).map(Vec::as_slice) {
                    used.push(only.clone());
                }
                for listener in &s.listeners {
                    if let Some([only]) = in_degree.get(listener).map(Vec::as_slice) {
                        used.push(only.clone());
                    }
                }
            }
        }
        used.sort();
        used.dedup();
        for l in used {
            if let Some(t) = tx(s, &l) {
                if u128::from(t) * u128::from(s.frames_per_period) > u128::from(s.period_ns) {
                    reasons.push(InfeasibilityReason::FrameExceedsPeriod { stream: s.id.clone(), link: l.clone() });
                }
            }
            certain.entry(l).or_default().push(s);
        }
    }

    // Utilisation per link, exactly: Σ frames·tx/period > 1.
    let mut overloaded: Vec<(LinkId, u64)> = Vec::new();
    if let Ok(hp) = problem.hyperperiod_ns() {
        for (l, streams) in &certain {
            let busy: u128 = streams
                .iter()
                .filter_map(|s| {
                    let t = tx(s, l)?;
                    Some(u128::from(t) * u128::from(s.frames_per_period) * u128::from(hp / s.period_ns))
                })
                .sum();
            if busy > u128::from(hp) {
                let ppm = (busy * 1_000_000 / u128::from(hp)).min(u128::from(u64::MAX)) as u64;
                overloaded.push((l.clone(), ppm));
            }
        }
    }
    overloaded.sort();
    reasons.extend(
        overloaded
            .into_iter()
            .map(|(link, utilisation_ppm)| InfeasibilityReason::LinkUtilisation { link, utilisation_ppm }),
    );

    if reasons.is_empty() {
        None
    } else {
        Some(Infeasibility { reasons })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tsn_model::{Link, Node, NodeKind, Route, SchedulingConfig, StreamId, Topology};

    /// Talker `t` — bridges `b0..b{n-1}` in a line — listener `l`; 1 Gbit/s, 2 µs processing.
    fn line(n: usize) -> Topology {
        let mut nodes = vec![
            Node { id: "t".into(), kind: NodeKind::EndStation },
            Node { id: "l".into(), kind: NodeKind::EndStation },
        ];
        let mut chain = vec!["t".to_string()];
        for i in 0..n {
            nodes.push(Node { id: NodeId(format!("b{i}")), kind: NodeKind::Bridge });
            chain.push(format!("b{i}"));
        }
        chain.push("l".into());
        let mut links = Vec::new();
        for w in chain.windows(2) {
            for (a, b) in [(&w[0], &w[1]), (&w[1], &w[0])] {
                links.push(Link {
                    from: NodeId(a.clone()),
                    to: NodeId(b.clone()),
                    rate_bps: 1_000_000_000,
                    propagation_delay_ns: 0,
                    processing_delay_ns: 2_000,
                    scheduled_queues: 8,
                    gcl_max_entries: 64,
                    ports: Default::default(),
                });
            }
        }
        Topology { nodes, links }
    }

    fn stream(id: &str, size: u32, period: u64, max_latency: u64) -> Stream {
        Stream {
            id: StreamId(id.into()),
            talker: "t".into(),
            listeners: vec!["l".into()],
            period_ns: period,
            frames_per_period: 1,
            max_frame_size: size,
            max_latency_ns: max_latency,
            max_jitter_ns: None,
            earliest_offset_ns: 0,
            latest_offset_ns: None,
            pcp: 7,
            vlan: None,
        }
    }

    fn config() -> SchedulingConfig {
        SchedulingConfig { wire_overhead_bytes: 0, ..SchedulingConfig::default() }
    }

    #[test]
    fn latency_bound_is_exact_at_the_edge() {
        // 500 B = 4 µs per hop; 3 bridges = 4 hops: 4·4 + 3·2 = 22 µs.
        let ok = Problem::new(line(3), vec![stream("s", 500, 100_000, 22_000)], config());
        assert_eq!(certify(&ok), None);
        let bad = Problem::new(line(3), vec![stream("s", 500, 100_000, 21_999)], config());
        let reasons = certify(&bad).expect("infeasible").reasons;
        assert_eq!(
            reasons,
            vec![InfeasibilityReason::LatencyBound {
                stream: "s".into(),
                listener: "l".into(),
                hops: 4,
                lower_bound_ns: 22_000,
                max_latency_ns: 21_999,
            }]
        );
    }

    #[test]
    fn sync_error_and_propagation_count() {
        let mut p = Problem::new(line(1), vec![stream("s", 500, 100_000, 10_000)], config());
        assert_eq!(certify(&p), None); // 4 + 2 + 4 = 10 µs
        p.config.sync_error_ns = 1;
        assert!(certify(&p).is_some());
        p.config.sync_error_ns = 0;
        p.topology.links[0].propagation_delay_ns = 1;
        assert!(certify(&p).is_some());
    }

    #[test]
    fn unreachable_listener_and_no_forwarding_through_stations() {
        let mut topo = line(1);
        topo.nodes.push(Node { id: "x".into(), kind: NodeKind::EndStation });
        let mut s = stream("s", 100, 1_000_000, 1_000_000);
        s.listeners = vec!["x".into()];
        let p = Problem::new(topo, vec![s], config());
        let r = certify(&p).unwrap().reasons;
        assert!(matches!(&r[0], InfeasibilityReason::Unreachable { listener, .. } if listener.0 == "x"));
    }

    #[test]
    fn uplink_utilisation_over_one_is_a_certificate() {
        // 100 streams × 1000 B (8 µs) every 1 ms on the talker's only uplink: 0.8 → fine;
        // 130 of them: 1.04 → infeasible whatever the routing.
        let make = |n: usize| {
            let streams = (0..n).map(|i| stream(&format!("s{i}"), 1_000, 1_000_000, 1_000_000)).collect();
            Problem::new(line(1), streams, config())
        };
        assert_eq!(certify(&make(100)), None);
        let r = certify(&make(130)).unwrap().reasons;
        assert_eq!(r.len(), 2, "uplink and downlink: {r:?}");
        assert!(r.iter().all(|x| matches!(x, InfeasibilityReason::LinkUtilisation { utilisation_ppm: 1_040_000, .. })));
    }

    #[test]
    fn a_given_route_is_bounded_on_that_route() {
        let mut p = Problem::new(line(2), vec![stream("s", 500, 100_000, 16_000)], config());
        assert_eq!(certify(&p), None); // 3 hops: 12 + 4 = 16 µs
                                       // A (silly) route that goes b0 → b1 → b0 → b1 → l is longer.
        let r = vec![
            LinkId::new("t", "b0"),
            LinkId::new("b0", "b1"),
            LinkId::new("b1", "b0"),
            LinkId::new("b0", "b1"),
            LinkId::new("b1", "l"),
        ];
        p.routes.push(Route { stream: "s".into(), paths: vec![r] });
        assert!(matches!(certify(&p).unwrap().reasons[0], InfeasibilityReason::LatencyBound { hops: 5, .. }));
    }
}
