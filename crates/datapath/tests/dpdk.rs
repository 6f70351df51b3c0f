//! DPDK backend (feature `dpdk`): frames sent through a `net_af_packet` vdev (EAL with
//! `--no-huge --no-pci`) on a veth arrive intact, tag and checksums included, in the peer
//! namespace. Run with `cargo test -p tsn-datapath --features dpdk --test dpdk`.
#![cfg(feature = "dpdk")]

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use tsn_datapath::dpdk::DpdkTx;
use tsn_datapath::frame::{build_udp_frame, UdpFrameSpec, VlanTag};
use tsn_datapath::netns::{in_netns, unique_prefix, Capture, Netns};
use tsn_datapath::TxBackend;

#[test]
fn frames_sent_through_dpdk_arrive_intact() {
    common::require_root();
    let p = unique_prefix();
    let (na, nb) = (format!("{p}a"), format!("{p}b"));
    let ns = Netns::create(&[na.clone(), nb.clone()]).unwrap();
    let (a, b) = ns.veth((&na, &format!("{p}a0")), (&nb, &format!("{p}b0")), [10, 217, 1]).unwrap();
    let capture = Capture::start(&nb, &b.ifname, vec![8800]).unwrap();
    let ifname = a.ifname.clone();
    let (a_ip, b_ip) = (a.ip, b.ip);
    in_netns(&na, move || {
        let mut tx = DpdkTx::open_af_packet(&ifname)?;
        for k in 0..100u32 {
            let spec = UdpFrameSpec {
                dst_mac: [0xff; 6],
                src_mac: [2, 0, 0, 0, 0, 1],
                vlan: Some(VlanTag { pcp: 4, dei: false, vid: 0 }),
                src_ip: a_ip,
                dst_ip: b_ip,
                src_port: 4000,
                dst_port: 8800,
                ip_id: k as u16,
                tos: 0,
            };
            let mut f = Vec::new();
            build_udp_frame(&spec, &k.to_le_bytes(), &mut f).expect("frame");
            tx.send(&f)?;
            std::thread::sleep(Duration::from_micros(200));
        }
        Ok(())
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let got = capture.finish().unwrap();
    drop(ns);
    assert_eq!(got.len(), 100);
    for (k, r) in got.iter().enumerate() {
        assert_eq!(r.frame.eth.vlan.map(|v| v.pcp), Some(4));
        assert_eq!((r.frame.src_ip, r.frame.src_port), (a_ip, 4000));
        assert_eq!(r.frame.payload, (k as u32).to_le_bytes());
        assert_ne!(r.frame.dst_ip, Ipv4Addr::UNSPECIFIED);
    }
}
