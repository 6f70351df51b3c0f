//! Clocks and precise waiting.
//!
//! The engine keeps time in `CLOCK_TAI` (what PTP and `SO_TXTIME`/etf use); applications
//! may stamp their datagrams with another clock, converted with a sampled offset. Waiting
//! for a release time sleeps (with 1 ns timer slack) to a margin before it and spins the
//! rest, so a frame is never released early and rarely more than a few µs late.

use crate::sys;

/// A Linux clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Clock {
    /// `CLOCK_TAI`.
    Tai,
    /// `CLOCK_REALTIME`.
    Realtime,
    /// `CLOCK_MONOTONIC`.
    Monotonic,
}

impl Clock {
    /// The `clockid_t`.
    pub fn id(self) -> libc::clockid_t {
        match self {
            Clock::Tai => libc::CLOCK_TAI,
            Clock::Realtime => libc::CLOCK_REALTIME,
            Clock::Monotonic => libc::CLOCK_MONOTONIC,
        }
    }

    /// The clock of a `clockid_t`, if it is one the datapath understands.
    pub fn from_id(id: i32) -> Option<Clock> {
        match id {
            libc::CLOCK_TAI => Some(Clock::Tai),
            libc::CLOCK_REALTIME => Some(Clock::Realtime),
            libc::CLOCK_MONOTONIC => Some(Clock::Monotonic),
            _ => None,
        }
    }

    /// Current time in ns.
    pub fn now_ns(self) -> u64 {
        sys::clock_ns(self.id())
    }

    /// Offset to add to a reading of `self` to get the same instant on `to` (sampled).
    pub fn offset_to(self, to: Clock) -> i64 {
        if self == to {
            return 0;
        }
        // Bracket one reading of `to` between two of `self` and keep the tightest sample.
        let mut best = (u64::MAX, 0i64);
        for _ in 0..5 {
            let a = self.now_ns();
            let b = to.now_ns();
            let c = self.now_ns();
            let width = c.saturating_sub(a);
            if width < best.0 {
                best = (width, b as i64 - (a / 2 + c / 2) as i64);
            }
        }
        best.1
    }

    /// `CLOCK_TAI − CLOCK_REALTIME`: the kernel's TAI offset, a whole number of seconds, so
    /// the sampled difference is rounded to the nearest second (exact conversions).
    pub fn tai_minus_realtime() -> i64 {
        let o = Clock::Realtime.offset_to(Clock::Tai);
        (o + 500_000_000).div_euclid(1_000_000_000) * 1_000_000_000
    }

    /// Sleeps until this clock reads `deadline_ns`, then spins the last `spin_ns`; returns
    /// the time read after the wait (never before the deadline).
    pub fn wait_until(self, deadline_ns: u64, spin_ns: u64) -> u64 {
        let mut now = self.now_ns();
        if now + spin_ns < deadline_ns {
            sys::sleep_until(self.id(), deadline_ns - spin_ns);
            now = self.now_ns();
        }
        while now < deadline_ns {
            std::hint::spin_loop();
            now = self.now_ns();
        }
        now
    }
}

/// Converts `t` by a signed offset, saturating at the ends of `u64`.
pub fn shift(t: u64, offset: i64) -> u64 {
    if offset >= 0 {
        t.saturating_add(offset as u64)
    } else {
        t.saturating_sub(offset.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_never_returns_early() {
        for spin in [0, 20_000, 1_000_000] {
            let deadline = Clock::Tai.now_ns() + 300_000;
            let after = Clock::Tai.wait_until(deadline, spin);
            assert!(after >= deadline);
            assert!(Clock::Tai.now_ns() >= deadline);
        }
    }

    #[test]
    fn offsets_between_clocks_are_consistent() {
        let o = Clock::Realtime.offset_to(Clock::Tai);
        // TAI − UTC is a whole number of seconds (0 when the kernel's TAI offset is unset).
        let rem = o.rem_euclid(1_000_000_000);
        assert!(!(1_000_000..=999_000_000).contains(&rem), "offset {o} is not near whole seconds");
        assert_eq!(Clock::Tai.offset_to(Clock::Tai), 0);
        assert_eq!(shift(5, -10), 0);
        assert_eq!(shift(u64::MAX, 1), u64::MAX);
        assert_eq!(Clock::from_id(libc::CLOCK_TAI), Some(Clock::Tai));
        assert_eq!(Clock::from_id(12345), None);
    }
}
