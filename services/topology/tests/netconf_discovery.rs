//! Discovery over NETCONF: every bridge of a testbed line runs one of our NETCONF servers
//! (`tsn_netconf::ssh_server::serve`) whose operational state is its namespace's lldpd
//! (`lldpcli -f json0` through `ip netns exec`, rendered as `ieee802-dot1ab-lldp`) and
//! sysfs port table (as `ietf-interfaces` state). The server runs in this process, on the
//! root-namespace side of the bridge's management link; socat inside the namespace forwards
//! the bridge's port 830 to it, so the device answers NETCONF on its own management
//! address, next to its sshd. Stations are read with lldpcli over SSH as before.
//!
//! Checked: the topology read over NETCONF equals the built one; `auto` uses NETCONF where
//! the LLDP module is offered and lldpcli where nothing answers on 830; a host key that
//! does not match the pinned one on the NETCONF port makes the device unreachable with the
//! reason, and `auto` does not fall back to lldpcli then. Needs root, lldpd, sshd, socat.

mod common;

use std::net::SocketAddrV6;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use common::{converge, expected, start, Managed, Net};
use tokio::net::TcpListener;
use tsn_lldp::dot1ab::{LLDP_MODULE, LLDP_NS, LLDP_REVISION};
use tsn_lldp::{parse_chassis, parse_neighbors, parse_port_table, render_lldp_xml, LldpData, PORT_TABLE_COMMAND};
use tsn_netconf::server::{NetconfServer, RecordingBackend, ServerConfig};
use tsn_netconf::ssh_server::{load_host_key, parse_authorized_keys, serve, SshServerConfig};
use tsn_netconf::state::{filter_selects, StateError, StateProvider};
use tsn_netconf::validate::NoValidation;
use tsn_netconf::xml::{escape, Element};
use tsn_ssh::russh::keys::PublicKey;
use tsn_testbed::{poll_until, Testbed};
use tsn_topology::{DeviceSource, Discoverer, SourceKind};

const IF_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-interfaces";
const BRIDGES: [&str; 3] = ["b0", "b1", "b2"];

/// A bridge's operational state read from its namespace, as a NETCONF device would hold it.
#[derive(Debug)]
struct NamespaceLldp {
    namespace: String,
    lldpd_socket: PathBuf,
    reads: AtomicUsize,
}

impl NamespaceLldp {
    async fn run(&self, argv: &[&str]) -> Result<String, StateError> {
        let out = tokio::process::Command::new("ip")
            .args(["netns", "exec", &self.namespace])
            .args(argv)
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|e| StateError(format!("ip netns exec: {e}")))?;
        if !out.status.success() {
            return Err(StateError(format!("{argv:?}: {}", String::from_utf8_lossy(&out.stderr))));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    async fn lldpcli(&self, args: &[&str]) -> Result<String, StateError> {
        let socket = self.lldpd_socket.display().to_string();
        let mut argv = vec!["lldpcli", "-u", &socket, "-f", "json0"];
        argv.extend_from_slice(args);
        self.run(&argv).await
    }
}

#[async_trait]
impl StateProvider for NamespaceLldp {
    fn capabilities(&self) -> Vec<String> {
        vec![format!("{LLDP_NS}?module={LLDP_MODULE}&revision={LLDP_REVISION}")]
    }

    async fn state(&self, filter: Option<&[Element]>) -> Result<Vec<Element>, StateError> {
        let mut xml = String::new();
        if filter_selects(filter, LLDP_NS, "lldp") {
            self.reads.fetch_add(1, Ordering::Relaxed);
            let chassis =
                parse_chassis(&self.lldpcli(&["show", "chassis"]).await?).map_err(|e| StateError(e.to_string()))?;
            let neighbors = parse_neighbors(&self.lldpcli(&["show", "neighbors", "details"]).await?)
                .map_err(|e| StateError(e.to_string()))?;
            xml.push_str(&render_lldp_xml(&LldpData::from_records(chassis, neighbors)));
        }
        if filter_selects(filter, IF_NS, "interfaces") {
            let table = self.run(&["sh", "-c", PORT_TABLE_COMMAND]).await?;
            let ports = parse_port_table(&table).map_err(|e| StateError(e.to_string()))?;
            xml.push_str(&format!("<interfaces xmlns=\"{IF_NS}\">"));
            for p in ports {
                xml.push_str(&format!("<interface><name>{}</name>", escape(&p.name)));
                if let Some(mac) = &p.mac {
                    xml.push_str(&format!("<phys-address>{mac}</phys-address>"));
                }
                if let Some(speed) = p.speed_bps {
                    xml.push_str(&format!("<speed>{speed}</speed>"));
                }
                let oper = match p.operstate.as_str() {
                    "lowerlayerdown" => "lower-layer-down",
                    s @ ("up" | "down" | "testing" | "dormant") => s,
                    _ => "unknown",
                };
                xml.push_str(&format!("<oper-status>{oper}</oper-status></interface>"));
            }
            xml.push_str("</interfaces>");
        }
        let root = Element::parse(&format!("<state>{xml}</state>")).map_err(|e| StateError(e.to_string()))?;
        Ok(root.children)
    }
}

/// One bridge's NETCONF server and its port 830 inside the namespace.
struct BridgeServer {
    state: Arc<NamespaceLldp>,
    host_public_key: String,
    task: tokio::task::JoinHandle<()>,
    forwarder: Option<Child>,
}

impl BridgeServer {
    /// Stops answering on 830 (the forwarder, started by us, stopped by its pid).
    fn stop_forwarding(&mut self) {
        if let Some(mut child) = self.forwarder.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for BridgeServer {
    fn drop(&mut self) {
        self.stop_forwarding();
        self.task.abort();
    }
}

async fn start_netconf(net: &Net, bridge: &str, client_public: &str) -> BridgeServer {
    let node = net.tb.node(bridge).expect("bridge");
    let mgmt = node.management.clone().expect("management link");
    let (host_key_file, host_public_key) =
        net.tb.generate_client_key(&format!("{bridge}_netconf_host")).expect("NETCONF host key");
    let state = Arc::new(NamespaceLldp {
        namespace: node.namespace.clone(),
        lldpd_socket: net.endpoints.iter().find(|e| e.node.0 == bridge).unwrap().lldpcli_socket.clone().unwrap(),
        reads: AtomicUsize::new(0),
    });
    let config = ServerConfig::new(bridge, Arc::new(NoValidation), Arc::new(RecordingBackend::new()));
    let netconf = NetconfServer::start_with_state(config, state.clone());
    // The root-namespace end of the management link: reachable from the namespace only.
    let listen = SocketAddrV6::new(tsn_testbed::HOST_MANAGEMENT_ADDR, 0, 0, mgmt.host_ifindex);
    let listener = TcpListener::bind(listen).await.expect("bind on the management link");
    let port = listener.local_addr().unwrap().port();
    let ssh = SshServerConfig {
        host_key: load_host_key(&host_key_file).expect("host key"),
        authorized_keys: parse_authorized_keys(client_public).expect("client key"),
        users: vec!["root".into()],
        inactivity_timeout: Some(Duration::from_secs(60)),
    };
    let task = tokio::spawn(async move {
        let _ = serve(listener, ssh, netconf).await;
    });
    let target = format!("TCP6:[{}%{}]:{port}", tsn_testbed::HOST_MANAGEMENT_ADDR, tsn_testbed::MANAGEMENT_INTERFACE);
    let forwarder = Command::new("ip")
        .args(["netns", "exec", &node.namespace, "socat", "TCP6-LISTEN:830,reuseaddr,fork", &target])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("these tests need socat (scripts/setup)");
    let addr = mgmt.node_addr(830);
    poll_until(Duration::from_secs(20), "socat to listen on 830", || {
        std::net::TcpStream::connect_timeout(&addr.into(), Duration::from_secs(1)).ok()
    })
    .expect("NETCONF port of the bridge");
    BridgeServer { state, host_public_key, task, forwarder: Some(forwarder) }
}

fn line() -> tsn_testbed::TestbedBuilder {
    let mut b = Testbed::builder();
    for x in BRIDGES {
        b = b.bridge(x);
    }
    for i in 0..BRIDGES.len() {
        b = b.station(&format!("e{i}"));
    }
    b.cable("b0", "b1").cable("b1", "b2").cable("e0", "b0").cable("e1", "b1").cable("e2", "b2")
}

fn device_index(net: &Net, name: &str) -> usize {
    net.config.devices.iter().position(|d| d.name == name).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_read_over_netconf_is_discovered_as_built() {
    let mut net = start(line(), |_| Managed::Ssh, false);
    let client_key = net.config.devices[0].key.clone();
    let client_public = std::fs::read_to_string(format!("{}.pub", client_key.display())).unwrap();
    let mut servers = Vec::new();
    for b in BRIDGES {
        let server = start_netconf(&net, b, &client_public).await;
        let i = device_index(&net, b);
        let d = &mut net.config.devices[i];
        d.source = SourceKind::Netconf;
        d.netconf_port = 830;
        d.netconf_host_key = Some(server.host_public_key.clone());
        // Never used over NETCONF: a read through lldpcli would fail.
        d.lldpcli = "false".to_owned();
        servers.push(server);
    }
    let want = expected(&net);
    assert_eq!((want.nodes.len(), want.links.len()), (6, 10));
    let source = Arc::new(DeviceSource::from_file(None, Duration::from_secs(15)).unwrap());
    let discoverer = Discoverer::new(net.config.clone(), source.clone());
    let (got, elapsed) = converge(&discoverer, &want).await;
    assert!(got.topology.links.iter().all(|l| l.ports.from_mac.is_some() && l.ports.to_mac.is_some()));
    for (b, s) in BRIDGES.iter().zip(&servers) {
        assert!(s.state.reads.load(Ordering::Relaxed) > 0, "{b} was not read over NETCONF");
    }
    println!(
        "netconf line: {} nodes, {} directed links discovered = built, {:.1} s after lldpd start",
        got.topology.nodes.len(),
        got.topology.links.len(),
        elapsed.as_secs_f64()
    );

    // auto: b0 offers the LLDP module → NETCONF; b1 answers nothing on 830 → lldpcli over
    // SSH (with the real lldpcli command again).
    let (b0, b1) = (device_index(&net, "b0"), device_index(&net, "b1"));
    let lldpcli_of_b1 = {
        let ep = net.endpoints.iter().find(|e| e.node.0 == "b1").unwrap();
        format!("lldpcli -u {}", ep.lldpcli_socket.as_ref().unwrap().display())
    };
    servers[1].stop_forwarding();
    let mut config = net.config.clone();
    config.devices[b0].source = SourceKind::Auto;
    config.devices[b1].source = SourceKind::Auto;
    config.devices[b1].lldpcli = lldpcli_of_b1;
    let reads_b0 = servers[0].state.reads.load(Ordering::Relaxed);
    let reads_b1 = servers[1].state.reads.load(Ordering::Relaxed);
    let auto = Discoverer::new(config.clone(), source.clone());
    let got = auto.discover().await;
    assert!(got.unreachable.is_empty(), "{:?}", got.unreachable);
    assert_eq!(got.topology, want);
    assert!(servers[0].state.reads.load(Ordering::Relaxed) > reads_b0, "auto read b0 over NETCONF");
    assert_eq!(servers[1].state.reads.load(Ordering::Relaxed), reads_b1, "b1 has no NETCONF any more");

    // b1 forced to NETCONF now: unreachable, with the reason.
    config.devices[b1].source = SourceKind::Netconf;
    let got = Discoverer::new(config.clone(), source.clone()).discover().await;
    assert_eq!(got.unreachable.len(), 1, "{:?}", got.unreachable);
    assert_eq!(got.unreachable[0].0, "b1");
    println!("b1 without NETCONF: {}", got.unreachable[0].1);
    assert!(got.unreachable[0].1.to_lowercase().contains("refused"), "{}", got.unreachable[0].1);
    drop(servers);
    net.tb.teardown().expect("teardown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_host_key_on_the_netconf_port_is_refused_even_with_auto() {
    let mut net = start(line(), |_| Managed::Ssh, false);
    let client_key = net.config.devices[0].key.clone();
    let client_public = std::fs::read_to_string(format!("{}.pub", client_key.display())).unwrap();
    let mut servers = Vec::new();
    for b in BRIDGES {
        servers.push(start_netconf(&net, b, &client_public).await);
    }
    // b1 pins b0's NETCONF key (netconf), b2 pins b0's too with auto: both refused; b0 is
    // read over NETCONF with its own key.
    let impostor = servers[0].host_public_key.clone();
    for (b, kind, key) in [
        ("b0", SourceKind::Netconf, servers[0].host_public_key.clone()),
        ("b1", SourceKind::Netconf, impostor.clone()),
        ("b2", SourceKind::Auto, impostor.clone()),
    ] {
        let i = device_index(&net, b);
        net.config.devices[i].source = kind;
        net.config.devices[i].netconf_host_key = Some(key);
    }
    let source = Arc::new(DeviceSource::from_file(None, Duration::from_secs(15)).unwrap());
    let d = Discoverer::new(net.config.clone(), source);
    let deadline = Instant::now() + common::CONVERGE_TIMEOUT;
    let got = loop {
        let got = d.discover().await;
        assert!(got.topology.nodes.iter().all(|n| n.id.0 != "b1" && n.id.0 != "b2"), "{:#?}", got.topology);
        // What is left: b0 with e0; e1 and e2 are read over SSH but their bridges are out.
        if got.topology.links.len() == 2 || Instant::now() > deadline {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let mut want = expected(&net);
    want.nodes.retain(|n| !["b1", "b2"].contains(&n.id.0.as_str()));
    want.links.retain(|l| ["b0", "e0"].contains(&l.from.0.as_str()) && ["b0", "e0"].contains(&l.to.0.as_str()));
    assert_eq!(got.topology, want);
    let reasons: std::collections::BTreeMap<_, _> = got.unreachable.iter().cloned().collect();
    assert_eq!(reasons.keys().collect::<Vec<_>>(), ["b1", "b2"], "{reasons:?}");
    let expected_fp = tsn_ssh::fingerprint(&PublicKey::from_openssh(&impostor).unwrap());
    for (b, server) in [("b1", &servers[1]), ("b2", &servers[2])] {
        let got_fp = tsn_ssh::fingerprint(&PublicKey::from_openssh(&server.host_public_key).unwrap());
        let reason = &reasons[b];
        assert!(reason.contains("host key mismatch"), "{b}: {reason}");
        assert!(reason.contains(&format!("expected {expected_fp}, got {got_fp}")), "{b}: {reason}");
        assert!(reason.contains(":830"), "{b}: the NETCONF port is named: {reason}");
        println!("{b}: {reason}");
    }
    assert_eq!(servers[1].state.reads.load(Ordering::Relaxed), 0, "nothing was read from b1");
    assert_eq!(servers[2].state.reads.load(Ordering::Relaxed), 0, "nothing was read from b2");
    drop(servers);
    net.tb.teardown().expect("teardown");
}
