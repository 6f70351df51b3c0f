//! Typed LLDP records from lldpd's command line client.
//!
//! The topology service reads each device's LLDP table with
//! `lldpcli -f json0 show neighbors details` and its own identity with
//! `lldpcli -f json0 show chassis`. `json0` is the format whose shape never changes with the
//! number of entries (every value is an array), so it is the only one parsed here; the
//! serde mirror of that output lives in `wire` and is converted into the types below in one
//! place, with every mandatory field checked. LLDP does not say how fast a port is or
//! whether it is up: [`ports`] parses what the device's kernel says ([`PORT_TABLE_COMMAND`]).
//! Devices that serve the `ieee802-dot1ab-lldp` YANG model over NETCONF give the same
//! records through [`dot1ab`], which also renders them as that model's XML.
//!
//! ```
//! let text = r#"{"lldp":[{"interface":[{"name":"p0","via":"LLDP","chassis":[{
//!   "id":[{"type":"mac","value":"4a:cd:a6:f8:a7:3c"}],"name":[{"value":"b1"}],
//!   "capability":[{"type":"Bridge","enabled":true}]}],
//!   "port":[{"id":[{"type":"ifname","value":"p1"}],"ttl":[{"value":"4"}]}]}]}]}"#;
//! let neighbors = tsn_lldp::parse_neighbors(text).unwrap();
//! assert_eq!(neighbors[0].local_interface, "p0");
//! assert_eq!(neighbors[0].chassis.name.as_deref(), Some("b1"));
//! assert!(neighbors[0].chassis.is_bridge());
//! assert_eq!(neighbors[0].port.id.value, "p1");
//! assert_eq!(neighbors[0].port.ttl_s, Some(4));
//! ```

pub mod dot1ab;
pub mod ports;
mod wire;

use std::fmt;
use std::net::IpAddr;

use thiserror::Error;

pub use dot1ab::{parse_lldp_xml, render_lldp_xml, LldpData, LocalPort};
pub use ports::{parse_port_table, PortState, PORT_TABLE_COMMAND};

/// Why `lldpcli` output could not be turned into records.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LldpError {
    /// Not JSON, or JSON of another shape than `lldpcli -f json0` prints.
    #[error("not `lldpcli -f json0 {command}` output: {message}")]
    Shape {
        /// The lldpcli command whose output was expected.
        command: &'static str,
        /// What serde_json reported, with line and column.
        message: String,
    },
    /// Not XML, or XML without an `ieee802-dot1ab-lldp` `<lldp>` container.
    #[error("not an ieee802-dot1ab-lldp <lldp> data tree: {0}")]
    Xml(String),
    /// A field that LLDP makes mandatory (chassis id, port id, ...) is absent or empty.
    #[error("{context}: missing {field}")]
    Missing {
        /// Where: the local interface (or `local chassis`).
        context: String,
        /// Which field.
        field: &'static str,
    },
    /// A field is present but its value cannot be understood.
    #[error("{context}: invalid {field} {value:?}")]
    Invalid {
        /// Where: the local interface (or `local chassis`).
        context: String,
        /// Which field.
        field: &'static str,
        /// The offending value.
        value: String,
    },
}

/// The subtype of a chassis or port id, as lldpd names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IdSubtype {
    /// A MAC address (`mac`).
    Mac,
    /// A network address (`ip`).
    Ip,
    /// An interface name (`ifname`).
    IfName,
    /// An interface alias (`ifalias`).
    IfAlias,
    /// A locally assigned string (`local`).
    Local,
    /// Any other subtype lldpd reports (e.g. `unhandled`), kept verbatim.
    Other(String),
}

impl IdSubtype {
    fn from_lldpd(s: &str) -> Self {
        match s {
            "mac" => IdSubtype::Mac,
            "ip" => IdSubtype::Ip,
            "ifname" => IdSubtype::IfName,
            "ifalias" => IdSubtype::IfAlias,
            "local" => IdSubtype::Local,
            other => IdSubtype::Other(other.to_owned()),
        }
    }

    /// The name lldpd uses for this subtype.
    pub fn as_str(&self) -> &str {
        match self {
            IdSubtype::Mac => "mac",
            IdSubtype::Ip => "ip",
            IdSubtype::IfName => "ifname",
            IdSubtype::IfAlias => "ifalias",
            IdSubtype::Local => "local",
            IdSubtype::Other(s) => s,
        }
    }
}

impl fmt::Display for IdSubtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A chassis id or port id with its subtype.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LldpId {
    /// How `value` is to be read.
    pub subtype: IdSubtype,
    /// The id as lldpd prints it (MAC addresses as `aa:bb:...`).
    pub value: String,
}

/// A system capability of IEEE 802.1AB (`Bridge`, `Router`, `Station`, ...).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Capability {
    /// The capability's name as lldpd prints it.
    pub name: String,
    /// Whether it is enabled (not merely supported).
    pub enabled: bool,
}

/// A chassis: the remote system of a neighbour, or the local system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chassis {
    /// The chassis id.
    pub id: LldpId,
    /// The system name, if advertised.
    pub name: Option<String>,
    /// The system description, if advertised.
    pub description: Option<String>,
    /// Management addresses, in the advertised order.
    pub management_addresses: Vec<IpAddr>,
    /// Supported capabilities and whether each is enabled.
    pub capabilities: Vec<Capability>,
}

impl Chassis {
    /// Whether the capability `name` (case-insensitive, e.g. `"bridge"`) is enabled.
    pub fn capability_enabled(&self, name: &str) -> bool {
        self.capabilities.iter().any(|c| c.enabled && c.name.eq_ignore_ascii_case(name))
    }

    /// Whether the system says it is a bridge (bridge capability enabled).
    pub fn is_bridge(&self) -> bool {
        self.capability_enabled("bridge")
    }

    /// Whether the system says it is an end station (station capability enabled).
    pub fn is_station(&self) -> bool {
        self.capability_enabled("station")
    }
}

/// The remote port of a neighbour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemotePort {
    /// The port id.
    pub id: LldpId,
    /// The port description, if advertised.
    pub description: Option<String>,
    /// Time to live of the information in seconds, if reported.
    pub ttl_s: Option<u32>,
}

/// One neighbour seen on one local interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neighbor {
    /// The local interface the neighbour was heard on.
    pub local_interface: String,
    /// The protocol it was learnt by (`LLDP`, `CDPv2`, ...), if reported.
    pub protocol: Option<String>,
    /// How long ago it was first seen, as lldpd prints it (`0 day, 00:00:02`).
    pub age: Option<String>,
    /// The remote system.
    pub chassis: Chassis,
    /// The remote port.
    pub port: RemotePort,
}

const NEIGHBORS_CMD: &str = "show neighbors details";
const CHASSIS_CMD: &str = "show chassis";

/// Parses `lldpcli -f json0 show neighbors details` (or `show neighbors`) output.
///
/// Returns one record per (local interface, neighbour), in lldpd's order; a port with
/// several neighbours (a shared segment) yields several records. No neighbours is an empty
/// vector.
///
/// # Errors
///
/// [`LldpError::Shape`] for anything that is not json0 neighbour output,
/// [`LldpError::Missing`] / [`LldpError::Invalid`] for a neighbour without an interface
/// name, chassis id or port id, or with an unreadable TTL or management address.
pub fn parse_neighbors(text: &str) -> Result<Vec<Neighbor>, LldpError> {
    let doc: wire::NeighborsDoc =
        serde_json::from_str(text).map_err(|e| LldpError::Shape { command: NEIGHBORS_CMD, message: e.to_string() })?;
    let mut out = Vec::new();
    for section in doc.lldp {
        for iface in section.interface {
            out.push(neighbor(iface)?);
        }
    }
    Ok(out)
}

/// Parses `lldpcli -f json0 show chassis` output into the local chassis.
///
/// # Errors
///
/// [`LldpError::Shape`] for anything that is not json0 chassis output,
/// [`LldpError::Missing`] when there is no chassis or it has no id,
/// [`LldpError::Invalid`] for an unreadable management address.
pub fn parse_chassis(text: &str) -> Result<Chassis, LldpError> {
    let doc: wire::ChassisDoc =
        serde_json::from_str(text).map_err(|e| LldpError::Shape { command: CHASSIS_CMD, message: e.to_string() })?;
    let context = "local chassis";
    let wire = doc
        .local_chassis
        .into_iter()
        .flat_map(|l| l.chassis)
        .next()
        .ok_or_else(|| LldpError::Missing { context: context.to_owned(), field: "chassis" })?;
    chassis(wire, context)
}

fn neighbor(iface: wire::Interface) -> Result<Neighbor, LldpError> {
    let local_interface = iface
        .name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| LldpError::Missing { context: "neighbour".to_owned(), field: "local interface name" })?;
    let context = format!("neighbour on {local_interface}");
    let wire_chassis = iface
        .chassis
        .into_iter()
        .next()
        .ok_or_else(|| LldpError::Missing { context: context.clone(), field: "chassis" })?;
    let chassis_ttl = first(&wire_chassis.ttl);
    let wire_port =
        iface.port.into_iter().next().ok_or_else(|| LldpError::Missing { context: context.clone(), field: "port" })?;
    let port_id = id(&wire_port.id, &context, "port id")?;
    let ttl_s = first(&wire_port.ttl)
        .or(chassis_ttl)
        .map(|t| {
            t.trim().parse::<u32>().map_err(|_| LldpError::Invalid {
                context: context.clone(),
                field: "ttl",
                value: t.to_owned(),
            })
        })
        .transpose()?;
    let port = RemotePort { id: port_id, description: first(&wire_port.descr).map(str::to_owned), ttl_s };
    let chassis = chassis(wire_chassis, &context)?;
    Ok(Neighbor { local_interface, protocol: iface.via, age: iface.age, chassis, port })
}

fn chassis(wire: wire::Chassis, context: &str) -> Result<Chassis, LldpError> {
    let id = id(&wire.id, context, "chassis id")?;
    let management_addresses = wire
        .mgmt_ip
        .iter()
        .map(|v| {
            // lldpd prints IPv6 link-local addresses without a scope; tolerate one anyway.
            let addr = v.value.split('%').next().unwrap_or_default();
            addr.parse::<IpAddr>().map_err(|_| LldpError::Invalid {
                context: context.to_owned(),
                field: "management address",
                value: v.value.clone(),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Chassis {
        id,
        name: first(&wire.name).map(str::to_owned),
        description: first(&wire.descr).map(str::to_owned),
        management_addresses,
        capabilities: wire.capability.into_iter().map(|c| Capability { name: c.kind, enabled: c.enabled }).collect(),
    })
}

fn id(values: &[wire::TypedValue], context: &str, field: &'static str) -> Result<LldpId, LldpError> {
    let v = values.first().ok_or_else(|| LldpError::Missing { context: context.to_owned(), field })?;
    if v.value.is_empty() {
        return Err(LldpError::Missing { context: context.to_owned(), field });
    }
    Ok(LldpId { subtype: IdSubtype::from_lldpd(&v.kind), value: v.value.clone() })
}

fn first(values: &[wire::Value]) -> Option<&str> {
    values.first().map(|v| v.value.as_str())
}
