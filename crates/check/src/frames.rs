//! Per stream: every frame instance on every link of the route exactly once, transmission
//! durations, per-hop timing, the talker's release window, offset and frame order, the
//! reported offset, end-to-end latency and jitter.

use std::collections::HashMap;

use tsn_model::LinkId;

use crate::route::Scheduled;
use crate::{clamp, FrameRef, Net, Violation};

/// One accepted transmission (not a duplicate or extra), by index, with its recomputed
/// physical length and its arrival at the port's queue.
#[derive(Debug, Clone)]
pub(crate) struct Tx {
    /// Index into `problem.streams`.
    pub stream: usize,
    /// Index into `problem.topology.links`.
    pub link: usize,
    /// Period index.
    pub instance: u32,
    /// Frame index.
    pub frame: u32,
    /// First bit on the wire.
    pub start: u128,
    /// Transmission time on this link (recomputed).
    pub len: u128,
    /// Scheduled queue.
    pub queue: u8,
    /// When the frame enters the port's queue: end on the previous hop + propagation +
    /// processing + synchronisation error (never after `start`); `start` on the talker.
    pub arrival: u128,
}

impl Tx {
    /// Last bit on the wire (start + recomputed transmission time).
    pub fn end(&self) -> u128 {
        self.start + self.len
    }

    /// The frame instance, for reports.
    pub fn frame_ref(&self, net: &Net<'_>) -> FrameRef {
        FrameRef {
            stream: net.problem.streams[self.stream].id.clone(),
            link: net.link(self.link).id(),
            instance: self.instance,
            frame: self.frame,
        }
    }
}

/// Checks every stream's transmissions and timing; returns the accepted transmissions.
pub(crate) fn check(net: &Net<'_>, streams: &[Scheduled<'_>], out: &mut Vec<Violation>) -> Vec<Tx> {
    let mut txs = Vec::new();
    for s in streams {
        check_stream(net, s, &mut txs, out);
    }
    txs
}

type Key = (usize, u32, u32);

fn check_stream(net: &Net<'_>, s: &Scheduled<'_>, txs: &mut Vec<Tx>, out: &mut Vec<Violation>) {
    let stream = &net.problem.streams[s.index];
    let period = u128::from(stream.period_ns);
    let instances = net.h / period;
    let frames = stream.frames_per_period;
    let first = txs.len();
    let mut keys: HashMap<Key, usize> = HashMap::new();
    let fref = |link: &LinkId, instance: u32, frame: u32| FrameRef {
        stream: stream.id.clone(),
        link: link.clone(),
        instance,
        frame,
    };
    for t in &s.schedule.transmissions {
        let link = net.link_index.get(&t.link).copied();
        if let Some(tree) = &s.tree {
            let extra = match link {
                None => Some("the topology has no such link".to_string()),
                Some(l) if !tree.parent.contains_key(&l) => Some("the link is not on the stream's route".into()),
                _ if u128::from(t.instance) >= instances => {
                    Some(format!("the hyperperiod has {instances} instances of the stream"))
                }
                _ if t.frame >= frames => Some(format!("the stream has {frames} frame(s) per period")),
                _ => None,
            };
            if let Some(detail) = extra {
                out.push(Violation::ExtraTransmission { frame: fref(&t.link, t.instance, t.frame), detail });
                continue;
            }
        }
        let Some(link) = link else { continue };
        if keys.contains_key(&(link, t.instance, t.frame)) {
            if s.tree.is_some() {
                out.push(Violation::DuplicateTransmission {
                    frame: fref(&t.link, t.instance, t.frame),
                    start_ns: t.start_ns,
                });
            }
            continue;
        }
        let len = net.tx_ns(stream.max_frame_size, link);
        if t.end_ns < t.start_ns || u128::from(t.end_ns - t.start_ns) != len {
            out.push(Violation::Duration {
                frame: fref(&t.link, t.instance, t.frame),
                start_ns: t.start_ns,
                end_ns: t.end_ns,
                expected_ns: clamp(len),
            });
        }
        keys.insert((link, t.instance, t.frame), txs.len());
        let start = u128::from(t.start_ns);
        txs.push(Tx {
            stream: s.index,
            link,
            instance: t.instance,
            frame: t.frame,
            start,
            len,
            queue: t.queue,
            arrival: start,
        });
    }
    let Some(tree) = &s.tree else { return };
    let instances = u32::try_from(instances).unwrap_or(u32::MAX);

    // Completeness.
    let mut complete = true;
    for &l in &tree.links {
        for k in 0..instances {
            for f in 0..frames {
                if !keys.contains_key(&(l, k, f)) {
                    complete = false;
                    out.push(Violation::MissingTransmission { frame: fref(&net.link(l).id(), k, f) });
                }
            }
        }
    }

    // Per-hop timing and queue arrival.
    let sync = u128::from(net.problem.config.sync_error_ns);
    for i in first..txs.len() {
        let (link, k, f, start) = (txs[i].link, txs[i].instance, txs[i].frame, txs[i].start);
        let Some(&Some(p)) = tree.parent.get(&link) else { continue };
        let Some(&pi) = keys.get(&(p, k, f)) else { continue };
        let ready = txs[pi].end()
            + u128::from(net.link(p).propagation_delay_ns)
            + u128::from(net.link(link).processing_delay_ns)
            + sync;
        if start < ready {
            out.push(Violation::HopTiming {
                frame: txs[i].frame_ref(net),
                previous_link: net.link(p).id(),
                earliest_ns: clamp(ready),
                start_ns: clamp(start),
            });
        }
        txs[i].arrival = ready.min(start);
    }

    // The talker: release window, offset window, frame order.
    let earliest = u128::from(stream.earliest_offset_ns);
    let latest = u128::from(stream.latest_offset());
    for &l in tree.links.iter().filter(|l| tree.parent[*l].is_none()) {
        for k in 0..instances {
            let period_start = u128::from(k) * period;
            let mut previous: Option<u128> = None;
            for f in 0..frames {
                let Some(&ti) = keys.get(&(l, k, f)) else {
                    previous = None;
                    continue;
                };
                let t = &txs[ti];
                if t.start < period_start || t.start >= period_start + period {
                    out.push(Violation::ReleaseWindow {
                        frame: t.frame_ref(net),
                        start_ns: clamp(t.start),
                        period_start_ns: clamp(period_start),
                        period_end_ns: clamp(period_start + period),
                    });
                } else if f == 0 {
                    let offset = t.start - period_start;
                    if offset < earliest || offset > latest {
                        out.push(Violation::TalkerOffset {
                            frame: t.frame_ref(net),
                            offset_ns: clamp(offset),
                            earliest_ns: clamp(earliest),
                            latest_ns: clamp(latest),
                        });
                    }
                }
                if let Some(prev) = previous {
                    if t.start <= prev {
                        out.push(Violation::FrameOrder {
                            frame: t.frame_ref(net),
                            start_ns: clamp(t.start),
                            previous_start_ns: clamp(prev),
                        });
                    }
                }
                previous = Some(t.start);
            }
        }
    }
    if let Some(&ti) = tree.paths.first().and_then(|p| keys.get(&(p[0], 0, 0))) {
        let actual = txs[ti].start;
        if actual != u128::from(s.schedule.talker_offset_ns) {
            out.push(Violation::TalkerOffsetReported {
                stream: stream.id.clone(),
                reported_ns: s.schedule.talker_offset_ns,
                actual_ns: clamp(actual),
            });
        }
    }

    // Latency and jitter, per listener.
    let max_latency = u128::from(stream.max_latency_ns);
    let mut worst: u128 = 0;
    for (path, listener) in tree.paths.iter().zip(&stream.listeners) {
        let (head, tail) = (path[0], path[path.len() - 1]);
        let propagation = u128::from(net.link(tail).propagation_delay_ns);
        let mut range: Option<(u128, u128)> = None;
        for k in 0..instances {
            for f in 0..frames {
                let (Some(&a), Some(&b)) = (keys.get(&(head, k, f)), keys.get(&(tail, k, f))) else {
                    continue;
                };
                let latency = (txs[b].end() + propagation).saturating_sub(txs[a].start);
                if latency > max_latency {
                    out.push(Violation::LatencyExceeded {
                        stream: stream.id.clone(),
                        listener: listener.clone(),
                        instance: k,
                        frame: f,
                        latency_ns: clamp(latency),
                        max_latency_ns: stream.max_latency_ns,
                    });
                }
                worst = worst.max(latency);
                range = Some(match range {
                    None => (latency, latency),
                    Some((lo, hi)) => (lo.min(latency), hi.max(latency)),
                });
            }
        }
        if let (Some(j), Some((lo, hi))) = (stream.max_jitter_ns, range) {
            if hi - lo > u128::from(j) {
                out.push(Violation::JitterExceeded {
                    stream: stream.id.clone(),
                    listener: listener.clone(),
                    jitter_ns: clamp(hi - lo),
                    max_jitter_ns: j,
                });
            }
        }
    }
    if complete && worst != u128::from(s.schedule.worst_latency_ns) {
        out.push(Violation::LatencyMisreported {
            stream: stream.id.clone(),
            reported_ns: s.schedule.worst_latency_ns,
            actual_ns: clamp(worst),
        });
    }
}
