//! The `ieee802-dot1ab-lldp` data tree (IEEE Std 802.1ABcu, revision 2022-03-15) as XML,
//! the way a NETCONF `<get>` returns it, to and from the records of this crate.
//!
//! [`parse_lldp_xml`] reads the `lldp` container (the document root, or a child of the
//! root such as NETCONF's `<data>`, or a grandchild under `<rpc-reply><data>`) into the
//! same [`Chassis`] and [`Neighbor`] records that [`crate::parse_chassis`] and
//! [`crate::parse_neighbors`] make from `lldpcli -f json0`:
//!
//! | YANG (`/lldp/...`) | record |
//! |---|---|
//! | `local-system-data/{chassis-id-subtype, chassis-id, system-name, system-description, system-capabilities-*}` | [`LldpData::chassis`] |
//! | `port/{name, dest-mac-address, port-id-subtype, port-id, port-desc}` | [`LldpData::ports`] |
//! | `port[name]/remote-systems-data/{chassis-id*, port-id*, port-desc, system-name, system-description, system-capabilities-*, management-address}` | one [`Neighbor`] with `local_interface` = the port's name |
//!
//! The YANG side writes MAC addresses in the IEEE form `4A-CD-A6-F8-A7-3C`; lldpd writes
//! `4a:cd:a6:f8:a7:3c`. Records always hold lldpd's form, so a MAC chassis or port id
//! compares the same whichever source it came from. Capabilities are lldpd's names
//! (`Bridge`, `Station`, `Wlan`, `Tel`, ...) mapped to and from the YANG bits
//! (`bridge`, `station-only`, `wlan-access-point`, `telephone`, ...). What the YANG model
//! has no place for is not carried: the protocol is always `LLDP`, and the neighbour's age
//! and TTL are unknown (`None`).
//!
//! [`render_lldp_xml`] writes records back as that tree (for a NETCONF server that reads
//! lldpd), and the two are inverse on everything the model carries.
//!
//! ```
//! use tsn_lldp::dot1ab::{parse_lldp_xml, LLDP_NS};
//! let xml = format!(
//!     r#"<data xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><lldp xmlns="{LLDP_NS}">
//!       <local-system-data><chassis-id-subtype>local</chassis-id-subtype>
//!         <chassis-id>b0</chassis-id><system-name>b0</system-name>
//!         <system-capabilities-supported>bridge</system-capabilities-supported>
//!         <system-capabilities-enabled>bridge</system-capabilities-enabled></local-system-data>
//!       <port><name>p0</name><dest-mac-address>01-80-C2-00-00-0E</dest-mac-address>
//!         <remote-systems-data><time-mark>0</time-mark><remote-index>1</remote-index>
//!           <chassis-id-subtype>mac-address</chassis-id-subtype><chassis-id>4A-CD-A6-F8-A7-3C</chassis-id>
//!           <port-id-subtype>interface-name</port-id-subtype><port-id>p1</port-id>
//!           <system-name>b1</system-name></remote-systems-data></port></lldp></data>"#
//! );
//! let lldp = parse_lldp_xml(&xml).unwrap();
//! assert!(lldp.chassis.is_bridge());
//! assert_eq!(lldp.neighbors[0].local_interface, "p0");
//! assert_eq!(lldp.neighbors[0].chassis.id.value, "4a:cd:a6:f8:a7:3c");
//! assert_eq!(lldp.neighbors[0].port.id.value, "p1");
//! ```

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::{Capability, Chassis, IdSubtype, LldpError, LldpId, Neighbor, RemotePort};

/// The module's XML namespace.
pub const LLDP_NS: &str = "urn:ieee:std:802.1AB:yang:ieee802-dot1ab-lldp";
/// The module's name, as NETCONF capabilities and the YANG library list it.
pub const LLDP_MODULE: &str = "ieee802-dot1ab-lldp";
/// The revision this mapping follows.
pub const LLDP_REVISION: &str = "2022-03-15";
/// The namespace of `ietf-routing`, whose identities name management address families.
pub const ROUTING_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-routing";
/// The nearest-bridge group address, the `dest-mac-address` of an ordinary LLDP agent
/// (lldpd's), in the records' form.
pub const NEAREST_BRIDGE: &str = "01:80:c2:00:00:0e";

/// Elements deeper than this are never looked at (the tree is at most 5 levels deep).
const MAX_SEARCH_DEPTH: usize = 3;
/// Node limit of the XML parser: a bound on memory for hostile input.
const MAX_NODES: u32 = 1_000_000;

/// An LLDP port of the local system (`/lldp/port`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalPort {
    /// The interface name.
    pub name: String,
    /// The destination group address of the agent on it, `aa:bb:...` ([`NEAREST_BRIDGE`]
    /// for lldpd).
    pub dest_mac: String,
    /// The port id the system advertises on it, if reported.
    pub id: Option<LldpId>,
    /// The port description it advertises, if reported.
    pub description: Option<String>,
}

impl LocalPort {
    /// A nearest-bridge agent on `name` with nothing else known.
    pub fn new(name: &str) -> Self {
        LocalPort { name: name.to_owned(), dest_mac: NEAREST_BRIDGE.to_owned(), id: None, description: None }
    }
}

/// A device's whole LLDP view: its own chassis, its LLDP ports and its neighbours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LldpData {
    /// The local system (`local-system-data`). Management addresses are not part of it in
    /// the model, so they are always empty here.
    pub chassis: Chassis,
    /// The local LLDP ports, in document order.
    pub ports: Vec<LocalPort>,
    /// One record per (local port, remote system), grouped by port in the order of
    /// [`LldpData::ports`].
    pub neighbors: Vec<Neighbor>,
}

impl LldpData {
    /// The view lldpcli gives (`show chassis`, `show neighbors details`): one
    /// nearest-bridge port per local interface that has a neighbour, in order of first
    /// appearance, and the records grouped by it (the order [`parse_lldp_xml`] returns).
    pub fn from_records(chassis: Chassis, neighbors: Vec<Neighbor>) -> Self {
        let mut ports: Vec<LocalPort> = Vec::new();
        for n in &neighbors {
            if !ports.iter().any(|p| p.name == n.local_interface) {
                ports.push(LocalPort::new(&n.local_interface));
            }
        }
        let mut grouped = Vec::with_capacity(neighbors.len());
        for p in &ports {
            grouped.extend(neighbors.iter().filter(|n| n.local_interface == p.name).cloned());
        }
        LldpData { chassis, ports, neighbors: grouped }
    }
}

/// lldpd's capability names and the YANG `system-capabilities-map` bits, in bit order.
const CAPABILITIES: &[(&str, &str)] = &[
    ("Other", "other"),
    ("Repeater", "repeater"),
    ("Bridge", "bridge"),
    ("Wlan", "wlan-access-point"),
    ("Router", "router"),
    ("Tel", "telephone"),
    ("Docsis", "docsis-cable-device"),
    ("Station", "station-only"),
    ("CVLAN", "cvlan-component"),
    ("SVLAN", "svlan-component"),
    ("TPMR", "two-port-mac-relay"),
];

fn capability_to_bit(name: &str) -> Option<&'static str> {
    CAPABILITIES.iter().find(|(l, y)| l.eq_ignore_ascii_case(name) || y.eq_ignore_ascii_case(name)).map(|(_, y)| *y)
}

fn capability_from_bit(bit: &str) -> String {
    CAPABILITIES.iter().find(|(_, y)| *y == bit).map(|(l, _)| (*l).to_owned()).unwrap_or_else(|| bit.to_owned())
}

/// Chassis id subtypes: (record, YANG enum).
const CHASSIS_SUBTYPES: &[(&str, &str)] = &[
    ("ifalias", "interface-alias"),
    ("mac", "mac-address"),
    ("ip", "network-address"),
    ("ifname", "interface-name"),
    ("local", "local"),
];
/// Port id subtypes: (record, YANG enum).
const PORT_SUBTYPES: &[(&str, &str)] = &[
    ("ifalias", "interface-alias"),
    ("mac", "mac-address"),
    ("ip", "network-address"),
    ("ifname", "interface-name"),
    ("local", "local"),
];
/// YANG enums lldpd has no name for (it calls them `unhandled`); kept verbatim.
const CHASSIS_ONLY_YANG: &[&str] = &["chassis-component", "port-component"];
const PORT_ONLY_YANG: &[&str] = &["port-component", "agent-circuit-id"];

/// The record's subtype of a YANG subtype enum; a missing or unknown one (not valid in the
/// model) makes the id an opaque, locally assigned string.
fn subtype_from_yang(text: Option<String>, table: &[(&str, &str)], extra: &[&str]) -> IdSubtype {
    let Some(text) = text else { return IdSubtype::Local };
    let t = text.trim();
    match table.iter().find(|(_, y)| *y == t) {
        Some((l, _)) => IdSubtype::from_lldpd(l),
        None if extra.contains(&t) => IdSubtype::Other(t.to_owned()),
        None => IdSubtype::Local,
    }
}

fn subtype_to_yang<'a>(subtype: &'a IdSubtype, table: &[(&str, &'static str)], extra: &[&'static str]) -> &'a str {
    match table.iter().find(|(l, _)| *l == subtype.as_str()) {
        Some((_, y)) => y,
        None => match subtype {
            IdSubtype::Other(s) if extra.contains(&s.as_str()) => s,
            // Not expressible in the model (e.g. lldpd's `unhandled`): a local id.
            _ => "local",
        },
    }
}

/// `aa:bb:cc:dd:ee:ff` from a MAC address written with `:` or `-` (any case) or as 12 hex
/// digits; `None` if it is not one.
fn canonical_mac(s: &str) -> Option<String> {
    let s = s.trim();
    let hex: String = if s.len() == 17 {
        let seps: Vec<char> = s.chars().skip(2).step_by(3).collect();
        if !(seps.iter().all(|&c| c == ':') || seps.iter().all(|&c| c == '-')) {
            return None;
        }
        s.chars().enumerate().filter(|(i, _)| i % 3 != 2).map(|(_, c)| c).collect()
    } else {
        s.to_owned()
    };
    if hex.len() != 12 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let lower = hex.to_ascii_lowercase();
    Some((0..6).map(|i| &lower[2 * i..2 * i + 2]).collect::<Vec<_>>().join(":"))
}

/// The IEEE form `AA-BB-CC-DD-EE-FF` of a MAC address, or `s` unchanged if it is not one.
fn ieee_mac(s: &str) -> String {
    match canonical_mac(s) {
        Some(m) => m.replace(':', "-").to_ascii_uppercase(),
        None => s.to_owned(),
    }
}

/// A MAC id value in the records' form; other ids verbatim.
fn id_value(subtype: &IdSubtype, value: String) -> String {
    if *subtype == IdSubtype::Mac {
        canonical_mac(&value).unwrap_or(value)
    } else {
        value
    }
}

// ---------------------------------------------------------------------------------------
// Parsing

type Node<'a, 'i> = roxmltree::Node<'a, 'i>;

fn is_lldp(n: &Node<'_, '_>, name: &str) -> bool {
    n.is_element() && n.tag_name().name() == name && n.tag_name().namespace() == Some(LLDP_NS)
}

fn children<'a, 'i>(n: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(move |c| is_lldp(c, name))
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &'static str) -> Option<Node<'a, 'i>> {
    children(n, name).next()
}

/// All character data of an element (text and CDATA, entities resolved).
fn text_of(n: Node<'_, '_>) -> String {
    n.children().filter(|c| c.is_text()).filter_map(|c| c.text()).collect()
}

fn leaf(n: Node<'_, '_>, name: &'static str) -> Option<String> {
    child(n, name).map(text_of)
}

fn find_lldp<'a, 'i>(n: Node<'a, 'i>, depth: usize) -> Option<Node<'a, 'i>> {
    if is_lldp(&n, "lldp") {
        return Some(n);
    }
    if depth >= MAX_SEARCH_DEPTH {
        return None;
    }
    n.children().filter(Node::is_element).find_map(|c| find_lldp(c, depth + 1))
}

/// Parses an `ieee802-dot1ab-lldp` `<lldp>` data tree (XML) into records.
///
/// The `lldp` element in the module's namespace may be the root or sit under up to two
/// wrapping elements (`<data>`, `<rpc-reply><data>`). Elements of other namespaces
/// (augmentations) and leaves the records have no place for are ignored.
///
/// # Errors
///
/// [`LldpError::Xml`] for text that is not XML or has no `lldp` container,
/// [`LldpError::Missing`] for no `local-system-data` or chassis id, a port without a name,
/// or a remote system without chassis or port id, [`LldpError::Invalid`] for an
/// unreadable management address.
pub fn parse_lldp_xml(text: &str) -> Result<LldpData, LldpError> {
    let opts = roxmltree::ParsingOptions { allow_dtd: false, nodes_limit: MAX_NODES };
    let doc = roxmltree::Document::parse_with_options(text, opts).map_err(|e| LldpError::Xml(e.to_string()))?;
    let lldp = find_lldp(doc.root_element(), 0)
        .ok_or_else(|| LldpError::Xml(format!("no <lldp xmlns=\"{LLDP_NS}\"> element")))?;
    let context = "local system";
    let local = child(lldp, "local-system-data")
        .ok_or_else(|| LldpError::Missing { context: context.to_owned(), field: "local-system-data" })?;
    let chassis = read_chassis(local, context, false)?;
    let mut ports = Vec::new();
    let mut neighbors = Vec::new();
    for p in children(lldp, "port") {
        let name = leaf(p, "name")
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| LldpError::Missing { context: "lldp port".to_owned(), field: "name" })?;
        let context = format!("neighbour on {name}");
        let dest_mac = leaf(p, "dest-mac-address")
            .map(|m| canonical_mac(&m).unwrap_or_else(|| m.trim().to_owned()))
            .unwrap_or_else(|| NEAREST_BRIDGE.to_owned());
        let id = match leaf(p, "port-id").filter(|v| !v.is_empty()) {
            Some(v) => {
                let subtype = subtype_from_yang(leaf(p, "port-id-subtype"), PORT_SUBTYPES, PORT_ONLY_YANG);
                Some(LldpId { value: id_value(&subtype, v), subtype })
            }
            None => None,
        };
        for r in children(p, "remote-systems-data") {
            let port_id =
                read_id(r, "port-id", "port-id-subtype", (PORT_SUBTYPES, PORT_ONLY_YANG), &context, "port id")?;
            let port = RemotePort { id: port_id, description: leaf(r, "port-desc"), ttl_s: None };
            let chassis = read_chassis(r, &context, true)?;
            neighbors.push(Neighbor {
                local_interface: name.clone(),
                protocol: Some("LLDP".to_owned()),
                age: None,
                chassis,
                port,
            });
        }
        ports.push(LocalPort { name, dest_mac, id, description: leaf(p, "port-desc") });
    }
    Ok(LldpData { chassis, ports, neighbors })
}

fn read_id(
    n: Node<'_, '_>,
    value: &'static str,
    subtype: &'static str,
    (table, extra): (&[(&str, &str)], &[&str]),
    context: &str,
    field: &'static str,
) -> Result<LldpId, LldpError> {
    let v = leaf(n, value)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| LldpError::Missing { context: context.to_owned(), field })?;
    let subtype = subtype_from_yang(leaf(n, subtype), table, extra);
    Ok(LldpId { value: id_value(&subtype, v), subtype })
}

fn read_chassis(n: Node<'_, '_>, context: &str, remote: bool) -> Result<Chassis, LldpError> {
    let subtypes = (CHASSIS_SUBTYPES, CHASSIS_ONLY_YANG);
    let id = read_id(n, "chassis-id", "chassis-id-subtype", subtypes, context, "chassis id")?;
    let bits = |name: &'static str| -> Vec<String> {
        leaf(n, name).map(|t| t.split_whitespace().map(str::to_owned).collect()).unwrap_or_default()
    };
    let enabled = bits("system-capabilities-enabled");
    let mut capabilities: Vec<Capability> = Vec::new();
    for bit in bits("system-capabilities-supported").iter().chain(&enabled) {
        let name = capability_from_bit(bit);
        if !capabilities.iter().any(|c| c.name == name) {
            capabilities.push(Capability { name, enabled: enabled.contains(bit) });
        }
    }
    let mut management_addresses = Vec::new();
    if remote {
        for m in children(n, "management-address") {
            let family = leaf(m, "address-subtype").unwrap_or_default();
            let family = family.trim().rsplit(':').next().unwrap_or_default().to_owned();
            let Some(address) = leaf(m, "address") else { continue };
            let parsed = match family.as_str() {
                "ipv4" | "ipv6" => management_address(address.trim()),
                // Other families (MAC, ...) are no IP address: not a record field.
                _ => continue,
            };
            match parsed {
                Some(a) => management_addresses.push(a),
                None => {
                    return Err(LldpError::Invalid {
                        context: context.to_owned(),
                        field: "management address",
                        value: address,
                    })
                }
            }
        }
    }
    Ok(Chassis {
        id,
        name: leaf(n, "system-name"),
        description: leaf(n, "system-description"),
        management_addresses,
        capabilities,
    })
}

/// `man-addr-type` is the address in hex (`0A000001`); some servers write the usual
/// text form instead, which is accepted too.
fn management_address(s: &str) -> Option<IpAddr> {
    let hex = |s: &str| -> Option<Vec<u8>> {
        if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()).collect()
    };
    match hex(s) {
        Some(b) if b.len() == 4 => Some(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
        Some(b) if b.len() == 16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&b);
            Some(IpAddr::V6(Ipv6Addr::from(a)))
        }
        _ => s.split('%').next().unwrap_or_default().parse().ok(),
    }
}

// ---------------------------------------------------------------------------------------
// Rendering

/// Escapes character data, replacing characters XML 1.0 cannot carry (control characters,
/// U+FFFE, U+FFFF) with U+FFFD; `\r` is kept as a character reference.
fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if c < ' ' || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
}

fn write_leaf(out: &mut String, name: &str, value: &str) {
    let _ = write!(out, "<{name}>");
    escape(value, out);
    let _ = write!(out, "</{name}>");
}

fn write_id(out: &mut String, what: &str, id: &LldpId, table: &[(&str, &'static str)], extra: &[&'static str]) {
    write_leaf(out, &format!("{what}-subtype"), subtype_to_yang(&id.subtype, table, extra));
    let value = if id.subtype == IdSubtype::Mac { ieee_mac(&id.value) } else { id.value.clone() };
    write_leaf(out, what, &value);
}

fn write_text_leaves(out: &mut String, c: &Chassis) {
    if let Some(n) = &c.name {
        write_leaf(out, "system-name", n);
    }
    if let Some(d) = &c.description {
        write_leaf(out, "system-description", d);
    }
    let mut supported = Vec::new();
    let mut enabled = Vec::new();
    for cap in &c.capabilities {
        let Some(bit) = capability_to_bit(&cap.name) else { continue };
        if !supported.contains(&bit) {
            supported.push(bit);
            if cap.enabled {
                enabled.push(bit);
            }
        }
    }
    if !supported.is_empty() {
        write_leaf(out, "system-capabilities-supported", &supported.join(" "));
        write_leaf(out, "system-capabilities-enabled", &enabled.join(" "));
    }
}

fn write_management_address(out: &mut String, a: &IpAddr) {
    let (family, hex) = match a {
        IpAddr::V4(v4) => ("ipv4", v4.octets().iter().map(|b| format!("{b:02X}")).collect::<String>()),
        IpAddr::V6(v6) => ("ipv6", v6.octets().iter().map(|b| format!("{b:02X}")).collect::<String>()),
    };
    let _ = write!(
        out,
        "<management-address><address-subtype xmlns:rt=\"{ROUTING_NS}\">rt:{family}</address-subtype>\
         <address>{hex}</address></management-address>"
    );
}

/// Renders `data` as an `ieee802-dot1ab-lldp` `<lldp>` element (XML, no declaration), for
/// a NETCONF server's operational state.
///
/// Ports are written in order, each followed by its neighbours (`remote-index` 1, 2, ...
/// per port, `time-mark` 0); a neighbour on an interface missing from `data.ports` gets a
/// nearest-bridge port of its own after them. Capabilities lldpd knows by a name the model
/// lacks, chassis ids of subtypes it lacks (lldpd's `unhandled`) and the local chassis'
/// management addresses are not expressible and written as noted in the module docs.
pub fn render_lldp_xml(data: &LldpData) -> String {
    let mut out = String::with_capacity(512 + data.neighbors.len() * 512);
    let _ = write!(out, "<lldp xmlns=\"{LLDP_NS}\"><local-system-data>");
    write_id(&mut out, "chassis-id", &data.chassis.id, CHASSIS_SUBTYPES, CHASSIS_ONLY_YANG);
    write_text_leaves(&mut out, &data.chassis);
    out.push_str("</local-system-data>");
    let mut ports: Vec<LocalPort> = data.ports.clone();
    for n in &data.neighbors {
        if !ports.iter().any(|p| p.name == n.local_interface) {
            ports.push(LocalPort::new(&n.local_interface));
        }
    }
    for p in &ports {
        out.push_str("<port>");
        write_leaf(&mut out, "name", &p.name);
        write_leaf(&mut out, "dest-mac-address", &ieee_mac(&p.dest_mac));
        if let Some(id) = &p.id {
            write_id(&mut out, "port-id", id, PORT_SUBTYPES, PORT_ONLY_YANG);
        }
        if let Some(d) = &p.description {
            write_leaf(&mut out, "port-desc", d);
        }
        for (i, n) in data.neighbors.iter().filter(|n| n.local_interface == p.name).enumerate() {
            let _ = write!(out, "<remote-systems-data><time-mark>0</time-mark><remote-index>{}</remote-index>", i + 1);
            // The model's order: chassis id, port id and description, system leaves.
            write_id(&mut out, "chassis-id", &n.chassis.id, CHASSIS_SUBTYPES, CHASSIS_ONLY_YANG);
            write_id(&mut out, "port-id", &n.port.id, PORT_SUBTYPES, PORT_ONLY_YANG);
            if let Some(d) = &n.port.description {
                write_leaf(&mut out, "port-desc", d);
            }
            write_text_leaves(&mut out, &n.chassis);
            for a in &n.chassis.management_addresses {
                write_management_address(&mut out, a);
            }
            out.push_str("</remote-systems-data>");
        }
        out.push_str("</port>");
    }
    out.push_str("</lldp>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_forms() {
        assert_eq!(canonical_mac("4A-CD-A6-F8-A7-3C").as_deref(), Some("4a:cd:a6:f8:a7:3c"));
        assert_eq!(canonical_mac("4a:cd:a6:f8:a7:3c").as_deref(), Some("4a:cd:a6:f8:a7:3c"));
        assert_eq!(canonical_mac("4ACDA6F8A73C").as_deref(), Some("4a:cd:a6:f8:a7:3c"));
        assert_eq!(canonical_mac("4a:cd-a6:f8:a7:3c"), None);
        assert_eq!(canonical_mac("4a:cd:a6:f8:a7:3g"), None);
        assert_eq!(canonical_mac("é"), None);
        assert_eq!(ieee_mac("4a:cd:a6:f8:a7:3c"), "4A-CD-A6-F8-A7-3C");
        assert_eq!(ieee_mac("not a mac"), "not a mac");
    }

    #[test]
    fn management_addresses_in_hex_or_text() {
        assert_eq!(management_address("0A000001"), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(management_address("FE800000000000000000000000000002"), Some("fe80::2".parse().unwrap()));
        assert_eq!(management_address("fe80::2%m0"), Some("fe80::2".parse().unwrap()));
        assert_eq!(management_address("0A0000"), None);
    }

    #[test]
    fn characters_xml_cannot_carry_are_replaced() {
        let mut s = String::new();
        escape("a\u{1}b<\r\u{ffff}", &mut s);
        assert_eq!(s, "a\u{fffd}b&lt;&#13;\u{fffd}");
    }
}
