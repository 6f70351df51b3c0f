//! The kernel's IPv4 neighbour table (`/proc/net/arp`), the source of destination MACs for
//! datagrams whose stream does not name one.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use crate::frame::parse_mac;

/// ARP entry flag: complete.
const ATF_COM: u32 = 0x02;

/// One usable entry of `/proc/net/arp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neighbour {
    /// The neighbour's IPv4 address.
    pub ip: Ipv4Addr,
    /// Its MAC address.
    pub mac: [u8; 6],
    /// The interface it was learnt on.
    pub device: String,
}

/// Parses the text of `/proc/net/arp`, keeping complete entries with a valid MAC.
/// Malformed lines are skipped; the header line is optional.
pub fn parse_arp_table(text: &str) -> Vec<Neighbour> {
    let mut out = Vec::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 6 {
            continue;
        }
        let Ok(ip) = cols[0].parse::<Ipv4Addr>() else { continue };
        let flags = cols[2].strip_prefix("0x").and_then(|f| u32::from_str_radix(f, 16).ok()).unwrap_or(0);
        if flags & ATF_COM == 0 {
            continue;
        }
        let Some(mac) = parse_mac(cols[3]) else { continue };
        if mac == [0; 6] {
            continue;
        }
        out.push(Neighbour { ip, mac, device: cols[5].to_string() });
    }
    out
}

/// Reads the neighbour table of the calling *thread*'s network namespace.
pub fn read_neighbours() -> HashMap<Ipv4Addr, [u8; 6]> {
    std::fs::read_to_string("/proc/thread-self/net/arp")
        .map(|t| parse_arp_table(&t).into_iter().map(|n| (n.ip, n.mac)).collect())
        .unwrap_or_default()
}

/// The MAC a multicast or broadcast IPv4 destination maps to, if it is one.
pub fn group_mac(ip: Ipv4Addr) -> Option<[u8; 6]> {
    let o = ip.octets();
    if ip.is_broadcast() {
        Some([0xff; 6])
    } else if ip.is_multicast() {
        Some([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_kernel_format() {
        let text = "IP address       HW type     Flags       HW address            Mask     Device\n\
                    10.0.0.2         0x1         0x2         aa:bb:cc:dd:ee:01     *        veth0\n\
                    10.0.0.3         0x1         0x0         00:00:00:00:00:00     *        veth0\n\
                    10.0.0.4         0x1         0x6         aa:bb:cc:dd:ee:04     *        eth1\n";
        let n = parse_arp_table(text);
        assert_eq!(n.len(), 2);
        assert_eq!(
            n[0],
            Neighbour {
                ip: "10.0.0.2".parse().unwrap(),
                mac: [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 1],
                device: "veth0".into()
            }
        );
        assert_eq!(n[1].device, "eth1");
        assert_eq!(group_mac("224.1.2.3".parse().unwrap()), Some([1, 0, 0x5e, 1, 2, 3]));
        assert_eq!(group_mac("255.255.255.255".parse().unwrap()), Some([0xff; 6]));
        assert_eq!(group_mac("10.1.2.3".parse().unwrap()), None);
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in ".{0,300}") {
            for n in parse_arp_table(&text) {
                prop_assert!(n.mac != [0; 6]);
            }
        }
    }
}
