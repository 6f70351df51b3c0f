//! Seeded, deterministic scheduling workloads for tests and `tsnctl bench`.
//!
//! Every generator takes a `seed` and returns the same [`Problem`] for the same arguments on
//! every platform and release: the random numbers come from [`SplitMix64`] (defined here,
//! no `rand` dependency) and are drawn in a fixed order.
//!
//! * [`paper_workload`]: the workload of the μTSN-CP evaluation — 1 Gbit/s links, periods
//!   125/250/500 ms, 1–3 frames per period, 64–1500 B frames, 500 ms latency bound — on a
//!   fixed ring of 4 bridges with 3 end stations each ([`paper_topology`]).
//! * [`tsnkit_grid`]: instances shaped like the tsnkit benchmark generator — a line or ring
//!   of switches with one end station each, periods from tsnkit period spec 3
//!   ({0.5, 1, 2, 4} ms) or 4 ({100, 200, 400, 800} µs), sizes {100, …, 500} B including
//!   all overhead, deadline = period ([`tsnkit_topology`]).
//!
//! Generated streams are unicast, have no routes (the scheduler routes them), no jitter
//! bound, and the whole period as talker offset window.

use tsn_model::{
    Link, Node, NodeId, NodeKind, Problem, SchedulingConfig, Stream, StreamId, Topology, DEFAULT_WIRE_OVERHEAD_BYTES,
};

/// The SplitMix64 generator (Steele, Lea & Flood 2014): tiny, fast, and good enough for
/// drawing workloads. Not for cryptography.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` without modulo bias (Lemire's method with rejection).
    ///
    /// # Panics
    /// When `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "SplitMix64::below(0)");
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// Uniform in `lo..=hi`.
    ///
    /// # Panics
    /// When `lo > hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        assert!(lo <= hi, "SplitMix64::between({lo}, {hi})");
        match (hi - lo).checked_add(1) {
            Some(n) => lo + self.below(n),
            None => self.next_u64(),
        }
    }

    /// A uniformly chosen element of a non-empty slice.
    ///
    /// # Panics
    /// When `items` is empty.
    pub fn choose<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Two distinct uniformly chosen elements (ordered pair) of a slice of at least two.
    ///
    /// # Panics
    /// When `items` has fewer than two elements.
    pub fn choose_pair<'a, T>(&mut self, items: &'a [T]) -> (&'a T, &'a T) {
        assert!(items.len() >= 2, "choose_pair needs two items");
        let n = items.len() as u64;
        let a = self.below(n);
        // Uniform over the other n − 1 indices.
        let mut b = self.below(n - 1);
        if b >= a {
            b += 1;
        }
        (&items[a as usize], &items[b as usize])
    }
}

const GBIT: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;

/// Bridges of the paper topology (a ring).
pub const PAPER_BRIDGES: usize = 4;
/// End stations attached to every bridge of the paper topology.
pub const PAPER_STATIONS_PER_BRIDGE: usize = 3;
/// Propagation delay of every paper link: 10 m of copper.
pub const PAPER_PROPAGATION_NS: u64 = 50;
/// Processing (bridge) delay before a frame can leave on a bridge's egress port.
pub const PAPER_PROCESSING_NS: u64 = 2_000;

/// A small bridged network for tests and examples: `bridges` bridges `b0, b1, …` in a line
/// (closed into a ring when `ring` and there are more than two), each with `stations` end
/// stations `e{bridge}_{k}`. Every cable is full duplex at 1 Gbit/s with 100 ns propagation
/// and 1 µs processing; every port has `queues` scheduled queues and 1024 GCL entries.
pub fn bridged_network(bridges: usize, stations: usize, ring: bool, queues: u8) -> Topology {
    let mut nodes = Vec::new();
    let mut links = Vec::new();
    let mut cable = |a: String, b: String| {
        for (u, v) in [(&a, &b), (&b, &a)] {
            links.push(Link {
                from: NodeId(u.clone()),
                to: NodeId(v.clone()),
                rate_bps: 1_000_000_000,
                propagation_delay_ns: 100,
                processing_delay_ns: 1_000,
                scheduled_queues: queues,
                gcl_max_entries: 1024,
                ports: Default::default(),
            });
        }
    };
    for b in 0..bridges {
        nodes.push(Node { id: NodeId(format!("b{b}")), kind: NodeKind::Bridge });
        for k in 0..stations {
            nodes.push(Node { id: NodeId(format!("e{b}_{k}")), kind: NodeKind::EndStation });
            cable(format!("e{b}_{k}"), format!("b{b}"));
        }
    }
    for b in 0..bridges.saturating_sub(1) {
        cable(format!("b{b}"), format!("b{}", b + 1));
    }
    if ring && bridges > 2 {
        cable(format!("b{}", bridges - 1), "b0".into());
    }
    Topology { nodes, links }
}

/// A one-frame stream for tests and examples: latency bound = period, offset window = the
/// whole period, PCP 7, untagged, no jitter bound; `size` is the 802.1Qcc max-frame-size.
pub fn simple_stream(id: &str, talker: &str, listeners: &[&str], period_ns: u64, size: u32) -> Stream {
    Stream {
        id: StreamId(id.into()),
        talker: talker.into(),
        listeners: listeners.iter().map(|&l| l.into()).collect(),
        period_ns,
        frames_per_period: 1,
        max_frame_size: size,
        max_latency_ns: period_ns,
        max_jitter_ns: None,
        earliest_offset_ns: 0,
        latest_offset_ns: None,
        pcp: 7,
        vlan: None,
    }
}

/// The fixed topology of [`paper_workload`].
///
/// A ring of [`PAPER_BRIDGES`] bridges `br0 – br1 – br2 – br3 – br0`; bridge `brB` has
/// [`PAPER_STATIONS_PER_BRIDGE`] end stations `esB-0`, `esB-1`, `esB-2`. Every cable is
/// full duplex (two directed links) at 1 Gbit/s with [`PAPER_PROPAGATION_NS`] propagation.
/// Egress ports of bridges have [`PAPER_PROCESSING_NS`] processing delay (0 on stations,
/// where it is never used); every port has 8 scheduled queues and 1024 GCL entries.
/// 16 nodes, 16 cables, 32 directed links; two stations are at most 4 hops apart.
pub fn paper_topology() -> Topology {
    let mut t = Topology::default();
    let bridge = |b: usize| format!("br{b}");
    for b in 0..PAPER_BRIDGES {
        t.nodes.push(Node { id: NodeId(bridge(b)), kind: NodeKind::Bridge });
    }
    for b in 0..PAPER_BRIDGES {
        for k in 0..PAPER_STATIONS_PER_BRIDGE {
            t.nodes.push(Node { id: NodeId(format!("es{b}-{k}")), kind: NodeKind::EndStation });
        }
    }
    let cable = |t: &mut Topology, a: &str, b: &str| {
        for (from, to) in [(a, b), (b, a)] {
            let processing = if from.starts_with("br") { PAPER_PROCESSING_NS } else { 0 };
            t.links.push(link(from, to, GBIT, PAPER_PROPAGATION_NS, processing));
        }
    };
    for b in 0..PAPER_BRIDGES {
        cable(&mut t, &bridge(b), &bridge((b + 1) % PAPER_BRIDGES));
    }
    for b in 0..PAPER_BRIDGES {
        for k in 0..PAPER_STATIONS_PER_BRIDGE {
            cable(&mut t, &format!("es{b}-{k}"), &bridge(b));
        }
    }
    t
}

fn link(from: &str, to: &str, rate_bps: u64, propagation_delay_ns: u64, processing_delay_ns: u64) -> Link {
    Link {
        from: NodeId(from.to_owned()),
        to: NodeId(to.to_owned()),
        rate_bps,
        propagation_delay_ns,
        processing_delay_ns,
        scheduled_queues: 8,
        gcl_max_entries: 1024,
        ports: Default::default(),
    }
}

fn end_stations(t: &Topology) -> Vec<NodeId> {
    t.nodes.iter().filter(|n| n.kind == NodeKind::EndStation).map(|n| n.id.clone()).collect()
}

fn stream(
    id: String,
    talker: &NodeId,
    listener: &NodeId,
    period_ns: u64,
    frames: u32,
    size: u32,
    latency_ns: u64,
) -> Stream {
    Stream {
        id: StreamId(id),
        talker: talker.clone(),
        listeners: vec![listener.clone()],
        period_ns,
        frames_per_period: frames,
        max_frame_size: size,
        max_latency_ns: latency_ns,
        max_jitter_ns: None,
        earliest_offset_ns: 0,
        latest_offset_ns: None,
        pcp: 0,
        vlan: None,
    }
}

/// The μTSN-CP paper workload: `streams` streams `s0`, `s1`, … on [`paper_topology`].
///
/// Per stream, in this order: talker and listener, two distinct end stations drawn
/// uniformly; period uniform from {125, 250, 500} ms; 1–3 frames per period (uniform);
/// 802.1Qcc `max-frame-size` uniform in 64..=1500 B (the range of an untagged Ethernet
/// payload; 42 B of header, tag, FCS, preamble/SFD and IFG are added on the wire); latency
/// bound 500 ms. Problem: wire overhead 42 B, no synchronisation error, 1500 B best-effort
/// frames (guard band 12.336 µs). Hyperperiod 500 ms.
pub fn paper_workload(streams: usize, seed: u64) -> Problem {
    let topology = paper_topology();
    let stations = end_stations(&topology);
    let mut rng = SplitMix64::new(seed);
    let list = (0..streams)
        .map(|i| {
            let (talker, listener) = rng.choose_pair(&stations);
            let period = *rng.choose(&[125 * MS, 250 * MS, 500 * MS]);
            let frames = rng.between(1, 3) as u32;
            let size = rng.between(64, 1500) as u32;
            stream(format!("s{i}"), talker, listener, period, frames, size, 500 * MS)
        })
        .collect();
    let config = SchedulingConfig {
        wire_overhead_bytes: DEFAULT_WIRE_OVERHEAD_BYTES,
        sync_error_ns: 0,
        best_effort_max_frame_size: 1500,
    };
    Problem::new(topology, list, config)
}

/// Shape of the switch network of [`tsnkit_grid`] (tsnkit `topo` code 0 and 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GridTopology {
    /// Switch `i` – switch `i + 1`.
    Line,
    /// A line plus switch `n − 1` – switch 0 (from 3 switches on).
    Ring,
}

/// The set periods are drawn from in [`tsnkit_grid`] (tsnkit period spec 3 and 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GridPeriods {
    /// {0.5, 1, 2, 4} ms (spec 3); hyperperiod 4 ms.
    Milliseconds,
    /// {100, 200, 400, 800} µs (spec 4); hyperperiod 0.8 ms.
    Microseconds,
}

impl GridPeriods {
    /// The four periods, in nanoseconds.
    pub fn periods_ns(self) -> [u64; 4] {
        match self {
            GridPeriods::Milliseconds => [500_000, 1_000_000, 2_000_000, 4_000_000],
            GridPeriods::Microseconds => [100_000, 200_000, 400_000, 800_000],
        }
    }
}

/// Parameters of [`tsnkit_grid`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GridParams {
    /// Number of switches (at least 2); there is one end station per switch.
    pub switches: usize,
    /// Number of streams.
    pub streams: usize,
    /// Line or ring.
    pub topology: GridTopology,
    /// Period set.
    pub periods: GridPeriods,
}

/// tsnkit processing delay on every link (its `t_proc`).
pub const TSNKIT_PROCESSING_NS: u64 = 2_000;

/// The topology of a tsnkit instance with `switches` switches, named as tsnkit names nodes.
///
/// Switches are nodes `"0"` … `"n−1"`; end station `"n+i"` hangs off switch `"i"`. Cables:
/// `i – i+1` for the line, plus `n−1 – 0` for a ring of at least 3 switches, and every end
/// station to its switch; each cable is two directed links at 1 Gbit/s with no propagation
/// delay, [`TSNKIT_PROCESSING_NS`] processing delay, 8 scheduled queues and 1024 GCL entries
/// (tsnkit's `q_num = 8, rate = 1, t_proc = 2000, t_prop = 0`).
pub fn tsnkit_topology(switches: usize, shape: GridTopology) -> Topology {
    let n = switches;
    let mut t = Topology::default();
    for i in 0..2 * n {
        let kind = if i < n { NodeKind::Bridge } else { NodeKind::EndStation };
        t.nodes.push(Node { id: NodeId(i.to_string()), kind });
    }
    let mut cable = |a: usize, b: usize| {
        for (from, to) in [(a, b), (b, a)] {
            t.links.push(link(&from.to_string(), &to.to_string(), GBIT, 0, TSNKIT_PROCESSING_NS));
        }
    };
    for i in 0..n.saturating_sub(1) {
        cable(i, i + 1);
    }
    if shape == GridTopology::Ring && n >= 3 {
        cable(n - 1, 0);
    }
    for i in 0..n {
        cable(n + i, i);
    }
    t
}

/// A tsnkit-style instance: `params.streams` streams `"0"`, `"1"`, … on
/// [`tsnkit_topology`].
///
/// Per stream, in this order: talker and listener, two distinct end stations drawn
/// uniformly; period uniform from the chosen set; size uniform from {100, 200, 300, 400,
/// 500} B, which *includes* all overhead (tsnkit sizes: wire overhead 0); deadline = period;
/// no jitter bound. Problem: wire overhead 0, no synchronisation error, best-effort frames of
/// 1542 B on the wire (guard band 12.336 µs at 1 Gbit/s).
///
/// # Panics
/// When `params.switches < 2` (a stream needs two distinct end stations).
pub fn tsnkit_grid(params: &GridParams, seed: u64) -> Problem {
    assert!(params.switches >= 2, "tsnkit_grid needs at least 2 switches");
    let topology = tsnkit_topology(params.switches, params.topology);
    let stations = end_stations(&topology);
    let periods = params.periods.periods_ns();
    let mut rng = SplitMix64::new(seed);
    let list = (0..params.streams)
        .map(|i| {
            let (talker, listener) = rng.choose_pair(&stations);
            let period = *rng.choose(&periods);
            let size = 100 * rng.between(1, 5) as u32;
            stream(i.to_string(), talker, listener, period, 1, size, period)
        })
        .collect();
    let config = SchedulingConfig {
        wire_overhead_bytes: 0,
        sync_error_ns: 0,
        best_effort_max_frame_size: 1500 + DEFAULT_WIRE_OVERHEAD_BYTES,
    };
    Problem::new(topology, list, config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // First outputs of the reference implementation for seed 1234567.
        let mut r = SplitMix64::new(1_234_567);
        assert_eq!(r.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(r.next_u64(), 3_203_168_211_198_807_973);
    }

    #[test]
    fn below_and_between_stay_in_range_and_cover_it() {
        let mut r = SplitMix64::new(7);
        let mut seen = HashSet::new();
        for _ in 0..1_000 {
            let x = r.between(3, 7);
            assert!((3..=7).contains(&x));
            seen.insert(x);
        }
        assert_eq!(seen.len(), 5);
        assert!(r.between(0, u64::MAX) > 0 || r.between(0, u64::MAX) > 0);
        for _ in 0..1_000 {
            let items = [1, 2, 3];
            let (a, b) = r.choose_pair(&items);
            assert_ne!(a, b);
        }
    }

    #[test]
    fn paper_workload_is_deterministic_valid_and_in_range() {
        let p = paper_workload(50, 42);
        assert_eq!(p, paper_workload(50, 42));
        assert_ne!(p.streams, paper_workload(50, 43).streams);
        p.validate().unwrap();
        assert_eq!((p.topology.nodes.len(), p.topology.links.len()), (16, 32));
        assert_eq!(p.streams.len(), 50);
        assert_eq!(p.hyperperiod_ns().unwrap(), 500 * MS);
        for s in &p.streams {
            assert!([125 * MS, 250 * MS, 500 * MS].contains(&s.period_ns));
            assert!((1..=3).contains(&s.frames_per_period));
            assert!((64..=1500).contains(&s.max_frame_size));
            assert_eq!(s.max_latency_ns, 500 * MS);
            assert_ne!(s.talker, s.listeners[0]);
            assert!(s.talker.0.starts_with("es") && s.listeners[0].0.starts_with("es"));
        }
        assert_eq!(p.config.wire_overhead_bytes, 42);
        // A prefix of a longer workload is the shorter workload.
        assert_eq!(paper_workload(20, 42).streams, p.streams[..20]);
    }

    #[test]
    fn tsnkit_topologies_have_the_documented_shape() {
        let line = tsnkit_topology(8, GridTopology::Line);
        let ring = tsnkit_topology(8, GridTopology::Ring);
        line.validate().unwrap();
        ring.validate().unwrap();
        assert_eq!(line.nodes.len(), 16);
        assert_eq!(line.links.len(), 2 * (7 + 8));
        assert_eq!(ring.links.len(), 2 * (8 + 8));
        assert!(ring.link(&tsn_model::LinkId::new("7", "0")).is_some());
        assert!(line.link(&tsn_model::LinkId::new("8", "0")).is_some());
        // Two switches: a ring is a line.
        assert_eq!(tsnkit_topology(2, GridTopology::Ring), tsnkit_topology(2, GridTopology::Line));
    }

    #[test]
    fn tsnkit_grid_is_deterministic_valid_and_in_range() {
        for periods in [GridPeriods::Milliseconds, GridPeriods::Microseconds] {
            let params = GridParams { switches: 18, streams: 100, topology: GridTopology::Ring, periods };
            let p = tsnkit_grid(&params, 9);
            assert_eq!(p, tsnkit_grid(&params, 9));
            p.validate().unwrap();
            let set = periods.periods_ns();
            assert_eq!(p.hyperperiod_ns().unwrap(), set[3]);
            for s in &p.streams {
                assert!(set.contains(&s.period_ns));
                assert_eq!(s.max_latency_ns, s.period_ns);
                assert!(s.max_frame_size % 100 == 0 && (100..=500).contains(&s.max_frame_size));
                let (t, l): (usize, usize) = (s.talker.0.parse().unwrap(), s.listeners[0].0.parse().unwrap());
                assert!(t >= 18 && l >= 18 && t != l);
            }
            assert_eq!(p.config.wire_overhead_bytes, 0);
        }
    }
}
