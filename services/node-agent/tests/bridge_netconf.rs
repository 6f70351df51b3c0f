//! Bridge role configured over NETCONF, end to end: a testbed (h1 — br — h2, with a
//! management network) where `node-agent bridge` runs in br's namespace on ports p0 and p1
//! and serves NETCONF over SSH. Our NETCONF client (tsn-netconf over tsn-ssh, host key
//! pinned) commits a gate-parameter-table on p1 (towards h2) that closes class 5 for the
//! second half of each 1 ms cycle. Frames h1 sends through the bridge with PCP 5 reach h2
//! in both halves before the commit and only inside the open half after it (bar the
//! overruns the engine counts), PCP 0 frames in both halves; the running datastore reads
//! back the committed table; a table for a port the bridge does not have is refused at
//! commit and changes nothing; the agent's final counters balance.

mod common;

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Agent;
use tsn_datapath::frame::{build_udp_frame, parse_mac, UdpFrameSpec, VlanTag};
use tsn_datapath::netns::{in_netns, Capture, Received};
use tsn_datapath::sys::PacketSocket;
use tsn_datapath::{Clock, DatapathError, GateEntry, Gcl};
use tsn_model::{GateControlEntry, GateControlList, LinkId};
use tsn_netconf::render::{gate_tables, render, RenderOptions, SchedVariant};
use tsn_netconf::ssh_server::parse_authorized_keys;
use tsn_netconf::{ClientOptions, Datastore, EditConfig, PortGcl};
use tsn_testbed::Testbed;

const CYCLE_NS: u64 = 1_000_000;
const CLOSED_CLASS: u8 = 5;
/// Class 5's gate: open for the first half of the cycle, closed for the second; every other
/// class always open.
const ENTRIES: [(u8, u64); 2] = [(0xff, 500_000), (!(1 << CLOSED_CLASS), 500_000)];
const PORT_BEFORE: u16 = 9100;
const PORT_AFTER: u16 = 9101;

fn frame(src: [u8; 6], dst: [u8; 6], pcp: u8, port: u16, seq: u32) -> Vec<u8> {
    let spec = UdpFrameSpec {
        dst_mac: dst,
        src_mac: src,
        vlan: Some(VlanTag { pcp, dei: false, vid: 0 }),
        src_ip: Ipv4Addr::new(10, 77, 0, 1),
        dst_ip: Ipv4Addr::new(10, 77, 0, 2),
        src_port: 4000,
        dst_port: port,
        ip_id: seq as u16,
        tos: 0,
    };
    let mut out = Vec::new();
    build_udp_frame(&spec, &seq.to_le_bytes(), &mut out).unwrap();
    out
}

/// Sends `frames` from `ifname` in `netns`, one every `gap` (spread over many cycles, so
/// they meet the bridge at every phase of the cycle).
fn send_from(netns: &str, ifname: &str, frames: Vec<Vec<u8>>, gap: Duration) {
    let i = ifname.to_string();
    in_netns(netns, move || {
        let s = PacketSocket::open(&i).map_err(|e| DatapathError::Io("tx".into(), e))?;
        for f in frames {
            s.send(&f).map_err(|e| DatapathError::Io("send".into(), e))?;
            std::thread::sleep(gap);
        }
        Ok(())
    })
    .unwrap();
}

fn pcp(r: &Received) -> u8 {
    r.frame.eth.vlan.expect("the tag is kept across the bridge").pcp
}

fn counter(line: &str, name: &str) -> u64 {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {line:?}"))
}

#[test]
fn netconf_committed_gcl_gates_forwarded_frames() {
    let tb = Testbed::builder()
        .station("h1")
        .station("h2")
        .bridge("br")
        .cable("h1", "br")
        .cable("br", "h2")
        .management_network()
        .build()
        .expect("testbed (needs root, iproute2, lldpd)");
    let (h1, h2, br) = (tb.namespace("h1").unwrap(), tb.namespace("h2").unwrap(), tb.namespace("br").unwrap());
    let (h1_port, br_to_h1) = (tb.port("h1", "br").unwrap(), tb.port("br", "h1").unwrap());
    let (h2_port, br_to_h2) = (tb.port("h2", "br").unwrap(), tb.port("br", "h2").unwrap());
    let h1_mac = parse_mac(&tb.interface_mac("h1", h1_port).unwrap()).unwrap();
    let h2_mac = parse_mac(&tb.interface_mac("h2", h2_port).unwrap()).unwrap();

    // SSH: a host key for the bridge, a client key it authorizes.
    let (host_key, host_line) = tsn_testbed::ssh_keygen(tb.dir(), "br-host-key").unwrap();
    let host_public = parse_authorized_keys(&host_line).unwrap().remove(0);
    let (client_key, client_public) = tb.generate_client_key("cnc").unwrap();
    let authorized = tb.dir().join("authorized_keys");
    std::fs::write(&authorized, format!("{client_public}\n")).unwrap();

    let (hk, ak) = (host_key.display().to_string(), authorized.display().to_string());
    let mut agent = Agent::start(
        br,
        &[
            "bridge",
            "--name",
            "br",
            "--port",
            br_to_h1,
            "--port",
            br_to_h2,
            "--netconf-listen",
            "[::]:0",
            "--host-key",
            &hk,
            "--authorized-keys",
            &ak,
            "--user",
            "cnc",
        ],
        &tb.dir().join("bridge.stderr"),
    );
    let netconf_addr = agent.wait_value("netconf", Duration::from_secs(60));
    let netconf_port: u16 = netconf_addr.rsplit(':').next().unwrap().parse().unwrap();

    // 1. No gate table yet: class 5 crosses the bridge at every phase of the cycle.
    let cap = Capture::start(h2, h2_port, vec![PORT_BEFORE]).unwrap();
    let before: Vec<Vec<u8>> = (0..300u32).map(|k| frame(h1_mac, h2_mac, CLOSED_CLASS, PORT_BEFORE, k)).collect();
    send_from(h1, h1_port, before, Duration::from_micros(70));
    std::thread::sleep(Duration::from_millis(100));
    let before = cap.finish().unwrap();
    assert!(!before.is_empty(), "frames cross the bridge\n{}", agent.diagnostics());

    // 2. Commit the table over NETCONF (and try one for a port the bridge does not have).
    let base = Clock::Tai.now_ns() / CYCLE_NS * CYCLE_NS;
    let entries: Vec<GateControlEntry> =
        ENTRIES.iter().map(|&(g, i)| GateControlEntry { gate_states: g, interval_ns: i }).collect();
    let table = |iface: &str| PortGcl {
        interface: iface.to_string(),
        gcl: GateControlList {
            port: LinkId::new("br", "h2"),
            base_time_ns: 0,
            cycle_time_ns: CYCLE_NS,
            entries: entries.clone(),
        },
    };
    let config =
        |iface: &str| render(&[table(iface)], &RenderOptions::new(SchedVariant::Qcw2023, base)).unwrap().to_xml();
    let mgmt = tb.node("br").unwrap().management.clone().expect("management link");
    let mut known = tsn_ssh::KnownHosts::in_memory();
    known.trust(&mgmt.node_host(), netconf_port, &host_public);
    let ssh =
        tsn_ssh::ClientConfig::new(mgmt.node_host(), netconf_port, "cnc", &client_key, Arc::new(Mutex::new(known)));
    let (good, bad, wanted_port) = (config(br_to_h2), config("p7"), br_to_h2.to_string());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (refused, tables) = rt
        .block_on(async move {
            let mut c = tsn_netconf::ssh::connect(ssh, ClientOptions::default()).await?;
            c.edit_config(&EditConfig::merge(Datastore::Candidate, bad)).await?;
            let refused = c.commit().await.expect_err("a table for a port the bridge lacks is refused");
            c.discard_changes().await?;
            let untouched = gate_tables(&c.get_config(Datastore::Running, None).await?, "br").unwrap();
            assert!(untouched.is_empty(), "a refused commit changes nothing: {untouched:?}");
            c.edit_config(&EditConfig::merge(Datastore::Candidate, good)).await?;
            c.commit().await?;
            let tables = gate_tables(&c.get_config(Datastore::Running, None).await?, "br").unwrap();
            c.close().await?;
            Ok::<_, tsn_netconf::NetconfError>((refused, tables))
        })
        .unwrap_or_else(|e| panic!("NETCONF: {e}\n{}", agent.diagnostics()));
    assert!(refused.to_string().contains("p7"), "the refusal names the port: {refused}");
    assert_eq!(tables.len(), 1, "{tables:?}");
    assert_eq!(tables[0].interface, wanted_port);
    assert!(tables[0].gate_enabled);
    assert_eq!(tables[0].gcl.entries, entries, "get-config returns the committed list");
    assert_eq!((tables[0].gcl.base_time_ns, tables[0].gcl.cycle_time_ns), (base, CYCLE_NS));

    // 3. Class 5 (and class 0, always open) through the gated port.
    let cap = Capture::start(h2, h2_port, vec![PORT_AFTER]).unwrap();
    let after: Vec<Vec<u8>> =
        (0..2000u32).map(|k| frame(h1_mac, h2_mac, if k % 2 == 0 { CLOSED_CLASS } else { 0 }, PORT_AFTER, k)).collect();
    send_from(h1, h1_port, after, Duration::from_micros(30));
    std::thread::sleep(Duration::from_millis(100));
    let after = cap.finish().unwrap();
    let (status, rest) = agent.terminate(Duration::from_secs(20));
    assert!(status.success(), "bridge exit {status}\n{}", agent.diagnostics());
    let line = rest.iter().find(|l| l.starts_with("counters ")).expect("final counters line").clone();
    drop(tb);

    let gcl =
        Gcl::new(base, CYCLE_NS, ENTRIES.iter().map(|&(g, i)| GateEntry { gate_states: g, interval_ns: i }).collect())
            .unwrap();
    let closed_half = |r: &Received| !gcl.is_open(CLOSED_CLASS, r.rx_tai_ns);
    assert!(
        before.iter().any(closed_half),
        "before the commit class 5 also arrives in the half that the table will close ({} frames)",
        before.len()
    );
    let class5: Vec<&Received> = after.iter().filter(|r| pcp(r) == CLOSED_CLASS).collect();
    let class0: Vec<&Received> = after.iter().filter(|r| pcp(r) == 0).collect();
    assert!(
        class5.len() > 200 && class0.len() > 200,
        "{} class 5, {} class 0 of 1000 each",
        class5.len(),
        class0.len()
    );
    assert!(class0.iter().any(|r| closed_half(r)), "class 0 keeps using the whole cycle");
    let in_closed = class5.iter().filter(|r| closed_half(r)).count() as u64;
    let (submitted, sent, late, dropped) =
        (counter(&line, "submitted"), counter(&line, "sent"), counter(&line, "late"), counter(&line, "dropped"));
    eprintln!("bridge {line}; class 5 in the closed half: {in_closed} of {}", class5.len());
    assert_eq!(sent + late + dropped, submitted, "every frame accounted: {line}");
    assert!(counter(&line, "held") > 0, "class 5 frames arriving in the closed half were held: {line}");
    assert!(
        in_closed <= counter(&line, "gate_overruns"),
        "{in_closed} class 5 frames left inside the closed half; the engine counted {line}"
    );
}
