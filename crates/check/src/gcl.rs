//! Gate control lists (IEEE 802.1Qbv): exactly one per port that carries scheduled frames,
//! within the port's entry limit, well-formed intervals, a cycle that divides the
//! hyperperiod; every transmission inside a continuously open window of its traffic class;
//! never two scheduled classes open at once; and a guard band of one maximal best-effort
//! frame between any open best-effort gate and the next scheduled opening.
//!
//! A GCL's state at time `t` is the entry at `(t − base_time) mod cycle` (the list repeats
//! in both directions). A class that carries no scheduled frame on the port counts as best
//! effort there.

use std::collections::HashMap;

use tsn_model::{queue_traffic_class, GateControlEntry, GateControlList};

use crate::frames::Tx;
use crate::{clamp, Net, Violation};

/// When a traffic class is open within one cycle.
#[derive(Debug)]
enum Open {
    /// Open during the whole cycle.
    Always,
    /// Maximal open stretches `[from, to)` sorted by `from`; a stretch that continues
    /// across the end of the cycle is the last one and has `to > cycle`.
    Stretches(Vec<(u128, u128)>),
}

impl Open {
    fn of(entries: &[GateControlEntry], tc: u8, cycle: u128) -> Open {
        let mut v: Vec<(u128, u128)> = Vec::new();
        let mut t = 0u128;
        for e in entries {
            let end = t + u128::from(e.interval_ns);
            if e.gate_states >> tc & 1 == 1 {
                match v.last_mut() {
                    Some(last) if last.1 == t => last.1 = end,
                    _ => v.push((t, end)),
                }
            }
            t = end;
        }
        if v.len() == 1 && v[0] == (0, cycle) {
            return Open::Always;
        }
        if v.len() >= 2 && v[0].0 == 0 && v[v.len() - 1].1 == cycle {
            let head = v.remove(0);
            let last = v.len() - 1;
            v[last].1 = cycle + head.1;
        }
        Open::Stretches(v)
    }

    /// Whether `[pos, pos + len)` (`pos < cycle`) lies inside one open stretch.
    fn contains(&self, pos: u128, len: u128, cycle: u128) -> bool {
        match self {
            Open::Always => true,
            Open::Stretches(v) => [pos, pos + cycle].into_iter().any(|p| {
                let i = v.partition_point(|s| s.0 <= p);
                i > 0 && p + len <= v[i - 1].1
            }),
        }
    }
}

/// Checks the gate control lists (only called when the schedule has any).
pub(crate) fn check(net: &Net<'_>, gcls: &[GateControlList], txs: &[Tx], out: &mut Vec<Violation>) {
    let mut by_port: HashMap<usize, &GateControlList> = HashMap::new();
    let mut order = Vec::new();
    for g in gcls {
        let Some(&l) = net.link_index.get(&g.port) else {
            out.push(Violation::GclUnknownPort { port: g.port.clone() });
            continue;
        };
        if by_port.contains_key(&l) {
            out.push(Violation::GclDuplicate { port: g.port.clone() });
            continue;
        }
        by_port.insert(l, g);
        order.push(l);
    }
    let mut by_link: Vec<Vec<usize>> = vec![Vec::new(); net.problem.topology.links.len()];
    for (i, t) in txs.iter().enumerate() {
        by_link[t.link].push(i);
    }
    for (l, ids) in by_link.iter_mut().enumerate() {
        if !ids.is_empty() && !by_port.contains_key(&l) {
            out.push(Violation::GclMissing { port: net.link(l).id() });
        }
        // Frames in queues the port does not have are reported elsewhere.
        let queues = net.link(l).scheduled_queues;
        ids.retain(|&i| txs[i].queue < queues);
    }
    for l in order {
        check_port(net, l, by_port[&l], &by_link[l], txs, out);
    }
}

fn check_port(net: &Net<'_>, l: usize, g: &GateControlList, ids: &[usize], txs: &[Tx], out: &mut Vec<Violation>) {
    let link = net.link(l);
    let port = &g.port;
    if g.entries.len() > link.gcl_max_entries as usize {
        out.push(Violation::GclTooManyEntries {
            port: port.clone(),
            entries: g.entries.len(),
            max_entries: link.gcl_max_entries,
        });
    }
    let cycle = u128::from(g.cycle_time_ns);
    let sum: u128 = g.entries.iter().map(|e| u128::from(e.interval_ns)).sum();
    let before = out.len();
    if g.entries.is_empty() {
        out.push(Violation::GclIntervals { port: port.clone(), detail: "it has no entries".into() });
    } else if let Some(i) = g.entries.iter().position(|e| e.interval_ns == 0) {
        out.push(Violation::GclIntervals { port: port.clone(), detail: format!("entry {i} has a zero interval") });
    } else if sum != cycle {
        out.push(Violation::GclIntervals {
            port: port.clone(),
            detail: format!("the intervals sum to {sum} ns, the cycle is {cycle} ns"),
        });
    }
    if net.h.checked_rem(cycle) != Some(0) {
        out.push(Violation::GclCycle { port: port.clone(), cycle_ns: g.cycle_time_ns, hyperperiod_ns: clamp(net.h) });
    }
    if out.len() != before {
        return; // The gate states over time are not well defined.
    }

    let scheduled: u8 = ids.iter().fold(0, |m, &i| m | 1 << queue_traffic_class(txs[i].queue));
    let best_effort = !scheduled;
    for (i, e) in g.entries.iter().enumerate() {
        if (e.gate_states & scheduled).count_ones() > 1 {
            out.push(Violation::GclWindowOverlap {
                port: port.clone(),
                entry: i,
                gate_states: e.gate_states,
                scheduled_classes: scheduled,
            });
        }
    }

    // Guard band: from the end of every stretch with a best-effort gate open, the next
    // entry with a scheduled gate open must start at least `guard` later.
    let guard = net.tx_ns(net.problem.config.best_effort_max_frame_size, l);
    let n = g.entries.len();
    let mut starts = Vec::with_capacity(n + 1);
    let mut t = 0u128;
    for e in &g.entries {
        starts.push(t);
        t += u128::from(e.interval_ns);
    }
    starts.push(t);
    let scheduled_entries: Vec<usize> = (0..n).filter(|&j| g.entries[j].gate_states & scheduled != 0).collect();
    for (i, e) in g.entries.iter().enumerate() {
        let be_open = e.gate_states & best_effort != 0;
        if !be_open {
            continue;
        }
        if e.gate_states & scheduled != 0 {
            out.push(Violation::GclGuardBand { port: port.clone(), entry: i, gap_ns: 0, guard_ns: clamp(guard) });
            continue;
        }
        if g.entries[(i + 1) % n].gate_states & best_effort != 0 {
            continue; // The best-effort stretch goes on.
        }
        let end = starts[i + 1];
        let k = scheduled_entries.partition_point(|&j| j <= i);
        let gap = match (scheduled_entries.get(k), scheduled_entries.first()) {
            (Some(&j), _) => starts[j] - end,
            (None, Some(&j)) => cycle - end + starts[j],
            (None, None) => continue,
        };
        if gap < guard {
            out.push(Violation::GclGuardBand {
                port: port.clone(),
                entry: i,
                gap_ns: clamp(gap),
                guard_ns: clamp(guard),
            });
        }
    }

    // Every transmission inside an open window of its class.
    let base = u128::from(g.base_time_ns) % cycle;
    let mut open: HashMap<u8, Open> = HashMap::new();
    for &i in ids {
        let t = &txs[i];
        let tc = queue_traffic_class(t.queue);
        let o = open.entry(tc).or_insert_with(|| Open::of(&g.entries, tc, cycle));
        let pos = (t.start % cycle + cycle - base) % cycle;
        if !o.contains(pos, t.len, cycle) {
            out.push(Violation::GclClosedGate {
                frame: t.frame_ref(net),
                traffic_class: tc,
                start_ns: clamp(t.start),
                end_ns: clamp(t.end()),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(gate_states: u8, interval_ns: u64) -> GateControlEntry {
        GateControlEntry { gate_states, interval_ns }
    }

    #[test]
    fn stretches_merge_adjacent_entries_and_wrap() {
        let entries = [e(0x80, 10), e(0x81, 10), e(0x01, 60), e(0x80, 20)];
        let o = Open::of(&entries, 7, 100);
        // Open [0, 20) and [80, 100): one stretch [80, 120).
        assert!(o.contains(85, 30, 100));
        assert!(o.contains(0, 20, 100));
        assert!(!o.contains(15, 10, 100));
        assert!(!o.contains(79, 2, 100));
        let always = Open::of(&entries, 0, 100);
        assert!(!always.contains(0, 100, 100)); // closed in [80, 100)
        let full = Open::of(&[e(0xff, 50), e(0x01, 50)], 0, 100);
        assert!(matches!(full, Open::Always));
    }
}
