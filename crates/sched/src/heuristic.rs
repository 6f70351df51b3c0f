//! List scheduling for the queue-based 802.1Qbv model and its no-wait variant.
//!
//! Streams are placed one at a time, most constrained first (shortest period, then least
//! latency slack, then longest frames). A stream is placed frame by frame; a frame is
//! placed by searching its talker offset upwards from the earliest allowed one:
//!
//! * For a candidate offset every hop is placed *as soon as possible* in tree order: the
//!   earliest start at or after the frame's arrival at the port whose transmission,
//!   repeated with the stream's period, misses every reservation on the link. Per link and
//!   per stream period the reservations are folded onto one period as a sorted list of
//!   busy intervals, so that this is a binary search, exact for any pair of periods (two
//!   periodic intervals collide iff they do modulo the gcd of their periods).
//! * The lowest queue whose occupancy (arrival to end of transmission) is disjoint from
//!   that of every other frame in that queue is taken.
//! * When a hop starts too late for the latency bound, the offset advances by the excess:
//!   an as-soon-as-possible start never moves earlier when the frame arrives later, so no
//!   offset in between can work. With no waiting the offset advances to the first one
//!   that clears the blocking reservation. Both jumps are exact, so for a single stream on
//!   given reservations the search finds the earliest feasible offset when one exists
//!   (up to queue exhaustion, which only makes it step further).
//!
//! When streams cannot be placed, the ones that failed move to the front of the order and
//! the whole list is scheduled again (priority boosting), with random perturbations once
//! the order stops changing, until every stream fits or the effort budget is spent.

use std::time::{Duration, Instant};

use crate::instance::{gcd, HopPlacement, Instance, Periodic, StreamPlacement};

/// How the heuristic runs.
#[derive(Debug, Clone, Copy)]
pub struct HeuristicOptions {
    /// No waiting in bridges: every hop starts exactly when the frame has arrived; only the
    /// talker offset is chosen.
    pub no_wait: bool,
    /// Wall-clock limit; the heuristic returns [`HeuristicResult::TimedOut`] when it is
    /// reached before any complete attempt.
    pub deadline: Instant,
}

/// What the heuristic found.
#[derive(Debug, Clone)]
pub enum HeuristicResult {
    /// Every stream placed: `placements[i]` belongs to `Instance::streams[i]`.
    Placed(Vec<StreamPlacement>),
    /// Some stream could not be placed (not a proof of infeasibility).
    Failed {
        /// Index into `Instance::streams` of a stream that did not fit.
        stream: usize,
        /// Why, for humans.
        reason: String,
    },
    /// The deadline was reached first.
    TimedOut,
}

/// Full list-scheduling passes at most (each one reorders the streams that failed).
const MAX_ROUNDS: u32 = 400;
/// Offsets tried for one frame before giving up on it.
const MAX_FRAME_ATTEMPTS: u32 = 20_000;
/// Placements of a whole stream (different first-frame offsets) for multi-frame streams.
const MAX_STREAM_ATTEMPTS: u32 = 64;

/// Places every stream of `inst`, keeping the admitted streams' reservations.
pub fn schedule(inst: &Instance<'_>, opts: &HeuristicOptions) -> HeuristicResult {
    let started = Instant::now();
    if inst.streams.is_empty() {
        return HeuristicResult::Placed(Vec::new());
    }
    if started >= opts.deadline {
        return HeuristicResult::TimedOut;
    }
    let ctx = match Ctx::new(inst, opts) {
        Ok(ctx) => ctx,
        Err((stream, reason)) => return HeuristicResult::Failed { stream, reason },
    };
    // Leave most of a long time limit to whatever runs after a failed heuristic (the ILP).
    let remaining = opts.deadline.saturating_duration_since(started);
    let budget_end = started + (remaining / 2).max(remaining.min(Duration::from_secs(2)));

    let base = ctx.base_links();
    let n = inst.streams.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&s| {
        let p = &ctx.prep[s];
        (inst.streams[s].period_ns, p.laxity, std::cmp::Reverse(inst.streams[s].hops[0].tx_ns), s)
    });
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut best: Option<(usize, usize, String)> = None;
    let mut placements: Vec<Option<StreamPlacement>> = vec![None; n];
    let mut failed: Vec<(usize, Fail)> = Vec::new();
    let mut randomize = false;

    for round in 0..MAX_ROUNDS {
        let mut links = base.clone();
        placements.iter_mut().for_each(|p| *p = None);
        failed.clear();
        for &s in &order {
            let start_at = if randomize && rng.below(4) == 0 { Some(rng.next()) } else { None };
            let res = match ctx.place_stream(&mut links, s, start_at) {
                Err(_) if Instant::now() >= opts.deadline => Err(Fail::Deadline),
                res => res,
            };
            match res {
                Ok(p) => placements[s] = Some(p),
                Err(Fail::Deadline) => {
                    return match best {
                        Some((_, stream, reason)) => HeuristicResult::Failed { stream, reason },
                        None => HeuristicResult::TimedOut,
                    };
                }
                Err(f) => failed.push((s, f)),
            }
        }
        if failed.is_empty() {
            let out: Vec<StreamPlacement> = placements.drain(..).map(|p| p.expect("every stream placed")).collect();
            debug_assert_eq!(self_check(inst, &out, opts.no_wait), Ok(()));
            return HeuristicResult::Placed(out);
        }
        let improved = match &best {
            Some(b) => failed.len() < b.0,
            None => true,
        };
        if improved {
            let (s, f) = &failed[0];
            best = Some((failed.len(), *s, ctx.describe(*s, f)));
        }
        if Instant::now() >= budget_end || round + 1 == MAX_ROUNDS {
            break;
        }
        // Priority boosting: the streams that failed go first next time.
        let before = order.clone();
        let mut is_failed = vec![false; n];
        for (s, _) in &failed {
            is_failed[*s] = true;
        }
        let mut next: Vec<usize> = failed.iter().map(|(s, _)| *s).collect();
        next.extend(order.iter().copied().filter(|&s| !is_failed[s]));
        order = next;
        if order == before {
            // Stuck: shuffle the failing prefix and let some streams start elsewhere.
            let k = failed.len().max(2).min(n);
            for i in (1..k).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                order.swap(i, j);
            }
            randomize = true;
        }
    }
    let (_, stream, reason) = best.expect("at least one round ran and failed");
    HeuristicResult::Failed { stream, reason }
}

/// Why a stream could not be placed.
#[derive(Debug, Clone, Copy)]
enum Fail {
    /// No offset of the talker window works.
    Exhausted,
    /// The attempt cap was reached.
    Attempts,
    /// A link cannot take one more frame of this period at any offset.
    LinkFull(usize),
    /// A later frame of the stream or the jitter bound could not be met.
    Frames,
    /// The deadline passed.
    Deadline,
}

/// Per-stream data computed once.
#[derive(Debug, Clone)]
struct Prep {
    /// Index of the stream's period in `Ctx::periods`.
    pidx: usize,
    /// `down[h]`: least time from the start of hop `h` to the last bit received at the
    /// farthest listener below it.
    down: Vec<u64>,
    /// Latency bound minus the least latency.
    laxity: u64,
    /// The stream's jitter bound (checked across its frames, per listener).
    jitter: Option<u64>,
}

/// A reservation on a link, as the heuristic keeps it.
#[derive(Debug, Clone, Copy)]
struct Res {
    owner: usize,
    wire: Periodic,
    occ: Periodic,
    /// Index of the period in `Ctx::all_periods` (for the gcd table).
    gidx: usize,
    queue: u8,
    /// Whether the frame waits in the queue (occupancy longer than the transmission).
    waits: bool,
}

/// Busy times of one link folded onto one stream period: sorted, disjoint, non-touching
/// intervals within `[0, period)`.
#[derive(Debug, Clone)]
struct BusyMask {
    period: u64,
    full: bool,
    ivs: Vec<(u64, u64)>,
}

impl BusyMask {
    fn new(period: u64) -> Self {
        BusyMask { period, full: false, ivs: Vec::new() }
    }

    /// Adds the occurrences of `r` as seen by a frame with this mask's period: a start `t`
    /// collides with `r` iff `[t, t+tx)` meets the fold of `r` modulo `gcd(period, r.period)`.
    fn add(&mut self, r: &Periodic, g: u64) {
        if r.len == 0 || self.full {
            return;
        }
        if r.len >= g {
            self.full = true;
            self.ivs = Vec::new();
            return;
        }
        let p = self.period;
        let mut s = r.start % g;
        while s < p {
            let e = s + r.len;
            if e <= p {
                self.insert(s, e);
            } else {
                self.insert(s, p);
                self.insert(0, e - p);
            }
            s += g;
        }
    }

    fn insert(&mut self, s: u64, e: u64) {
        let i = self.ivs.partition_point(|iv| iv.1 < s);
        let j = self.ivs.partition_point(|iv| iv.0 <= e);
        if i == j {
            self.ivs.insert(i, (s, e));
        } else {
            let merged = (s.min(self.ivs[i].0), e.max(self.ivs[j - 1].1));
            self.ivs[i] = merged;
            self.ivs.drain(i + 1..j);
        }
    }

    /// The earliest `t ≥ t0` such that `[t, t+tx)` repeated with the period misses every
    /// busy interval, or `None` when there is none.
    fn earliest(&self, t0: u64, tx: u64) -> Option<u64> {
        let p = self.period;
        if self.full || tx > p {
            return None;
        }
        let Some(&first) = self.ivs.first() else {
            return Some(t0);
        };
        let mut t = t0;
        while t < t0 + p {
            let r = t % p;
            let i = self.ivs.partition_point(|iv| iv.1 <= r);
            if i < self.ivs.len() && self.ivs[i].0 < r + tx {
                t += self.ivs[i].1 - r;
            } else if r + tx > p && first.0 < r + tx - p {
                t += p - r + first.1;
            } else {
                return Some(t);
            }
        }
        None
    }
}

#[derive(Debug, Clone)]
struct LinkState {
    res: Vec<Res>,
    /// One mask per stream period (empty when no stream to place uses the link).
    masks: Vec<BusyMask>,
}

impl LinkState {
    fn push(&mut self, r: Res, gcds: &[Vec<u64>]) {
        for (d, m) in self.masks.iter_mut().enumerate() {
            m.add(&r.wire, gcds[d][r.gidx]);
        }
        self.res.push(r);
    }

    fn remove_owner(&mut self, owner: usize, gcds: &[Vec<u64>]) {
        self.res.retain(|r| r.owner != owner);
        for (d, m) in self.masks.iter_mut().enumerate() {
            *m = BusyMask::new(m.period);
            for r in &self.res {
                m.add(&r.wire, gcds[d][r.gidx]);
            }
        }
    }

    /// The lowest queue (below `queues`) in which `occ` meets no other frame's occupancy;
    /// otherwise the least shift of `occ` that could free a queue (`u64::MAX`: none).
    fn pick_queue(&self, occ: &Periodic, gidx: usize, waits: bool, queues: u8, gcds: &[Vec<u64>]) -> Result<u8, u64> {
        let nq = usize::from(queues.clamp(1, 8));
        let mut need = [0u64; 8];
        for r in &self.res {
            let q = usize::from(r.queue);
            // Transmissions never overlap, so two frames that do not wait cannot collide.
            if q >= nq || (!waits && !r.waits) || need[q] == u64::MAX {
                continue;
            }
            let d = occ.shift_to_clear_mod(&r.occ, gcds[gidx][r.gidx]);
            need[q] = need[q].max(d);
        }
        match need[..nq].iter().position(|&d| d == 0) {
            Some(q) => Ok(q as u8),
            None => Err(need[..nq].iter().copied().min().unwrap_or(u64::MAX)),
        }
    }
}

struct Ctx<'a, 'p> {
    inst: &'a Instance<'p>,
    no_wait: bool,
    deadline: Instant,
    prep: Vec<Prep>,
    /// Distinct periods of the streams to place.
    periods: Vec<u64>,
    /// `periods` followed by the other periods of admitted reservations.
    all_periods: Vec<u64>,
    /// `gcds[i][j] = gcd(all_periods[i], all_periods[j])`.
    gcds: Vec<Vec<u64>>,
}

impl<'a, 'p> Ctx<'a, 'p> {
    fn new(inst: &'a Instance<'p>, opts: &HeuristicOptions) -> Result<Self, (usize, String)> {
        let mut periods: Vec<u64> = inst.streams.iter().map(|s| s.period_ns).collect();
        periods.sort_unstable();
        periods.dedup();
        // Then the periods of admitted reservations (the hyperperiod for `Instance::fixed`).
        let mut all_periods = periods.clone();
        for p in std::iter::once(inst.hyperperiod_ns).chain(inst.fixed.iter().flatten().map(|r| r.wire.period)) {
            if !all_periods.contains(&p) {
                all_periods.push(p);
            }
        }
        let gcds: Vec<Vec<u64>> =
            all_periods.iter().map(|&a| all_periods.iter().map(|&b| gcd(a, b)).collect()).collect();
        let mut prep = Vec::with_capacity(inst.streams.len());
        for (i, s) in inst.streams.iter().enumerate() {
            let n = s.hops.len();
            if n == 0 {
                return Err((i, "the stream has no route".into()));
            }
            let mut below = vec![0u64; n];
            for &leaf in &s.leaves {
                below[leaf] = below[leaf].max(inst.links[s.hops[leaf].link].propagation_ns);
            }
            let mut down = vec![0u64; n];
            for h in (0..n).rev() {
                let hop = &s.hops[h];
                down[h] = hop.tx_ns + below[h];
                if let Some(p) = hop.parent {
                    below[p] = below[p].max(hop.min_gap_ns + down[h]);
                }
                if hop.tx_ns > s.period_ns {
                    return Err((
                        i,
                        format!(
                            "a frame takes {} ns on link {}, longer than the period",
                            hop.tx_ns, inst.links[hop.link].id
                        ),
                    ));
                }
            }
            if u64::from(s.frames) * s.hops[0].tx_ns > s.period_ns {
                return Err((i, "its frames do not fit one period on the talker's link".into()));
            }
            if down[0] > s.max_latency_ns {
                return Err((
                    i,
                    format!("needs at least {} ns on its route, max latency is {} ns", down[0], s.max_latency_ns),
                ));
            }
            if s.earliest_offset_ns > s.latest_offset_ns {
                return Err((i, "empty talker offset window".into()));
            }
            prep.push(Prep {
                pidx: periods.binary_search(&s.period_ns).expect("period listed"),
                laxity: s.max_latency_ns - down[0],
                down,
                jitter: s.max_jitter_ns,
            });
        }
        Ok(Ctx { inst, no_wait: opts.no_wait, deadline: opts.deadline, prep, periods, all_periods, gcds })
    }

    fn gidx_of(&self, period: u64) -> usize {
        self.all_periods.iter().position(|&p| p == period).expect("every period is in the table")
    }

    /// Link states holding the admitted streams' reservations.
    fn base_links(&self) -> Vec<LinkState> {
        let inst = self.inst;
        let mut used = vec![false; inst.links.len()];
        for s in &inst.streams {
            for h in &s.hops {
                used[h.link] = true;
            }
        }
        let mut links: Vec<LinkState> = used
            .iter()
            .map(|&u| LinkState {
                res: Vec::new(),
                masks: if u { self.periods.iter().map(|&p| BusyMask::new(p)).collect() } else { Vec::new() },
            })
            .collect();
        for (l, fixed) in inst.fixed.iter().enumerate() {
            for r in fixed {
                let gidx = self.gidx_of(r.wire.period);
                let (wire, occ) = (r.wire, Periodic { period: r.wire.period, ..r.queue_occupancy });
                links[l].push(
                    Res { owner: r.stream, wire, occ, gidx, queue: r.queue, waits: occ.len > wire.len },
                    &self.gcds,
                );
            }
        }
        links
    }

    /// Places every frame of stream `s` and commits its reservations to `links`.
    /// `start_at`, when given, picks a pseudo-random first offset to search from.
    fn place_stream(&self, links: &mut [LinkState], s: usize, start_at: Option<u64>) -> Result<StreamPlacement, Fail> {
        let st = &self.inst.streams[s];
        let tx0 = st.hops[0].tx_ns;
        let window = st.latest_offset_ns - st.earliest_offset_ns + 1;
        let mut lo = st.earliest_offset_ns + start_at.map_or(0, |r| r % window);
        let mut wrapped = start_at.is_none();
        let mut frames: Vec<Vec<HopPlacement>> = Vec::with_capacity(st.frames as usize);
        let mut hp = vec![HopPlacement { start_ns: 0, queue: 0 }; st.hops.len()];
        let mut last_fail = Fail::Exhausted;
        for _ in 0..MAX_STREAM_ATTEMPTS {
            frames.clear();
            match self.place_frame(links, s, lo, st.latest_offset_ns, &mut hp) {
                Ok(()) => {}
                Err(Fail::Exhausted) if !wrapped => {
                    wrapped = true;
                    lo = st.earliest_offset_ns;
                    continue;
                }
                Err(f) => return Err(if matches!(last_fail, Fail::Frames) { Fail::Frames } else { f }),
            }
            self.commit(links, s, &hp);
            frames.push(hp.clone());
            let mut ok = true;
            for _ in 1..st.frames {
                let from = frames.last().expect("frame 0 placed")[0].start_ns + tx0;
                match self.place_frame(links, s, from, st.period_ns - 1, &mut hp) {
                    Ok(()) => {
                        self.commit(links, s, &hp);
                        frames.push(hp.clone());
                    }
                    Err(Fail::Deadline) => {
                        self.rollback(links, s);
                        return Err(Fail::Deadline);
                    }
                    Err(_) => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok && self.jitter_ok(s, &frames) {
                return Ok(StreamPlacement { frames });
            }
            last_fail = Fail::Frames;
            let first = frames[0][0].start_ns;
            self.rollback(links, s);
            lo = first + tx0.max(1);
            if lo > st.latest_offset_ns {
                return Err(Fail::Frames);
            }
        }
        Err(Fail::Frames)
    }

    fn jitter_ok(&self, s: usize, frames: &[Vec<HopPlacement>]) -> bool {
        let (Some(jitter), true) = (self.prep[s].jitter, frames.len() > 1) else {
            return true;
        };
        let st = &self.inst.streams[s];
        st.leaves.iter().all(|&leaf| {
            let lat = |f: &Vec<HopPlacement>| f[leaf].start_ns - f[0].start_ns;
            let max = frames.iter().map(lat).max().unwrap_or(0);
            let min = frames.iter().map(lat).min().unwrap_or(0);
            max - min <= jitter
        })
    }

    fn commit(&self, links: &mut [LinkState], s: usize, hp: &[HopPlacement]) {
        let st = &self.inst.streams[s];
        let gidx = self.prep[s].pidx;
        for (h, hop) in st.hops.iter().enumerate() {
            let start = hp[h].start_ns;
            let arrival = match hop.parent {
                Some(p) => (hp[p].start_ns + st.hops[p].tx_ns + hop.min_gap_ns).min(start),
                None => start,
            };
            let wire = Periodic { start, len: hop.tx_ns, period: st.period_ns };
            let occ = Periodic { start: arrival, len: start + hop.tx_ns - arrival, period: st.period_ns };
            links[hop.link].push(
                Res { owner: st.problem_index, wire, occ, gidx, queue: hp[h].queue, waits: arrival < start },
                &self.gcds,
            );
        }
    }

    fn rollback(&self, links: &mut [LinkState], s: usize) {
        let st = &self.inst.streams[s];
        let mut done: Vec<usize> = Vec::new();
        for hop in &st.hops {
            if !done.contains(&hop.link) {
                done.push(hop.link);
                links[hop.link].remove_owner(st.problem_index, &self.gcds);
            }
        }
    }

    /// Places one frame of stream `s` with its talker offset in `[lo, hi]`, into `out`.
    fn place_frame(
        &self,
        links: &[LinkState],
        s: usize,
        lo: u64,
        hi: u64,
        out: &mut [HopPlacement],
    ) -> Result<(), Fail> {
        let st = &self.inst.streams[s];
        let prep = &self.prep[s];
        let d = prep.pidx;
        let p = st.period_ns;
        let hops = &st.hops;
        let fallback_step = hops[0].tx_ns.max(1);
        let mut o = lo;
        let mut attempts = 0u32;
        'offsets: loop {
            attempts += 1;
            if attempts & 63 == 0 && Instant::now() >= self.deadline {
                return Err(Fail::Deadline);
            }
            if attempts > MAX_FRAME_ATTEMPTS {
                return Err(Fail::Attempts);
            }
            if o > hi {
                return Err(Fail::Exhausted);
            }
            // Talker's link.
            let l0 = hops[0].link;
            o = links[l0].masks[d].earliest(o, hops[0].tx_ns).ok_or(Fail::LinkFull(l0))?;
            if o > hi {
                return Err(Fail::Exhausted);
            }
            let wire = Periodic { start: o, len: hops[0].tx_ns, period: p };
            match links[l0].pick_queue(&wire, d, false, self.inst.links[l0].queues, &self.gcds) {
                Ok(q) => out[0] = HopPlacement { start_ns: o, queue: q },
                Err(need) => {
                    o += if need == u64::MAX { fallback_step } else { need.max(1) };
                    continue 'offsets;
                }
            }
            let bound = o + st.max_latency_ns;
            for h in 1..hops.len() {
                let hop = &hops[h];
                let parent = hop.parent.expect("only hop 0 has no parent");
                let arrival = out[parent].start_ns + hops[parent].tx_ns + hop.min_gap_ns;
                let latest = bound - prep.down[h];
                let mask = &links[hop.link].masks[d];
                let start = mask.earliest(arrival, hop.tx_ns).ok_or(Fail::LinkFull(hop.link))?;
                if self.no_wait {
                    if start > arrival {
                        // Every hop moves with the offset: skip to where this one clears.
                        o += start - arrival;
                        continue 'offsets;
                    }
                } else if start > latest {
                    // Later offsets only make this hop later; it must gain the excess.
                    o += start - latest;
                    continue 'offsets;
                } else if start + hop.tx_ns - arrival > p {
                    o += fallback_step;
                    continue 'offsets;
                }
                let occ = Periodic { start: arrival, len: start + hop.tx_ns - arrival, period: p };
                match links[hop.link].pick_queue(&occ, d, start > arrival, self.inst.links[hop.link].queues, &self.gcds)
                {
                    Ok(q) => out[h] = HopPlacement { start_ns: start, queue: q },
                    Err(need) => {
                        o += if need == u64::MAX || !self.no_wait {
                            fallback_step.min(need.max(1))
                        } else {
                            need.max(1)
                        };
                        continue 'offsets;
                    }
                }
            }
            return Ok(());
        }
    }

    fn describe(&self, s: usize, f: &Fail) -> String {
        let st = &self.inst.streams[s];
        let window = format!("[{}, {}] ns", st.earliest_offset_ns, st.latest_offset_ns);
        match f {
            Fail::Exhausted => format!(
                "no talker offset in {window} meets the latency bound of {} ns around the frames already placed",
                st.max_latency_ns
            ),
            Fail::Attempts => format!("gave up after {MAX_FRAME_ATTEMPTS} talker offsets in {window}"),
            Fail::LinkFull(l) => {
                format!("link {} has no room left for a frame with period {} ns", self.inst.links[*l].id, st.period_ns)
            }
            Fail::Frames => format!("its {} frames per period do not all fit", st.frames),
            Fail::Deadline => "time limit reached".into(),
        }
    }
}

/// A small deterministic pseudo-random generator (xorshift64).
#[derive(Debug)]
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Checks placements against the model directly (pairwise, with [`Periodic`]): shape,
/// talker window and frame order, hop precedence (exact with `no_wait`), queues in range,
/// latency and jitter bounds, no overlap on any link (admitted frames included) and queue
/// isolation between streams. A debugging aid and test oracle; the verifier of record is
/// `tsn-check`.
pub fn self_check(inst: &Instance<'_>, placements: &[StreamPlacement], no_wait: bool) -> Result<(), String> {
    if placements.len() != inst.streams.len() {
        return Err(format!("{} placements for {} streams", placements.len(), inst.streams.len()));
    }
    // (owner problem index, new stream?, wire, occupancy, queue) per link.
    type Entry = (usize, bool, Periodic, Periodic, u8);
    let mut per_link: Vec<Vec<Entry>> = inst
        .fixed
        .iter()
        .map(|f| f.iter().map(|r| (r.stream, false, r.wire, r.queue_occupancy, r.queue)).collect())
        .collect();
    for (i, (s, p)) in inst.streams.iter().zip(placements).enumerate() {
        let ctx = |m: String| format!("stream {}: {m}", s.id);
        if p.frames.len() != s.frames as usize || p.frames.iter().any(|f| f.len() != s.hops.len()) {
            return Err(ctx("placement has the wrong shape".into()));
        }
        for (f, hp) in p.frames.iter().enumerate() {
            let o = hp[0].start_ns;
            if f == 0 && (o < s.earliest_offset_ns || o > s.latest_offset_ns) {
                return Err(ctx(format!("talker offset {o} outside the window")));
            }
            if o >= s.period_ns {
                return Err(ctx(format!("frame {f} leaves the talker after the period")));
            }
            if f > 0 && o < p.frames[f - 1][0].start_ns + s.hops[0].tx_ns {
                return Err(ctx(format!("frame {f} leaves the talker before frame {} ends", f - 1)));
            }
            for (h, hop) in s.hops.iter().enumerate() {
                if hp[h].queue >= inst.links[hop.link].queues {
                    return Err(ctx(format!("queue {} out of range on hop {h}", hp[h].queue)));
                }
                if let Some(par) = hop.parent {
                    let arrival = hp[par].start_ns + s.hops[par].tx_ns + hop.min_gap_ns;
                    if hp[h].start_ns < arrival || (no_wait && hp[h].start_ns != arrival) {
                        return Err(ctx(format!(
                            "frame {f} hop {h} starts at {} but arrives at {arrival}",
                            hp[h].start_ns
                        )));
                    }
                }
            }
            for &leaf in &s.leaves {
                let lat = hp[leaf].start_ns + s.hops[leaf].tx_ns + inst.links[s.hops[leaf].link].propagation_ns - o;
                if lat > s.max_latency_ns {
                    return Err(ctx(format!("frame {f} latency {lat} > {}", s.max_latency_ns)));
                }
            }
        }
        if let (Some(j), true) = (s.max_jitter_ns, p.frames.len() > 1) {
            for &leaf in &s.leaves {
                let lats: Vec<u64> = p.frames.iter().map(|hp| hp[leaf].start_ns - hp[0].start_ns).collect();
                let spread = lats.iter().max().copied().unwrap_or(0) - lats.iter().min().copied().unwrap_or(0);
                if spread > j {
                    return Err(ctx(format!("latency varies by {spread} ns over its frames, jitter bound {j}")));
                }
            }
        }
        for (l, r) in inst.reservations(i, p) {
            per_link[l].push((r.stream, true, r.wire, r.queue_occupancy, r.queue));
        }
    }
    for (l, rs) in per_link.iter().enumerate() {
        for (a, x) in rs.iter().enumerate() {
            for y in &rs[a + 1..] {
                if !(x.1 || y.1) {
                    continue;
                }
                if x.2.overlaps(&y.2) {
                    return Err(format!("link {}: transmissions {:?} and {:?} overlap", inst.links[l].id, x.2, y.2));
                }
                if x.4 == y.4 && x.3.overlaps(&y.3) {
                    return Err(format!(
                        "link {}: queue {} holds frames of streams #{} and #{} at once",
                        inst.links[l].id, x.4, x.0, y.0
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use tsn_model::{Problem, Route, SchedulingConfig, Stream, StreamId};

    use super::*;
    use crate::routing;

    // `bridges` bridges in a line (or ring), each with `stations` end stations `e{b}_{k}`.
    use tsn_workloads::bridged_network as network;

    use tsn_workloads::simple_stream as stream;

    fn routes(problem: &Problem) -> HashMap<StreamId, Route> {
        routing::routes(problem)
    }

    fn run(problem: &Problem, no_wait: bool) -> (Instance<'_>, HeuristicResult) {
        problem.validate().expect("valid problem");
        let inst = Instance::new(problem, &routes(problem)).expect("instance");
        let res = schedule(&inst, &HeuristicOptions { no_wait, deadline: Instant::now() + Duration::from_secs(20) });
        (inst, res)
    }

    /// Every accepted schedule passes our own checker and the independent verifier.
    fn placed(problem: &Problem, no_wait: bool) -> (Instance<'_>, Vec<StreamPlacement>) {
        let (inst, res) = run(problem, no_wait);
        let HeuristicResult::Placed(p) = res else { panic!("not placed: {res:?}") };
        assert_eq!(self_check(&inst, &p, no_wait), Ok(()));
        let schedule = inst.expand(&p);
        let report = tsn_check::verify(problem, &schedule);
        assert!(report.is_ok(), "{report}");
        (inst, p)
    }

    #[test]
    fn streams_share_a_line() {
        let topo = network(4, 2, false, 8);
        let streams = vec![
            stream("a", "e0_0", &["e3_0"], 100_000, 1500),
            stream("b", "e0_1", &["e3_1"], 100_000, 1500),
            stream("c", "e1_0", &["e3_0"], 200_000, 500),
            stream("d", "e3_1", &["e0_0"], 400_000, 1000),
            stream("e", "e2_1", &["e3_0"], 300_000, 64),
        ];
        let problem = Problem::new(topo, streams, SchedulingConfig::default());
        placed(&problem, false);
        placed(&problem, true);
    }

    #[test]
    fn ring_and_multicast() {
        let topo = network(5, 2, true, 8);
        let mut streams = vec![
            stream("m", "e0_0", &["e2_0", "e3_1", "e4_0", "e1_1"], 250_000, 1200),
            stream("u", "e2_1", &["e0_1"], 125_000, 300),
            stream("v", "e4_1", &["e1_0"], 500_000, 1500),
        ];
        for k in 0..10 {
            streams.push(stream(
                &format!("x{k}"),
                &format!("e{}_{}", k % 5, k % 2),
                &[&format!("e{}_{}", (k + 2) % 5, (k + 1) % 2)],
                250_000,
                400,
            ));
        }
        let problem = Problem::new(topo, streams, SchedulingConfig::default());
        let (inst, p) = placed(&problem, false);
        let m = inst.streams.iter().position(|s| s.id.0 == "m").expect("stream m");
        assert_eq!(inst.streams[m].leaves.len(), 4);
        assert!(inst.worst_latency(m, &p[m]) <= 250_000);
        placed(&problem, true);
    }

    #[test]
    fn no_wait_starts_every_hop_on_arrival() {
        let topo = network(3, 3, false, 8);
        let streams: Vec<Stream> = (0..9)
            .map(|k| {
                stream(&format!("s{k}"), &format!("e0_{}", k % 3), &[&format!("e2_{}", (k / 3) % 3)], 100_000, 1000)
            })
            .collect();
        let problem = Problem::new(topo, streams, SchedulingConfig::default());
        let (inst, p) = placed(&problem, true);
        for (s, pl) in inst.streams.iter().zip(&p) {
            for hp in &pl.frames {
                for (h, hop) in s.hops.iter().enumerate() {
                    if let Some(par) = hop.parent {
                        assert_eq!(hp[h].start_ns, hp[par].start_ns + s.hops[par].tx_ns + hop.min_gap_ns);
                    }
                }
            }
        }
    }

    /// Two talkers must send at offset 0 towards one listener: one frame has to wait in
    /// the bridge, which only the queue-based variant allows.
    #[test]
    fn waiting_is_sometimes_necessary() {
        let topo = network(1, 3, false, 8);
        let pinned = |id: &str, talker: &str| Stream {
            latest_offset_ns: Some(0),
            ..stream(id, talker, &["e0_2"], 100_000, 1000)
        };
        let problem = Problem::new(topo, vec![pinned("a", "e0_0"), pinned("b", "e0_1")], SchedulingConfig::default());
        let (_, p) = placed(&problem, false);
        let waited = p.iter().any(|pl| pl.frames[0][1].start_ns > pl.frames[0][0].start_ns + 8_336 + 1_100);
        assert!(waited, "{p:?}");
        assert!(matches!(run(&problem, true).1, HeuristicResult::Failed { .. }));
    }

    #[test]
    fn impossible_problems_fail() {
        // Two streams of one talker both pinned to offset 0 on the same first link.
        let topo = network(1, 2, false, 8);
        let pinned = |id: &str| Stream { latest_offset_ns: Some(0), ..stream(id, "e0_0", &["e0_1"], 100_000, 1000) };
        let problem = Problem::new(topo.clone(), vec![pinned("a"), pinned("b")], SchedulingConfig::default());
        match run(&problem, false).1 {
            HeuristicResult::Failed { reason, .. } => assert!(!reason.is_empty()),
            other => panic!("expected a failure, got {other:?}"),
        }
        // A latency bound below what the route needs.
        let tight = Stream { max_latency_ns: 5_000, ..stream("t", "e0_0", &["e0_1"], 100_000, 1000) };
        let problem = Problem::new(topo.clone(), vec![tight], SchedulingConfig::default());
        assert!(matches!(run(&problem, true).1, HeuristicResult::Failed { stream: 0, .. }));
        // More traffic than a link carries.
        let streams: Vec<Stream> =
            (0..12).map(|k| stream(&format!("s{k}"), "e0_0", &["e0_1"], 100_000, 1000)).collect();
        let problem = Problem::new(topo, streams, SchedulingConfig::default());
        assert!(matches!(run(&problem, false).1, HeuristicResult::Failed { .. }));
    }

    #[test]
    fn admitted_streams_keep_their_slots() {
        let topo = network(3, 2, true, 8);
        let first = vec![stream("a", "e0_0", &["e2_0"], 100_000, 1500), stream("b", "e1_0", &["e2_1"], 200_000, 800)];
        let problem = Problem::new(topo.clone(), first.clone(), SchedulingConfig::default());
        let (inst, p) = placed(&problem, false);
        let admitted = inst.expand(&p).streams;

        let mut all = first;
        all.push(stream("c", "e0_1", &["e2_0"], 100_000, 1500));
        all.push(stream("d", "e1_1", &["e2_1", "e0_0"], 200_000, 1000));
        let mut problem2 = Problem::new(topo, all, SchedulingConfig::default());
        problem2.admitted = admitted.clone();
        let (inst2, p2) = placed(&problem2, false);
        assert_eq!(inst2.streams.len(), 2);
        let schedule = inst2.expand(&p2);
        for a in &admitted {
            assert_eq!(schedule.stream(&a.stream), Some(a));
        }
        // The admitted streams took the earliest slots; the new ones must avoid them.
        placed(&problem2, true);
    }

    #[test]
    fn several_frames_and_mixed_periods() {
        let topo = network(3, 2, false, 2);
        let streams = vec![
            Stream {
                frames_per_period: 3,
                max_jitter_ns: Some(30_000),
                ..stream("f", "e0_0", &["e2_0"], 300_000, 1500)
            },
            stream("g", "e0_1", &["e2_1"], 200_000, 1500),
            stream("h", "e1_0", &["e2_0"], 120_000, 700),
            Stream {
                earliest_offset_ns: 50_000,
                latest_offset_ns: Some(60_000),
                ..stream("i", "e1_1", &["e0_0"], 600_000, 1000)
            },
        ];
        let problem = Problem::new(topo, streams, SchedulingConfig::default());
        let (inst, p) = placed(&problem, false);
        let i = inst.streams.iter().position(|s| s.id.0 == "i").expect("stream i");
        assert!((50_000..=60_000).contains(&p[i].frames[0][0].start_ns));
        placed(&problem, true);
    }

    /// Random small problems: whatever the heuristic accepts must verify.
    #[test]
    fn random_problems_verify() {
        let mut rng = XorShift(0x1234_5678_9ABC_DEF1);
        let periods = [50_000u64, 75_000, 100_000, 150_000, 200_000, 300_000];
        let mut placed_count = 0;
        for case in 0..40 {
            let bridges = 2 + rng.below(4) as usize;
            let topo = network(bridges, 2, rng.below(2) == 0, 1 + rng.below(3) as u8);
            let n = 3 + rng.below(12) as usize;
            let streams: Vec<Stream> = (0..n)
                .map(|k| {
                    let es = |r: &mut XorShift| format!("e{}_{}", r.below(bridges as u64), r.below(2));
                    let talker = es(&mut rng);
                    let mut listener = es(&mut rng);
                    while listener == talker {
                        listener = es(&mut rng);
                    }
                    let period = periods[rng.below(periods.len() as u64) as usize];
                    Stream {
                        frames_per_period: 1 + (rng.below(4) == 0) as u32,
                        max_latency_ns: period / (1 + rng.below(3)),
                        max_jitter_ns: if rng.below(2) == 0 { Some(rng.below(20_000)) } else { None },
                        ..stream(&format!("s{k}"), &talker, &[&listener], period, 64 + rng.below(1400) as u32)
                    }
                })
                .collect();
            let problem = Problem::new(
                topo,
                streams,
                SchedulingConfig { sync_error_ns: 50 * (case % 2), ..SchedulingConfig::default() },
            );
            for no_wait in [false, true] {
                let (inst, res) = run(&problem, no_wait);
                let HeuristicResult::Placed(p) = res else {
                    continue;
                };
                placed_count += 1;
                assert_eq!(self_check(&inst, &p, no_wait), Ok(()), "case {case}");
                let schedule = inst.expand(&p);
                let report = tsn_check::verify(&problem, &schedule);
                assert!(report.is_ok(), "case {case} no_wait {no_wait}: {report}");
                // Admit the first half and place the rest around it.
                let mut again = problem.clone();
                again.admitted = schedule.streams[..n / 2].to_vec();
                let (inst2, res2) = run(&again, no_wait);
                if let HeuristicResult::Placed(p2) = res2 {
                    assert_eq!(self_check(&inst2, &p2, no_wait), Ok(()), "case {case} admitted");
                    let report = tsn_check::verify(&again, &inst2.expand(&p2));
                    assert!(report.is_ok(), "case {case} no_wait {no_wait} admitted: {report}");
                }
            }
        }
        assert!(placed_count > 20, "only {placed_count} of 80 placed");
    }

    #[test]
    fn busy_mask_finds_the_earliest_gap() {
        let mut m = BusyMask::new(100);
        m.add(&Periodic { start: 10, len: 10, period: 100 }, 100);
        m.add(&Periodic { start: 95, len: 10, period: 100 }, 100); // wraps to [95,100) ∪ [0,5)
        m.add(&Periodic { start: 30, len: 5, period: 50 }, 50); // [30,35) and [80,85)
        assert_eq!(m.earliest(0, 5), Some(5));
        assert_eq!(m.earliest(0, 6), Some(20));
        assert_eq!(m.earliest(21, 10), Some(35));
        assert_eq!(m.earliest(86, 5), Some(86));
        assert_eq!(m.earliest(86, 10), Some(120));
        assert_eq!(m.earliest(91, 5), Some(105));
        assert_eq!(m.earliest(0, 60), None);
        // Against brute force with Periodic::overlaps.
        let rs = [
            Periodic { start: 10, len: 10, period: 100 },
            Periodic { start: 95, len: 10, period: 100 },
            Periodic { start: 30, len: 5, period: 50 },
        ];
        for tx in 1..30 {
            for t0 in 0..200 {
                let brute = (t0..t0 + 100).find(|&t| {
                    let me = Periodic { start: t, len: tx, period: 100 };
                    rs.iter().all(|r| !me.overlaps(r))
                });
                assert_eq!(m.earliest(t0, tx), brute, "t0 {t0} tx {tx}");
            }
        }
    }
}
