//! The CSV formats of the [tsnkit](https://github.com/ChuanyuXue/tsnkit) benchmark suite.
//!
//! # Input
//!
//! [`read_instance`] reads a stream set and a topology into a [`Problem`]; [`read_routes`]
//! reads optional fixed routes for it.
//!
//! **Task file** (`<id>_task.csv`), header `stream,src,dst,size,period,deadline,jitter`
//! (columns in any order, names case-insensitive; `id` is accepted for `stream`; `jitter`
//! may be absent; other columns are ignored). One row per stream:
//!
//! | column | becomes |
//! |---|---|
//! | `stream` | [`Stream::id`] (the text as written) |
//! | `src` | [`Stream::talker`] |
//! | `dst` | [`Stream::listeners`]: `[12]`, `"[12, 13]"` or a bare `12` |
//! | `size` | [`Stream::max_frame_size`], bytes. tsnkit sizes are what goes on the wire (transmission time = `size*8/rate`), so the problem gets [`SchedulingConfig::wire_overhead_bytes`] = 0 |
//! | `period` | [`Stream::period_ns`] |
//! | `deadline` | [`Stream::max_latency_ns`] |
//! | `jitter` | [`Stream::max_jitter_ns`] = `Some(jitter)` (`None` without the column) |
//!
//! Every stream also gets one frame per period, earliest offset 0, no latest offset, no
//! VLAN and PCP 7 (the class of scheduled queue 0).
//!
//! **Topology file** (`<id>_topo.csv`), header `link,q_num,rate,t_proc,t_prop`. One row per
//! *directed* link `"(u, v)"`:
//!
//! | column | becomes |
//! |---|---|
//! | `link` | [`Link::from`], [`Link::to`] |
//! | `q_num` | [`Link::scheduled_queues`]; 0 is an error, values above 8 are clamped to 8 |
//! | `rate` | [`Link::rate_bps`] = `rate × 10⁹` (rate is in bit/ns, decimal text, 0.01..=1000), computed exactly |
//! | `t_proc` | [`Link::processing_delay_ns`] (delay at the link's source node) |
//! | `t_prop` | [`Link::propagation_delay_ns`] |
//!
//! [`Link::gcl_max_entries`] is [`DEFAULT_GCL_MAX_ENTRIES`]. Node ids are the integers
//! written in canonical decimal form (`007` becomes `7`). A node is an
//! [`NodeKind::EndStation`] iff it occurs in exactly two directed links (tsnkit's own rule),
//! otherwise a [`NodeKind::Bridge`]. The configuration has `wire_overhead_bytes = 0` and
//! `sync_error_ns = 0`.
//!
//! Numbers are non-negative integers; a decimal point is accepted when the fraction is zero
//! (`100.0`), and only `rate` may have a non-zero fraction (down to 1 bit/s). tsnkit rounds
//! times up to 100 ns slots internally; this reader does not (tsnkit256 is already on
//! that grid).
//!
//! **Routes file** (our extension, tsnkit style), header `stream,route` (`id` accepted for
//! `stream`). One row per stream and listener; the route is a quoted list of directed links
//! in path order, e.g. `0,"[(8, 0), (0, 1), (1, 9)]"`. The path must start at the talker,
//! be contiguous, end at a listener and use links of the topology. Streams without rows
//! are left for the scheduler to route.
//!
//! All readers accept a UTF-8 BOM, CRLF line ends, blank lines and whitespace around fields,
//! and report errors as [`FormatError`]s with the file kind and line number.
//!
//! # Output
//!
//! [`write_outputs`] writes a schedule as three CSV files (header first, LF line ends, link
//! fields written `"(u, v)"`):
//!
//! * **`GCL.csv`** — `link,queue,start,end,cycle`: one row per open window of a scheduled
//!   queue of a port, from [`Schedule::gcls`]. `queue` is the scheduled-queue index
//!   (0-based; traffic class `7 − queue`), `start`/`end` are ns from the schedule's time
//!   origin (the GCL's base time plus the offset in the cycle; `end` is exclusive),
//!   `cycle` is the GCL cycle time. Consecutive entries during which the gate stays open
//!   are merged into one window; a window that wraps around the cycle end is written as
//!   two rows. Only queues that carry a transmission of the schedule on that port are
//!   written (the GCL opens the other classes for best-effort traffic in the gaps).
//! * **`OFFSET.csv`** — `stream,frame,offset`: one row per frame instance at the talker
//!   within the hyperperiod; `frame` = `instance × frames_per_period + frame index`, and
//!   `offset` is the start of transmission on the talker's link in ns from the start of
//!   the hyperperiod.
//! * **`ROUTE.csv`** — `stream,link`: one row per link of the stream's route, in path order
//!   (for several listeners: each distinct link once, in first-use order).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use tsn_model::{
    queue_traffic_class, Link, LinkId, Node, NodeId, NodeKind, Problem, Route, Schedule, SchedulingConfig, Stream,
    StreamId, Topology, TRAFFIC_CLASSES,
};

use crate::csv::{escape, Table};
use crate::{FileKind, FormatError};

/// Gate control list capacity given to every port read from a tsnkit topology (tsnkit has
/// no such limit).
pub const DEFAULT_GCL_MAX_ENTRIES: u32 = 1024;

/// PCP given to every stream read from a tsnkit task file.
pub const DEFAULT_PCP: u8 = 7;

/// Smallest rate tsnkit accepts, 0.01 bit/ns, in bit/s.
const MIN_RATE_BPS: u64 = 10_000_000;
/// Largest rate tsnkit accepts, 1000 bit/ns, in bit/s.
const MAX_RATE_BPS: u64 = 1_000_000_000_000;

/// Reads a tsnkit task file and topology file into a validated [`Problem`] (without routes).
pub fn read_instance(task_csv: &str, topo_csv: &str) -> Result<Problem, FormatError> {
    let topology = read_topology(topo_csv)?;
    let streams = read_streams(task_csv, &topology)?;
    let config = SchedulingConfig { wire_overhead_bytes: 0, sync_error_ns: 0, ..SchedulingConfig::default() };
    let problem = Problem::new(topology, streams, config);
    problem.topology.validate().map_err(|e| FormatError::whole(FileKind::TsnkitTopo, e.to_string()))?;
    problem.validate().map_err(|e| FormatError::whole(FileKind::TsnkitTask, e.to_string()))?;
    Ok(problem)
}

fn read_topology(text: &str) -> Result<Topology, FormatError> {
    const F: FileKind = FileKind::TsnkitTopo;
    let table = Table::parse(text, F)?;
    let c_link = table.column(&["link"])?;
    let c_q = table.column(&["q_num"])?;
    let c_rate = table.column(&["rate"])?;
    let c_proc = table.column(&["t_proc"])?;
    let c_prop = table.column(&["t_prop"])?;
    let mut links = Vec::with_capacity(table.records.len());
    let mut seen: HashMap<(u64, u64), usize> = HashMap::new();
    let mut degree: HashMap<u64, usize> = HashMap::new();
    for r in &table.records {
        let at = |m: String| FormatError::at(F, r.line, m);
        let (u, v) = parse_link(&r.fields[c_link]).map_err(|m| at(format!("column `link`: {m}")))?;
        if u == v {
            return Err(at(format!("link ({u}, {v}) joins a node to itself")));
        }
        if let Some(first) = seen.insert((u, v), r.line) {
            return Err(at(format!("link ({u}, {v}) is listed twice (first on line {first})")));
        }
        let q = parse_uint(&r.fields[c_q]).map_err(|m| at(format!("column `q_num`: {m}")))?;
        if q == 0 {
            return Err(at("column `q_num`: a port needs at least one queue for scheduled traffic".into()));
        }
        let queues = u8::try_from(q.min(u64::from(TRAFFIC_CLASSES))).unwrap_or(TRAFFIC_CLASSES);
        let rate_bps = parse_rate(&r.fields[c_rate]).map_err(|m| at(format!("column `rate`: {m}")))?;
        let processing = parse_uint(&r.fields[c_proc]).map_err(|m| at(format!("column `t_proc`: {m}")))?;
        let propagation = parse_uint(&r.fields[c_prop]).map_err(|m| at(format!("column `t_prop`: {m}")))?;
        *degree.entry(u).or_default() += 1;
        *degree.entry(v).or_default() += 1;
        links.push(Link {
            from: node_id(u),
            to: node_id(v),
            rate_bps,
            propagation_delay_ns: propagation,
            processing_delay_ns: processing,
            scheduled_queues: queues,
            gcl_max_entries: DEFAULT_GCL_MAX_ENTRIES,
            ports: Default::default(),
        });
    }
    if links.is_empty() {
        return Err(FormatError::whole(F, "the topology has no links"));
    }
    let mut ids: Vec<u64> = degree.keys().copied().collect();
    ids.sort_unstable();
    let nodes = ids
        .into_iter()
        .map(|n| Node {
            id: node_id(n),
            kind: if degree.get(&n) == Some(&2) { NodeKind::EndStation } else { NodeKind::Bridge },
        })
        .collect();
    Ok(Topology { nodes, links })
}

fn read_streams(text: &str, topology: &Topology) -> Result<Vec<Stream>, FormatError> {
    const F: FileKind = FileKind::TsnkitTask;
    let table = Table::parse(text, F)?;
    let c_id = table.column(&["stream", "id"])?;
    let c_src = table.column(&["src"])?;
    let c_dst = table.column(&["dst"])?;
    let c_size = table.column(&["size"])?;
    let c_period = table.column(&["period"])?;
    let c_deadline = table.column(&["deadline"])?;
    let c_jitter = table.optional_column(&["jitter"]);
    let known: HashSet<&str> = topology.nodes.iter().map(|n| n.id.0.as_str()).collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut streams = Vec::with_capacity(table.records.len());
    for r in &table.records {
        let at = |m: String| FormatError::at(F, r.line, m);
        let id = r.fields[c_id].clone();
        if id.is_empty() {
            return Err(at("column `stream`: empty stream id".into()));
        }
        if let Some(first) = seen.insert(id.clone(), r.line) {
            return Err(at(format!("stream {id} is defined twice (first on line {first})")));
        }
        let talker = parse_node(&r.fields[c_src]).map_err(|m| at(format!("column `src`: {m}")))?;
        let listeners = parse_node_list(&r.fields[c_dst]).map_err(|m| at(format!("column `dst`: {m}")))?;
        for n in std::iter::once(&talker).chain(&listeners) {
            if !known.contains(n.0.as_str()) {
                return Err(at(format!("node {n} is not in the topology")));
            }
        }
        if listeners.contains(&talker) {
            return Err(at(format!("talker {talker} is also listed as a listener")));
        }
        let mut unique = HashSet::new();
        if let Some(dup) = listeners.iter().find(|l| !unique.insert(*l)) {
            return Err(at(format!("listener {dup} is listed twice")));
        }
        let size = parse_uint(&r.fields[c_size]).map_err(|m| at(format!("column `size`: {m}")))?;
        let size = u32::try_from(size)
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| at(format!("column `size`: {size} is not 1..=4294967295 bytes")))?;
        let period = parse_uint(&r.fields[c_period]).map_err(|m| at(format!("column `period`: {m}")))?;
        if period == 0 {
            return Err(at("column `period`: the period must be positive".into()));
        }
        let deadline = parse_uint(&r.fields[c_deadline]).map_err(|m| at(format!("column `deadline`: {m}")))?;
        if deadline == 0 {
            return Err(at("column `deadline`: the deadline must be positive".into()));
        }
        let jitter = match c_jitter {
            Some(c) => Some(parse_uint(&r.fields[c]).map_err(|m| at(format!("column `jitter`: {m}")))?),
            None => None,
        };
        streams.push(Stream {
            id: StreamId(id),
            talker,
            listeners,
            period_ns: period,
            frames_per_period: 1,
            max_frame_size: size,
            max_latency_ns: deadline,
            max_jitter_ns: jitter,
            earliest_offset_ns: 0,
            latest_offset_ns: None,
            pcp: DEFAULT_PCP,
            vlan: None,
        });
    }
    Ok(streams)
}

/// Reads a routes file (`stream,route`) for `problem`: one [`Route`] per stream that has
/// rows, in the order of `problem.streams`, with one path per listener in listener order.
pub fn read_routes(routes_csv: &str, problem: &Problem) -> Result<Vec<Route>, FormatError> {
    const F: FileKind = FileKind::TsnkitRoutes;
    let table = Table::parse(routes_csv, F)?;
    let c_id = table.column(&["stream", "id"])?;
    let c_route = table.column(&["route"])?;
    let stream_index: HashMap<&str, usize> =
        problem.streams.iter().enumerate().map(|(i, s)| (s.id.0.as_str(), i)).collect();
    let links: HashSet<LinkId> = problem.topology.links.iter().map(Link::id).collect();
    // Per stream: the first line naming it and the path to each listener (by position).
    type PerListener = (usize, Vec<Option<Vec<LinkId>>>);
    let mut paths: HashMap<usize, PerListener> = HashMap::new();
    for r in &table.records {
        let at = |m: String| FormatError::at(F, r.line, m);
        let id = r.fields[c_id].as_str();
        let Some(&si) = stream_index.get(id) else {
            return Err(at(format!("stream {id:?} is not in the task file")));
        };
        let stream = &problem.streams[si];
        let hops = parse_route(&r.fields[c_route]).map_err(|m| at(format!("column `route`: {m}")))?;
        let path: Vec<LinkId> = hops.iter().map(|&(u, v)| LinkId { from: node_id(u), to: node_id(v) }).collect();
        for l in &path {
            if !links.contains(l) {
                return Err(at(format!("link {l} is not in the topology")));
            }
        }
        // `parse_route` never returns an empty route.
        let (Some(first), Some(last)) = (path.first(), path.last()) else {
            return Err(at("the route is empty".into()));
        };
        if first.from != stream.talker {
            return Err(at(format!("the route starts at {} but the talker is {}", first.from, stream.talker)));
        }
        for w in path.windows(2) {
            if w[0].to != w[1].from {
                return Err(at(format!("the route is not contiguous: {} is followed by {}", w[0], w[1])));
            }
        }
        let mut visited = HashSet::new();
        visited.insert(&first.from);
        for l in &path {
            if !visited.insert(&l.to) {
                return Err(at(format!("the route visits node {} twice", l.to)));
            }
        }
        let Some(li) = stream.listeners.iter().position(|n| *n == last.to) else {
            return Err(at(format!("the route ends at {}, which is not a listener of stream {id}", last.to)));
        };
        let entry = paths.entry(si).or_insert_with(|| (r.line, vec![None; stream.listeners.len()]));
        if entry.1[li].is_some() {
            return Err(at(format!("stream {id} has a second route to listener {}", last.to)));
        }
        entry.1[li] = Some(path);
    }
    let mut out = Vec::new();
    for (si, stream) in problem.streams.iter().enumerate() {
        let Some((line, per_listener)) = paths.remove(&si) else {
            continue;
        };
        let mut full = Vec::with_capacity(per_listener.len());
        for (li, p) in per_listener.into_iter().enumerate() {
            match p {
                Some(p) => full.push(p),
                None => {
                    return Err(FormatError::at(
                        F,
                        line,
                        format!("stream {} has no route to listener {}", stream.id, stream.listeners[li]),
                    ))
                }
            }
        }
        out.push(Route { stream: stream.id.clone(), paths: full });
    }
    Ok(out)
}

/// The three tsnkit-style output files of a schedule (see the module docs for columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsnkitOutputs {
    /// `GCL.csv`: `link,queue,start,end,cycle`.
    pub gcl_csv: String,
    /// `OFFSET.csv`: `stream,frame,offset`.
    pub offset_csv: String,
    /// `ROUTE.csv`: `stream,link`.
    pub route_csv: String,
}

/// Writes `schedule` (a schedule of `problem`) as tsnkit-style `GCL.csv`, `OFFSET.csv` and
/// `ROUTE.csv` contents.
pub fn write_outputs(problem: &Problem, schedule: &Schedule) -> TsnkitOutputs {
    // The queues that carry scheduled traffic, per port.
    let mut used: HashMap<&LinkId, BTreeSet<u8>> = HashMap::new();
    for t in schedule.streams.iter().flat_map(|s| &s.transmissions) {
        if t.queue < TRAFFIC_CLASSES {
            used.entry(&t.link).or_default().insert(t.queue);
        }
    }

    let mut gcl_csv = String::from("link,queue,start,end,cycle\n");
    for gcl in &schedule.gcls {
        let port = escape(&gcl.port.to_string());
        for &q in used.get(&gcl.port).into_iter().flatten() {
            let bit = 1u8 << queue_traffic_class(q);
            let mut t: u64 = 0;
            let mut open: Option<u64> = None;
            for e in &gcl.entries {
                let is_open = e.gate_states & bit != 0 && e.interval_ns > 0;
                match (is_open, open) {
                    (true, None) => open = Some(t),
                    (false, Some(s)) => {
                        push_window(&mut gcl_csv, &port, q, gcl.base_time_ns, s, t, gcl.cycle_time_ns);
                        open = None;
                    }
                    _ => {}
                }
                t = t.saturating_add(e.interval_ns);
            }
            if let Some(s) = open {
                push_window(&mut gcl_csv, &port, q, gcl.base_time_ns, s, t, gcl.cycle_time_ns);
            }
        }
    }

    let mut offset_csv = String::from("stream,frame,offset\n");
    let mut route_csv = String::from("stream,link\n");
    for ss in &schedule.streams {
        let id = escape(&ss.stream.0);
        let stream = problem.stream(&ss.stream);
        let frames = stream.map_or(1, |s| u64::from(s.frames_per_period.max(1)));
        let talker = stream.map(|s| &s.talker);
        let first_link = ss.route.paths.iter().find_map(|p| p.first());
        let mut starts: Vec<(u64, u64)> = ss
            .transmissions
            .iter()
            .filter(|t| match talker {
                Some(talker) => t.link.from == *talker,
                None => Some(&t.link) == first_link,
            })
            .map(|t| (u64::from(t.instance) * frames + u64::from(t.frame), t.start_ns))
            .collect();
        starts.sort_unstable();
        starts.dedup_by_key(|s| s.0);
        for (frame, offset) in starts {
            let _ = writeln!(offset_csv, "{id},{frame},{offset}");
        }
        for l in ss.route.links() {
            let _ = writeln!(route_csv, "{id},{}", escape(&l.to_string()));
        }
    }
    TsnkitOutputs { gcl_csv, offset_csv, route_csv }
}

fn push_window(out: &mut String, port: &str, queue: u8, base: u64, start: u64, end: u64, cycle: u64) {
    let _ = writeln!(out, "{port},{queue},{},{},{cycle}", base.saturating_add(start), base.saturating_add(end));
}

fn node_id(n: u64) -> NodeId {
    NodeId(n.to_string())
}

/// A non-negative integer; `12.000` is accepted, `12.5`, `-1`, `1e3` and overflow are not.
fn parse_uint(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty value (expected a non-negative integer)".into());
    }
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits_ok(int) || !digits_ok(frac) {
        return Err(format!("{t:?} is not a non-negative integer"));
    }
    if frac.bytes().any(|b| b != b'0') {
        return Err(format!("{t:?} has a fractional part (expected whole nanoseconds/bytes)"));
    }
    int.parse::<u64>().map_err(|_| format!("{t:?} is too large"))
}

/// A link rate in bit/ns (decimal text) as exact bit/s, within tsnkit's 0.01..=1000.
fn parse_rate(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i, f),
        None => (t, ""),
    };
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits_ok(int) || !digits_ok(frac) {
        return Err(format!("{t:?} is not a decimal number of bit/ns"));
    }
    // Whole bit/s: at most 9 fractional digits that matter.
    let (kept, rest) = frac.split_at(frac.len().min(9));
    if rest.bytes().any(|b| b != b'0') {
        return Err(format!("{t:?} is not a whole number of bit/s"));
    }
    let int_val: u64 = if int.is_empty() {
        0
    } else {
        // Strip leading zeros so long zero prefixes do not overflow.
        let i = int.trim_start_matches('0');
        if i.len() > 5 {
            return Err(format!("{t:?} bit/ns is outside 0.01..=1000"));
        }
        if i.is_empty() {
            0
        } else {
            i.parse().map_err(|_| format!("{t:?} is not a number"))?
        }
    };
    let mut frac_val: u64 = 0;
    for (k, b) in kept.bytes().enumerate() {
        frac_val += u64::from(b - b'0') * 10u64.pow(8 - k as u32);
    }
    let bps = int_val * 1_000_000_000 + frac_val;
    if !(MIN_RATE_BPS..=MAX_RATE_BPS).contains(&bps) {
        return Err(format!("{t:?} bit/ns is outside 0.01..=1000"));
    }
    Ok(bps)
}

fn parse_node(text: &str) -> Result<NodeId, String> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{t:?} is not a node id (a non-negative integer)"));
    }
    t.parse::<u64>().map(node_id).map_err(|_| format!("node id {t:?} is too large"))
}

/// `[12]`, `[12, 13]` or a bare `12`.
fn parse_node_list(text: &str) -> Result<Vec<NodeId>, String> {
    let t = text.trim();
    let inner = match t.strip_prefix('[') {
        Some(rest) => rest.strip_suffix(']').ok_or_else(|| format!("{t:?}: missing closing `]`"))?,
        None => t,
    };
    if inner.trim().is_empty() {
        return Err("the listener list is empty".into());
    }
    inner.split(',').map(parse_node).collect()
}

/// `(u, v)` as two node numbers.
fn parse_link(text: &str) -> Result<(u64, u64), String> {
    let t = text.trim();
    let inner =
        t.strip_prefix('(').and_then(|r| r.strip_suffix(')')).ok_or_else(|| format!("{t:?} is not a link `(u, v)`"))?;
    let mut parts = inner.split(',');
    let (Some(u), Some(v), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("{t:?} is not a link `(u, v)` of two node ids"));
    };
    let num = |s: &str| -> Result<u64, String> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{s:?} in {t:?} is not a node id"));
        }
        s.parse::<u64>().map_err(|_| format!("node id {s:?} is too large"))
    };
    Ok((num(u)?, num(v)?))
}

/// `[(8, 0), (0, 1), (1, 9)]` as a non-empty list of links.
fn parse_route(text: &str) -> Result<Vec<(u64, u64)>, String> {
    let t = text.trim();
    let mut rest = t
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .ok_or_else(|| format!("{t:?} is not a list `[(u, v), ...]`"))?
        .trim();
    let mut out = Vec::new();
    while !rest.is_empty() {
        if !out.is_empty() {
            rest = rest.strip_prefix(',').ok_or_else(|| format!("expected `,` between links in {t:?}"))?.trim_start();
            if rest.is_empty() {
                return Err(format!("trailing `,` in {t:?}"));
            }
        }
        let close = rest.find(')').ok_or_else(|| format!("unclosed `(` in {t:?}"))?;
        let (link, after) = rest.split_at(close + 1);
        out.push(parse_link(link)?);
        rest = after.trim_start();
    }
    if out.is_empty() {
        return Err("the route is empty".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_uint(" 100 "), Ok(100));
        assert_eq!(parse_uint("100.00"), Ok(100));
        assert!(parse_uint("100.5").is_err());
        assert!(parse_uint("-1").is_err());
        assert!(parse_uint("1e3").is_err());
        assert!(parse_uint(".").is_err());
        assert!(parse_uint("99999999999999999999999").is_err());
        assert_eq!(parse_rate("1"), Ok(1_000_000_000));
        assert_eq!(parse_rate("0.01"), Ok(10_000_000));
        assert_eq!(parse_rate(".1"), Ok(100_000_000));
        assert_eq!(parse_rate("1000"), Ok(1_000_000_000_000));
        assert_eq!(parse_rate("1000.000000000000"), Ok(1_000_000_000_000));
        assert_eq!(parse_rate("0.3"), Ok(300_000_000));
        assert_eq!(parse_rate("2.5"), Ok(2_500_000_000));
        assert_eq!(parse_rate("00000000000000000001"), Ok(1_000_000_000));
        assert!(parse_rate("0.001").is_err());
        assert!(parse_rate("1000.1").is_err());
        assert!(parse_rate("1.0000000001").is_err());
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("abc").is_err());
        assert!(parse_rate("").is_err());
        assert!(parse_rate(".").is_err());
    }

    #[test]
    fn lists_and_links() {
        assert_eq!(parse_node_list("[12]").unwrap(), [NodeId::from("12")]);
        assert_eq!(parse_node_list("[12, 013]").unwrap(), [NodeId::from("12"), NodeId::from("13")]);
        assert_eq!(parse_node_list("5").unwrap(), [NodeId::from("5")]);
        assert!(parse_node_list("[]").is_err());
        assert!(parse_node_list("[1,]").is_err());
        assert!(parse_node_list("[1").is_err());
        assert_eq!(parse_link("( 3 ,4)"), Ok((3, 4)));
        assert!(parse_link("(3, 4, 5)").is_err());
        assert!(parse_link("3, 4").is_err());
        assert_eq!(parse_route("[(8, 0), (0, 1),(1, 9)]").unwrap(), [(8, 0), (0, 1), (1, 9)]);
        assert!(parse_route("[]").is_err());
        assert!(parse_route("[(8, 0) (0, 1)]").is_err());
        assert!(parse_route("[(8, 0),]").is_err());
        assert!(parse_route("[(8, 0").is_err());
    }
}
