//! 802.1Qbv gate logic of one egress port, as pure functions of time.
//!
//! The two questions the engine asks for every frame are answered here:
//!
//! * [`Gcl::may_start`] — may a frame of traffic class `tc` occupying the port for `dur_ns`
//!   start at `t`? Only if the class's gate is open for the whole of `[t, t + dur)`.
//! * [`Gcl::next_opportunity`] — the earliest `t' ≥ t` at which it may.
//!
//! The schedule repeats every `cycle_ns` from `base_ns` in both directions (times before the
//! base time see the same periodic pattern), and a window that ends at the end of the cycle
//! continues into an open window at the start of the next one.

use crate::DatapathError;

/// Number of traffic classes (gates) per port.
pub const CLASSES: usize = 8;

/// One GCL entry: gate states (bit `tc` set = open) held for `interval_ns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GateEntry {
    /// Bit `tc` set when the gate of class `tc` is open.
    pub gate_states: u8,
    /// Duration of the entry (> 0).
    pub interval_ns: u64,
}

/// The gate control list of one port with its open windows precomputed per class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gcl {
    base_ns: u64,
    cycle_ns: u64,
    entries: Vec<GateEntry>,
    /// Per class: maximal open intervals `[start, end)` within `[0, cycle)`, sorted.
    windows: [Vec<(u64, u64)>; CLASSES],
}

impl Gcl {
    /// A GCL; the entries' intervals must be positive and sum to `cycle_ns`.
    pub fn new(base_ns: u64, cycle_ns: u64, entries: Vec<GateEntry>) -> Result<Gcl, DatapathError> {
        if entries.is_empty() {
            return Err(DatapathError::InvalidGcl("no entries".into()));
        }
        if entries.iter().any(|e| e.interval_ns == 0) {
            return Err(DatapathError::InvalidGcl("an entry has a zero interval".into()));
        }
        let sum = entries.iter().try_fold(0u64, |acc, e| acc.checked_add(e.interval_ns));
        if sum != Some(cycle_ns) {
            return Err(DatapathError::InvalidGcl(format!(
                "entry intervals sum to {} ns, cycle is {cycle_ns} ns",
                sum.map_or_else(|| "overflow".to_string(), |s| s.to_string())
            )));
        }
        let mut windows: [Vec<(u64, u64)>; CLASSES] = Default::default();
        let mut at = 0u64;
        for e in &entries {
            for (tc, w) in windows.iter_mut().enumerate() {
                if e.gate_states & (1 << tc) != 0 {
                    match w.last_mut() {
                        Some(last) if last.1 == at => last.1 = at + e.interval_ns,
                        _ => w.push((at, at + e.interval_ns)),
                    }
                }
            }
            at += e.interval_ns;
        }
        Ok(Gcl { base_ns, cycle_ns, entries, windows })
    }

    /// A GCL with every gate always open (a port without scheduled traffic).
    pub fn always_open() -> Gcl {
        // A 1 ms cycle is arbitrary: every class is open throughout.
        Gcl::new(0, 1_000_000, vec![GateEntry { gate_states: 0xff, interval_ns: 1_000_000 }])
            .unwrap_or_else(|_| unreachable!("a single full entry is valid"))
    }

    /// Base time (absolute ns of the engine clock).
    pub fn base_ns(&self) -> u64 {
        self.base_ns
    }

    /// Cycle length.
    pub fn cycle_ns(&self) -> u64 {
        self.cycle_ns
    }

    /// The entries.
    pub fn entries(&self) -> &[GateEntry] {
        &self.entries
    }

    /// Whether class `tc`'s gate is open at instant `t`.
    pub fn is_open(&self, tc: u8, t: u64) -> bool {
        let Some(w) = self.windows.get(tc as usize) else { return false };
        let p = self.phase(t);
        w.iter().any(|&(s, e)| s <= p && p < e)
    }

    /// Position of `t` within its cycle.
    pub fn phase(&self, t: u64) -> u64 {
        (i128::from(t) - i128::from(self.base_ns)).rem_euclid(i128::from(self.cycle_ns)) as u64
    }

    /// Start of the cycle containing `t` (may precede the base time).
    fn cycle_start(&self, t: u64) -> i128 {
        i128::from(t) - i128::from(self.phase(t))
    }

    fn always_open_for(&self, tc: u8) -> bool {
        self.windows[tc as usize] == [(0, self.cycle_ns)]
    }

    /// End (absolute) of the open window of `tc` that starts at cycle-relative `start` in the
    /// cycle beginning at `cycle_at`, following windows that continue across cycle ends.
    fn window_end(&self, tc: u8, cycle_at: i128, end_rel: u64) -> i128 {
        let w = &self.windows[tc as usize];
        let mut end = cycle_at + i128::from(end_rel);
        if end_rel == self.cycle_ns {
            if let Some(&(0, first_end)) = w.first() {
                // One wrap is enough: a class open for the whole cycle is handled earlier.
                end += i128::from(first_end);
            }
        }
        end
    }

    /// May a frame of class `tc` that occupies the port for `dur_ns` start at `t`?
    ///
    /// True only if the gate is open for the whole of `[t, t + dur_ns)` (for `dur_ns = 0`:
    /// open at `t`).
    pub fn may_start(&self, tc: u8, t: u64, dur_ns: u64) -> bool {
        if tc as usize >= CLASSES {
            return false;
        }
        if self.always_open_for(tc) {
            return true;
        }
        let p = self.phase(t);
        let c0 = self.cycle_start(t);
        let w = &self.windows[tc as usize];
        // The window containing p, possibly one that began in the previous cycle and wraps.
        for &(s, e) in w {
            if s <= p && p < e {
                let end = self.window_end(tc, c0, e);
                return i128::from(t) + i128::from(dur_ns) <= end;
            }
        }
        false
    }

    /// The earliest `t' ≥ t` at which a frame of class `tc` occupying the port for `dur_ns`
    /// may start, or `None` if no window of that class is long enough.
    pub fn next_opportunity(&self, tc: u8, t: u64, dur_ns: u64) -> Option<u64> {
        if tc as usize >= CLASSES {
            return None;
        }
        if self.may_start(tc, t, dur_ns) {
            return Some(t);
        }
        let w = &self.windows[tc as usize];
        if w.is_empty() {
            return None;
        }
        let c0 = self.cycle_start(t);
        // Windows of the cycle of t and the next one cover every candidate: the pattern
        // repeats, and a wrapping window is followed through `window_end`.
        for k in 0..=1i128 {
            let cyc = c0 + k * i128::from(self.cycle_ns);
            for &(s, e) in w {
                let start = cyc + i128::from(s);
                let end = self.window_end(tc, cyc, e);
                let candidate = start.max(i128::from(t));
                if candidate < end && candidate + i128::from(dur_ns) <= end {
                    return u64::try_from(candidate).ok();
                }
            }
        }
        None
    }

    /// Longest open window of class `tc` (following wraps), in ns.
    pub fn longest_window(&self, tc: u8) -> u64 {
        if tc as usize >= CLASSES {
            return 0;
        }
        if self.always_open_for(tc) {
            return u64::MAX;
        }
        self.windows[tc as usize]
            .iter()
            .map(|&(s, e)| (self.window_end(tc, 0, e) - i128::from(s)) as u64)
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn gcl(base: u64, entries: &[(u8, u64)]) -> Gcl {
        let entries: Vec<_> = entries.iter().map(|&(g, i)| GateEntry { gate_states: g, interval_ns: i }).collect();
        let cycle = entries.iter().map(|e| e.interval_ns).sum();
        Gcl::new(base, cycle, entries).unwrap()
    }

    /// Reference: gate state at integer instant x by scanning the entries.
    fn open_at(g: &Gcl, tc: u8, x: u64) -> bool {
        let mut p = g.phase(x);
        for e in g.entries() {
            if p < e.interval_ns {
                return e.gate_states & (1 << tc) != 0;
            }
            p -= e.interval_ns;
        }
        unreachable!()
    }

    fn may_start_ref(g: &Gcl, tc: u8, t: u64, dur: u64) -> bool {
        if dur == 0 {
            open_at(g, tc, t)
        } else {
            (t..t + dur).all(|x| open_at(g, tc, x))
        }
    }

    #[test]
    fn window_rules_on_a_simple_cycle() {
        // Class 7 open [0, 100), classes 0–6 open [100, 200); base 1000.
        let g = gcl(1000, &[(0x80, 100), (0x7f, 100)]);
        assert!(g.may_start(7, 1000, 100));
        assert!(!g.may_start(7, 1000, 101));
        assert!(!g.may_start(7, 1050, 51));
        assert!(g.may_start(7, 1050, 50));
        assert!(!g.may_start(7, 1100, 1));
        assert_eq!(g.next_opportunity(7, 1100, 10), Some(1200));
        assert_eq!(g.next_opportunity(7, 1095, 10), Some(1200));
        assert_eq!(g.next_opportunity(0, 1000, 10), Some(1100));
        assert_eq!(g.next_opportunity(7, 1000, 101), None);
        // Before the base time the pattern repeats backwards.
        assert!(g.may_start(7, 800, 100));
        assert!(!g.may_start(7, 950, 1));
    }

    #[test]
    fn windows_continue_across_the_cycle_end() {
        // Class 3 open [150, 200) and [0, 50): one 100 ns window around the cycle boundary.
        let g = gcl(0, &[(0x08, 50), (0x00, 100), (0x08, 50)]);
        assert!(g.may_start(3, 150, 100));
        assert!(!g.may_start(3, 150, 101));
        assert_eq!(g.longest_window(3), 100);
        assert_eq!(g.next_opportunity(3, 60, 80), Some(150));
        assert!(g.may_start(3, 10, 40));
        assert!(!g.may_start(3, 10, 41));
    }

    #[test]
    fn invalid_lists_are_rejected() {
        assert!(Gcl::new(0, 10, vec![]).is_err());
        assert!(Gcl::new(
            0,
            10,
            vec![GateEntry { gate_states: 1, interval_ns: 0 }, GateEntry { gate_states: 1, interval_ns: 10 }]
        )
        .is_err());
        assert!(Gcl::new(0, 10, vec![GateEntry { gate_states: 1, interval_ns: 5 }]).is_err());
        assert!(Gcl::new(
            0,
            u64::MAX,
            vec![GateEntry { gate_states: 1, interval_ns: u64::MAX }, GateEntry { gate_states: 1, interval_ns: 1 }]
        )
        .is_err());
    }

    #[test]
    fn always_open_accepts_everything() {
        let g = Gcl::always_open();
        assert!(g.may_start(0, 12345, 10_000_000));
        assert_eq!(g.next_opportunity(5, 7, 1 << 40), Some(7));
    }

    fn arb_gcl() -> impl Strategy<Value = Gcl> {
        (0u64..40, proptest::collection::vec((any::<u8>(), 1u64..12), 1..6))
            .prop_map(|(base, entries)| gcl(base, &entries))
    }

    proptest! {
        #[test]
        fn may_start_matches_the_reference(g in arb_gcl(), tc in 0u8..8, t in 0u64..150, dur in 0u64..30) {
            prop_assert_eq!(g.may_start(tc, t, dur), may_start_ref(&g, tc, t, dur));
        }

        #[test]
        fn next_opportunity_is_the_earliest(g in arb_gcl(), tc in 0u8..8, t in 0u64..150, dur in 0u64..30) {
            let got = g.next_opportunity(tc, t, dur);
            // Search the reference over more than two cycles past t.
            let horizon = t + 3 * g.cycle_ns() + 1;
            let want = (t..horizon).find(|&x| may_start_ref(&g, tc, x, dur));
            prop_assert_eq!(got, want);
        }
    }
}
