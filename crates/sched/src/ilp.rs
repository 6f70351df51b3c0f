//! Exact schedulers: the queue-based ILP (Raagaard & Pop 2017, Craciunas et al. 2016) and
//! its no-wait variant, solved by HiGHS through good_lp.
//!
//! # Model
//!
//! Every decision repeats with its stream's period. Times are scaled by the greatest common
//! divisor `u` of every time constant of the instance (periods, transmission times, gaps,
//! propagation, offset windows, latency bounds, admitted reservations), which keeps the
//! coefficients small and makes the model exact on the grid of multiples of `u`.
//!
//! * `o[s][f][h]` (continuous): start of frame `f` of stream `s` on hop `h`, relative to the
//!   start of its period. In the no-wait variant only hop 0 is a variable; every other hop
//!   is `o[h] = o[parent] + tx(parent) + min_gap(h)`.
//! * Talker: frame 0 starts in `[earliest, latest]`; every frame's first hop lies in
//!   `[0, period − tx]`; frames leave in order (`o[f][0] ≥ o[f−1][0] + tx`).
//! * Precedence (queue-based): `o[h] ≥ o[parent] + tx(parent) + min_gap(h)`.
//! * FIFO within a stream: frames keep their order on every hop, and the last
//!   frame of a period ends before the first one of the next period starts
//!   (`o[F−1][h] + tx ≤ o[0][h] + period`). This also keeps the stream's own frames apart
//!   on every link.
//! * Latency: `o[leaf] + tx(leaf) + propagation(leaf) − o[0] ≤ max_latency` per frame and
//!   listener.
//! * Link: for every two frame-hops `i`, `j` of different streams on one link, with
//!   `g = gcd(Pᵢ, Pⱼ)`, their periodic intervals are disjoint (over the whole hyperperiod,
//!   wrap-around included) iff some integer `k` gives
//!   `eᵢ ≤ aⱼ − k·g` and `eⱼ − k·g ≤ aᵢ + g` (intervals `[a, e)`); for transmissions this is
//!   `txᵢ ≤ oⱼ − oᵢ − k·g ≤ g − txⱼ`. One general integer per pair, bounded by the offsets'
//!   ranges. Admitted streams' reservations are constants (period = hyperperiod, reduced
//!   modulo the new stream's period).
//! * Isolation (queue-based): integer `q[s][h] ∈ [0, queues − 1]` per stream and port (all
//!   frames share it). For two streams on a port, binary `δ`: `δ = 0` demands that the
//!   queue occupancies `[arrival, end)` of all their frames are disjoint (same periodic
//!   construction, another integer per frame pair, relaxed by a big-M when `δ = 1`), and
//!   `δ = 1` demands different queues (order binary `σ`, big-M = number of queues). Ports
//!   with one scheduled queue have no `δ`. Against admitted reservations the same with the
//!   reservation's fixed queue. A talker's first hop never waits (its occupancy is its
//!   transmission), so two first hops need no isolation row.
//! * No-wait: one queue (0), no isolation rows. No frame ever waits, so its queue
//!   occupancy *is* its transmission, and the link constraint already makes occupancies
//!   disjoint. Admitted reservations in queue 0 that did wait are avoided with their whole
//!   occupancy instead of their transmission.
//! * Objective: [`Objective::Latency`] minimises the sum of latencies over streams, frames
//!   and listeners; [`Objective::Queues`] minimises the sum over ports of the highest queue
//!   used (integer `Q_l ≥ q`), weighted above any possible latency sum, which is the
//!   secondary term.
//!
//! # Exactness
//!
//! The rows are kept in exact integer form ([`exact::Mip`]). After HiGHS stops with an
//! incumbent, integer variables are rounded and the offsets recomputed exactly by
//! longest-path relaxation of the remaining difference constraints, then every row is
//! checked in integers; so solver tolerances can never produce an invalid schedule. The
//! status is HiGHS' own model status: `Optimal` only when HiGHS proved optimality (within
//! its default `mip_rel_gap`), `Infeasible` when it proved infeasibility.

mod exact;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use good_lp::{variable, Expression, ProblemVariables};
use tsn_model::SolveStatus;

use crate::heuristic::{self, HeuristicOptions, HeuristicResult};
use crate::instance::{gcd, Instance, StreamPlacement};
use crate::Objective;
use exact::{Aff, Mip};

/// Which model to solve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Frames may wait in queues; queue assignment with stream isolation.
    QueueBased,
    /// Frames never wait in bridges; one queue.
    NoWait,
}

/// Options of one ILP solve.
#[derive(Debug, Clone)]
pub struct IlpOptions<'a> {
    /// The model.
    pub variant: Variant,
    /// What to minimise.
    pub objective: Objective,
    /// Wall-clock limit (model building included).
    pub time_limit: Duration,
    /// A schedule to start from (e.g. the heuristic's), `warm_start[i]` for `streams[i]`.
    pub warm_start: Option<&'a [StreamPlacement]>,
}

/// The result of an ILP solve.
#[derive(Debug, Clone)]
pub struct IlpOutcome {
    /// HiGHS' status: `Optimal`/`Feasible` come with placements.
    pub status: SolveStatus,
    /// `placements[i]` for `streams[i]`, when the status is `Optimal` or `Feasible`.
    pub placements: Option<Vec<StreamPlacement>>,
    /// Solver details (status, objective, gap, model size, times).
    pub detail: String,
}

/// Solves the instance. `Err` only for solver or internal errors, never for an answer
/// about the problem.
///
/// The MIP start is `opts.warm_start` when it satisfies the model exactly, otherwise a
/// no-wait heuristic placement when one is found.
pub fn solve(inst: &Instance<'_>, opts: &IlpOptions<'_>) -> Result<IlpOutcome, String> {
    solve_with(inst, opts, true)
}

fn solve_with(inst: &Instance<'_>, opts: &IlpOptions<'_>, use_seed: bool) -> Result<IlpOutcome, String> {
    let started = Instant::now();
    if inst.streams.is_empty() {
        return Ok(IlpOutcome {
            status: SolveStatus::Optimal,
            placements: Some(Vec::new()),
            detail: "no stream to schedule".into(),
        });
    }
    let built = Builder::build(inst, opts.variant, opts.objective)?;
    let mip = &built.mip;

    // The solver model: column i of HiGHS is mip.vars[i].
    let mut vars = ProblemVariables::new();
    let cols: Vec<good_lp::Variable> = mip
        .vars
        .iter()
        .map(|v| {
            let def = variable().min(v.lo as f64).max(v.hi as f64);
            vars.add(if v.integer { def.integer() } else { def })
        })
        .collect();
    let mut objective = Expression::with_capacity(mip.vars.len());
    for (i, &c) in mip.objective.iter().enumerate() {
        if c != 0.0 {
            objective.add_mul(c, cols[i]);
        }
    }
    let mut problem = vars.minimise(objective).using(good_lp::solvers::highs::highs);
    for r in &mip.rows {
        let mut e = Expression::with_capacity(r.terms.len());
        for &(v, a) in &r.terms {
            e.add_mul(a as f64, cols[v]);
        }
        use good_lp::SolverModel as _;
        if r.lo == r.hi {
            problem.add_constraint(e.eq(r.lo as f64));
        } else {
            if r.lo != i64::MIN {
                problem.add_constraint(e.clone().geq(r.lo as f64));
            }
            if r.hi != i64::MAX {
                problem.add_constraint(e.leq(r.hi as f64));
            }
        }
    }
    let n_int = mip.vars.iter().filter(|v| v.integer).count();
    let size =
        format!("{} variables ({n_int} integer), {} rows, time unit {} ns", mip.vars.len(), mip.rows.len(), built.unit);

    let mut model = problem.try_into_inner().map_err(|e| format!("HiGHS: {e}"))?;
    model.make_quiet();
    let remaining = opts.time_limit.saturating_sub(started.elapsed());
    // One thread: the machine is shared, HiGHS' MIP is mostly serial, and a fixed value
    // keeps HiGHS' per-thread scheduler consistent across solves.
    model.try_set_option("threads", 1).map_err(|e| format!("HiGHS option threads: {e:?}"))?;
    model.try_set_option("parallel", "off").map_err(|e| format!("HiGHS option parallel: {e:?}"))?;
    model
        .try_set_option("time_limit", remaining.as_secs_f64())
        .map_err(|e| format!("HiGHS option time_limit: {e:?}"))?;

    let mut notes = Vec::new();
    let mut start_values = None;
    if let Some(ws) = opts.warm_start {
        match built.warm_values(inst, ws) {
            None => notes.push("warm start ignored (shape does not match)".to_string()),
            Some(values) => match built.check_values(&values) {
                Ok(()) => start_values = Some((values, "warm start given")),
                Err(e) => notes.push(format!("warm start ignored (violates the model: {e})")),
            },
        }
    }
    if start_values.is_none() && use_seed {
        // HiGHS finds feasible points of these models slowly, but with one in hand it
        // usually proves optimality at once: seed it with the no-wait heuristic, whose
        // placements are valid for both variants (no frame waits, so occupancy is the
        // transmission itself).
        let deadline = Instant::now() + opts.time_limit / 4;
        let seeded = heuristic::schedule(inst, &HeuristicOptions { no_wait: true, deadline });
        if let Some(values) = match seeded {
            HeuristicResult::Placed(p) => built.warm_values(inst, &p),
            _ => None,
        } {
            match built.check_values(&values) {
                Ok(()) => start_values = Some((values, "no-wait heuristic start given")),
                Err(e) => notes.push(format!("no-wait heuristic start ignored (violates the model: {e})")),
            }
        }
    }
    match &start_values {
        Some((values, note)) => {
            model
                .try_set_solution(Some(values), None, None, None)
                .map_err(|e| format!("HiGHS: setting the MIP start: {e:?}"))?;
            notes.push(note.to_string());
        }
        None => notes.push("no MIP start".to_string()),
    }
    let warm_note = notes.join(", ");
    let built_at = started.elapsed();

    let solved = model.try_solve().map_err(|e| format!("HiGHS failed: {e:?}"))?;
    // HiGHS' own statuses. The `highs` crate is not a direct dependency (only through
    // good_lp), so its enums are matched by name.
    let model_status = format!("{:?}", solved.status());
    let has_solution = format!("{:?}", solved.primal_solution_status()) == "Feasible";
    let solve_time = started.elapsed() - built_at;
    let summary = |extra: &str| {
        format!(
            "HiGHS {model_status}{extra}; {size}; build {:.3} s, solve {:.3} s; {warm_note}",
            built_at.as_secs_f64(),
            solve_time.as_secs_f64()
        )
    };

    let status = match model_status.as_str() {
        "Optimal" if has_solution => SolveStatus::Optimal,
        "Infeasible" => SolveStatus::Infeasible,
        // Every column has finite bounds, so the model cannot be unbounded.
        "UnboundedOrInfeasible" => SolveStatus::Infeasible,
        "ReachedTimeLimit"
        | "ReachedIterationLimit"
        | "ReachedSolutionLimit"
        | "ReachedInterrupt"
        | "ReachedMemoryLimit" => {
            if has_solution {
                SolveStatus::Feasible
            } else {
                SolveStatus::Timeout
            }
        }
        _ => {
            return Err(summary(&format!(" (primal solution {})", if has_solution { "feasible" } else { "none" })));
        }
    };
    if status == SolveStatus::Infeasible && start_values.is_some() {
        return Err(summary(": contradicts a MIP start that satisfies the model exactly"));
    }
    if !matches!(status, SolveStatus::Optimal | SolveStatus::Feasible) {
        return Ok(IlpOutcome { status, placements: None, detail: summary("") });
    }
    let objective = solved.objective_value();
    let gap = solved.mip_gap();
    let values = solved.get_solution().columns().to_vec();
    let x = built.mip.exact_solution(&values).map_err(|e| summary(&format!(": {e}")))?;
    let placements = built.placements(inst, &x)?;
    let extra = if gap.is_finite() {
        format!(", objective {objective:.0} (time units), gap {:.4}%", gap * 100.0)
    } else {
        format!(", objective {objective:.0} (time units)")
    };
    Ok(IlpOutcome { status, placements: Some(placements), detail: summary(&extra) })
}

/// Values of auxiliary integer variables derived from a given schedule (warm start).
#[derive(Debug, Clone)]
enum Aux {
    /// `var = ⌊num / g⌋`.
    Floor { var: usize, num: Aff, g: i64 },
    /// `var = 0` when every condition is `≥ 0` (evaluated after the floors), else 1.
    Indicator { var: usize, conds: Vec<Aff> },
    /// `var = 1` when `diff > 0`, else 0.
    Positive { var: usize, diff: Aff },
    /// `var = max(of)`.
    Max { var: usize, of: Vec<Aff> },
}

/// The built model and how to read schedules out of it.
#[derive(Debug)]
struct Built {
    mip: Mip,
    /// Time unit in ns.
    unit: u64,
    /// `start[s][f][h]`, in units.
    start: Vec<Vec<Vec<Aff>>>,
    /// `queue[s][h]`.
    queue: Vec<Vec<Aff>>,
    aux: Vec<Aux>,
}

impl Built {
    /// Placements from exact integer values.
    fn placements(&self, inst: &Instance<'_>, x: &[i64]) -> Result<Vec<StreamPlacement>, String> {
        let mut out = Vec::with_capacity(inst.streams.len());
        for (s, frames) in self.start.iter().enumerate() {
            let mut fs = Vec::with_capacity(frames.len());
            for hops in frames {
                let mut hs = Vec::with_capacity(hops.len());
                for (h, e) in hops.iter().enumerate() {
                    let v = Mip::eval(e, x);
                    let q = Mip::eval(&self.queue[s][h], x);
                    let start_ns = u64::try_from(v)
                        .ok()
                        .and_then(|v| v.checked_mul(self.unit))
                        .ok_or_else(|| format!("internal error: offset {v} out of range"))?;
                    let queue = u8::try_from(q).map_err(|_| format!("internal error: queue {q} out of range"))?;
                    hs.push(crate::instance::HopPlacement { start_ns, queue });
                }
                fs.push(hs);
            }
            out.push(StreamPlacement { frames: fs });
        }
        Ok(out)
    }

    /// Whether column values (from a warm start) are on the grid and satisfy the model.
    fn check_values(&self, values: &[f64]) -> Result<(), String> {
        let mut x = Vec::with_capacity(values.len());
        for (i, &v) in values.iter().enumerate() {
            let r = v.round();
            if !v.is_finite() || (v - r).abs() > 1e-6 {
                return Err(format!("variable {i} = {v} is not a multiple of the time unit"));
            }
            x.push(r as i64);
        }
        self.mip.check(&x)
    }

    /// Column values for a given schedule, or `None` when its shape does not match.
    fn warm_values(&self, inst: &Instance<'_>, ws: &[StreamPlacement]) -> Option<Vec<f64>> {
        if ws.len() != inst.streams.len() {
            return None;
        }
        let n = self.mip.vars.len();
        let mut w = vec![f64::NAN; n];
        let unit = self.unit as f64;
        for (s, p) in ws.iter().enumerate() {
            if p.frames.len() != self.start[s].len() {
                return None;
            }
            for (f, hops) in p.frames.iter().enumerate() {
                if hops.len() != self.start[s][f].len() {
                    return None;
                }
                for (h, hp) in hops.iter().enumerate() {
                    if let [(v, 1)] = self.start[s][f][h].terms.as_slice() {
                        w[*v] = hp.start_ns as f64 / unit - self.start[s][f][h].c as f64;
                    }
                    if let [(v, 1)] = self.queue[s][h].terms.as_slice() {
                        w[*v] = f64::from(hp.queue);
                    }
                }
            }
        }
        let eval = |w: &[f64], e: &Aff| -> f64 {
            e.terms.iter().fold(e.c as f64, |acc, &(v, a)| acc + a as f64 * if w[v].is_nan() { 0.0 } else { w[v] })
        };
        let clamp = |w: &mut [f64], v: usize, val: f64| {
            w[v] = val.clamp(self.mip.vars[v].lo as f64, self.mip.vars[v].hi as f64);
        };
        for phase in 0..4 {
            for a in &self.aux {
                match (phase, a) {
                    (0, Aux::Floor { var, num, g }) => {
                        let val = (eval(&w, num) / *g as f64).floor();
                        clamp(&mut w, *var, val);
                    }
                    (1, Aux::Indicator { var, conds }) => {
                        let ok = conds.iter().all(|c| eval(&w, c) >= -1e-9);
                        clamp(&mut w, *var, if ok { 0.0 } else { 1.0 });
                    }
                    (2, Aux::Positive { var, diff }) => {
                        let val = if eval(&w, diff) > 0.0 { 1.0 } else { 0.0 };
                        clamp(&mut w, *var, val);
                    }
                    (3, Aux::Max { var, of }) => {
                        let val = of.iter().map(|e| eval(&w, e)).fold(0.0, f64::max);
                        clamp(&mut w, *var, val);
                    }
                    _ => {}
                }
            }
        }
        for (v, x) in w.iter_mut().enumerate() {
            if x.is_nan() {
                *x = self.mip.vars[v].lo as f64;
            }
        }
        Some(w)
    }
}

/// A periodic interval `[a, e)` given by affine expressions.
#[derive(Debug, Clone)]
struct Iv {
    a: Aff,
    e: Aff,
}

struct Builder<'a, 'p> {
    inst: &'a Instance<'p>,
    variant: Variant,
    mip: Mip,
    unit: u64,
    start: Vec<Vec<Vec<Aff>>>,
    queue: Vec<Vec<Aff>>,
    aux: Vec<Aux>,
}

impl<'a, 'p> Builder<'a, 'p> {
    fn build(inst: &'a Instance<'p>, variant: Variant, objective: Objective) -> Result<Built, String> {
        let unit = time_unit(inst);
        let mut b =
            Builder { inst, variant, mip: Mip::default(), unit, start: Vec::new(), queue: Vec::new(), aux: Vec::new() };
        let latency_terms = b.streams()?;
        b.links()?;
        match objective {
            Objective::Latency => {
                for (v, c) in latency_terms {
                    b.mip.objective[v] += c as f64;
                }
            }
            Objective::Queues => {
                // Weight above any possible sum of latencies (all in units).
                let weight: f64 = 1.0
                    + inst
                        .streams
                        .iter()
                        .map(|s| s.max_latency_ns as f64 / unit as f64 * f64::from(s.frames) * s.leaves.len() as f64)
                        .sum::<f64>();
                for (v, c) in latency_terms {
                    b.mip.objective[v] += c as f64;
                }
                b.queue_objective(weight);
            }
        }
        Ok(Built { mip: b.mip, unit, start: b.start, queue: b.queue, aux: b.aux })
    }

    /// Scales a time constant (a multiple of the unit by construction).
    fn sc(&self, ns: u64) -> Result<i64, String> {
        i64::try_from(ns / self.unit).map_err(|_| format!("time value {ns} ns is too large"))
    }

    /// Offset variables and the per-stream rows; returns the latency objective terms.
    fn streams(&mut self) -> Result<Vec<(usize, i64)>, String> {
        let inst = self.inst;
        let mut objective: BTreeMap<usize, i64> = BTreeMap::new();
        for s in &inst.streams {
            let n = s.hops.len();
            let frames = s.frames as usize;
            let p = self.sc(s.period_ns)?;
            let tx: Vec<i64> = s.hops.iter().map(|h| self.sc(h.tx_ns)).collect::<Result<_, _>>()?;
            let gap: Vec<i64> = s.hops.iter().map(|h| self.sc(h.min_gap_ns)).collect::<Result<_, _>>()?;
            let latency = self.sc(s.max_latency_ns)?;
            let earliest = self.sc(s.earliest_offset_ns)?;
            // `latest` is in the unit only when it binds (see `time_unit`); round down.
            let latest = i64::try_from(s.latest_offset_ns / self.unit).unwrap_or(i64::MAX);
            let prop: Vec<i64> =
                s.hops.iter().map(|h| self.sc(inst.links[h.link].propagation_ns)).collect::<Result<_, _>>()?;
            let is_leaf: Vec<bool> = (0..n).map(|h| s.leaves.contains(&h)).collect();
            // Earliest start of each hop relative to hop 0, and the longest remaining time
            // from the start of a hop to the end of its slowest leaf (bounds only).
            let mut rel = vec![0i64; n];
            for h in 1..n {
                let parent = s.hops[h].parent.ok_or("internal error: hop without parent")?;
                rel[h] = rel[parent] + tx[parent] + gap[h];
            }
            let mut rem = vec![0i64; n];
            for h in (0..n).rev() {
                let mut r = if is_leaf[h] { tx[h] + prop[h] } else { tx[h] };
                for c in h + 1..n {
                    if s.hops[c].parent == Some(h) {
                        r = r.max(tx[h] + gap[c] + rem[c]);
                    }
                }
                rem[h] = r;
            }

            let mut starts: Vec<Vec<Aff>> = Vec::with_capacity(frames);
            for f in 0..frames {
                let fi = f as i64;
                let lo0 = earliest.saturating_add(fi * tx[0]);
                let mut hi0 = p - (frames as i64 - fi) * tx[0];
                if f == 0 {
                    hi0 = hi0.min(latest);
                }
                let o0 = self.mip.add_var(lo0, hi0, false);
                let mut hops = Vec::with_capacity(n);
                for h in 0..n {
                    hops.push(match (h, self.variant) {
                        (0, _) => Aff::var(o0),
                        (_, Variant::NoWait) => Aff::var(o0).plus(rel[h]),
                        (_, Variant::QueueBased) => {
                            Aff::var(self.mip.add_var(lo0 + rel[h], hi0 + latency - rem[h], false))
                        }
                    });
                }
                // Talker window and period.
                self.mip.add_row(&hops[0], Some(0), Some(p - tx[0]));
                if f == 0 {
                    self.mip.add_row(&hops[0], Some(earliest), Some(latest));
                } else {
                    self.mip.add_row(&hops[0].minus(&starts[f - 1][0]), Some(tx[0]), None);
                }
                for h in 1..n {
                    let parent = s.hops[h].parent.unwrap_or(0);
                    if self.variant == Variant::QueueBased {
                        self.mip.add_row(&hops[h].minus(&hops[parent]), Some(tx[parent] + gap[h]), None);
                    }
                    if f > 0 {
                        // FIFO order of the stream's frames on every hop (also needed
                        // without waiting: a slower link downstream spreads them).
                        self.mip.add_row(&hops[h].minus(&starts[f - 1][h]), Some(tx[h]), None);
                    }
                }
                for &leaf in &s.leaves {
                    let lat = hops[leaf].minus(&hops[0]);
                    self.mip.add_row(&lat, None, Some(latency - tx[leaf] - prop[leaf]));
                    for &(v, a) in &lat.terms {
                        *objective.entry(v).or_default() += a;
                    }
                }
                starts.push(hops);
            }
            if frames > 1 {
                // The last frame ends before the next period's first frame starts.
                for h in 1..n {
                    let e = starts[0][h].plus(p).minus(&starts[frames - 1][h]);
                    self.mip.add_row(&e, Some(tx[h]), None);
                }
            }
            self.start.push(starts);
            self.queue.push(vec![Aff::constant(0); n]);
        }
        Ok(objective.into_iter().filter(|&(_, c)| c != 0).collect())
    }

    /// Queue variable of stream `s` on hop `h` (created on first use).
    fn queue_var(&mut self, s: usize, h: usize) -> Aff {
        if self.queue[s][h].terms.is_empty() {
            let queues = self.inst.links[self.inst.streams[s].hops[h].link].queues;
            let v = self.mip.add_var(0, i64::from(queues) - 1, true);
            self.queue[s][h] = Aff::var(v);
        }
        self.queue[s][h].clone()
    }

    /// The transmission of frame `f` of stream `s` on hop `h`.
    fn wire(&self, s: usize, f: usize, h: usize) -> Result<Iv, String> {
        let a = self.start[s][f][h].clone();
        let e = a.plus(self.sc(self.inst.streams[s].hops[h].tx_ns)?);
        Ok(Iv { a, e })
    }

    /// The queue occupancy `[arrival, end)` of frame `f` of stream `s` on hop `h`.
    fn occupancy(&self, s: usize, f: usize, h: usize) -> Result<Iv, String> {
        let st = &self.inst.streams[s];
        let w = self.wire(s, f, h)?;
        let a = match st.hops[h].parent {
            None => w.a.clone(),
            Some(p) => self.start[s][f][p].plus(self.sc(st.hops[p].tx_ns)? + self.sc(st.hops[h].min_gap_ns)?),
        };
        Ok(Iv { a, e: w.e })
    }

    /// Rows for "the periodic intervals `i` and `j` (common period `g`) are disjoint", unless
    /// relaxed. Returns the two unrelaxed conditions (`≥ 0`), for the warm start.
    fn disjoint(&mut self, i: &Iv, j: &Iv, g: i64, relax: &[(usize, bool)]) -> [Aff; 2] {
        // ∃ m: aⱼ − eᵢ − m·g ≥ 0 and aᵢ − eⱼ + m·g + g ≥ 0.
        let d1 = j.a.minus(&i.e);
        let d2 = i.a.minus(&j.e).plus(g);
        let m_hi = self.mip.max_of(&d1).div_euclid(i128::from(g));
        let m_lo = -self.mip.max_of(&d2).div_euclid(i128::from(g));
        let clamp = |v: i128| v.clamp(i128::from(i64::MIN / 4), i128::from(i64::MAX / 4)) as i64;
        let (m_lo, m_hi) = (clamp(m_lo), clamp(m_hi));
        let m = if m_lo >= m_hi {
            // One choice at most (none when m_lo > m_hi: the rows are then infeasible
            // unless relaxed, which HiGHS will find).
            Aff::constant(m_lo)
        } else {
            let v = self.mip.add_var(m_lo, m_hi, true);
            self.aux.push(Aux::Floor { var: v, num: d1.clone(), g });
            Aff::var(v)
        };
        let r1 = d1.add_scaled(&m, -g);
        let r2 = d2.add_scaled(&m, g);
        self.mip.add_geq_zero_unless(&r1, relax);
        self.mip.add_geq_zero_unless(&r2, relax);
        [r1, r2]
    }

    /// Link and isolation rows, port by port.
    fn links(&mut self) -> Result<(), String> {
        let inst = self.inst;
        let mut on_link: Vec<Vec<(usize, usize)>> = vec![Vec::new(); inst.links.len()];
        for (s, st) in inst.streams.iter().enumerate() {
            for (h, hop) in st.hops.iter().enumerate() {
                on_link[hop.link].push((s, h));
            }
        }
        for (l, items) in on_link.iter().enumerate() {
            let queues = i64::from(inst.links[l].queues);
            let isolate = self.variant == Variant::QueueBased;
            // New streams against each other.
            for (x, &(s, h)) in items.iter().enumerate() {
                for &(t, k) in &items[x + 1..] {
                    let (ss, ts) = (&inst.streams[s], &inst.streams[t]);
                    let g = self.sc(gcd(ss.period_ns, ts.period_ns))?;
                    for f in 0..ss.frames as usize {
                        for f2 in 0..ts.frames as usize {
                            let (i, j) = (self.wire(s, f, h)?, self.wire(t, f2, k)?);
                            self.disjoint(&i, &j, g, &[]);
                        }
                    }
                    // Two first hops never wait: occupancy = transmission.
                    if !isolate || (h == 0 && k == 0) {
                        continue;
                    }
                    let relax = if queues >= 2 {
                        let delta = self.mip.add_binary();
                        let sigma = self.mip.add_binary();
                        let (qs, qt) = (self.queue_var(s, h), self.queue_var(t, k));
                        // δ = 1 ⇒ q_s ≠ q_t: σ = 1 ⇒ q_s ≥ q_t + 1, σ = 0 ⇒ q_t ≥ q_s + 1.
                        self.mip.add_geq_zero_unless(&qs.minus(&qt).plus(-1), &[(sigma, false), (delta, false)]);
                        self.mip.add_geq_zero_unless(&qt.minus(&qs).plus(-1), &[(sigma, true), (delta, false)]);
                        self.aux.push(Aux::Positive { var: sigma, diff: qs.minus(&qt) });
                        Some(delta)
                    } else {
                        None
                    };
                    let rel: Vec<(usize, bool)> = relax.iter().map(|&d| (d, true)).collect();
                    let mut conds = Vec::new();
                    for f in 0..ss.frames as usize {
                        for f2 in 0..ts.frames as usize {
                            let (i, j) = (self.occupancy(s, f, h)?, self.occupancy(t, f2, k)?);
                            conds.extend(self.disjoint(&i, &j, g, &rel));
                        }
                    }
                    if let Some(delta) = relax {
                        self.aux.push(Aux::Indicator { var: delta, conds });
                    }
                }
            }
            self.fixed_rows(l, items)?;
        }
        Ok(())
    }

    /// Rows against the admitted streams' fixed reservations on link `l`.
    fn fixed_rows(&mut self, l: usize, items: &[(usize, usize)]) -> Result<(), String> {
        let inst = self.inst;
        let fixed = &inst.fixed[l];
        if fixed.is_empty() {
            return Ok(());
        }
        let queues = i64::from(inst.links[l].queues);
        for &(s, h) in items {
            let st = &inst.streams[s];
            let period = st.period_ns;
            let g = self.sc(period)?;
            // Reservations reduced modulo the stream's period (period | hyperperiod).
            let mut wires: BTreeSet<(u64, u64)> = BTreeSet::new();
            let mut occs: BTreeMap<u8, BTreeSet<(u64, u64)>> = BTreeMap::new();
            for r in fixed {
                let occ_waits = r.queue_occupancy.len > r.wire.len;
                let w = match self.variant {
                    // A no-wait frame in queue 0 must also avoid the time an admitted
                    // frame of queue 0 waits there (FIFO): use its whole occupancy.
                    Variant::NoWait if r.queue == 0 => r.queue_occupancy,
                    _ => r.wire,
                };
                if w.len > 0 {
                    wires.insert((w.start % period, w.len));
                }
                if self.variant == Variant::QueueBased && (h != 0 || occ_waits) && r.queue_occupancy.len > 0 {
                    occs.entry(r.queue).or_default().insert((r.queue_occupancy.start % period, r.queue_occupancy.len));
                }
            }
            for &(start, len) in &wires {
                let j = Iv { a: Aff::constant(self.sc(start)?), e: Aff::constant(self.sc(start + len)?) };
                for f in 0..st.frames as usize {
                    let i = self.wire(s, f, h)?;
                    self.disjoint(&i, &j, g, &[]);
                }
            }
            for (&rq, set) in &occs {
                let rq = i64::from(rq);
                let relax = if queues >= 2 {
                    if rq >= queues {
                        continue; // never the same queue
                    }
                    let delta = self.mip.add_binary();
                    let sigma = self.mip.add_binary();
                    let qs = self.queue_var(s, h);
                    self.mip.add_geq_zero_unless(&qs.plus(-rq - 1), &[(sigma, false), (delta, false)]);
                    self.mip.add_geq_zero_unless(&Aff::constant(rq - 1).minus(&qs), &[(sigma, true), (delta, false)]);
                    self.aux.push(Aux::Positive { var: sigma, diff: qs.plus(-rq) });
                    Some(delta)
                } else {
                    if rq != 0 {
                        continue; // our queue is 0
                    }
                    None
                };
                let rel: Vec<(usize, bool)> = relax.iter().map(|&d| (d, true)).collect();
                let mut conds = Vec::new();
                for &(start, len) in set {
                    let j = Iv { a: Aff::constant(self.sc(start)?), e: Aff::constant(self.sc(start + len)?) };
                    for f in 0..st.frames as usize {
                        let i = self.occupancy(s, f, h)?;
                        conds.extend(self.disjoint(&i, &j, g, &rel));
                    }
                }
                if let Some(delta) = relax {
                    self.aux.push(Aux::Indicator { var: delta, conds });
                }
            }
        }
        Ok(())
    }

    /// Queue objective: per port, an integer at least every queue used there.
    fn queue_objective(&mut self, weight: f64) {
        let mut by_link: HashMap<usize, Vec<Aff>> = HashMap::new();
        for (s, st) in self.inst.streams.iter().enumerate() {
            for (h, hop) in st.hops.iter().enumerate() {
                if !self.queue[s][h].terms.is_empty() {
                    by_link.entry(hop.link).or_default().push(self.queue[s][h].clone());
                }
            }
        }
        let mut links: Vec<_> = by_link.into_iter().collect();
        links.sort_by_key(|(l, _)| *l);
        for (l, qs) in links {
            let top = self.mip.add_var(0, i64::from(self.inst.links[l].queues) - 1, true);
            for q in &qs {
                self.mip.add_row(&Aff::var(top).minus(q), Some(0), None);
            }
            self.mip.objective[top] += weight;
            self.aux.push(Aux::Max { var: top, of: qs });
        }
    }
}

/// The time unit: the gcd of every time constant of the instance, so that all of them are
/// exact multiples. A talker's `latest` offset only counts when it is tighter than
/// `period − tx` (by default it is `period − 1`, which would force a unit of 1 ns).
fn time_unit(inst: &Instance<'_>) -> u64 {
    let mut u = 0u64;
    for s in &inst.streams {
        u = gcd(u, s.period_ns);
        u = gcd(u, s.max_latency_ns);
        u = gcd(u, s.earliest_offset_ns);
        let tx0 = s.hops.first().map_or(0, |h| h.tx_ns);
        if s.latest_offset_ns < s.period_ns.saturating_sub(tx0) {
            u = gcd(u, s.latest_offset_ns);
        }
        for h in &s.hops {
            u = gcd(u, h.tx_ns);
            u = gcd(u, h.min_gap_ns);
            u = gcd(u, inst.links[h.link].propagation_ns);
        }
    }
    for rs in &inst.fixed {
        for r in rs {
            for v in [r.wire.start, r.wire.len, r.queue_occupancy.start, r.queue_occupancy.len] {
                u = gcd(u, v);
            }
        }
    }
    u.max(1)
}
