//! Per port (directed link): no two transmissions overlap modulo the hyperperiod, queues in
//! range, frames of different streams never wait in the same queue at the same time, and
//! frames of one stream leave a queue in arrival order.
//!
//! Periodic intervals are compared on an unrolled time line: each interval `[a, b)` is
//! moved to start in `[0, H)` and also copied one hyperperiod later, so that any two
//! intervals that meet modulo `H` (including across the boundary) meet on the line. Then
//! a sort-and-sweep finds the conflicts in O(n log n).

use std::collections::{HashMap, HashSet};

use crate::frames::Tx;
use crate::{clamp, Net, Occupancy, Violation};

/// An interval on the unrolled time line.
#[derive(Debug, Clone, Copy)]
struct Span {
    from: u128,
    to: u128,
    /// Index of the transmission.
    id: usize,
    /// Owner (stream index).
    group: usize,
}

/// The interval `[from, to)` of transmission `id`, reduced modulo `h`, and its copy one
/// hyperperiod later.
fn unroll(from: u128, to: u128, id: usize, group: usize, h: u128) -> [Span; 2] {
    let shift = from - from % h;
    let (from, to) = (from - shift, to - shift);
    [Span { from, to, id, group }, Span { from: from + h, to: to + h, id, group }]
}

fn sorted(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by_key(|s| (s.from, s.to, s.id));
    spans
}

/// Pairs of distinct transmissions whose spans overlap (each pair once, at least one pair
/// for every transmission that overlaps another).
fn overlapping_pairs(spans: Vec<Span>) -> Vec<(usize, usize)> {
    let mut seen = HashSet::new();
    let mut pairs = Vec::new();
    let mut reach: Option<(u128, usize)> = None;
    for s in sorted(spans) {
        if let Some((end, id)) = reach {
            if end > s.from && id != s.id && seen.insert((id.min(s.id), id.max(s.id))) {
                pairs.push((id, s.id));
            }
        }
        if !matches!(reach, Some((end, _)) if s.to <= end) {
            reach = Some((s.to, s.id));
        }
    }
    pairs
}

/// Pairs of transmissions of different groups whose spans overlap: for every span, the
/// earlier span of another group that reaches furthest is checked, which is exact.
fn overlapping_pairs_between_groups(spans: Vec<Span>) -> Vec<(usize, usize)> {
    let mut seen = HashSet::new();
    let mut pairs = Vec::new();
    // The furthest-reaching earlier span, and the furthest-reaching one of another group.
    let mut best: Option<Span> = None;
    let mut second: Option<Span> = None;
    for s in sorted(spans) {
        let other = match best {
            Some(b) if b.group != s.group => Some(b),
            _ => second,
        };
        if let Some(o) = other {
            if o.to > s.from && seen.insert((o.id.min(s.id), o.id.max(s.id))) {
                pairs.push((o.id, s.id));
            }
        }
        match best {
            None => best = Some(s),
            Some(b) if b.group == s.group => {
                if s.to > b.to {
                    best = Some(s);
                }
            }
            Some(b) => {
                if s.to > b.to {
                    second = Some(b);
                    best = Some(s);
                } else if !matches!(second, Some(x) if s.to <= x.to) {
                    second = Some(s);
                }
            }
        }
    }
    pairs
}

/// Pairs `(earlier, later)` of the same group where `earlier` starts strictly before
/// `later` and ends strictly after it (overtaken in a FIFO queue).
fn overtaken_pairs(spans: Vec<Span>) -> Vec<(usize, usize)> {
    let spans = sorted(spans);
    let mut seen = HashSet::new();
    let mut pairs = Vec::new();
    let mut furthest: HashMap<usize, Span> = HashMap::new();
    let mut i = 0;
    while i < spans.len() {
        let mut j = i;
        while j < spans.len() && spans[j].from == spans[i].from {
            j += 1;
        }
        for s in &spans[i..j] {
            if let Some(e) = furthest.get(&s.group) {
                if e.to > s.to && e.id != s.id && seen.insert((e.id, s.id)) {
                    pairs.push((e.id, s.id));
                }
            }
        }
        for s in &spans[i..j] {
            let e = furthest.entry(s.group).or_insert(*s);
            if s.to > e.to {
                *e = *s;
            }
        }
        i = j;
    }
    pairs
}

/// Checks every port.
pub(crate) fn check(net: &Net<'_>, txs: &[Tx], out: &mut Vec<Violation>) {
    let h = net.h;
    let mut by_link: Vec<Vec<usize>> = vec![Vec::new(); net.problem.topology.links.len()];
    for (i, t) in txs.iter().enumerate() {
        by_link[t.link].push(i);
    }
    let wire =
        |i: usize| Occupancy { frame: txs[i].frame_ref(net), from_ns: clamp(txs[i].start), to_ns: clamp(txs[i].end()) };
    let queued = |i: usize| Occupancy {
        frame: txs[i].frame_ref(net),
        from_ns: clamp(txs[i].arrival),
        to_ns: clamp(txs[i].end()),
    };
    for (l, ids) in by_link.iter().enumerate() {
        if ids.is_empty() {
            continue;
        }
        let link = net.link(l);
        let port = link.id();
        for &i in ids {
            if txs[i].queue >= link.scheduled_queues {
                out.push(Violation::QueueOutOfRange {
                    frame: txs[i].frame_ref(net),
                    queue: txs[i].queue,
                    queues: link.scheduled_queues,
                });
            }
        }

        let mut spans = Vec::with_capacity(ids.len() * 2);
        for &i in ids {
            let t = &txs[i];
            if t.len > h {
                out.push(Violation::LinkOverlap { link: port.clone(), first: wire(i), second: wire(i) });
            }
            spans.extend(unroll(t.start, t.end(), i, t.stream, h));
        }
        for (a, b) in overlapping_pairs(spans) {
            out.push(Violation::LinkOverlap { link: port.clone(), first: wire(a), second: wire(b) });
        }

        for q in 0..link.scheduled_queues {
            let spans: Vec<Span> = ids
                .iter()
                .filter(|&&i| txs[i].queue == q)
                .flat_map(|&i| unroll(txs[i].arrival, txs[i].end(), i, txs[i].stream, h))
                .collect();
            if spans.is_empty() {
                continue;
            }
            for (a, b) in overlapping_pairs_between_groups(spans.clone()) {
                out.push(Violation::QueueIsolation {
                    link: port.clone(),
                    queue: q,
                    first: queued(a),
                    second: queued(b),
                });
            }
            for (a, b) in overtaken_pairs(spans) {
                out.push(Violation::QueueFifo { link: port.clone(), queue: q, earlier: queued(a), later: queued(b) });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(from: u128, to: u128, id: usize, group: usize) -> Span {
        Span { from, to, id, group }
    }

    #[test]
    fn touching_is_no_overlap() {
        assert!(overlapping_pairs(vec![span(0, 5, 0, 0), span(5, 9, 1, 0)]).is_empty());
        assert_eq!(overlapping_pairs(vec![span(0, 6, 0, 0), span(5, 9, 1, 0)]), vec![(0, 1)]);
    }

    #[test]
    fn wrap_around_is_found() {
        let h = 100;
        let mut s = Vec::new();
        s.extend(unroll(195, 205, 0, 0, h)); // [95, 105) → also covers [0, 5)
        s.extend(unroll(3, 8, 1, 1, h));
        assert_eq!(overlapping_pairs(s.clone()).len(), 1);
        assert_eq!(overlapping_pairs_between_groups(s).len(), 1);
    }

    #[test]
    fn groups_see_past_their_own_spans() {
        // Group 1 reaches furthest, but an earlier group-0 span is still open for span 2.
        let s = vec![span(0, 20, 0, 0), span(1, 30, 1, 1), span(25, 26, 2, 1), span(15, 16, 3, 1)];
        let pairs = overlapping_pairs_between_groups(s);
        assert!(pairs.contains(&(0, 1)));
        assert!(pairs.contains(&(0, 3)));
        assert!(!pairs.iter().any(|&(a, b)| a == 2 || b == 2));
    }

    #[test]
    fn fifo_overtaking() {
        assert_eq!(overtaken_pairs(vec![span(0, 10, 0, 0), span(2, 5, 1, 0)]), vec![(0, 1)]);
        assert!(overtaken_pairs(vec![span(0, 10, 0, 0), span(2, 12, 1, 0)]).is_empty());
        assert!(overtaken_pairs(vec![span(0, 10, 0, 0), span(2, 5, 1, 1)]).is_empty());
        assert!(overtaken_pairs(vec![span(0, 10, 0, 0), span(0, 5, 1, 0)]).is_empty());
    }
}
