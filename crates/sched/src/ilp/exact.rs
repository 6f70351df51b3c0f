//! The MIP in exact integer form, independent of the solver.
//!
//! Every row and bound is kept here with integer data (in scaled time units), so that
//! whatever values HiGHS returns — which satisfy the rows only up to its tolerances, with
//! "integer" variables only integral up to `mip_feasibility_tolerance` — the final schedule
//! can be recomputed and checked exactly:
//!
//! 1. integer variables are rounded;
//! 2. with them fixed, every row has at most two continuous variables, with coefficients
//!    `+1`/`−1` (the model is built so): a bound or a *difference constraint*
//!    `x_a − x_b ≥ w`. Such a system with integer data has an integer solution whenever it
//!    has any, and the least solution above a starting point is found by longest-path
//!    relaxation (Bellman–Ford), all in integers;
//! 3. every row is checked again exactly.

use std::fmt::Write as _;

/// A variable: integer or continuous, with finite integer bounds.
#[derive(Debug, Clone)]
pub(crate) struct Var {
    pub lo: i64,
    pub hi: i64,
    pub integer: bool,
}

/// `lo ≤ Σ coef·x ≤ hi` (`i64::MIN` / `i64::MAX` for a missing side).
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub terms: Vec<(usize, i64)>,
    pub lo: i64,
    pub hi: i64,
}

/// An affine expression `Σ coef·x + c`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Aff {
    pub terms: Vec<(usize, i64)>,
    pub c: i64,
}

impl Aff {
    pub fn constant(c: i64) -> Self {
        Aff { terms: Vec::new(), c }
    }

    pub fn var(v: usize) -> Self {
        Aff { terms: vec![(v, 1)], c: 0 }
    }

    /// `self + c`.
    pub fn plus(&self, c: i64) -> Self {
        Aff { terms: self.terms.clone(), c: self.c + c }
    }

    /// `self + k·other`, merging equal variables.
    pub fn add_scaled(&self, other: &Aff, k: i64) -> Self {
        let mut terms = self.terms.clone();
        for &(v, a) in &other.terms {
            match terms.iter_mut().find(|(w, _)| *w == v) {
                Some(t) => t.1 += k * a,
                None => terms.push((v, k * a)),
            }
        }
        terms.retain(|t| t.1 != 0);
        Aff { terms, c: self.c + k * other.c }
    }

    /// `self − other`.
    pub fn minus(&self, other: &Aff) -> Self {
        self.add_scaled(other, -1)
    }

    /// `self + k·x_v`.
    pub fn plus_var(&self, v: usize, k: i64) -> Self {
        self.add_scaled(&Aff::var(v), k)
    }
}

/// The model: variables, rows and a linear objective (minimised).
#[derive(Debug, Default)]
pub(crate) struct Mip {
    pub vars: Vec<Var>,
    pub rows: Vec<Row>,
    pub objective: Vec<f64>,
    /// A variable fixed at 0 that carries rows without variables (so that the solver,
    /// not this code, decides a violated constant row).
    zero: Option<usize>,
}

impl Mip {
    pub fn add_var(&mut self, lo: i64, hi: i64, integer: bool) -> usize {
        self.vars.push(Var { lo, hi: hi.max(lo), integer });
        self.objective.push(0.0);
        self.vars.len() - 1
    }

    pub fn add_binary(&mut self) -> usize {
        self.add_var(0, 1, true)
    }

    /// Least value of `e` over the variables' bounds.
    pub fn min_of(&self, e: &Aff) -> i128 {
        e.terms.iter().fold(i128::from(e.c), |acc, &(v, a)| {
            let (lo, hi) = (i128::from(self.vars[v].lo), i128::from(self.vars[v].hi));
            acc + if a >= 0 { i128::from(a) * lo } else { i128::from(a) * hi }
        })
    }

    /// Greatest value of `e` over the variables' bounds.
    pub fn max_of(&self, e: &Aff) -> i128 {
        -self.min_of(&Aff { terms: e.terms.iter().map(|&(v, a)| (v, -a)).collect(), c: -e.c })
    }

    /// `lo ≤ e ≤ hi` (either side may be `None`).
    pub fn add_row(&mut self, e: &Aff, lo: Option<i64>, hi: Option<i64>) {
        let lo = lo.map_or(i64::MIN, |l| l - e.c);
        let hi = hi.map_or(i64::MAX, |h| h - e.c);
        let mut terms = e.terms.clone();
        if terms.is_empty() {
            if lo <= 0 && 0 <= hi {
                return;
            }
            let z = match self.zero {
                Some(z) => z,
                None => {
                    let z = self.add_var(0, 0, false);
                    self.zero = Some(z);
                    z
                }
            };
            terms.push((z, 1));
        }
        self.rows.push(Row { terms, lo, hi });
    }

    /// `e ≥ 0` unless one of `relax` (binary variables, relaxed when the given value is
    /// taken: `(v, true)` relaxes when `v = 1`, `(v, false)` when `v = 0`) says otherwise.
    /// The big-M is the least one that makes the relaxed row redundant.
    pub fn add_geq_zero_unless(&mut self, e: &Aff, relax: &[(usize, bool)]) {
        if relax.is_empty() {
            self.add_row(e, Some(0), None);
            return;
        }
        let m = i64::try_from((-self.min_of(e)).max(0)).unwrap_or(i64::MAX / 4);
        // e + M·Σ relaxᵢ ≥ 0, with relaxᵢ = v or 1 − v.
        let mut r = e.clone();
        for &(v, when_one) in relax {
            r = if when_one { r.plus_var(v, m) } else { r.plus(m).plus_var(v, -m) };
        }
        self.add_row(&r, Some(0), None);
    }

    /// Evaluates `e` exactly.
    pub fn eval(e: &Aff, x: &[i64]) -> i128 {
        e.terms.iter().fold(i128::from(e.c), |acc, &(v, a)| acc + i128::from(a) * i128::from(x[v]))
    }

    /// Checks every bound and row exactly; the first violations otherwise.
    pub fn check(&self, x: &[i64]) -> Result<(), String> {
        let mut msg = String::new();
        let mut n = 0usize;
        for (i, v) in self.vars.iter().enumerate() {
            if x[i] < v.lo || x[i] > v.hi {
                n += 1;
                if n <= 3 {
                    let _ = write!(msg, "variable {i} = {} outside [{}, {}]; ", x[i], v.lo, v.hi);
                }
            }
        }
        for (i, r) in self.rows.iter().enumerate() {
            let val = r.terms.iter().fold(0i128, |acc, &(v, a)| acc + i128::from(a) * i128::from(x[v]));
            if val < i128::from(r.lo) || val > i128::from(r.hi) {
                n += 1;
                if n <= 3 {
                    let _ = write!(msg, "row {i} = {val} outside [{}, {}]; ", r.lo, r.hi);
                }
            }
        }
        if n == 0 {
            Ok(())
        } else {
            Err(format!("{n} violations: {msg}"))
        }
    }

    /// Exact integer values from the solver's `values`: integers rounded, continuous
    /// variables recomputed as the least solution of the remaining difference system above
    /// the rounded solver values (or, failing that, above their lower bounds). Every row is
    /// checked before returning.
    pub fn exact_solution(&self, values: &[f64]) -> Result<Vec<i64>, String> {
        let n = self.vars.len();
        let rounded: Vec<i64> = (0..n)
            .map(|i| {
                let v = values.get(i).copied().unwrap_or(0.0);
                let r = if v.is_finite() { v.round().clamp(-9.0e18, 9.0e18) as i64 } else { self.vars[i].lo };
                r.clamp(self.vars[i].lo, self.vars[i].hi)
            })
            .collect();
        let is_int = |v: usize| self.vars[v].integer;

        // Bounds and difference edges of the continuous variables.
        let mut lo: Vec<i64> = self.vars.iter().map(|v| v.lo).collect();
        let mut hi: Vec<i64> = self.vars.iter().map(|v| v.hi).collect();
        // x[a] ≥ x[b] + w
        let mut edges: Vec<(usize, usize, i64)> = Vec::new();
        for (ri, r) in self.rows.iter().enumerate() {
            let mut fixed: i128 = 0;
            let mut cont: Vec<(usize, i64)> = Vec::new();
            for &(v, a) in &r.terms {
                if is_int(v) {
                    fixed += i128::from(a) * i128::from(rounded[v]);
                } else {
                    cont.push((v, a));
                }
            }
            let rlo = if r.lo == i64::MIN { None } else { Some(i128::from(r.lo) - fixed) };
            let rhi = if r.hi == i64::MAX { None } else { Some(i128::from(r.hi) - fixed) };
            let clamp = |v: i128| -> i64 { v.clamp(i128::from(i64::MIN / 4), i128::from(i64::MAX / 4)) as i64 };
            match cont.as_slice() {
                [] => {
                    if rlo.is_some_and(|l| l > 0) || rhi.is_some_and(|h| h < 0) {
                        return Err(format!("row {ri} is violated by the rounded integer decisions"));
                    }
                }
                [(v, 1)] => {
                    if let Some(l) = rlo {
                        lo[*v] = lo[*v].max(clamp(l));
                    }
                    if let Some(h) = rhi {
                        hi[*v] = hi[*v].min(clamp(h));
                    }
                }
                [(v, -1)] => {
                    if let Some(l) = rlo {
                        hi[*v] = hi[*v].min(clamp(-l));
                    }
                    if let Some(h) = rhi {
                        lo[*v] = lo[*v].max(clamp(-h));
                    }
                }
                [(a, 1), (b, -1)] | [(b, -1), (a, 1)] => {
                    // lo ≤ x_a − x_b ≤ hi
                    if let Some(l) = rlo {
                        edges.push((*a, *b, clamp(l)));
                    }
                    if let Some(h) = rhi {
                        edges.push((*b, *a, clamp(-h)));
                    }
                }
                other => {
                    return Err(format!("row {ri} is not a difference constraint once integers are fixed: {other:?}"))
                }
            }
        }
        for v in 0..n {
            if !is_int(v) && lo[v] > hi[v] {
                return Err(format!("variable {v} has an empty range [{}, {}] once integers are fixed", lo[v], hi[v]));
            }
        }

        let lift = |start: &[i64]| -> Option<Vec<i64>> {
            let mut x: Vec<i64> =
                (0..n).map(|v| if is_int(v) { rounded[v] } else { start[v].clamp(lo[v], hi[v]) }).collect();
            let cont = (0..n).filter(|&v| !is_int(v)).count();
            for _pass in 0..=cont + 1 {
                let mut changed = false;
                for &(a, b, w) in &edges {
                    let need = x[b].saturating_add(w);
                    if x[a] < need {
                        if need > hi[a] {
                            return None;
                        }
                        x[a] = need;
                        changed = true;
                    }
                }
                if !changed {
                    return Some(x);
                }
            }
            None // a positive cycle: no solution
        };
        let x = lift(&rounded)
            .or_else(|| lift(&lo))
            .ok_or_else(|| "the rounded integer decisions admit no exact schedule (numerical trouble)".to_string())?;
        self.check(&x).map_err(|e| format!("internal error: recomputed solution fails the model: {e}"))?;
        Ok(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_solution_repairs_tolerance_violations() {
        // x1 − x0 − 10·k ≥ 3, x1 − x0 − 10·k ≤ 8, x0 ∈ [0, 5], x1 ∈ [0, 30], k ∈ [0, 3].
        let mut m = Mip::default();
        let x0 = m.add_var(0, 5, false);
        let x1 = m.add_var(0, 30, false);
        let k = m.add_var(0, 3, true);
        let e = Aff::var(x1).minus(&Aff::var(x0)).plus_var(k, -10);
        m.add_row(&e, Some(3), Some(8));
        // Solver values slightly off: k = 0.9999999, x1 − x0 = 12.9999 (rounds to 13 → ok).
        let x = m.exact_solution(&[2.0, 14.4, 0.9999999]).unwrap();
        assert_eq!(x[k], 1);
        assert!(m.check(&x).is_ok());
        // Values that round to a violation are lifted: x1 = 14.4 → 14, x0 = 4 → needs ≥ 17.
        let x = m.exact_solution(&[4.0, 14.4, 1.0]).unwrap();
        assert_eq!(x, vec![4, 17, 1]);
    }

    #[test]
    fn exact_solution_reports_impossible_integer_decisions() {
        let mut m = Mip::default();
        let x0 = m.add_var(0, 5, false);
        let k = m.add_var(0, 3, true);
        m.add_row(&Aff::var(x0).plus_var(k, 10), Some(0), Some(6));
        assert!(m.exact_solution(&[0.0, 1.0]).is_err());
        assert_eq!(m.exact_solution(&[0.0, 0.0]).unwrap(), vec![0, 0]);
    }
}
