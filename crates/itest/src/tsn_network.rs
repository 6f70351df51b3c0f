//! A whole TSN network on one machine (issue 8): a testbed ring of bridges with end
//! stations, `node-agent bridge` on every bridge (gate tables over NETCONF), `node-agent`
//! in station role on every station (schedules over gRPC with mTLS, talkers through the
//! `libktsn.so` shim), lldpd and sshd for discovery, and the six services on RabbitMQ and
//! PostgreSQL. Used by `tests/end_to_end.rs` and by `tsnctl testbed`.
//!
//! # Timing model (why these numbers)
//!
//! The inventory declares every link at [`Timing::rate_bps`] (2.5 Mbit/s), so the CNC
//! reserves for each frame a window of its transmission time at that rate (≈ 770–1090 µs
//! for the 200–300 B frames used here). The software datapath sends at its own emulated
//! 1 Gbit/s (a few µs per frame) and needs the window to stay open for that plus its 20 µs
//! transmit guard; the rest of the window (≥ 740 µs) is the margin within which a release
//! may be late and still lie inside its window. Measured on this 2-core VM (2026-11-22),
//! frames over the CNC's bound outside the host stalls the watcher saw, per quiet run:
//! 10 Mbit/s (margin ≥ 170 µs) 3–16 per stream; 8 Mbit/s 1–5 per stream; 5 Mbit/s (≥ 290 µs)
//! none in one run, 1–9 per stream in five others; 2.5 Mbit/s, with SCHED_FIFO talkers,
//! 0–2 per stream in 26 s runs on a machine with 3–4 times as many stalls. Each bridge's
//! forwarding delay in the model ([`Timing::bridge_delay_ns`], 300 µs) covers the receive
//! path of a software bridge on a loaded 2-core machine: the receive thread's wake-up, the
//! hand-over to the engine thread and that thread's wake-up. A frame that arrives earlier waits for its window
//! (the gate of its class is closed until then), so early arrival never shows.
//!
//! Every bridge runs with `--no-flood`: a ring has a loop and no spanning tree, and an
//! unknown destination (IPv6 neighbour discovery of the stations' kernels, say) would circle
//! for ever. Forwarding entries for the stations are given at start (`--static-entry`): to a
//! station on the bridge, on its neighbour bridges through the direct cable. Streams run
//! between stations of neighbouring bridges, whose route is unique in the intact ring.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use serde_json::Value;
use tsn_datapath::frame::{build_udp_frame, parse_mac, UdpFrameSpec};
use tsn_datapath::netns::{spawn_in_netns, Capture, Received};
use tsn_datapath::sys::PacketSocket;
use tsn_datapath::{Clock, DatapathError};
use tsn_model::{LinkId, Schedule};
use tsn_pipeline::v1;

use crate::network::{ring_with, LinkAttributes, Network};
use crate::restconf::{assert_stream_ready, stream_entry, Gateway};
use crate::{service_binary, wait_healthy, Cluster, PgDatabase};

/// UDP port of the best-effort flood.
pub const FLOOD_PORT: u16 = 30_000;
/// First UDP port of the streams (stream `n` uses `STREAM_PORT + n`).
pub const STREAM_PORT: u16 = 20_000;
/// Priority code point of the scheduled streams.
pub const STREAM_PCP: u32 = 7;
/// Size of the best-effort frames (802.1Qcc max-frame-size: IP header onwards) and the
/// preprocess `best_effort_max_frame_size` the guard bands are computed for.
pub const FLOOD_FRAME_SIZE: u32 = 300;

/// The timing of the network (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Timing {
    /// Link rate the inventory declares (what the CNC schedules with), bit/s.
    pub rate_bps: u64,
    /// Forwarding delay of a bridge in the model, ns.
    pub bridge_delay_ns: u64,
    /// Propagation delay of a cable, ns.
    pub propagation_ns: u64,
    /// Engines sleep until this long before a release, then spin (µs).
    pub spin_us: u64,
    /// Station engines poll the talkers' rings this often (µs).
    pub station_poll_us: u64,
    /// SCHED_FIFO priority of the datapath threads.
    pub realtime_priority: i32,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            rate_bps: 2_500_000,
            bridge_delay_ns: 300_000,
            propagation_ns: 50,
            spin_us: 20,
            station_poll_us: 1_000,
            realtime_priority: 40,
        }
    }
}

/// A bridge of the network.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BridgeNode {
    /// Node name (`b0`…).
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// Management address (NETCONF on port 830).
    pub mgmt: Ipv4Addr,
    /// Its ports: interface name → neighbour.
    pub ports: BTreeMap<String, String>,
}

/// An end station of the network.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StationNode {
    /// Node name (`e00`…).
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// Its data interface.
    pub interface: String,
    /// That interface's MAC, IEEE form.
    pub mac: String,
    /// The bridge it hangs on.
    pub bridge: String,
    /// Index of that bridge.
    pub bridge_index: usize,
    /// Management address (gRPC on port 50051).
    pub mgmt: Ipv4Addr,
    /// The agent's socket for `libktsn.so`.
    pub shim_socket: PathBuf,
    /// The address its streams are sent to (only for stream identification: frames are
    /// forwarded by MAC).
    pub ip: Ipv4Addr,
}

/// One stream of the test set with where it runs.
#[derive(Debug, Clone)]
pub struct StreamPlan {
    /// Index (UDP port `STREAM_PORT + n`).
    pub n: usize,
    /// The request as the CUC writes it.
    pub request: v1::StreamRequest,
    /// Talker station index.
    pub talker: usize,
    /// Listener station index.
    pub listener: usize,
}

impl StreamPlan {
    /// Its UDP destination port.
    pub fn port(&self) -> u16 {
        STREAM_PORT + self.n as u16
    }
}

/// What the CNC reported for a stream over RESTCONF.
#[derive(Debug, Clone, Copy)]
pub struct Reported {
    /// Talker's time-aware offset, ns.
    pub offset_ns: u64,
    /// Accumulated (worst-case) latency, ns.
    pub latency_ns: u64,
}

/// Where everything of a running network is: what a client of it (the test, `tsnctl
/// testbed submit|counters`) needs, saved as JSON by `tsnctl testbed up`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Layout {
    /// Bridges.
    pub bridges: Vec<BridgeNode>,
    /// Stations.
    pub stations: Vec<StationNode>,
    /// PTP (TAI) time of the schedules' origin.
    pub epoch_ns: u64,
    /// The timing.
    pub timing: Timing,
    /// Certificates (CA, agents, southbound) for gRPC clients of the agents.
    pub pki: PathBuf,
    /// Scratch directory (logs, talker script).
    pub dir: PathBuf,
    /// RESTCONF base URL of the gateway.
    pub gateway: String,
}

/// The running network; dropping it stops every process and removes the namespaces.
#[derive(Debug)]
pub struct TsnNetwork {
    /// The service and agent processes (dropped first: processes die before namespaces).
    pub cluster: Cluster,
    /// The gateway's database.
    pub gw_db: PgDatabase,
    /// The RESTCONF client.
    pub gw: Gateway,
    /// The emulated network.
    pub net: Network,
    /// Where everything is.
    pub layout: Layout,
}

impl std::ops::Deref for TsnNetwork {
    type Target = Layout;
    fn deref(&self) -> &Layout {
        &self.layout
    }
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn leaf(issuer: &CertifiedIssuer<'_, KeyPair>, name: &str, dir: &Path) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.signed_by(&key, issuer).expect("sign");
    std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).expect("write cert");
    std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).expect("write key");
}

/// A CA, the agents' server certificate (name `localhost`) and southbound's client one.
fn pki(dir: &Path) {
    std::fs::create_dir_all(dir).expect("pki dir");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "tsn-cp testbed CA");
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA");
    std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write CA");
    leaf(&ca, "agent", dir);
    leaf(&ca, "southbound", dir);
}

fn wait_tcp(addr: SocketAddr, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

impl TsnNetwork {
    /// Builds and starts everything, and waits until preprocess holds the discovered
    /// topology. `prefix` names the namespaces (empty: the testbed's own unique prefix).
    pub async fn up(bridges: usize, per_bridge: usize, timing: Timing, prefix: &str) -> TsnNetwork {
        assert!(bridges >= 3, "a ring needs three bridges or more");
        let links = LinkAttributes {
            rate_bps: Some(timing.rate_bps),
            propagation_ns: timing.propagation_ns,
            bridge_delay_ns: timing.bridge_delay_ns,
        };
        let net = ring_with(bridges, per_bridge, links, prefix);
        let mut cluster = Cluster::new("e2e");
        cluster.static_topology = false;
        let dir = cluster.dir.clone();

        // IPv4 on every management link (gRPC clients want an address without a scope).
        let octet = 200 + (std::process::id() % 50) as u8;
        let mut mgmt = BTreeMap::new();
        for (i, node) in net.tb.nodes().iter().enumerate() {
            let m = node.management.as_ref().expect("management link");
            let host = Ipv4Addr::new(10, octet, (i / 64) as u8, ((i % 64) * 4 + 1) as u8);
            let addr = Ipv4Addr::new(10, octet, (i / 64) as u8, ((i % 64) * 4 + 2) as u8);
            run("ip", &["addr", "add", &format!("{host}/30"), "dev", &m.host_interface]);
            run("ip", &["-n", &node.namespace, "addr", "add", &format!("{addr}/30"), "dev", "m0"]);
            mgmt.insert(node.id.0.clone(), addr);
        }

        let pki_dir = dir.join("pki");
        pki(&pki_dir);
        let agent = service_binary("node-agent");
        let (spin, rt) = (timing.spin_us.to_string(), timing.realtime_priority.to_string());
        // Stations' engines one step above the bridges': the emulated nodes share two CPUs,
        // and equal SCHED_FIFO priorities never preempt each other, so a station's release
        // (1 ms of late tolerance) waited behind bridges' work. Measured in the end-to-end
        // test, inconclusively: stations dropped 30–40 frames late per 52 s (instead of
        // 110–150 at equal priorities) in a run with 440 host stalls, 100–160 in a run with
        // 1050.
        let station_rt = (timing.realtime_priority + 1).to_string();

        // Stations.
        let mut stations = Vec::new();
        for (i, s) in net.stations.iter().enumerate() {
            let namespace = net.tb.namespace(&s.name).expect("station namespace").to_owned();
            let bridge_index: usize = s.bridge.trim_start_matches('b').parse().expect("bridge bK");
            stations.push(StationNode {
                name: s.name.clone(),
                namespace,
                interface: s.interface.clone(),
                mac: s.mac.clone(),
                bridge: s.bridge.clone(),
                bridge_index,
                mgmt: mgmt[&s.name],
                shim_socket: dir.join(format!("{}.sock", s.name)),
                ip: Ipv4Addr::new(10, 199, 0, (i + 1) as u8),
            });
        }
        let p = |name: &str| pki_dir.join(name).display().to_string();
        for s in &stations {
            let mut args: Vec<String> = [
                "netns",
                "exec",
                &s.namespace,
                agent.to_str().expect("utf-8 path"),
                "--node",
                &s.name,
                "--grpc-listen",
                "0.0.0.0:50051",
                "--health-listen",
                "127.0.0.1:8081",
                "--realtime-priority",
                &station_rt,
                "--spin-us",
                &spin,
                "--late-tolerance-ns",
                "1000000",
            ]
            .into_iter()
            .map(str::to_owned)
            .collect();
            args.extend(["--poll-us".to_owned(), timing.station_poll_us.to_string()]);
            args.extend(["--shim-socket".to_owned(), s.shim_socket.display().to_string()]);
            for (flag, file) in [("--tls-cert", "agent.pem"), ("--tls-key", "agent.key"), ("--tls-client-ca", "ca.pem")]
            {
                args.extend([flag.to_owned(), p(file)]);
            }
            cluster.spawn_ip(&format!("agent-{}", s.name), &args);
        }

        // Bridges: forwarding entries, NETCONF keys.
        let (southbound_key, southbound_pub) = tsn_testbed::ssh_keygen(&dir, "southbound_id").expect("ssh-keygen");
        let authorized = dir.join("authorized_keys");
        std::fs::write(&authorized, format!("{southbound_pub}\n")).expect("authorized_keys");
        let mut known_hosts = String::new();
        let mut bridge_nodes = Vec::new();
        for i in 0..bridges {
            let name = format!("b{i}");
            let node = net.tb.node(&name).expect("bridge");
            let mut ports = BTreeMap::new();
            for c in net.tb.cables() {
                if c.a.node.0 == name {
                    ports.insert(c.a.port.clone(), c.b.node.0.clone());
                } else if c.b.node.0 == name {
                    ports.insert(c.b.port.clone(), c.a.node.0.clone());
                }
            }
            bridge_nodes.push(BridgeNode {
                name: name.clone(),
                namespace: node.namespace.clone(),
                mgmt: mgmt[&name],
                ports,
            });
        }
        for (i, b) in bridge_nodes.iter().enumerate() {
            let (host_key, public) =
                tsn_testbed::ssh_keygen(&dir, &format!("{}_host_key", b.name)).expect("ssh-keygen");
            let _ = writeln!(known_hosts, "[{}]:830 {}", b.mgmt, public);
            let mut args: Vec<String> = vec![
                "netns".into(),
                "exec".into(),
                b.namespace.clone(),
                agent.display().to_string(),
                "bridge".into(),
                "--name".into(),
                b.name.clone(),
                "--netconf-listen".into(),
                "0.0.0.0:830".into(),
                "--host-key".into(),
                host_key.display().to_string(),
                "--authorized-keys".into(),
                authorized.display().to_string(),
                "--user".into(),
                "tsn-cp".into(),
                "--no-flood".into(),
                "--no-learning".into(),
                "--realtime-priority".into(),
                rt.clone(),
                "--spin-us".into(),
                spin.clone(),
                "--poll-us".into(),
                "100000".into(),
                "--late-tolerance-ns".into(),
                "1000000".into(),
            ];
            for port in b.ports.keys() {
                args.push("--port".into());
                args.push(port.clone());
            }
            for s in &stations {
                let (prev, next) = ((i + bridges - 1) % bridges, (i + 1) % bridges);
                let toward = if s.bridge_index == i {
                    Some(s.name.clone())
                } else if s.bridge_index == next {
                    Some(format!("b{next}"))
                } else if s.bridge_index == prev {
                    Some(format!("b{prev}"))
                } else {
                    None
                };
                if let Some(t) = toward {
                    let port = b.ports.iter().find(|(_, n)| **n == t).map(|(p, _)| p.clone()).expect("port toward");
                    args.push("--static-entry".into());
                    args.push(format!("{}={port}", s.mac.replace('-', ":").to_ascii_lowercase()));
                }
            }
            cluster.spawn_ip(&format!("agent-{}", b.name), &args);
        }
        let known = dir.join("known_hosts");
        std::fs::write(&known, known_hosts).expect("known_hosts");
        for b in &bridge_nodes {
            let addr = SocketAddr::from((b.mgmt, 830));
            assert!(wait_tcp(addr, Duration::from_secs(60)), "bridge {} serves no NETCONF\n{}", b.name, cluster.logs());
        }
        for s in &stations {
            let addr = SocketAddr::from((s.mgmt, 50051));
            assert!(wait_tcp(addr, Duration::from_secs(60)), "station {} serves no gRPC\n{}", s.name, cluster.logs());
        }

        // The services.
        let epoch_ns = Clock::Tai.now_ns() / 1_000_000_000 * 1_000_000_000;
        let q = |s: &str| serde_json::to_string(s).expect("TOML string");
        let mut sb = String::new();
        let _ = writeln!(sb, "[configurator]\nkind = \"netconf\"\nknown_hosts = {}\nkey = {}\nuser = \"tsn-cp\"\nepoch_ns = {epoch_ns}\nconfirm_timeout_s = 60",
            q(&known.display().to_string()), q(&southbound_key.display().to_string()));
        for b in &bridge_nodes {
            let _ = writeln!(
                sb,
                "[[configurator.bridges]]\nname = {}\nhost = {}\nport = 830",
                q(&b.name),
                q(&b.mgmt.to_string())
            );
        }
        let _ = writeln!(sb, "[configurator.stations]\nkind = \"grpc\"\nepoch_ns = {epoch_ns}");
        let _ = writeln!(
            sb,
            "tls = {{ ca = {}, cert = {}, key = {} }}",
            q(&p("ca.pem")),
            q(&p("southbound.pem")),
            q(&p("southbound.key"))
        );
        let agents: Vec<String> = stations
            .iter()
            .map(|s| {
                format!(
                    "{{ name = {}, address = {}, tls_name = \"localhost\" }}",
                    q(&s.name),
                    q(&format!("{}:50051", s.mgmt))
                )
            })
            .collect();
        let _ = writeln!(sb, "agents = [{}]", agents.join(", "));
        let sb_file = dir.join("southbound.toml");
        std::fs::write(&sb_file, sb).expect("southbound config");

        let inventory = net.inventory().display().to_string();
        let topo = cluster.start_with_args("topology", "topology", &["--config", &inventory], &[]);
        let pre = cluster.start(
            "preprocess",
            "preprocess",
            &[("TSN_PREPROCESS_BUILD__SCHEDULING__BEST_EFFORT_MAX_FRAME_SIZE".into(), FLOOD_FRAME_SIZE.to_string())],
        );
        let sch = cluster.start("scheduler", "scheduler", &[]);
        let sb_http = format!("127.0.0.1:{}", crate::free_port());
        let mut env = cluster.bus_env("TSN_SOUTHBOUND");
        env.push(("TSN_SOUTHBOUND_OPS__HTTP_LISTEN".into(), sb_http.clone()));
        env.push(("TSN_SOUTHBOUND_DATABASE_URL".into(), cluster.db.url()));
        let sb_arg = sb_file.display().to_string();
        cluster.spawn("southbound", "southbound", &["--config", &sb_arg], &env);
        for addr in [&topo, &pre, &sch, &sb_http] {
            assert!(wait_healthy(addr, Duration::from_secs(60)).await, "{addr} not healthy\n{}", cluster.logs());
        }
        let gw_db = PgDatabase::create();
        let gw = cluster.start_gateway("uni-gateway", &gw_db).await;
        let layout = Layout {
            bridges: bridge_nodes,
            stations,
            epoch_ns,
            timing,
            pki: pki_dir,
            dir: cluster.dir.clone(),
            gateway: gw.base.clone(),
        };
        let me = TsnNetwork { cluster, gw_db, gw, net, layout };
        let want = me.net.expected();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if me.cluster.db.preprocess_topology().is_some_and(|(_, t)| t == want) {
                break;
            }
            assert!(Instant::now() < deadline, "preprocess never held the discovered ring\n{}", me.cluster.logs());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        me
    }

    /// Stops the bridge agents (SIGTERM) and returns each one's final counters line.
    pub fn stop_bridges(&mut self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for b in self.bridges.clone() {
            let name = format!("agent-{}", b.name);
            let p = self.cluster.proc(&name);
            p.terminate();
            let log = std::fs::read_to_string(self.cluster.dir.join(format!("{name}.log"))).unwrap_or_default();
            let line = log.lines().rev().find(|l| l.starts_with("counters ")).unwrap_or("").to_owned();
            out.insert(b.name.clone(), line);
        }
        out
    }
}

impl Layout {
    /// The RESTCONF client of the gateway.
    pub fn gateway(&self) -> Gateway {
        Gateway { base: self.gateway.clone() }
    }

    /// The test set: every station talks to the station with the same index on the next
    /// bridge round the ring (one stream per station), one frame of 200–300 B every 4 ms,
    /// with a latency bound of 8 ms: enough for the long way round the ring (5 links of
    /// ≈ 1 ms at 2.5 Mbit/s and 4 bridges of 300 µs) after a cable is cut.
    pub fn neighbour_streams(&self) -> Vec<StreamPlan> {
        let nb = self.bridges.len();
        let mut out = Vec::new();
        for (t, s) in self.stations.iter().enumerate() {
            let k = self
                .stations
                .iter()
                .filter(|o| o.bridge_index == s.bridge_index)
                .position(|o| o.name == s.name)
                .unwrap_or(0);
            for dir in [1] {
                let lb = (s.bridge_index + dir) % nb;
                let Some(l) = self.stations.iter().position(|o| {
                    o.bridge_index == lb
                        && self.stations.iter().filter(|x| x.bridge_index == lb).position(|x| x.name == o.name)
                            == Some(k)
                }) else {
                    continue;
                };
                let n = out.len();
                let period_ns = 4_000_000;
                let listener = &self.stations[l];
                let request = v1::StreamRequest {
                    stream_id: format!("{}:{n:02X}-00", s.mac),
                    talker: Some(v1::EndStation { mac_address: s.mac.clone(), interface_name: s.interface.clone() }),
                    listeners: vec![v1::EndStation {
                        mac_address: listener.mac.clone(),
                        interface_name: listener.interface.clone(),
                    }],
                    period_ns,
                    max_frames_per_period: 1,
                    max_frame_size: 200 + (n as u32 * 37) % 101,
                    max_latency_ns: 8_000_000,
                    frame: Some(v1::DataFrame {
                        destination_mac: listener.mac.clone(),
                        pcp: STREAM_PCP,
                        vlan_id: 0,
                        destination_ip: listener.ip.to_string(),
                        destination_port: u32::from(STREAM_PORT) + n as u32,
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                out.push(StreamPlan { n, request, talker: t, listener: l });
            }
        }
        out
    }

    /// The RESTCONF entry of `plan` (with its IPv4 tuple).
    pub fn entry(&self, plan: &StreamPlan) -> Value {
        let mut e =
            stream_entry(&plan.request, &self.stations[plan.talker].interface, &self.stations[plan.listener].interface);
        let f = plan.request.frame.as_ref().expect("frame");
        let spec = e["talker"]["data-frame-specification"].as_array_mut().expect("specs");
        spec.push(serde_json::json!({"index": 2, "ipv4-tuple": {
            "destination-ip-address": f.destination_ip, "destination-port": f.destination_port, "protocol": 17}}));
        e
    }

    /// Writes `plans` over RESTCONF and asks for their computation; returns the request id.
    pub async fn submit(&self, plans: &[StreamPlan]) -> String {
        let entries: Vec<Value> = plans.iter().map(|p| self.entry(p)).collect();
        self.gateway().put_streams(&entries).await;
        let ids: Vec<String> = plans.iter().map(|p| p.request.stream_id.clone()).collect();
        self.gateway().compute(&ids).await
    }

    /// What the CNC reports for each stream (RESTCONF), once it is configured.
    pub async fn reported(&self, plans: &[StreamPlan], limit: Duration) -> Vec<Reported> {
        let mut out = Vec::new();
        for p in plans {
            let s = self.gateway().wait_status(&p.request.stream_id, limit).await;
            let (offset_ns, latency_ns) = assert_stream_ready(&s);
            out.push(Reported { offset_ns, latency_ns });
        }
        out
    }

    /// Hyperperiod of `plans`.
    pub fn hyperperiod(plans: &[StreamPlan]) -> u64 {
        tsn_model::hyperperiod_ns(plans.iter().map(|p| p.request.period_ns)).expect("hyperperiod")
    }

    /// Runs the talkers of `plans` for about `duration` (each under the shim, sending its
    /// streams' frames with SO_TXTIME at epoch-aligned times from RESTCONF's offsets) while
    /// the listeners and the bridges' ring ports capture, optionally with the best-effort
    /// flood from every station; returns what was sent and received.
    pub fn run_traffic(
        &self,
        plans: &[StreamPlan],
        reported: &[Reported],
        duration: Duration,
        flood_per_ms: u32,
    ) -> Traffic {
        let hyper = Self::hyperperiod(plans);
        let mut ports: Vec<u16> = plans.iter().map(StreamPlan::port).collect();
        ports.push(FLOOD_PORT);

        // Captures: every listener, and every bridge port facing another bridge.
        let mut captures = Vec::new();
        for s in &self.stations {
            if plans.iter().any(|p| self.stations[p.listener].name == s.name) {
                let c = Capture::start(&s.namespace, &s.interface, ports.clone()).expect("listener capture");
                captures.push((LinkId::new(&s.bridge, &s.name), c));
            }
        }
        for b in &self.bridges {
            for (port, peer) in &b.ports {
                if peer.starts_with('b') {
                    let c = Capture::start(&b.namespace, port, ports.clone()).expect("bridge port capture");
                    captures.push((LinkId::new(peer, &b.name), c));
                }
            }
        }

        // The flood.
        let stop = Arc::new(AtomicBool::new(false));
        let flood_sent = Arc::new(AtomicU64::new(0));
        let mut flooders = Vec::new();
        if flood_per_ms > 0 {
            for (i, s) in self.stations.iter().enumerate() {
                let dsts: Vec<[u8; 6]> = plans
                    .iter()
                    .filter(|p| p.talker == i)
                    .map(|p| parse_mac(&self.stations[p.listener].mac.replace('-', ":")).expect("mac"))
                    .collect();
                if dsts.is_empty() {
                    continue;
                }
                let src = parse_mac(&s.mac.replace('-', ":")).expect("mac");
                let (ifname, stop, sent) = (s.interface.clone(), stop.clone(), flood_sent.clone());
                let h = spawn_in_netns(&s.namespace, move || flood(&ifname, src, &dsts, flood_per_ms, &stop, &sent))
                    .expect("flood thread");
                flooders.push(h);
            }
        }

        let watch = StallWatch::start(90);
        let busy_watch = StallWatch::start(1);
        // The talkers.
        let shim = tsn_datapath::bench::find_shim(None).expect("libktsn.so next to the test binaries");
        let script = self.dir.join("talker.py");
        std::fs::write(&script, TALKER).expect("talker script");
        let mut talkers = Vec::new();
        let talker_priority = (self.timing.realtime_priority - 10).max(1).to_string();
        for (i, s) in self.stations.iter().enumerate() {
            let mine: Vec<(&StreamPlan, &Reported)> =
                plans.iter().zip(reported).filter(|(p, _)| p.talker == i).collect();
            if mine.is_empty() {
                continue;
            }
            let streams: Vec<Value> = mine
                .iter()
                .map(|(p, r)| {
                    let count = duration.as_nanos() as u64 / p.request.period_ns;
                    serde_json::json!({"n": p.n, "dst": self.stations[p.listener].ip.to_string(), "port": p.port(),
                        "period": p.request.period_ns, "offset": r.offset_ns, "size": p.request.max_frame_size - 28, "count": count})
                })
                .collect();
            let cfg = serde_json::json!({"lead": 200_000_000u64, "streams": streams}).to_string();
            // A time-sensitive application runs SCHED_FIFO, below the datapath threads: under
            // the flood, ordinary processes wait hundreds of milliseconds for a CPU.
            let child = Command::new("ip")
                .args(["netns", "exec", &s.namespace, "chrt", "-f", &talker_priority, "env"])
                .arg(format!("LD_PRELOAD={}", shim.display()))
                .arg(format!("KTSN_AGENT_SOCKET={}", s.shim_socket.display()))
                .arg(tsn_datapath::bench::default_python())
                .arg(&script)
                .arg(cfg)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("talker");
            talkers.push((s.name.clone(), child));
        }
        // Every talker has started (Python and the shim can take seconds on a busy
        // machine): then the first frames leave 300 ms from now, on a hyperperiod.
        for (name, child) in &mut talkers {
            let mut line = String::new();
            let out = child.stdout.as_mut().expect("talker stdout");
            let n = std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line).expect("talker ready");
            assert!(n > 0 && line.trim() == "ready", "talker on {name} did not start: {line:?}");
        }
        let now = Clock::Tai.now_ns();
        let start = self.epoch_ns + (now + 300_000_000 - self.epoch_ns).div_ceil(hyper) * hyper;
        for (name, child) in &mut talkers {
            let stdin = child.stdin.as_mut().expect("talker stdin");
            std::io::Write::write_all(stdin, format!("{start}\n").as_bytes())
                .unwrap_or_else(|e| panic!("talker on {name}: {e}"));
        }
        let mut sent = BTreeMap::new();
        let mut talker_reports = BTreeMap::new();
        for (name, child) in talkers {
            let out = child.wait_with_output().expect("talker output");
            assert!(out.status.success(), "talker on {name}: {}", String::from_utf8_lossy(&out.stderr));
            let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("talker on {name}: {e}"));
            for (n, c) in v["sent"].as_object().expect("sent").iter() {
                sent.insert(n.parse::<usize>().expect("n"), c.as_u64().expect("count"));
            }
            let errors = v["errors"].as_u64().unwrap_or(0);
            assert_eq!(errors, 0, "talker on {name} had send errors: {v}");
            talker_reports.insert(name, serde_json::from_value(v).expect("talker report"));
        }
        let stalls = watch.finish();
        let busy = busy_watch.finish();
        stop.store(true, Ordering::Release);
        for h in flooders {
            h.join().expect("flood thread").expect("flood");
        }
        std::thread::sleep(Duration::from_millis(200));
        let captured = captures.into_iter().map(|(l, c)| (l, c.finish().expect("capture"))).collect();
        Traffic {
            start_ns: start,
            sent,
            flood_sent: flood_sent.load(Ordering::Relaxed),
            talkers: talker_reports,
            captured,
            stalls,
            busy,
        }
    }

    /// Station agents' counters (GetState over mTLS): (sent, late, dropped) summed.
    pub async fn station_counters(&self) -> BTreeMap<String, node_agent::pb::AgentState> {
        let mut out = BTreeMap::new();
        for s in &self.stations {
            out.insert(s.name.clone(), self.agent_state(s).await);
        }
        out
    }

    /// One station agent's state.
    pub async fn agent_state(&self, s: &StationNode) -> node_agent::pb::AgentState {
        use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};
        let read = |f: &str| std::fs::read(self.pki.join(f)).expect("pki file");
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(read("ca.pem")))
            .identity(Identity::from_pem(read("southbound.pem"), read("southbound.key")))
            .domain_name("localhost");
        let ch = Endpoint::from_shared(format!("https://{}:50051", s.mgmt))
            .expect("endpoint")
            .tls_config(tls)
            .expect("tls")
            .connect()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", s.name));
        let mut c = node_agent::pb::node_agent_client::NodeAgentClient::new(ch);
        c.get_state(node_agent::pb::GetStateRequest {}).await.unwrap_or_else(|e| panic!("{}: {e}", s.name)).into_inner()
    }
}

/// What a traffic run sent and captured.
#[derive(Debug)]
pub struct Traffic {
    /// TAI time of the first frames (a multiple of the hyperperiod after the epoch).
    pub start_ns: u64,
    /// Frames each stream's talker handed over, by stream index.
    pub sent: BTreeMap<usize, u64>,
    /// Best-effort frames the flood sent.
    pub flood_sent: u64,
    /// How punctual each talker (by station) was.
    pub talkers: BTreeMap<String, TalkerReport>,
    /// Frames captured on each link (where the link ends).
    pub captured: Vec<(LinkId, Vec<Received>)>,
    /// Host stalls seen during the run: (CPU, TAI start, TAI end) of every gap longer
    /// than [`STALL_NS`] in the sleep loop of a SCHED_FIFO thread (priority above the
    /// agents') pinned to that CPU.
    pub stalls: Vec<(usize, u64, u64)>,
    /// The same seen by a SCHED_FIFO 1 watcher per CPU (below the talkers and the
    /// datapath): gaps in which the CPU ran real-time work, the emulated nodes' threads
    /// among them, or stalled. Diagnostic only: nothing is excused by them.
    pub busy: Vec<(usize, u64, u64)>,
}

/// How punctual a talker was: when it handed its frames to the shim, against the plan
/// (each frame `lead` before its transmit time).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TalkerReport {
    /// The longest a hand-over came after its planned time, ns.
    pub max_lag_ns: u64,
    /// The same, for frames from the run's second second on (after the start-up), ns.
    pub max_lag_steady_ns: u64,
    /// Frames handed over after their own transmit time (the station must drop them).
    pub after_txtime: u64,
    /// The longest one `sendmsg` call took, ns.
    pub max_send_ns: u64,
}

/// A watcher's gap longer than this is a stall.
pub const STALL_NS: u64 = 500_000;

/// One SCHED_FIFO thread per CPU that sleeps 100 µs at a time and records every wake-up
/// later than [`STALL_NS`]: time in which nothing of lower priority can have run on that
/// CPU either. At priority 90 (above every datapath thread) that is a host stall; at 1, a
/// time the CPU was held by real-time work or stalled ([`Traffic::busy`]).
struct StallWatch {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<Vec<(usize, u64, u64)>>>,
}

impl StallWatch {
    fn start(priority: i32) -> StallWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = (0..cpus)
            .map(|cpu| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let _ = tsn_datapath::sys::pin_to_cpu(cpu);
                    let _ = tsn_datapath::sys::set_timer_slack(1);
                    let _ = tsn_datapath::sys::set_fifo(priority);
                    let mut out = Vec::new();
                    let mut last = Clock::Tai.now_ns();
                    while !stop.load(Ordering::Relaxed) {
                        tsn_datapath::sys::sleep_until(Clock::Tai.id(), last + 100_000);
                        let now = Clock::Tai.now_ns();
                        if now - last > STALL_NS + 100_000 {
                            out.push((cpu, last + 100_000, now));
                        }
                        last = now;
                    }
                    out
                })
            })
            .collect();
        StallWatch { stop, threads }
    }

    fn finish(self) -> Vec<(usize, u64, u64)> {
        self.stop.store(true, Ordering::Relaxed);
        self.threads.into_iter().flat_map(|t| t.join().unwrap_or_default()).collect()
    }
}

/// A named value from a bridge's `counters …` line.
pub fn counter(line: &str, name: &str) -> u64 {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Per-stream results of a traffic run.
#[derive(Debug, Default, Clone)]
pub struct StreamResult {
    /// Frames the talker sent.
    pub sent: u64,
    /// Frames the listener received.
    pub received: u64,
    /// Largest measured latency (arrival − scheduled transmit time), ns.
    pub max_latency_ns: i64,
    /// Smallest one.
    pub min_latency_ns: i64,
    /// Frames of the stream captured on a link while no scheduled window of their class
    /// was open on it (gate closed for their class).
    pub outside_window: u64,
    /// Of those, the frames sent during a host stall or within [`STALL_NS`] after one ends:
    /// the gate was checked before the stall and the send (which takes the capture's time
    /// stamp on veth) happened after it.
    pub outside_window_in_stall: u64,
    /// Frames captured outside the stream's own transmission slot (but, unless counted in
    /// `outside_window`, inside another window of their class on that link): a frame that
    /// reaches a bridge long before its modelled arrival may leave in an earlier window of
    /// its class — never later than its own.
    pub outside_own_slot: u64,
    /// Frames of the stream checked against the windows.
    pub checked: u64,
    /// Frames whose latency exceeds the reported bound.
    pub over_bound: u64,
    /// Of those, the frames in flight (scheduled transmit time to arrival) during a host
    /// stall the watchers saw.
    pub over_bound_in_stall: u64,
    /// Largest latency of the frames in flight during no host stall, ns.
    pub max_latency_no_stall_ns: i64,
    /// Frames sent and never received.
    pub lost: u64,
    /// Of those, the frames whose flight (scheduled transmit time to the bound after it)
    /// overlaps a host stall.
    pub lost_in_stall: u64,
    /// Sequence number of the frame with the largest latency.
    pub worst_k: u64,
    /// Where that frame was seen: link and time after its scheduled transmit time, ns.
    pub worst_hops: Vec<(String, i64)>,
    /// For every frame over the bound, lost or outside its window outside host stalls: the
    /// time from the end of the last stall before its transmit time to that time, ns
    /// (`u64::MAX` when no stall came before it). Shows whether the failures are knock-on
    /// effects of a stall (a backlog that takes cycles to drain) or stand alone.
    pub since_stall_ns: Vec<u64>,
    /// How many of those frames were in flight during a gap of the low-priority watcher
    /// ([`Traffic::busy`]): the CPU was taken by real-time threads (the emulated nodes
    /// compete for two CPUs) rather than stalled.
    pub in_busy_gap: u64,
}

/// Whether one of `gaps` overlaps the time from `from` to `to`.
fn overlaps(gaps: &[(usize, u64, u64)], from: u64, to: u64) -> bool {
    gaps.iter().any(|&(_, a, b)| a < to && b > from)
}

/// Time from the end of the last stall that ended before `t` to `t` (`u64::MAX`: none).
fn since_stall(stalls: &[(usize, u64, u64)], t: u64) -> u64 {
    stalls.iter().filter(|&&(_, _, b)| b <= t).map(|&(_, _, b)| t - b).min().unwrap_or(u64::MAX)
}

/// Checks a traffic run against the schedule: per stream, latencies at the listener, and
/// for every captured frame whether it was sent inside a window of its class on that link
/// and inside its own slot; best-effort frames captured inside a scheduled window. Returns
/// (per stream, best-effort frames captured, best-effort frames inside a window).
///
/// Without a schedule (a client that only has RESTCONF) the windows are not checked.
pub fn analyse(
    plans: &[StreamPlan],
    stations: &[StationNode],
    schedule: Option<&Schedule>,
    epoch_ns: u64,
    t: &Traffic,
    reported: &[Reported],
) -> (Vec<StreamResult>, u64, u64) {
    let hyper = schedule.map_or_else(|| Layout::hyperperiod(plans), |s| s.hyperperiod_ns);
    let mut results: Vec<StreamResult> = plans
        .iter()
        .map(|p| StreamResult {
            sent: t.sent.get(&p.n).copied().unwrap_or(0),
            min_latency_ns: i64::MAX,
            ..Default::default()
        })
        .collect();
    let by_port: BTreeMap<u16, usize> = plans.iter().enumerate().map(|(i, p)| (p.port(), i)).collect();
    // Windows per link: (start, end) relative to the hyperperiod, by stream index, and
    // every window on the link (for best effort).
    let mut windows: BTreeMap<(LinkId, usize), BTreeMap<u64, (u64, u64)>> = BTreeMap::new();
    let mut all: BTreeMap<LinkId, Vec<(u64, u64)>> = BTreeMap::new();
    for (i, p) in plans.iter().enumerate() {
        let Some(schedule) = schedule else { break };
        let ss = schedule
            .streams
            .iter()
            .find(|s| s.stream.0 == p.request.stream_id)
            .unwrap_or_else(|| panic!("{} is not in the schedule", p.request.stream_id));
        for tx in &ss.transmissions {
            windows.entry((tx.link.clone(), i)).or_default().insert(u64::from(tx.instance), (tx.start_ns, tx.end_ns));
            all.entry(tx.link.clone()).or_default().push((tx.start_ns % hyper, tx.end_ns % hyper));
        }
    }
    let (mut be, mut be_inside) = (0, 0);
    let mut seen: BTreeMap<(usize, u64), Vec<(String, i64)>> = BTreeMap::new();
    for (link, frames) in &t.captured {
        let listener_link = stations.iter().any(|s| s.name == link.to.0);
        for r in frames {
            if r.frame.dst_port == FLOOD_PORT {
                be += 1;
                let phase = (r.rx_tai_ns - epoch_ns) % hyper;
                if all.get(link).is_some_and(|w| in_any(w, phase)) {
                    be_inside += 1;
                }
                continue;
            }
            let Some(&i) = by_port.get(&r.frame.dst_port) else { continue };
            let p = &plans[i];
            if r.frame.payload.len() < 8 {
                continue;
            }
            let k = u64::from_le_bytes(r.frame.payload[..8].try_into().expect("8 bytes"));
            let period = p.request.period_ns;
            let per_hyper = hyper / period;
            let cycle_start = t.start_ns + (k / per_hyper) * hyper;
            let res = &mut results[i];
            if let Some(&(s, e)) = windows.get(&(link.clone(), i)).and_then(|w| w.get(&(k % per_hyper))) {
                res.checked += 1;
                if r.rx_tai_ns < cycle_start + s || r.rx_tai_ns >= cycle_start + e {
                    res.outside_own_slot += 1;
                    let phase = (r.rx_tai_ns - epoch_ns) % hyper;
                    if !all.get(link).is_some_and(|w| in_any(w, phase)) {
                        res.outside_window += 1;
                        if overlaps(&t.stalls, r.rx_tai_ns - STALL_NS, r.rx_tai_ns) {
                            res.outside_window_in_stall += 1;
                        } else {
                            res.since_stall_ns.push(since_stall(&t.stalls, r.rx_tai_ns));
                            res.in_busy_gap += u64::from(overlaps(&t.busy, r.rx_tai_ns - STALL_NS, r.rx_tai_ns));
                        }
                    }
                }
            }
            let txtime = t.start_ns + k * period + reported[i].offset_ns;
            let lat = r.rx_tai_ns as i64 - txtime as i64;
            seen.entry((i, k)).or_default().push((format!("{}->{}", link.from, link.to), lat));
            if listener_link && stations[p.listener].name == link.to.0 {
                res.received += 1;
                if lat > res.max_latency_ns {
                    res.worst_k = k;
                }
                res.max_latency_ns = res.max_latency_ns.max(lat);
                res.min_latency_ns = res.min_latency_ns.min(lat);
                let stalled = overlaps(&t.stalls, txtime, r.rx_tai_ns);
                if lat > reported[i].latency_ns as i64 {
                    res.over_bound += 1;
                    if stalled {
                        res.over_bound_in_stall += 1;
                    } else {
                        res.since_stall_ns.push(since_stall(&t.stalls, txtime));
                        res.in_busy_gap += u64::from(overlaps(&t.busy, txtime, r.rx_tai_ns));
                    }
                }
                if !stalled {
                    res.max_latency_no_stall_ns = res.max_latency_no_stall_ns.max(lat);
                }
            }
        }
    }
    for (i, r) in results.iter_mut().enumerate() {
        let p = &plans[i];
        for k in 0..r.sent {
            if !seen.get(&(i, k)).is_some_and(|h| h.iter().any(|(l, _)| l.ends_with(&stations[p.listener].name))) {
                r.lost += 1;
                let txtime = t.start_ns + k * p.request.period_ns + reported[i].offset_ns;
                let end = txtime + reported[i].latency_ns;
                if overlaps(&t.stalls, txtime, end) {
                    r.lost_in_stall += 1;
                } else {
                    r.since_stall_ns.push(since_stall(&t.stalls, txtime));
                    r.in_busy_gap += u64::from(overlaps(&t.busy, txtime, end));
                }
            }
        }
        r.worst_hops = seen.remove(&(i, r.worst_k)).unwrap_or_default();
        r.worst_hops.sort_by_key(|h| h.1);
    }
    (results, be, be_inside)
}

/// Whether `phase` (within the hyperperiod) lies in one of `windows` (phases; a window
/// whose end is below its start wraps).
fn in_any(windows: &[(u64, u64)], phase: u64) -> bool {
    windows.iter().any(|&(s, e)| if s < e { s <= phase && phase < e } else { phase >= s || phase < e })
}

/// Sends best-effort frames (untagged: class 0) from `ifname`: `per_ms` every millisecond,
/// round robin over `dsts`, until `stop`.
fn flood(
    ifname: &str,
    src: [u8; 6],
    dsts: &[[u8; 6]],
    per_ms: u32,
    stop: &AtomicBool,
    sent: &AtomicU64,
) -> Result<(), DatapathError> {
    let s = PacketSocket::open(ifname).map_err(|e| DatapathError::Io("flood socket".into(), e))?;
    let payload = vec![0u8; FLOOD_FRAME_SIZE as usize - 28];
    let frames: Vec<Vec<u8>> = dsts
        .iter()
        .map(|d| {
            let spec = UdpFrameSpec {
                dst_mac: *d,
                src_mac: src,
                vlan: None,
                src_ip: Ipv4Addr::new(10, 198, 0, 1),
                dst_ip: Ipv4Addr::new(10, 198, 0, 2),
                src_port: FLOOD_PORT,
                dst_port: FLOOD_PORT,
                ip_id: 0,
                tos: 0,
            };
            let mut out = Vec::new();
            build_udp_frame(&spec, &payload, &mut out).map(|_| out)
        })
        .collect::<Result<_, _>>()
        .map_err(|e| DatapathError::Setup(format!("flood frame: {e}")))?;
    let mut k = 0usize;
    while !stop.load(Ordering::Acquire) {
        for _ in 0..per_ms {
            // A full socket buffer is the flood's own problem: best effort.
            if s.send(&frames[k % frames.len()]).is_ok() {
                sent.fetch_add(1, Ordering::Relaxed);
            }
            k += 1;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// The talker: one process per station sending its streams with SO_TXTIME under the shim.
/// Argument: JSON {lead, streams: [{n, dst, port, period, offset, size, count}]}. Prints
/// `ready` once set up, then reads the start time from stdin. Frame k of a stream leaves
/// at start + k·period + offset (CLOCK_TAI) and carries k (u64 LE) first; it is handed
/// over `lead` ns early. Prints {"sent": {n: count}, "errors": e} and the fields of
/// [`TalkerReport`].
pub const TALKER: &str = r#"
import json, socket, struct, sys, time
cfg = json.loads(sys.argv[1])
SO_TXTIME = 61
SCM_TXTIME = 61
lead = cfg["lead"]
socks, nxt, sent = [], [], {}
for s in cfg["streams"]:
    k = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    k.setsockopt(socket.SOL_SOCKET, SO_TXTIME, struct.pack("iI", time.CLOCK_TAI, 0))
    k.setsockopt(socket.SOL_SOCKET, socket.SO_PRIORITY, 7)
    socks.append(k)
    nxt.append(0)
    sent[str(s["n"])] = 0
errors, max_lag, max_lag_steady, after, max_send = 0, 0, 0, 0, 0
streams = cfg["streams"]
print("ready", flush=True)
start = int(sys.stdin.readline())
while True:
    now = time.clock_gettime_ns(time.CLOCK_TAI)
    left = False
    for i, s in enumerate(streams):
        while nxt[i] < s["count"]:
            t = start + nxt[i] * s["period"] + s["offset"]
            if t - lead > now:
                left = True
                break
            lag = now - (t - lead)
            if lag > max_lag:
                max_lag = lag
            if t >= start + 1_000_000_000 and lag > max_lag_steady:
                max_lag_steady = lag
            if now > t:
                after += 1
            pad = b"\0" * max(0, s["size"] - 12)
            try:
                t0 = time.monotonic_ns()
                socks[i].sendmsg([struct.pack("<QI", nxt[i], s["n"]) + pad], [(socket.SOL_SOCKET, SCM_TXTIME, struct.pack("Q", t))], 0, (s["dst"], s["port"]))
                took = time.monotonic_ns() - t0
                if took > max_send:
                    max_send = took
                sent[str(s["n"])] += 1
            except OSError:
                errors += 1
            nxt[i] += 1
    if not left:
        break
    time.sleep(0.002)
print(json.dumps({"sent": sent, "errors": errors, "max_lag_ns": max_lag, "after_txtime": after, "max_send_ns": max_send, "max_lag_steady_ns": max_lag_steady}))
"#;
