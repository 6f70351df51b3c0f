//! IEEE 802.1Qbv gate control lists (GCLs) from an explicit schedule.
//!
//! [`synthesize`] builds one [`GateControlList`] per egress port (directed link) that
//! carries at least one transmission. Every list starts at `base_time_ns = 0`; its cycle
//! is the schedule's hyperperiod, or the LCM of the periods of the streams on the port
//! when that divides the hyperperiod and the port's transmissions really repeat with it
//! (fewer entries for the same behaviour).
//!
//! # Layout of a cycle
//!
//! Transmissions are reduced modulo the cycle (a transmission that crosses the end of the
//! cycle is split in two). A traffic class is *scheduled* on a port when some transmission
//! on the port uses it (queue `q` is class `7 − q`); every other class is *best effort*.
//!
//! * **Window**: during every transmission exactly the gate of its class is open — no other
//!   scheduled class and no best-effort class. Transmissions of the same class that overlap
//!   or touch form one window; windows of different classes may touch (back to back) but
//!   never overlap ([`GclError::ConflictingWindows`] otherwise).
//! * **Gap** between two windows: best-effort gates open, scheduled gates closed, except a
//!   **guard band** of `guard = transmission_time_ns(best_effort_max_frame_size +
//!   wire_overhead_bytes, rate)` before the next window, during which every gate is closed.
//!   A gap no longer than the guard is all-closed.
//!
//! Guarantees of the result (what `tsn-check` verifies): intervals are positive and sum to
//! the cycle; every transmission lies inside an open window of its class during which no
//! other scheduled class is open; a best-effort frame no larger than
//! `best_effort_max_frame_size` that starts while its gate is open ends before the next
//! window starts; the entry count is within `gcl_max_entries` of the port.
//!
//! # Meeting the entry limit
//!
//! When a port's list has more entries than `gcl_max_entries`, consecutive windows of the
//! *same* class are joined across the gap between them (the gap becomes open for that class
//! only, best effort closed), smallest gaps first, until the list fits. A join never spans a
//! window of another class. If the list still does not fit, the result is
//! [`GclError::TooManyEntries`].
//!
//! A joined gap changes behaviour only if a frame of that class *waits in the queue* during
//! the gap: the gate is open, so a bridge sends it at once, before its scheduled time. Frame
//! isolation does **not** exclude this — it keeps frames of *different* streams from being in
//! one queue at the same time, but in the queue-based model a frame may legitimately wait
//! from its arrival (end on the previous hop + propagation + processing + synchronisation
//! error) until its scheduled start. Such an early departure makes the frame arrive early
//! at the next hop, where it can get ahead of another stream's frame in the FIFO queue and be
//! sent in that frame's window: isolation is broken downstream and deadlines can be missed.
//! Therefore only **safe** gaps are joined: gaps during which no frame of the class can be
//! in the port's queue according to the schedule (arrivals recomputed from the previous
//! hop's transmission of the same instance and frame; a talker's first hop is released at
//! its scheduled time by the talker itself, so it never waits). For no-wait schedules every
//! gap is safe. The residual: real arrivals can be earlier than nominal by up to the clocks'
//! synchronisation error, so a frame may leave up to that much early from a joined gap that
//! immediately precedes its window.

use std::collections::{HashMap, HashSet};

use thiserror::Error;
use tsn_model::{
    hyperperiod_ns, queue_traffic_class, transmission_time_ns, LinkId, Problem, Schedule, StreamId, TRAFFIC_CLASSES,
};

/// Why no gate control list could be built for a port.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum GclError {
    /// The schedule's hyperperiod is zero.
    #[error("the schedule's hyperperiod is zero")]
    ZeroHyperperiod,
    /// A transmission names a link that is not in the topology.
    #[error("port {port}: not a link of the topology")]
    UnknownPort {
        /// The link.
        port: LinkId,
    },
    /// The guard band cannot be computed (zero rate or overflow).
    #[error("port {port}: the guard band cannot be computed (rate {rate_bps} bit/s)")]
    GuardBand {
        /// The port.
        port: LinkId,
        /// Its rate.
        rate_bps: u64,
    },
    /// A transmission ends before it starts or is longer than the cycle.
    #[error(
        "port {port}: transmission of stream {stream} [{start_ns}, {end_ns}) does not fit a cycle of {cycle_ns} ns"
    )]
    BadTransmission {
        /// The port.
        port: LinkId,
        /// Owner of the transmission.
        stream: StreamId,
        /// Its start.
        start_ns: u64,
        /// Its end.
        end_ns: u64,
        /// The port's cycle.
        cycle_ns: u64,
    },
    /// Transmissions of two different traffic classes overlap on the port.
    #[error("port {port}: windows of traffic classes {first_class} and {second_class} overlap at {at_ns} ns of the {cycle_ns} ns cycle")]
    ConflictingWindows {
        /// The port.
        port: LinkId,
        /// Class of the earlier window.
        first_class: u8,
        /// Class of the window that starts inside it.
        second_class: u8,
        /// Where the overlap starts, within the cycle.
        at_ns: u64,
        /// The port's cycle.
        cycle_ns: u64,
    },
    /// Even after joining every safe gap the list has more entries than the port allows.
    #[error("port {port}: the gate control list needs {needed} entries but the port allows {allowed} ({unsafe_gaps} gaps between windows of one class were not joined because a frame waits in the queue during them)")]
    TooManyEntries {
        /// The port.
        port: LinkId,
        /// Entries after every safe join.
        needed: usize,
        /// `gcl_max_entries` of the port.
        allowed: u32,
        /// Gaps that could have been joined but were unsafe.
        unsafe_gaps: usize,
    },
}

/// Gate control lists for every port that carries a transmission of `schedule`, in the
/// order of `problem.topology.links`.
///
/// # Errors
/// [`GclError`] when a port's transmissions overlap across classes, a transmission does not
/// fit the cycle, a port is unknown, or a port's entry limit cannot be met.
pub fn synthesize(problem: &Problem, schedule: &Schedule) -> Result<Vec<tsn_model::GateControlList>, GclError> {
    let hyper = schedule.hyperperiod_ns;
    if hyper == 0 {
        return Err(GclError::ZeroHyperperiod);
    }
    let link_index = problem.topology.link_index();
    let sync = problem.config.sync_error_ns;
    let mut ports: HashMap<usize, Vec<PortTx<'_>>> = HashMap::new();
    let mut periods: HashMap<usize, HashSet<u64>> = HashMap::new();

    for ss in &schedule.streams {
        // The previous hop of every link of the route tree.
        let mut prev_hop: HashMap<&LinkId, &LinkId> = HashMap::new();
        for path in &ss.route.paths {
            for w in path.windows(2) {
                prev_hop.insert(&w[1], &w[0]);
            }
        }
        let by_key: HashMap<(&LinkId, u32, u32), (u64, u64)> =
            ss.transmissions.iter().map(|t| ((&t.link, t.instance, t.frame), (t.start_ns, t.end_ns))).collect();
        let period = problem.stream(&ss.stream).map(|s| s.period_ns).filter(|&p| p > 0);
        for t in &ss.transmissions {
            let &li = link_index.get(&t.link).ok_or_else(|| GclError::UnknownPort { port: t.link.clone() })?;
            if t.end_ns < t.start_ns {
                return Err(GclError::BadTransmission {
                    port: t.link.clone(),
                    stream: ss.stream.clone(),
                    start_ns: t.start_ns,
                    end_ns: t.end_ns,
                    cycle_ns: hyper,
                });
            }
            // Nominal arrival at the port, as the schedulers model it.
            let arrival = prev_hop
                .get(&t.link)
                .and_then(|p| Some((*p, by_key.get(&(*p, t.instance, t.frame))?.1)))
                .and_then(|(p, prev_end)| {
                    let prev = problem.topology.link(p)?;
                    let this = &problem.topology.links[li];
                    Some(prev_end + prev.propagation_delay_ns + this.processing_delay_ns + sync)
                })
                .map_or(t.start_ns, |a| a.min(t.start_ns));
            ports.entry(li).or_default().push(PortTx {
                stream: &ss.stream,
                start: t.start_ns,
                end: t.end_ns,
                arrival,
                class: queue_traffic_class(t.queue),
            });
            periods.entry(li).or_default().insert(period.unwrap_or(hyper));
        }
    }

    let mut indices: Vec<usize> = ports.keys().copied().collect();
    indices.sort_unstable();
    let mut out = Vec::with_capacity(indices.len());
    for li in indices {
        let link = &problem.topology.links[li];
        let port = link.id();
        let txs = &ports[&li];
        let guard = transmission_time_ns(
            u64::from(problem.config.best_effort_max_frame_size) + u64::from(problem.config.wire_overhead_bytes),
            link.rate_bps,
        )
        .ok_or_else(|| GclError::GuardBand { port: port.clone(), rate_bps: link.rate_bps })?;
        let cycle = port_cycle(txs, &periods[&li], hyper);
        let entries = port_entries(&port, txs, cycle, guard, link.gcl_max_entries)?;
        out.push(tsn_model::GateControlList {
            port,
            base_time_ns: 0,
            cycle_time_ns: cycle,
            entries: entries
                .into_iter()
                .map(|(gate_states, interval_ns)| tsn_model::GateControlEntry { gate_states, interval_ns })
                .collect(),
        });
    }
    Ok(out)
}

/// One transmission on a port, with the time its frame reaches the port's queue.
#[derive(Debug, Clone, Copy)]
struct PortTx<'a> {
    stream: &'a StreamId,
    start: u64,
    end: u64,
    /// Nominal arrival at the queue (`== start` when the frame never waits).
    arrival: u64,
    class: u8,
}

/// A window of one class on the circle: `start < cycle`, `start < end ≤ start + cycle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    start: u64,
    end: u64,
    class: u8,
}

/// The port's cycle: the LCM of its streams' periods when it divides the hyperperiod and
/// the transmissions repeat with it; the hyperperiod otherwise.
fn port_cycle(txs: &[PortTx<'_>], periods: &HashSet<u64>, hyper: u64) -> u64 {
    let Ok(c) = hyperperiod_ns(periods.iter().copied()) else { return hyper };
    let repeats = hyper / c;
    if c >= hyper || repeats * c != hyper {
        return hyper;
    }
    // Distinct occurrences within the hyperperiod; the pattern repeats with `c` exactly
    // when every occurrence reduced modulo `c` is found `hyper / c` times.
    let distinct: HashSet<(u64, u64, u8)> = txs.iter().map(|t| (t.start % hyper, t.end - t.start, t.class)).collect();
    let mut reduced: HashMap<(u64, u64, u8), u64> = HashMap::new();
    for &(s, len, class) in &distinct {
        *reduced.entry((s % c, len, class)).or_default() += 1;
    }
    if reduced.values().all(|&n| n == repeats) {
        c
    } else {
        hyper
    }
}

/// The entries `(gate_states, interval)` of one port.
fn port_entries(
    port: &LinkId,
    txs: &[PortTx<'_>],
    cycle: u64,
    guard: u64,
    limit: u32,
) -> Result<Vec<(u8, u64)>, GclError> {
    let windows = windows(port, txs, cycle)?;
    let scheduled: u8 = windows.iter().fold(0, |m, w| m | class_bit(w.class));
    let best_effort = !scheduled;
    let n = windows.len();

    // Gap `i` follows window `i`; a candidate for joining when both neighbours have the
    // same class (with one window: the gap from the window back to itself).
    let gap = |i: usize| -> (u64, u64) {
        let next = if i + 1 < n { windows[i + 1].start } else { windows[0].start + cycle };
        (windows[i].end, next)
    };
    let candidates: Vec<usize> =
        (0..n).filter(|&i| windows[i].class == windows[(i + 1) % n].class && gap(i).1 > gap(i).0).collect();
    let waiting = waiting_by_class(txs, cycle);
    let (mut safe, unsafe_gaps): (Vec<usize>, Vec<usize>) = candidates.into_iter().partition(|&i| {
        let (a, b) = gap(i);
        !waiting[usize::from(windows[i].class)].intersects(a % cycle, b - a, cycle)
    });
    safe.sort_by_key(|&i| (gap(i).1 - gap(i).0, i));

    let build = |k: usize| -> Vec<(u8, u64)> {
        let mut joined = vec![false; n];
        for &i in &safe[..k] {
            joined[i] = true;
        }
        layout(&windows, &joined, cycle, guard, best_effort)
    };
    let limit_usize = usize::try_from(limit).unwrap_or(usize::MAX);
    let first = build(0);
    if first.len() <= limit_usize {
        return Ok(first);
    }
    let all = build(safe.len());
    if all.len() > limit_usize {
        return Err(GclError::TooManyEntries {
            port: port.clone(),
            needed: all.len(),
            allowed: limit,
            unsafe_gaps: unsafe_gaps.len(),
        });
    }
    // Joining never adds entries, so the fewest joins that fit are found by bisection.
    let (mut lo, mut hi) = (1, safe.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if build(mid).len() <= limit_usize {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(build(lo))
}

fn class_bit(class: u8) -> u8 {
    1u8 << (class % TRAFFIC_CLASSES)
}

/// The port's windows on the circle, sorted by start, disjoint.
fn windows(port: &LinkId, txs: &[PortTx<'_>], cycle: u64) -> Result<Vec<Window>, GclError> {
    let mut pieces = Vec::with_capacity(txs.len());
    for t in txs {
        let len = t.end - t.start;
        if len > cycle {
            return Err(GclError::BadTransmission {
                port: port.clone(),
                stream: t.stream.clone(),
                start_ns: t.start,
                end_ns: t.end,
                cycle_ns: cycle,
            });
        }
        if len > 0 {
            let start = t.start % cycle;
            pieces.push(Window { start, end: start + len, class: t.class });
        }
    }
    pieces.sort_unstable_by_key(|w| (w.start, w.end, w.class));
    let conflict = |a: &Window, b: &Window, at: u64| GclError::ConflictingWindows {
        port: port.clone(),
        first_class: a.class,
        second_class: b.class,
        at_ns: at % cycle,
        cycle_ns: cycle,
    };
    let mut out: Vec<Window> = Vec::with_capacity(pieces.len());
    for w in pieces {
        match out.last_mut() {
            Some(last) if w.start <= last.end && w.class == last.class => last.end = last.end.max(w.end),
            Some(last) if w.start < last.end => return Err(conflict(last, &w, w.start)),
            _ => out.push(w),
        }
    }
    // Close the circle: the last window may reach past the cycle into the first ones.
    while out.len() > 1 {
        let (first, last) = (out[0], out[out.len() - 1]);
        if last.end < first.start + cycle || (last.end == first.start + cycle && last.class != first.class) {
            break;
        }
        if last.class != first.class {
            return Err(conflict(&last, &first, first.start));
        }
        let merged = last.end.max(first.end + cycle);
        out.remove(0);
        let last = out.last_mut().expect("at least one window is left");
        last.end = merged;
    }
    if let [only] = out.as_mut_slice() {
        only.end = only.end.min(only.start + cycle);
    }
    Ok(out)
}

/// The circle laid out from window 0 and cut at the cycle boundary into coalesced entries.
fn layout(windows: &[Window], joined: &[bool], cycle: u64, guard: u64, best_effort: u8) -> Vec<(u8, u64)> {
    let n = windows.len();
    let mut segments: Vec<(u64, u64, u8)> = Vec::with_capacity(3 * n);
    for (i, w) in windows.iter().enumerate() {
        let bit = class_bit(w.class);
        segments.push((w.start, w.end, bit));
        let next = if i + 1 < n { windows[i + 1].start } else { windows[0].start + cycle };
        let (a, b) = (w.end, next);
        if b <= a {
            continue;
        }
        if joined[i] {
            segments.push((a, b, bit));
        } else if b - a <= guard {
            segments.push((a, b, 0));
        } else {
            segments.push((a, b - guard, best_effort));
            segments.push((b - guard, b, 0));
        }
    }
    // Segments cover [windows[0].start, windows[0].start + cycle); rotate to [0, cycle).
    let mut head = Vec::new();
    let mut tail = Vec::new();
    for (a, b, g) in segments {
        if b <= cycle {
            tail.push((a, b, g));
        } else if a >= cycle {
            head.push((a - cycle, b - cycle, g));
        } else {
            tail.push((a, cycle, g));
            head.push((0, b - cycle, g));
        }
    }
    let mut entries: Vec<(u8, u64)> = Vec::with_capacity(head.len() + tail.len());
    for (a, b, g) in head.into_iter().chain(tail) {
        if b <= a {
            continue;
        }
        match entries.last_mut() {
            Some(last) if last.0 == g => last.1 += b - a,
            _ => entries.push((g, b - a)),
        }
    }
    entries
}

/// Per class, the union of the times frames of that class wait in the port's queue.
fn waiting_by_class(txs: &[PortTx<'_>], cycle: u64) -> Vec<CircleSet> {
    let mut raw: Vec<Vec<(u64, u64)>> = vec![Vec::new(); usize::from(TRAFFIC_CLASSES)];
    for t in txs {
        if t.arrival < t.start {
            raw[usize::from(t.class % TRAFFIC_CLASSES)].push((t.arrival % cycle, t.start - t.arrival));
        }
    }
    raw.into_iter().map(|v| CircleSet::new(v, cycle)).collect()
}

/// A union of half-open intervals on the circle `[0, cycle)`, as sorted disjoint pieces.
#[derive(Debug, Default)]
struct CircleSet {
    pieces: Vec<(u64, u64)>,
}

impl CircleSet {
    fn new(intervals: Vec<(u64, u64)>, cycle: u64) -> Self {
        let mut flat = Vec::new();
        for (start, len) in intervals {
            flat.extend(split(start, len, cycle));
        }
        flat.sort_unstable();
        let mut pieces: Vec<(u64, u64)> = Vec::with_capacity(flat.len());
        for (a, b) in flat {
            match pieces.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => pieces.push((a, b)),
            }
        }
        CircleSet { pieces }
    }

    /// Whether `[start, start + len)` (on the circle) meets the set.
    fn intersects(&self, start: u64, len: u64, cycle: u64) -> bool {
        split(start, len, cycle).into_iter().any(|(a, b)| {
            // The first piece that ends after `a` is the only one that can start before `b`.
            let i = self.pieces.partition_point(|p| p.1 <= a);
            self.pieces.get(i).is_some_and(|p| p.0 < b)
        })
    }
}

/// `[start, start + len)` with `start < cycle` as at most two pieces inside `[0, cycle)`.
fn split(start: u64, len: u64, cycle: u64) -> Vec<(u64, u64)> {
    if len >= cycle {
        return vec![(0, cycle)];
    }
    let end = start + len;
    if end <= cycle {
        vec![(start, end)]
    } else {
        vec![(start, cycle), (0, end - cycle)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tsn_model::{
        GateControlList, Link, Node, NodeKind, Route, SchedulingConfig, Stream, StreamSchedule, Topology, Transmission,
        SCHEDULE_FORMAT_VERSION,
    };

    /// 1542 wire bytes at 1 Gbit/s.
    const GUARD: u64 = 12_336;
    const AB: (&str, &str) = ("a", "b");
    const BC: (&str, &str) = ("b", "c");

    fn link(from: &str, to: &str, limit: u32) -> Link {
        Link {
            from: from.into(),
            to: to.into(),
            rate_bps: 1_000_000_000,
            propagation_delay_ns: 0,
            processing_delay_ns: 0,
            scheduled_queues: 8,
            gcl_max_entries: limit,
            ports: Default::default(),
        }
    }

    /// Talker `a` — bridge `b` — listener `c`; streams `(id, period)` from `a` to `c`.
    fn problem(streams: &[(&str, u64)], limit: u32) -> Problem {
        let node = |id: &str, kind| Node { id: id.into(), kind };
        let topology = Topology {
            nodes: vec![node("a", NodeKind::EndStation), node("b", NodeKind::Bridge), node("c", NodeKind::EndStation)],
            links: vec![link("a", "b", limit), link("b", "a", limit), link("b", "c", limit), link("c", "b", limit)],
        };
        let streams = streams
            .iter()
            .map(|&(id, period)| Stream {
                id: id.into(),
                talker: "a".into(),
                listeners: vec!["c".into()],
                period_ns: period,
                frames_per_period: 1,
                max_frame_size: 100,
                max_latency_ns: period,
                max_jitter_ns: None,
                earliest_offset_ns: 0,
                latest_offset_ns: None,
                pcp: 0,
                vlan: None,
            })
            .collect();
        Problem::new(topology, streams, SchedulingConfig::default())
    }

    /// A transmission `(link, instance, start, len, queue)`.
    type Tx = ((&'static str, &'static str), u32, u64, u64, u8);

    fn schedule(hyper: u64, streams: &[(&str, &[Tx])]) -> Schedule {
        let streams = streams
            .iter()
            .map(|&(id, txs)| StreamSchedule {
                stream: id.into(),
                route: Route { stream: id.into(), paths: vec![vec![LinkId::new("a", "b"), LinkId::new("b", "c")]] },
                transmissions: txs
                    .iter()
                    .map(|&((f, t), instance, start, len, queue)| Transmission {
                        link: LinkId::new(f, t),
                        instance,
                        frame: 0,
                        start_ns: start,
                        end_ns: start + len,
                        queue,
                    })
                    .collect(),
                talker_offset_ns: 0,
                worst_latency_ns: 0,
            })
            .collect();
        Schedule { version: SCHEDULE_FORMAT_VERSION, hyperperiod_ns: hyper, streams, gcls: Vec::new() }
    }

    fn gcl<'g>(gcls: &'g [GateControlList], from: &str, to: &str) -> &'g GateControlList {
        gcls.iter().find(|g| g.port == LinkId::new(from, to)).expect("port has a GCL")
    }

    fn entries(g: &GateControlList) -> Vec<(u8, u64)> {
        g.entries.iter().map(|e| (e.gate_states, e.interval_ns)).collect()
    }

    /// The gate states of every entry that overlaps `[start, start + len)` on the circle.
    fn states_during(g: &GateControlList, start: u64, len: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let mut t = 0;
        for e in &g.entries {
            let (a, b) = (t, t + e.interval_ns);
            t = b;
            for (x, y) in split(start % g.cycle_time_ns, len, g.cycle_time_ns) {
                if x < b && a < y {
                    out.push(e.gate_states);
                }
            }
        }
        out
    }

    /// Every property the verifier checks, recomputed by brute force.
    fn assert_valid(p: &Problem, s: &Schedule, gcls: &[GateControlList]) {
        for g in gcls {
            let l = p.topology.link(&g.port).unwrap();
            assert!(g.entries.len() <= l.gcl_max_entries as usize, "{}: too many entries", g.port);
            assert!(g.entries.iter().all(|e| e.interval_ns > 0));
            assert_eq!(g.entries.iter().map(|e| e.interval_ns).sum::<u64>(), g.cycle_time_ns);
            assert_eq!(s.hyperperiod_ns % g.cycle_time_ns, 0);
            let txs: Vec<&Transmission> =
                s.streams.iter().flat_map(|x| &x.transmissions).filter(|t| t.link == g.port).collect();
            let scheduled: u8 = txs.iter().fold(0, |m, t| m | 1 << queue_traffic_class(t.queue));
            for t in &txs {
                let bit = 1u8 << queue_traffic_class(t.queue);
                for st in states_during(g, t.start_ns, t.end_ns - t.start_ns) {
                    assert!(st & bit != 0, "{}: class closed during {t:?}", g.port);
                    assert_eq!(st & !bit & scheduled, 0, "{}: another scheduled class open during {t:?}", g.port);
                    assert_eq!(st & !scheduled, 0, "{}: best effort open during {t:?}", g.port);
                }
                let before = (t.start_ns % g.cycle_time_ns + g.cycle_time_ns - GUARD) % g.cycle_time_ns;
                for st in states_during(g, before, GUARD) {
                    assert_eq!(st & !scheduled, 0, "{}: best effort open in the guard band of {t:?}", g.port);
                }
            }
        }
    }

    /// The independent verifier's findings about the GCLs only (the hand-built schedules
    /// are not complete schedules).
    fn assert_verified(p: &Problem, s: &Schedule, gcls: &[GateControlList]) {
        let mut s = s.clone();
        s.gcls = gcls.to_vec();
        let report = tsn_check::verify(p, &s);
        let gcl_violations: Vec<String> = report
            .violations
            .iter()
            .filter(|v| format!("{:?}", v.kind()).starts_with("Gcl"))
            .map(|v| v.to_string())
            .collect();
        assert!(gcl_violations.is_empty(), "{}", gcl_violations.join("\n"));
    }

    fn run(p: &Problem, s: &Schedule) -> Vec<GateControlList> {
        let gcls = synthesize(p, s).expect("GCLs");
        assert_valid(p, s, &gcls);
        assert_verified(p, s, &gcls);
        gcls
    }

    #[test]
    fn gcl_single_window() {
        let p = problem(&[("x", 1_000_000)], 1024);
        let s = schedule(1_000_000, &[("x", &[(AB, 0, 100_000, 10_000, 0)])]);
        let gcls = run(&p, &s);
        assert_eq!(gcls.len(), 1);
        let g = gcl(&gcls, "a", "b");
        assert_eq!((g.base_time_ns, g.cycle_time_ns), (0, 1_000_000));
        assert_eq!(entries(g), vec![(0x7f, 100_000 - GUARD), (0, GUARD), (0x80, 10_000), (0x7f, 1_000_000 - 110_000)]);
    }

    #[test]
    fn gcl_window_crossing_the_cycle_end_and_times_beyond_the_hyperperiod() {
        let p = problem(&[("x", 1_000_000), ("y", 1_000_000)], 1024);
        // x crosses the end of the cycle; y is given one hyperperiod late.
        let s = schedule(1_000_000, &[("x", &[(AB, 0, 995_000, 10_000, 0)]), ("y", &[(AB, 0, 1_500_000, 10_000, 1)])]);
        let g = &run(&p, &s)[0];
        assert_eq!(
            entries(g),
            vec![
                (0x80, 5_000),
                (0x3f, 500_000 - GUARD - 5_000),
                (0, GUARD),
                (0x40, 10_000),
                (0x3f, 995_000 - GUARD - 510_000),
                (0, GUARD),
                (0x80, 5_000),
            ]
        );
    }

    #[test]
    fn gcl_two_queues_back_to_back_and_adjacent_frames_merge() {
        let p = problem(&[("x", 1_000_000), ("y", 1_000_000), ("z", 1_000_000)], 1024);
        let s = schedule(
            1_000_000,
            &[
                ("x", &[(AB, 0, 100_000, 10_000, 0)]),
                ("y", &[(AB, 0, 110_000, 10_000, 1)]),
                // Same queue as y, touching it: one window.
                ("z", &[(AB, 0, 120_000, 5_000, 1)]),
            ],
        );
        let g = &run(&p, &s)[0];
        assert_eq!(
            entries(g),
            vec![(0x3f, 100_000 - GUARD), (0, GUARD), (0x80, 10_000), (0x40, 15_000), (0x3f, 875_000)]
        );
    }

    #[test]
    fn gcl_gap_shorter_than_the_guard_is_all_closed() {
        let p = problem(&[("x", 1_000_000), ("y", 1_000_000)], 1024);
        let s = schedule(1_000_000, &[("x", &[(AB, 0, 100_000, 10_000, 0)]), ("y", &[(AB, 0, 115_000, 10_000, 1)])]);
        let g = &run(&p, &s)[0];
        assert_eq!(
            entries(g),
            vec![(0x3f, 100_000 - GUARD), (0, GUARD), (0x80, 10_000), (0, 5_000), (0x40, 10_000), (0x3f, 875_000)]
        );
    }

    #[test]
    fn gcl_cycle_is_the_port_period_lcm_when_the_pattern_repeats() {
        let p = problem(&[("x", 250_000), ("y", 500_000), ("slow", 1_000_000)], 1024);
        let x: Vec<Tx> = (0..4).map(|k| (AB, k, 10_000 + u64::from(k) * 250_000, 5_000, 0)).collect();
        let y: Vec<Tx> = (0..2).map(|k| (AB, k, 100_000 + u64::from(k) * 500_000, 5_000, 0)).collect();
        // `slow` is only on the reverse port: it does not stretch the a→b cycle.
        let slow: Vec<Tx> = vec![(("b", "a"), 0, 0, 5_000, 0)];
        let s = schedule(1_000_000, &[("x", &x), ("y", &y), ("slow", &slow)]);
        let gcls = run(&p, &s);
        assert_eq!(gcl(&gcls, "a", "b").cycle_time_ns, 500_000);
        assert_eq!(gcl(&gcls, "b", "a").cycle_time_ns, 1_000_000);

        // A pattern that does not repeat keeps the hyperperiod.
        let mut y2 = y.clone();
        y2[1].2 += 1_000;
        let s = schedule(1_000_000, &[("x", &x), ("y", &y2)]);
        assert_eq!(gcl(&run(&p, &s), "a", "b").cycle_time_ns, 1_000_000);
    }

    /// Three windows of queue 0 at 100 µs, 300 µs, 320 µs: 9 entries unjoined.
    fn three_windows(limit: u32) -> (Problem, Schedule) {
        let p = problem(&[("x", 1_000_000), ("y", 1_000_000), ("z", 1_000_000)], limit);
        let s = schedule(
            1_000_000,
            &[
                ("x", &[(AB, 0, 100_000, 10_000, 0)]),
                ("y", &[(AB, 0, 300_000, 10_000, 0)]),
                ("z", &[(AB, 0, 320_000, 10_000, 0)]),
            ],
        );
        (p, s)
    }

    #[test]
    fn gcl_entry_limit_joins_the_smallest_gaps_first() {
        let (p, s) = three_windows(1024);
        assert_eq!(run(&p, &s)[0].entries.len(), 9);

        let (p, s) = three_windows(7);
        let g = &run(&p, &s)[0];
        assert_eq!(
            entries(g),
            vec![
                (0x7f, 100_000 - GUARD),
                (0, GUARD),
                (0x80, 10_000),
                (0x7f, 190_000 - GUARD),
                (0, GUARD),
                (0x80, 30_000),
                (0x7f, 670_000),
            ]
        );

        let (p, s) = three_windows(5);
        let g = &run(&p, &s)[0];
        assert_eq!(entries(g), vec![(0x7f, 100_000 - GUARD), (0, GUARD), (0x80, 230_000), (0x7f, 670_000)]);

        // Down to the limit of 2: the whole cycle is one window.
        let (p, s) = three_windows(2);
        assert_eq!(entries(&run(&p, &s)[0]), vec![(0x80, 1_000_000)]);
    }

    #[test]
    fn gcl_never_joins_across_another_queue() {
        // q0, q1, q0, q1: no two windows of one class are consecutive.
        let p = problem(&[("w", 1_000_000), ("x", 1_000_000), ("y", 1_000_000), ("z", 1_000_000)], 5);
        let s = schedule(
            1_000_000,
            &[
                ("w", &[(AB, 0, 0, 10_000, 0)]),
                ("x", &[(AB, 0, 10_000, 10_000, 1)]),
                ("y", &[(AB, 0, 20_000, 10_000, 0)]),
                ("z", &[(AB, 0, 30_000, 10_000, 1)]),
            ],
        );
        match synthesize(&p, &s) {
            Err(GclError::TooManyEntries { port, needed, allowed, unsafe_gaps }) => {
                assert_eq!(port, LinkId::new("a", "b"));
                assert_eq!((needed, allowed, unsafe_gaps), (6, 5, 0));
            }
            other => panic!("expected TooManyEntries, got {other:?}"),
        }
    }

    #[test]
    fn gcl_impossible_limit_is_an_error_naming_the_port() {
        let p = problem(&[("x", 1_000_000), ("y", 1_000_000)], 2);
        let s = schedule(1_000_000, &[("x", &[(AB, 0, 100_000, 10_000, 0)]), ("y", &[(AB, 0, 500_000, 10_000, 1)])]);
        let e = synthesize(&p, &s).unwrap_err();
        assert_eq!(e, GclError::TooManyEntries { port: LinkId::new("a", "b"), needed: 7, allowed: 2, unsafe_gaps: 0 });
        assert!(e.to_string().contains("(a, b)") && e.to_string().contains("needs 7 entries"), "{e}");
    }

    #[test]
    fn gcl_does_not_join_gaps_in_which_a_frame_waits() {
        // On b→c, x waits from 62 µs to 100 µs and y from 162 µs to 300 µs (queue-based
        // schedule): both gaps of queue 0 have a waiting frame.
        let waiting = |limit| {
            let p = problem(&[("x", 1_000_000), ("y", 1_000_000)], limit);
            let s = schedule(
                1_000_000,
                &[
                    ("x", &[(AB, 0, 50_000, 12_000, 0), (BC, 0, 100_000, 12_000, 0)]),
                    ("y", &[(AB, 0, 150_000, 12_000, 0), (BC, 0, 300_000, 12_000, 0)]),
                ],
            );
            (p, s)
        };
        let (p, s) = waiting(5);
        let e = synthesize(&p, &s).unwrap_err();
        assert_eq!(e, GclError::TooManyEntries { port: LinkId::new("b", "c"), needed: 7, allowed: 5, unsafe_gaps: 2 });

        // The talker's port a→b has the same shape but nothing waits there: it is joined.
        let (p, s) = waiting(1024);
        let gcls = run(&p, &s);
        assert_eq!(gcl(&gcls, "b", "c").entries.len(), 7);

        // No-wait on b→c (each frame starts when it arrives): the gaps are joinable.
        let p = problem(&[("x", 1_000_000), ("y", 1_000_000)], 4);
        let s = schedule(
            1_000_000,
            &[
                ("x", &[(AB, 0, 50_000, 12_000, 0), (BC, 0, 62_000, 12_000, 0)]),
                ("y", &[(AB, 0, 150_000, 12_000, 0), (BC, 0, 162_000, 12_000, 0)]),
            ],
        );
        let gcls = run(&p, &s);
        assert!(gcls.iter().all(|g| g.entries.len() <= 4));
    }

    #[test]
    fn gcl_overlapping_classes_are_an_error() {
        let p = problem(&[("x", 1_000_000), ("y", 1_000_000)], 1024);
        let s = schedule(1_000_000, &[("x", &[(AB, 0, 995_000, 10_000, 0)]), ("y", &[(AB, 0, 1_000, 10_000, 1)])]);
        assert!(matches!(
            synthesize(&p, &s),
            Err(GclError::ConflictingWindows { first_class: 7, second_class: 6, at_ns: 1_000, .. })
        ));
    }

    #[test]
    fn gcl_random_schedules_satisfy_every_property() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        // Full-cycle lists, reduced-cycle lists, limit errors.
        let mut outcomes = [0usize; 3];
        for round in 0..300 {
            let limit = 4 + next(40) as u32;
            let periods = [250_000u64, 500_000, 1_000_000];
            let n = 1 + next(30) as usize;
            let names: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
            let mut defs: Vec<(&str, u64)> = names.iter().map(|nm| (nm.as_str(), periods[next(3) as usize])).collect();
            // Keeps the problem's hyperperiod at 1 ms; it sends nothing.
            defs.push(("pad", 1_000_000));
            let mut p = problem(&defs, limit);
            // Non-overlapping slots of 10 µs on the circle of 1 ms, one queue per stream.
            let mut used = [false; 100];
            let mut txs: Vec<Vec<Tx>> = Vec::new();
            for (i, &(name, period)) in defs.iter().enumerate() {
                if name == "pad" {
                    txs.push(Vec::new());
                    continue;
                }
                let q = next(3) as u8;
                // The verifier takes the length from the frame size: 42 B overhead, 8 ns/B.
                let size = 1 + next(1_200);
                p.streams[i].max_frame_size = size as u32;
                let len = (size + 42) * 8;
                let slots = (period / 10_000) as usize;
                let reps = 1_000_000 / period;
                let free: Vec<usize> =
                    (0..slots).filter(|&sl| (0..reps).all(|k| !used[sl + (k * period / 10_000) as usize])).collect();
                if free.is_empty() {
                    txs.push(Vec::new());
                    continue;
                }
                let sl = free[next(free.len() as u64) as usize];
                let shift = next(10_001 - len);
                txs.push(
                    (0..reps)
                        .map(|k| {
                            used[sl + (k * period / 10_000) as usize] = true;
                            // Some instances are given a hyperperiod late.
                            let late = if next(4) == 0 { 1_000_000 } else { 0 };
                            (AB, k as u32, late + sl as u64 * 10_000 + k * period + shift, len, q)
                        })
                        .collect(),
                );
            }
            let streams: Vec<(&str, &[Tx])> = defs.iter().zip(&txs).map(|(&(nm, _), t)| (nm, t.as_slice())).collect();
            let s = schedule(1_000_000, &streams);
            match synthesize(&p, &s) {
                Ok(gcls) => {
                    assert_valid(&p, &s, &gcls);
                    assert_verified(&p, &s, &gcls);
                    outcomes[usize::from(gcls.iter().any(|g| g.cycle_time_ns < 1_000_000))] += 1;
                }
                Err(GclError::TooManyEntries { needed, allowed, .. }) => {
                    assert!(needed > allowed as usize, "round {round}");
                    outcomes[2] += 1;
                }
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        assert!(outcomes.iter().all(|&n| n > 0), "{outcomes:?}");
    }
}
