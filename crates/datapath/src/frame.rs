//! Ethernet/802.1Q/IPv4/UDP frames: built by the engine, parsed by the bridge, the receiver
//! side of the tests and the benchmark.
//!
//! Built frames carry valid IPv4 header and UDP checksums, the DF bit, TTL 64 and are
//! zero-padded to the 60-byte Ethernet minimum (the NIC adds the FCS). Parsing accepts
//! frames with or without one 802.1Q tag, checks both checksums and every length, and
//! never panics on arbitrary input.

use std::net::Ipv4Addr;

/// Ethertype of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// Ethertype (TPID) of an 802.1Q C-tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// Smallest Ethernet frame without FCS.
pub const MIN_FRAME_LEN: usize = 60;
/// Bytes the wire adds to a frame as handed to the NIC: FCS 4 + preamble/SFD 8 + IFG 12.
pub const WIRE_EXTRA_BYTES: usize = 24;
/// Ethernet + tag + IPv4 + UDP header bytes in front of the payload of a tagged frame.
pub const TAGGED_HEADER_LEN: usize = 14 + 4 + 20 + 8;

/// An 802.1Q tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct VlanTag {
    /// Priority code point (0–7).
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN id (0 = priority-tagged only; 1–4094).
    pub vid: u16,
}

impl VlanTag {
    /// The tag control information field.
    pub fn tci(&self) -> u16 {
        (u16::from(self.pcp & 7) << 13) | (u16::from(self.dei) << 12) | (self.vid & 0x0fff)
    }

    /// The tag of a TCI field.
    pub fn from_tci(tci: u16) -> VlanTag {
        VlanTag { pcp: (tci >> 13) as u8, dei: tci & 0x1000 != 0, vid: tci & 0x0fff }
    }
}

/// Addresses of a UDP frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpFrameSpec {
    /// Destination MAC.
    pub dst_mac: [u8; 6],
    /// Source MAC.
    pub src_mac: [u8; 6],
    /// 802.1Q tag, if any.
    pub vlan: Option<VlanTag>,
    /// Source IPv4 address.
    pub src_ip: Ipv4Addr,
    /// Destination IPv4 address.
    pub dst_ip: Ipv4Addr,
    /// Source UDP port.
    pub src_port: u16,
    /// Destination UDP port.
    pub dst_port: u16,
    /// IPv4 identification field.
    pub ip_id: u16,
    /// DSCP/ECN byte.
    pub tos: u8,
}

/// Why a frame could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Payload too large for one IPv4 datagram.
    #[error("UDP payload of {0} bytes does not fit in one IPv4 datagram")]
    TooLarge(usize),
    /// Input shorter than its headers say.
    #[error("truncated frame: {0}")]
    Truncated(&'static str),
    /// Not IPv4/UDP.
    #[error("not an IPv4/UDP frame: {0}")]
    NotUdp(&'static str),
    /// A checksum does not verify.
    #[error("bad {0} checksum")]
    BadChecksum(&'static str),
    /// A header field is invalid.
    #[error("invalid header: {0}")]
    Invalid(&'static str),
}

fn sum16(data: &[u8], mut acc: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(u16::from_be_bytes([*last, 0]));
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Internet checksum of `data`.
pub fn internet_checksum(data: &[u8]) -> u16 {
    fold(sum16(data, 0))
}

fn udp_checksum(src: Ipv4Addr, dst: Ipv4Addr, udp: &[u8]) -> u16 {
    let mut acc = sum16(&src.octets(), 0);
    acc = sum16(&dst.octets(), acc);
    acc += 17 + udp.len() as u32;
    let c = fold(sum16(udp, acc));
    // 0 means "no checksum" in UDP over IPv4; a computed 0 is sent as all ones.
    if c == 0 {
        0xffff
    } else {
        c
    }
}

/// Builds a UDP frame carrying `payload` into `out` (cleared first).
pub fn build_udp_frame(spec: &UdpFrameSpec, payload: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
    let udp_len = 8 + payload.len();
    let ip_len = 20 + udp_len;
    if ip_len > usize::from(u16::MAX) {
        return Err(FrameError::TooLarge(payload.len()));
    }
    out.clear();
    out.extend_from_slice(&spec.dst_mac);
    out.extend_from_slice(&spec.src_mac);
    if let Some(tag) = spec.vlan {
        out.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        out.extend_from_slice(&tag.tci().to_be_bytes());
    }
    out.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    let ip_off = out.len();
    out.extend_from_slice(&[0x45, spec.tos]);
    out.extend_from_slice(&(ip_len as u16).to_be_bytes());
    out.extend_from_slice(&spec.ip_id.to_be_bytes());
    out.extend_from_slice(&[0x40, 0x00, 64, 17, 0, 0]); // DF, TTL 64, UDP, checksum later
    out.extend_from_slice(&spec.src_ip.octets());
    out.extend_from_slice(&spec.dst_ip.octets());
    let c = internet_checksum(&out[ip_off..ip_off + 20]);
    out[ip_off + 10..ip_off + 12].copy_from_slice(&c.to_be_bytes());
    let udp_off = out.len();
    out.extend_from_slice(&spec.src_port.to_be_bytes());
    out.extend_from_slice(&spec.dst_port.to_be_bytes());
    out.extend_from_slice(&(udp_len as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(payload);
    let c = udp_checksum(spec.src_ip, spec.dst_ip, &out[udp_off..]);
    out[udp_off + 6..udp_off + 8].copy_from_slice(&c.to_be_bytes());
    if out.len() < MIN_FRAME_LEN {
        out.resize(MIN_FRAME_LEN, 0);
    }
    Ok(())
}

/// The Ethernet header of any frame (for bridging): destination, source, optional tag and
/// the offset of the payload after the (inner) ethertype.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EthernetHeader {
    /// Destination MAC.
    pub dst_mac: [u8; 6],
    /// Source MAC.
    pub src_mac: [u8; 6],
    /// The 802.1Q tag, if the frame carries one in its bytes.
    pub vlan: Option<VlanTag>,
    /// Ethertype after the tag.
    pub ethertype: u16,
    /// Offset of the first byte after the ethertype.
    pub payload_offset: usize,
}

/// Parses the Ethernet header (and one 802.1Q tag).
pub fn parse_ethernet(frame: &[u8]) -> Result<EthernetHeader, FrameError> {
    if frame.len() < 14 {
        return Err(FrameError::Truncated("ethernet header"));
    }
    let mut dst_mac = [0u8; 6];
    let mut src_mac = [0u8; 6];
    dst_mac.copy_from_slice(&frame[0..6]);
    src_mac.copy_from_slice(&frame[6..12]);
    let mut ethertype = u16::from_be_bytes([frame[12], frame[13]]);
    let mut off = 14;
    let mut vlan = None;
    if ethertype == ETHERTYPE_VLAN {
        if frame.len() < 18 {
            return Err(FrameError::Truncated("802.1Q tag"));
        }
        vlan = Some(VlanTag::from_tci(u16::from_be_bytes([frame[14], frame[15]])));
        ethertype = u16::from_be_bytes([frame[16], frame[17]]);
        off = 18;
    }
    Ok(EthernetHeader { dst_mac, src_mac, vlan, ethertype, payload_offset: off })
}

/// A parsed, checksum-verified UDP frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedUdpFrame {
    /// Ethernet header.
    pub eth: EthernetHeader,
    /// Source IPv4 address.
    pub src_ip: Ipv4Addr,
    /// Destination IPv4 address.
    pub dst_ip: Ipv4Addr,
    /// IPv4 TTL.
    pub ttl: u8,
    /// IPv4 identification.
    pub ip_id: u16,
    /// DSCP/ECN byte.
    pub tos: u8,
    /// Source UDP port.
    pub src_port: u16,
    /// Destination UDP port.
    pub dst_port: u16,
    /// The UDP payload.
    pub payload: Vec<u8>,
}

/// Parses an Ethernet frame carrying IPv4/UDP, verifying lengths and both checksums.
/// Trailing padding after the IPv4 datagram is allowed.
pub fn parse_udp_frame(frame: &[u8]) -> Result<ParsedUdpFrame, FrameError> {
    parse_udp_frame_with(frame, true)
}

/// Like [`parse_udp_frame`]; with `verify_udp_checksum` false the UDP checksum is not
/// checked (for frames captured before checksum offload filled it in).
pub fn parse_udp_frame_with(frame: &[u8], verify_udp_checksum: bool) -> Result<ParsedUdpFrame, FrameError> {
    let eth = parse_ethernet(frame)?;
    if eth.ethertype != ETHERTYPE_IPV4 {
        return Err(FrameError::NotUdp("ethertype is not IPv4"));
    }
    let ip = &frame[eth.payload_offset..];
    if ip.len() < 20 {
        return Err(FrameError::Truncated("IPv4 header"));
    }
    if ip[0] >> 4 != 4 {
        return Err(FrameError::Invalid("IP version is not 4"));
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    if ihl < 20 || ip.len() < ihl {
        return Err(FrameError::Invalid("IPv4 header length"));
    }
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if total < ihl || total > ip.len() {
        return Err(FrameError::Truncated("IPv4 total length"));
    }
    if internet_checksum(&ip[..ihl]) != 0 {
        return Err(FrameError::BadChecksum("IPv4 header"));
    }
    if ip[9] != 17 {
        return Err(FrameError::NotUdp("IP protocol is not UDP"));
    }
    let frag = u16::from_be_bytes([ip[6], ip[7]]);
    if frag & 0x3fff != 0 {
        return Err(FrameError::NotUdp("fragment"));
    }
    let src_ip = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let dst_ip = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    let udp = &ip[ihl..total];
    if udp.len() < 8 {
        return Err(FrameError::Truncated("UDP header"));
    }
    let udp_len = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
    if udp_len != udp.len() {
        return Err(FrameError::Invalid("UDP length does not match the IPv4 length"));
    }
    let csum = u16::from_be_bytes([udp[6], udp[7]]);
    if csum != 0 && verify_udp_checksum {
        let mut acc = sum16(&src_ip.octets(), 0);
        acc = sum16(&dst_ip.octets(), acc);
        acc += 17 + udp.len() as u32;
        if fold(sum16(udp, acc)) != 0 {
            return Err(FrameError::BadChecksum("UDP"));
        }
    }
    Ok(ParsedUdpFrame {
        eth,
        src_ip,
        dst_ip,
        ttl: ip[8],
        ip_id: u16::from_be_bytes([ip[4], ip[5]]),
        tos: ip[1],
        src_port: u16::from_be_bytes([udp[0], udp[1]]),
        dst_port: u16::from_be_bytes([udp[2], udp[3]]),
        payload: udp[8..].to_vec(),
    })
}

/// Formats a MAC address as `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// Parses `aa:bb:cc:dd:ee:ff` (or `-` separated).
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.trim().split([':', '-']);
    for b in &mut out {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_spec() -> impl Strategy<Value = UdpFrameSpec> {
        (
            any::<[u8; 6]>(),
            any::<[u8; 6]>(),
            proptest::option::of((0u8..8, any::<bool>(), 0u16..4096)),
            any::<u32>(),
            any::<u32>(),
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
            any::<u8>(),
        )
            .prop_map(|(d, s, v, si, di, sp, dp, id, tos)| UdpFrameSpec {
                dst_mac: d,
                src_mac: s,
                vlan: v.map(|(pcp, dei, vid)| VlanTag { pcp, dei, vid }),
                src_ip: Ipv4Addr::from(si),
                dst_ip: Ipv4Addr::from(di),
                src_port: sp,
                dst_port: dp,
                ip_id: id,
                tos,
            })
    }

    proptest! {
        #[test]
        fn built_frames_parse_back(spec in arb_spec(), payload in proptest::collection::vec(any::<u8>(), 0..1600)) {
            let mut f = Vec::new();
            build_udp_frame(&spec, &payload, &mut f).unwrap();
            prop_assert!(f.len() >= MIN_FRAME_LEN);
            let p = parse_udp_frame(&f).unwrap();
            prop_assert_eq!(p.eth.dst_mac, spec.dst_mac);
            prop_assert_eq!(p.eth.src_mac, spec.src_mac);
            prop_assert_eq!(p.eth.vlan, spec.vlan);
            prop_assert_eq!(p.src_ip, spec.src_ip);
            prop_assert_eq!(p.dst_ip, spec.dst_ip);
            prop_assert_eq!((p.src_port, p.dst_port, p.ip_id, p.tos, p.ttl), (spec.src_port, spec.dst_port, spec.ip_id, spec.tos, 64));
            prop_assert_eq!(p.payload, payload);
        }

        #[test]
        fn any_bit_flip_in_headers_is_caught_or_harmless(spec in arb_spec(), payload in proptest::collection::vec(any::<u8>(), 0..64), bit in 0usize..(46*8)) {
            let mut f = Vec::new();
            build_udp_frame(&spec, &payload, &mut f).unwrap();
            let start = if spec.vlan.is_some() { 18 } else { 14 };
            let byte = start + bit / 8;
            prop_assume!(byte < f.len());
            f[byte] ^= 1 << (bit % 8);
            // Either rejected, or the flip landed in padding / a field no checksum covers.
            if let Ok(p) = parse_udp_frame(&f) {
                prop_assert!(p.payload == payload || byte >= start + 28 + payload.len());
            }
        }

        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_udp_frame(&bytes);
            let _ = parse_ethernet(&bytes);
        }

        #[test]
        fn mac_round_trips(mac in any::<[u8; 6]>()) {
            prop_assert_eq!(parse_mac(&format_mac(&mac)), Some(mac));
        }
    }

    #[test]
    fn known_checksums() {
        // RFC 1071 example words.
        assert_eq!(internet_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), !0xddf2);
        assert_eq!(parse_mac("02:00:00:00:00:zz"), None);
        assert_eq!(parse_mac("02:00:00:00:00"), None);
        assert_eq!(
            VlanTag::from_tci(VlanTag { pcp: 5, dei: true, vid: 100 }.tci()),
            VlanTag { pcp: 5, dei: true, vid: 100 }
        );
    }
}
