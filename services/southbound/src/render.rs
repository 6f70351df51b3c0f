//! Per-device configuration from a verified schedule, and the per-stream outcome the UNI
//! reports (offsets, latencies, paths).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tsn_model::{GateControlEntry, LinkId, NodeKind, Problem, Schedule, StreamId};
use tsn_pipeline::v1;

/// What one device runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceConfig {
    /// The device (node id).
    pub device: String,
    /// Bridge or end station.
    pub role: Role,
    /// The admitted-state version this configuration belongs to.
    pub version: u64,
    /// Length of the schedule's cycle (LCM of the periods), ns.
    pub hyperperiod_ns: u64,
    /// Gate control lists of the device's egress ports that carry scheduled traffic.
    pub ports: Vec<PortConfig>,
    /// Streams this device sends (end stations).
    pub talker_streams: Vec<TalkerStream>,
}

impl DeviceConfig {
    /// The same device with nothing scheduled: what a device that had no configuration
    /// before a failed deploy gets back.
    pub fn emptied(&self) -> DeviceConfig {
        DeviceConfig {
            device: self.device.clone(),
            role: self.role,
            version: self.version.saturating_sub(1),
            hyperperiod_ns: 0,
            ports: Vec::new(),
            talker_streams: Vec::new(),
        }
    }
}

/// The device's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// A TSN bridge (configured over NETCONF, `ieee802-dot1q-sched-bridge`).
    Bridge,
    /// An end station running a node agent (configured over gRPC).
    EndStation,
}

/// The 802.1Qbv configuration of one egress port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortConfig {
    /// Interface name (the link's `from_port`, else the neighbour's name).
    pub port: String,
    /// The node at the other end.
    pub neighbour: String,
    /// Start of the first cycle relative to the schedule's time origin, ns.
    pub base_time_ns: u64,
    /// Cycle length, ns.
    pub cycle_time_ns: u64,
    /// The gate control list.
    pub entries: Vec<GateControlEntry>,
}

/// One stream a talker sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TalkerStream {
    /// 802.1Qcc stream id.
    pub stream_id: String,
    /// Egress interface.
    pub port: String,
    /// Interval, ns.
    pub period_ns: u64,
    /// Transmit offset of each frame within the period, ns.
    pub frame_offsets_ns: Vec<u64>,
    /// 802.1Qcc max-frame-size, bytes.
    pub max_frame_size: u32,
    /// Priority code point.
    pub pcp: u8,
    /// VLAN id, if tagged.
    pub vlan: Option<u16>,
    /// Destination MAC address (as the UNI gave it).
    pub destination_mac: String,
    /// Destination IP and port, when given.
    pub destination_ip: String,
    /// Destination UDP/TCP port, 0 = not given.
    pub destination_port: u32,
}

fn port_name(problem: &Problem, link: &LinkId) -> String {
    problem.topology.link(link).and_then(|l| l.ports.from_port.clone()).unwrap_or_else(|| link.to.0.clone())
}

/// The offsets of the talker's frames in the first period (instance 0), by frame index.
fn frame_offsets(schedule: &Schedule, stream: &StreamId, first: &LinkId, period_ns: u64) -> Vec<u64> {
    let Some(ss) = schedule.stream(stream) else { return Vec::new() };
    let mut frames: Vec<(u32, u64)> = ss
        .transmissions
        .iter()
        .filter(|t| &t.link == first && t.instance == 0)
        .map(|t| (t.frame, t.start_ns % period_ns.max(1)))
        .collect();
    frames.sort();
    frames.into_iter().map(|(_, s)| s).collect()
}

/// The configuration of every device: each node with a scheduled egress port or a talker
/// stream, plus each of `also` (devices configured before, so that their old schedule is
/// cleared).
pub fn device_configs(
    problem: &Problem,
    schedule: &Schedule,
    ctx: &v1::RequestContext,
    version: u64,
    also: &[String],
) -> Vec<DeviceConfig> {
    let mut devices: BTreeMap<String, DeviceConfig> = BTreeMap::new();
    let role_of = |id: &str| match problem.topology.nodes.iter().find(|n| n.id.0 == id).map(|n| n.kind) {
        Some(NodeKind::EndStation) => Role::EndStation,
        _ => Role::Bridge,
    };
    let new = |id: &str| DeviceConfig {
        device: id.to_owned(),
        role: role_of(id),
        version,
        hyperperiod_ns: schedule.hyperperiod_ns,
        ports: Vec::new(),
        talker_streams: Vec::new(),
    };
    fn entry<'m>(
        devices: &'m mut BTreeMap<String, DeviceConfig>,
        id: &str,
        new: &dyn Fn(&str) -> DeviceConfig,
    ) -> &'m mut DeviceConfig {
        devices.entry(id.to_owned()).or_insert_with(|| new(id))
    }
    for g in &schedule.gcls {
        entry(&mut devices, &g.port.from.0, &new).ports.push(PortConfig {
            port: port_name(problem, &g.port),
            neighbour: g.port.to.0.clone(),
            base_time_ns: g.base_time_ns,
            cycle_time_ns: g.cycle_time_ns,
            entries: g.entries.clone(),
        });
    }
    let frames: BTreeMap<&str, &v1::DataFrame> = ctx
        .requested
        .iter()
        .chain(&ctx.admitted)
        .filter_map(|e| e.frame.as_ref().map(|f| (e.stream_id.as_str(), f)))
        .collect();
    for ss in &schedule.streams {
        let Some(stream) = problem.stream(&ss.stream) else { continue };
        let Some(first) = ss.route.paths.first().and_then(|p| p.first()) else { continue };
        let frame = frames.get(ss.stream.0.as_str()).copied().cloned().unwrap_or_default();
        let port = port_name(problem, first);
        entry(&mut devices, &stream.talker.0, &new).talker_streams.push(TalkerStream {
            stream_id: ss.stream.0.clone(),
            port,
            period_ns: stream.period_ns,
            frame_offsets_ns: frame_offsets(schedule, &ss.stream, first, stream.period_ns),
            max_frame_size: stream.max_frame_size,
            pcp: stream.pcp,
            vlan: stream.vlan,
            destination_mac: frame.destination_mac,
            destination_ip: frame.destination_ip,
            destination_port: frame.destination_port,
        });
    }
    for d in also {
        entry(&mut devices, d, &new);
    }
    devices.into_values().collect()
}

/// The READY outcome of stream `endpoints.stream_id` in `schedule`.
pub fn ready_outcome(problem: &Problem, schedule: &Schedule, endpoints: &v1::StreamEndpoints) -> v1::StreamOutcome {
    let id = StreamId(endpoints.stream_id.clone());
    let mut out = v1::StreamOutcome {
        stream_id: endpoints.stream_id.clone(),
        status: v1::StreamStatus::Ready as i32,
        ..Default::default()
    };
    let (Some(ss), Some(stream)) = (schedule.stream(&id), problem.stream(&id)) else {
        out.status = v1::StreamStatus::Failed as i32;
        out.failure_code = tsn_pipeline::failure_code::INSUFFICIENT_BRIDGE_RESOURCES;
        out.reason = "internal error: the schedule has no entry for this stream".into();
        return out;
    };
    out.time_aware_offset_ns = ss.talker_offset_ns;
    if let Some(first) = ss.route.paths.first().and_then(|p| p.first()) {
        out.frame_offsets_ns = frame_offsets(schedule, &id, first, stream.period_ns);
    }
    for (i, path) in ss.route.paths.iter().enumerate() {
        let (Some(first), Some(last)) = (path.first(), path.last()) else { continue };
        let propagation = problem.topology.link(last).map_or(0, |l| l.propagation_delay_ns);
        let mut worst = 0u64;
        for t in ss.transmissions.iter().filter(|t| &t.link == last) {
            let start = ss
                .transmissions
                .iter()
                .find(|s| &s.link == first && s.instance == t.instance && s.frame == t.frame)
                .map_or(t.start_ns, |s| s.start_ns);
            worst = worst.max((t.end_ns + propagation).saturating_sub(start));
        }
        out.accumulated_latency_ns = out.accumulated_latency_ns.max(worst);
        out.listeners
            .push(v1::ListenerLatency { listener: endpoints.listeners.get(i).cloned(), accumulated_latency_ns: worst });
        let mut nodes = vec![first.from.0.clone()];
        nodes.extend(path.iter().map(|l| l.to.0.clone()));
        out.paths.push(nodes.join(","));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tsn_pipeline::model;

    #[test]
    fn configs_and_outcomes_follow_the_schedule() {
        let mut topology = tsn_workloads::paper_topology();
        for l in &mut topology.links {
            l.ports.from_port = Some(format!("p-{}", l.to));
        }
        let mut s0 = tsn_workloads::simple_stream("s0", "es0-0", &["es2-1", "es1-1"], 1_000_000, 500);
        s0.frames_per_period = 2;
        let s1 = tsn_workloads::simple_stream("s1", "es1-0", &["es3-2"], 2_000_000, 1000);
        let problem = tsn_model::Problem::new(topology, vec![s0, s1], Default::default());
        let schedule = tsn_sched::solve(&problem, &tsn_sched::SolveOptions::default()).unwrap().schedule.unwrap();
        assert!(tsn_check::verify(&problem, &schedule).is_ok());
        let ctx = v1::RequestContext {
            requested: vec![v1::StreamEndpoints {
                stream_id: "s0".into(),
                listeners: vec![
                    v1::EndStation { interface_name: "es2-1".into(), ..Default::default() },
                    Default::default(),
                ],
                frame: Some(v1::DataFrame { destination_mac: "01-00-5E-00-00-01".into(), ..Default::default() }),
                ..Default::default()
            }],
            ..Default::default()
        };
        let configs = device_configs(&problem, &schedule, &ctx, 4, &["br9".into()]);
        let talker = configs.iter().find(|c| c.device == "es0-0").unwrap();
        assert_eq!(talker.role, Role::EndStation);
        assert_eq!(talker.talker_streams[0].frame_offsets_ns.len(), 2);
        assert_eq!(talker.talker_streams[0].port, "p-br0");
        assert_eq!(talker.talker_streams[0].destination_mac, "01-00-5E-00-00-01");
        let bridge = configs.iter().find(|c| c.device == "br0").unwrap();
        assert!(!bridge.ports.is_empty());
        assert!(bridge.ports.iter().all(|p| p.port.starts_with("p-")));
        assert!(configs.iter().any(|c| c.device == "br9" && c.ports.is_empty()));
        assert_eq!(configs.iter().map(|c| c.version).max(), Some(4));

        let o = ready_outcome(&problem, &schedule, &ctx.requested[0]);
        let ss = schedule.stream(&"s0".into()).unwrap();
        assert_eq!(o.status, v1::StreamStatus::Ready as i32);
        assert_eq!(o.time_aware_offset_ns, ss.talker_offset_ns);
        assert_eq!(
            o.accumulated_latency_ns, ss.worst_latency_ns,
            "worst over listeners = the scheduler's worst latency"
        );
        assert_eq!(o.listeners.len(), 2);
        assert!(o.paths[0].starts_with("es0-0,br0,"));
        assert!(o.paths[0].ends_with(",es2-1"));
        let _ = model::schedule_to_pb(&schedule);
    }
}
