//! The indexed form of a [`Problem`] that every scheduler in this crate works on, the
//! periodic placement they produce, and the arithmetic of periodic intervals.
//!
//! A scheduler decides, for every new stream, frame (within a period) and hop of its route,
//! a start offset relative to the start of the period and a queue; the schedule repeats
//! every period. [`Placement::expand`] turns that into the explicit [`Schedule`] (every
//! instance over the hyperperiod) that the verifier checks.

use std::collections::HashMap;

use tsn_model::{
    transmission_time_ns, LinkId, ModelError, Problem, Route, Schedule, StreamId, StreamSchedule, Transmission,
    SCHEDULE_FORMAT_VERSION,
};

/// A link of the problem by index, with what schedulers need of it.
#[derive(Debug, Clone)]
pub struct LinkInfo {
    /// The link's id.
    pub id: LinkId,
    /// Propagation delay after the last bit leaves.
    pub propagation_ns: u64,
    /// Processing delay at the link's source before a frame may start on it.
    pub processing_ns: u64,
    /// Scheduled queues of the port.
    pub queues: u8,
    /// Rate in bit/s.
    pub rate_bps: u64,
}

/// One hop of a stream's route tree.
#[derive(Debug, Clone)]
pub struct Hop {
    /// Index into [`Instance::links`].
    pub link: usize,
    /// The hop before this one (`None` for the talker's first link).
    pub parent: Option<usize>,
    /// Transmission time of one frame of the stream on this link.
    pub tx_ns: u64,
    /// Minimum gap between the parent's end and this hop's start: parent propagation +
    /// this link's processing + synchronisation error. Zero for the first hop.
    pub min_gap_ns: u64,
}

/// A stream to schedule, by index.
#[derive(Debug, Clone)]
pub struct StreamInfo {
    /// Index of the stream in `Problem::streams`.
    pub problem_index: usize,
    /// The stream's id.
    pub id: StreamId,
    /// Period.
    pub period_ns: u64,
    /// Frames per period.
    pub frames: u32,
    /// Latency bound.
    pub max_latency_ns: u64,
    /// Bound on the latency variation between the frames of a period, per listener
    /// (instances of one frame all have the same latency: the schedule is periodic).
    pub max_jitter_ns: Option<u64>,
    /// Talker offset window (inclusive).
    pub earliest_offset_ns: u64,
    /// Talker offset window (inclusive).
    pub latest_offset_ns: u64,
    /// Route tree, parents before children; hop 0 is the talker's link.
    pub hops: Vec<Hop>,
    /// For every listener (in order), the index of its last hop.
    pub leaves: Vec<usize>,
    /// The route in model form.
    pub route: Route,
}

/// An interval that repeats with a period: `[start + k·period, start + k·period + len)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Periodic {
    /// Start within the pattern (any non-negative value; only `start mod period` matters).
    pub start: u64,
    /// Length.
    pub len: u64,
    /// Period.
    pub period: u64,
}

impl Periodic {
    /// Whether any occurrence of `self` overlaps any occurrence of `other`. Touching
    /// (one ends exactly when the other starts) is no overlap.
    ///
    /// Two periodic intervals meet at offsets differing by `(b − a) + j·g` for every integer
    /// `j`, with `g = gcd(period_a, period_b)`; so they are disjoint iff
    /// `len_a ≤ (b − a) mod g ≤ g − len_b`.
    pub fn overlaps(&self, other: &Periodic) -> bool {
        self.shift_to_clear(other) != 0
    }

    /// The least `δ ≥ 0` such that `self` moved later by `δ` does not overlap `other`,
    /// or `u64::MAX` when no shift can clear it (`len_a + len_b > gcd`).
    pub fn shift_to_clear(&self, other: &Periodic) -> u64 {
        self.shift_to_clear_mod(other, gcd(self.period, other.period))
    }

    /// [`Periodic::shift_to_clear`] with `g = gcd(self.period, other.period)` given, for
    /// callers that cache it.
    pub fn shift_to_clear_mod(&self, other: &Periodic, g: u64) -> u64 {
        if self.len == 0 || other.len == 0 {
            return 0;
        }
        if self.len + other.len > g {
            return u64::MAX;
        }
        let d = (other.start % g + g - self.start % g) % g;
        if d < self.len {
            // `other` starts inside `self`: move past its end.
            d + other.len
        } else {
            // `self` starts inside `other` (d > g − len_other): move to its end; else 0.
            d.saturating_sub(g - other.len)
        }
    }
}

/// Greatest common divisor.
pub fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// An already placed frame on a port, as seen by later placements: when it occupies the
/// link, and when it occupies its queue (from arrival at the port to the end of its
/// transmission).
#[derive(Debug, Clone, Copy)]
pub struct Reservation {
    /// Owner (index into `Problem::streams`).
    pub stream: usize,
    /// Transmission on the link.
    pub wire: Periodic,
    /// Presence in the queue: `[arrival, end)`.
    pub queue_occupancy: Periodic,
    /// The queue.
    pub queue: u8,
}

/// Where one frame of one stream goes on one hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HopPlacement {
    /// Start of transmission, relative to the start of the frame's period.
    pub start_ns: u64,
    /// Scheduled queue (0-based) on the hop's port.
    pub queue: u8,
}

/// The decisions for one stream: `frames[f][h]` for frame `f` and hop `h`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPlacement {
    /// Per frame, per hop.
    pub frames: Vec<Vec<HopPlacement>>,
}

/// The indexed problem.
#[derive(Debug)]
pub struct Instance<'p> {
    /// The problem it was built from.
    pub problem: &'p Problem,
    /// LCM of all periods.
    pub hyperperiod_ns: u64,
    /// Every link of the topology (same order as `problem.topology.links`).
    pub links: Vec<LinkInfo>,
    /// The streams to schedule (those not in `problem.admitted`).
    pub streams: Vec<StreamInfo>,
    /// Per link, the frames of admitted streams (fixed; with period = hyperperiod).
    pub fixed: Vec<Vec<Reservation>>,
    /// The admitted streams' schedules repeated over this hyperperiod.
    pub admitted: Vec<StreamSchedule>,
}

impl<'p> Instance<'p> {
    /// Indexes `problem` with the given routes (one per stream that is not admitted).
    pub fn new(problem: &'p Problem, routes: &HashMap<StreamId, Route>) -> Result<Self, ModelError> {
        let hyperperiod_ns = problem.hyperperiod_ns()?;
        let link_index = problem.topology.link_index();
        let links: Vec<LinkInfo> = problem
            .topology
            .links
            .iter()
            .map(|l| LinkInfo {
                id: l.id(),
                propagation_ns: l.propagation_delay_ns,
                processing_ns: l.processing_delay_ns,
                queues: l.scheduled_queues,
                rate_bps: l.rate_bps,
            })
            .collect();
        let overhead = u64::from(problem.config.wire_overhead_bytes);
        let sync = problem.config.sync_error_ns;
        let admitted: HashMap<&StreamId, &StreamSchedule> = problem.admitted.iter().map(|a| (&a.stream, a)).collect();

        let mut streams = Vec::new();
        for (problem_index, s) in problem.streams.iter().enumerate() {
            if admitted.contains_key(&s.id) {
                continue;
            }
            let ctx = || format!("stream {}", s.id);
            let route =
                routes.get(&s.id).ok_or_else(|| ModelError::Invalid { context: ctx(), message: "no route".into() })?;
            let mut hops: Vec<Hop> = Vec::new();
            let mut hop_of: HashMap<&LinkId, usize> = HashMap::new();
            let mut leaves = Vec::new();
            for path in &route.paths {
                let mut parent: Option<usize> = None;
                for lid in path {
                    let h = match hop_of.get(lid) {
                        Some(&h) => {
                            if hops[h].parent != parent {
                                return Err(ModelError::Invalid {
                                    context: ctx(),
                                    message: format!("route is not a tree at link {lid}"),
                                });
                            }
                            h
                        }
                        None => {
                            let &li = link_index
                                .get(lid)
                                .ok_or_else(|| ModelError::UnknownLink { context: ctx(), link: lid.to_string() })?;
                            let link = &links[li];
                            let tx = transmission_time_ns(u64::from(s.max_frame_size) + overhead, link.rate_bps)
                                .ok_or_else(|| ModelError::Invalid {
                                    context: ctx(),
                                    message: "transmission time overflows".into(),
                                })?;
                            let min_gap_ns = match parent {
                                Some(p) => links[hops[p].link].propagation_ns + link.processing_ns + sync,
                                None => 0,
                            };
                            hops.push(Hop { link: li, parent, tx_ns: tx, min_gap_ns });
                            hop_of.insert(lid, hops.len() - 1);
                            hops.len() - 1
                        }
                    };
                    parent = Some(h);
                }
                leaves
                    .push(parent.ok_or_else(|| ModelError::Invalid { context: ctx(), message: "empty path".into() })?);
            }
            streams.push(StreamInfo {
                problem_index,
                id: s.id.clone(),
                period_ns: s.period_ns,
                frames: s.frames_per_period,
                max_latency_ns: s.max_latency_ns,
                max_jitter_ns: s.max_jitter_ns,
                earliest_offset_ns: s.earliest_offset_ns,
                latest_offset_ns: s.latest_offset(),
                hops,
                leaves,
                route: route.clone(),
            });
        }

        let mut fixed = vec![Vec::new(); links.len()];
        let stream_index: HashMap<&StreamId, usize> =
            problem.streams.iter().enumerate().map(|(i, s)| (&s.id, i)).collect();
        let admitted: Vec<StreamSchedule> = problem
            .admitted
            .iter()
            .map(|a| a.repeat_to(problem.streams[stream_index[&a.stream]].period_ns, hyperperiod_ns))
            .collect();
        for a in &admitted {
            let owner = stream_index[&a.stream];
            // Arrival of each (instance, frame) at each port: end on the previous hop of the
            // same instance + gap; the talker's first hop arrives when it starts.
            let mut prev_hop: HashMap<&LinkId, &LinkId> = HashMap::new();
            for path in &a.route.paths {
                for w in path.windows(2) {
                    prev_hop.insert(&w[1], &w[0]);
                }
            }
            let by_key: HashMap<(&LinkId, u32, u32), &Transmission> =
                a.transmissions.iter().map(|t| ((&t.link, t.instance, t.frame), t)).collect();
            for t in &a.transmissions {
                let &li = link_index.get(&t.link).ok_or_else(|| ModelError::UnknownLink {
                    context: format!("admitted stream {}", a.stream),
                    link: t.link.to_string(),
                })?;
                let arrival = match prev_hop.get(&t.link).and_then(|p| by_key.get(&(*p, t.instance, t.frame))) {
                    Some(p) => {
                        let pl = link_index[&p.link];
                        (p.end_ns + links[pl].propagation_ns + links[li].processing_ns + sync).min(t.start_ns)
                    }
                    None => t.start_ns,
                };
                fixed[li].push(Reservation {
                    stream: owner,
                    wire: Periodic { start: t.start_ns, len: t.end_ns - t.start_ns, period: hyperperiod_ns },
                    queue_occupancy: Periodic { start: arrival, len: t.end_ns - arrival, period: hyperperiod_ns },
                    queue: t.queue,
                });
            }
        }
        Ok(Instance { problem, hyperperiod_ns, links, streams, fixed, admitted })
    }

    /// The reservations a placed stream makes, for later placements to avoid.
    pub fn reservations(&self, stream: usize, placement: &StreamPlacement) -> Vec<(usize, Reservation)> {
        let s = &self.streams[stream];
        let mut out = Vec::new();
        for hops in &placement.frames {
            for (h, hop) in s.hops.iter().enumerate() {
                let p = hops[h];
                let arrival = match hop.parent {
                    Some(parent) => (hops[parent].start_ns + s.hops[parent].tx_ns + hop.min_gap_ns).min(p.start_ns),
                    None => p.start_ns,
                };
                out.push((
                    hop.link,
                    Reservation {
                        stream: s.problem_index,
                        wire: Periodic { start: p.start_ns, len: hop.tx_ns, period: s.period_ns },
                        queue_occupancy: Periodic {
                            start: arrival,
                            len: p.start_ns + hop.tx_ns - arrival,
                            period: s.period_ns,
                        },
                        queue: p.queue,
                    },
                ));
            }
        }
        out
    }

    /// Worst end-to-end latency of a placed stream over its frames and listeners.
    pub fn worst_latency(&self, stream: usize, placement: &StreamPlacement) -> u64 {
        let s = &self.streams[stream];
        placement
            .frames
            .iter()
            .flat_map(|hops| {
                s.leaves.iter().map(move |&leaf| {
                    hops[leaf].start_ns + s.hops[leaf].tx_ns + self.links[s.hops[leaf].link].propagation_ns
                        - hops[0].start_ns
                })
            })
            .max()
            .unwrap_or(0)
    }

    /// The explicit schedule: admitted streams as they were (repeated over the hyperperiod), new streams expanded over the
    /// hyperperiod from their placements (`placements[i]` belongs to `streams[i]`). GCLs
    /// are left empty (see [`crate::gcl`]).
    pub fn expand(&self, placements: &[StreamPlacement]) -> Schedule {
        let mut streams: Vec<StreamSchedule> = self.admitted.clone();
        for (i, (s, p)) in self.streams.iter().zip(placements).enumerate() {
            let instances = self.hyperperiod_ns / s.period_ns;
            let mut transmissions = Vec::new();
            for k in 0..instances {
                for (f, hops) in p.frames.iter().enumerate() {
                    for (h, hop) in s.hops.iter().enumerate() {
                        let start = k * s.period_ns + hops[h].start_ns;
                        transmissions.push(Transmission {
                            link: self.links[hop.link].id.clone(),
                            instance: k as u32,
                            frame: f as u32,
                            start_ns: start,
                            end_ns: start + hop.tx_ns,
                            queue: hops[h].queue,
                        });
                    }
                }
            }
            streams.push(StreamSchedule {
                stream: s.id.clone(),
                route: s.route.clone(),
                transmissions,
                talker_offset_ns: p.frames[0][0].start_ns,
                worst_latency_ns: self.worst_latency(i, p),
            });
        }
        // Keep the problem's stream order so that outputs are stable.
        let order: HashMap<&StreamId, usize> =
            self.problem.streams.iter().enumerate().map(|(i, s)| (&s.id, i)).collect();
        streams.sort_by_key(|s| order.get(&s.stream).copied().unwrap_or(usize::MAX));
        Schedule { version: SCHEDULE_FORMAT_VERSION, hyperperiod_ns: self.hyperperiod_ns, streams, gcls: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force over a common multiple of both periods, as the definition says.
    fn overlaps_brute(a: &Periodic, b: &Periodic) -> bool {
        let h = a.period / gcd(a.period, b.period) * b.period;
        let occ = |p: &Periodic| -> Vec<(i128, i128)> {
            (-2..=(h / p.period) as i128 + 2)
                .map(|k| {
                    // The pattern depends on start mod period only; normalise so
                    // that both patterns are enumerated over the same time range.
                    let s = (p.start % p.period) as i128 + k * p.period as i128;
                    (s, s + p.len as i128)
                })
                .collect()
        };
        let (oa, ob) = (occ(a), occ(b));
        oa.iter().any(|x| ob.iter().any(|y| x.0 < y.1 && y.0 < x.1))
    }

    #[test]
    fn periodic_overlap_matches_brute_force() {
        let mut seed = 0x2545F4914F6CDD1Du64;
        let mut next = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        for _ in 0..20_000 {
            let pa = [4, 6, 8, 12, 10, 7][next(6) as usize];
            let pb = [4, 6, 8, 12, 10, 7][next(6) as usize];
            let a = Periodic { start: next(30), len: 1 + next(3), period: pa };
            let b = Periodic { start: next(30), len: 1 + next(3), period: pb };
            assert_eq!(a.overlaps(&b), overlaps_brute(&a, &b), "{a:?} {b:?}");
            let d = a.shift_to_clear(&b);
            if d != u64::MAX {
                let moved = Periodic { start: a.start + d, ..a };
                assert!(!overlaps_brute(&moved, &b), "{a:?} {b:?} shift {d}");
            }
        }
    }
}
