//! 802.1Qbv schedulers for tsn-cp.
//!
//! * [`certificate`]: proofs of infeasibility computed before any solver runs.
//! * [`routing`]: fastest-path routes (Dijkstra) for streams without a given route.
//! * [`heuristic`]: list scheduling with periodic conflict checks; fast, used alone for
//!   large problems and as the ILP's warm start and fallback.
//! * `ilp` (feature `ilp`): queue-based and no-wait ILPs on HiGHS through good_lp.
//! * [`gcl`]: gate control lists from a schedule.
//! * [`solve`]: the entry point that ties them together and verifies every result with
//!   `tsn-check` before returning it.

pub mod certificate;
pub mod gcl;
pub mod heuristic;
#[cfg(feature = "ilp")]
pub mod ilp;
pub mod instance;
pub mod routing;
mod solve;

pub use solve::{solve, Algorithm, Objective, Progress, SchedError, SolveOptions, SolveOutcome};
