//! Bridge role on real veths: a namespace `br` bridges three hosts through the engine.
//! Learning (unknown destinations flooded, learnt ones forwarded to one port only), static
//! entries, and the egress port's GCL applied to forwarded frames by their PCP.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use tsn_datapath::bridge::{open_rx_socket, spawn_rx};
use tsn_datapath::frame::{build_udp_frame, UdpFrameSpec, VlanTag};
use tsn_datapath::netns::{in_netns, unique_prefix, Capture, Netns};
use tsn_datapath::sys::{self, PacketSocket};
use tsn_datapath::{
    AfPacketTx, BridgeConfig, Clock, DatapathError, DatapathSchedule, EngineConfig, EngineHandle, GateEntry, Gcl,
    PortSchedule, PortSpec, StaticEntry, TxBackend,
};

const CYCLE_NS: u64 = 200_000;

fn mac_of(netns: &str, ifname: &str) -> [u8; 6] {
    let i = ifname.to_string();
    in_netns(netns, move || sys::if_addresses(&i).map(|a| a.0).map_err(|e| DatapathError::Io("mac".into(), e))).unwrap()
}

fn frame(src: [u8; 6], dst: [u8; 6], pcp: u8, port: u16, seq: u32) -> Vec<u8> {
    let spec = UdpFrameSpec {
        dst_mac: dst,
        src_mac: src,
        vlan: Some(VlanTag { pcp, dei: false, vid: 0 }),
        src_ip: Ipv4Addr::new(10, 9, 0, 1),
        dst_ip: Ipv4Addr::new(10, 9, 0, 2),
        src_port: 1000,
        dst_port: port,
        ip_id: seq as u16,
        tos: 0,
    };
    let mut out = Vec::new();
    build_udp_frame(&spec, &seq.to_le_bytes(), &mut out).unwrap();
    out
}

/// Sends `frames` from `ifname` in `netns`, one every `gap`.
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

#[test]
fn forwards_learns_floods_and_applies_the_egress_gcl() {
    common::require_root();
    let p = unique_prefix();
    let (h1, h2, h3, br) = (format!("{p}h1"), format!("{p}h2"), format!("{p}h3"), format!("{p}br"));
    let ns = Netns::create(&[h1.clone(), h2.clone(), h3.clone(), br.clone()]).unwrap();
    let mut links = Vec::new();
    for (i, h) in [&h1, &h2, &h3].into_iter().enumerate() {
        let (host, bridge) = ns.veth((h, &format!("{p}e{i}")), (&br, &format!("{p}p{i}")), [10, 216, i as u8]).unwrap();
        links.push((host, bridge));
    }
    let host_mac: Vec<[u8; 6]> = links.iter().map(|(h, _)| mac_of(&h.netns, &h.ifname)).collect();
    let base = Clock::Tai.now_ns() / CYCLE_NS * CYCLE_NS;
    // Egress to h2: class 7 open [0, 100 µs), classes 0–6 open [100, 200 µs).
    let gcl = Gcl::new(
        base,
        CYCLE_NS,
        vec![
            GateEntry { gate_states: 0x80, interval_ns: 100_000 },
            GateEntry { gate_states: 0x7f, interval_ns: 100_000 },
        ],
    )
    .unwrap();

    let engine = EngineHandle::start(EngineConfig { netns: Some(br.clone()), ..EngineConfig::default() }).unwrap();
    let mut rx_threads = Vec::new();
    let names: Vec<String> = links.iter().map(|(_, b)| b.ifname.clone()).collect();
    for name in &names {
        let n = name.clone();
        let (mac, tx, rx) = in_netns(&br, move || {
            let mac = sys::if_addresses(&n).map_err(|e| DatapathError::Io("mac".into(), e))?.0;
            Ok((mac, AfPacketTx::open(&n)?, open_rx_socket(&n)?))
        })
        .unwrap();
        engine
            .add_port(
                PortSpec {
                    name: name.clone(),
                    mac,
                    ipv4: None,
                    rate_bps: 1_000_000_000,
                    gcl: None,
                    tx_guard_ns: 20_000,
                },
                Box::new(tx) as Box<dyn TxBackend>,
            )
            .unwrap();
        rx_threads.push(spawn_rx(&engine, name, rx).unwrap());
    }
    engine
        .apply(DatapathSchedule {
            generation: 1,
            ports: vec![PortSchedule { name: names[1].clone(), rate_bps: 0, gcl: Some(gcl.clone()) }],
            streams: vec![],
        })
        .unwrap();
    // A static entry sends a made-up station's frames to h3 without learning.
    let static_mac = [0x02, 0x5a, 0, 0, 0, 0x33];
    engine
        .configure_bridge(BridgeConfig {
            ports: names.clone(),
            static_entries: vec![StaticEntry { mac: static_mac, port: names[2].clone() }],
            learning: true,
            ..BridgeConfig::default()
        })
        .unwrap();

    let caps: Vec<Capture> =
        links.iter().map(|(h, _)| Capture::start(&h.netns, &h.ifname, vec![9000, 9001, 9002]).unwrap()).collect();
    // 1. h2 announces itself with a broadcast: flooded to h1 and h3, h2 learnt on port 1.
    send_from(&h2, &links[1].0.ifname, vec![frame(host_mac[1], [0xff; 6], 0, 9000, 0)], Duration::ZERO);
    std::thread::sleep(Duration::from_millis(50));
    // 2. h1 sends 2000 frames to h2 (alternating PCP 7 and 0) and 20 to the static station.
    let to_h2: Vec<Vec<u8>> =
        (0..2000u32).map(|k| frame(host_mac[0], host_mac[1], if k % 2 == 0 { 7 } else { 0 }, 9001, k)).collect();
    send_from(&h1, &links[0].0.ifname, to_h2, Duration::from_micros(20));
    let to_static: Vec<Vec<u8>> = (0..20u32).map(|k| frame(host_mac[0], static_mac, 3, 9002, k)).collect();
    send_from(&h1, &links[0].0.ifname, to_static, Duration::ZERO);
    let counters = engine.wait_idle(Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(50));
    let got: Vec<_> = caps.into_iter().map(|c| c.finish().unwrap()).collect();
    drop(rx_threads);
    engine.stop();
    drop(ns);

    let count = |host: usize, port: u16| got[host].iter().filter(|r| r.frame.dst_port == port).count();
    assert_eq!(count(0, 9000), 1, "broadcast flooded to h1");
    assert_eq!(count(2, 9000), 1, "broadcast flooded to h3");
    assert_eq!(count(2, 9001), 0, "after learning, frames to h2 are not flooded to h3");
    assert_eq!(count(2, 9002), 20, "static entry forwards to h3");
    assert_eq!(count(1, 9002), 0, "…and nowhere else");
    let t = counters.total;
    eprintln!("bridge counters: {t:?}");
    assert_eq!(t.accounted(), t.submitted, "sent + late + dropped = submitted");
    let to_h2 = count(1, 9001) as u64;
    assert!(to_h2 > 1000, "most of the 2000 frames reached h2 ({to_h2})");
    let mut in_closed = 0;
    for r in got[1].iter().filter(|r| r.frame.dst_port == 9001) {
        let pcp = r.frame.eth.vlan.expect("tag kept across the bridge").pcp;
        let seq = u32::from_le_bytes(r.frame.payload[..4].try_into().unwrap());
        assert_eq!(pcp, if seq % 2 == 0 { 7 } else { 0 });
        if !gcl.is_open(pcp, r.rx_tai_ns) {
            in_closed += 1;
        }
    }
    assert!(
        in_closed <= t.gate_overruns,
        "{in_closed} frames in closed windows, {} detected overruns",
        t.gate_overruns
    );
}
