//! Arbitrary bytes as a received Ethernet frame (bridge ingress, capture): the parser never
//! panics, and whatever it accepts rebuilds into a frame that parses to the same fields.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsn_datapath::frame::{build_udp_frame, parse_ethernet, parse_udp_frame, parse_udp_frame_with, UdpFrameSpec};

fuzz_target!(|data: &[u8]| {
    let _ = parse_ethernet(data);
    let _ = parse_udp_frame_with(data, false);
    if let Ok(p) = parse_udp_frame(data) {
        let spec = UdpFrameSpec {
            dst_mac: p.eth.dst_mac,
            src_mac: p.eth.src_mac,
            vlan: p.eth.vlan,
            src_ip: p.src_ip,
            dst_ip: p.dst_ip,
            src_port: p.src_port,
            dst_port: p.dst_port,
            ip_id: p.ip_id,
            tos: p.tos,
        };
        let mut out = Vec::new();
        build_udp_frame(&spec, &p.payload, &mut out).expect("a parsed payload fits");
        let again = parse_udp_frame(&out).expect("rebuilt frames parse");
        assert_eq!(again.payload, p.payload);
        assert_eq!(
            (again.src_ip, again.dst_ip, again.src_port, again.dst_port),
            (p.src_ip, p.dst_ip, p.src_port, p.dst_port)
        );
        assert_eq!(again.eth.vlan, p.eth.vlan);
    }
});
