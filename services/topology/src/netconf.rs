//! The NETCONF source: a device's LLDP view from its `ieee802-dot1ab-lldp` operational
//! data, read with one `<get>` over NETCONF-over-SSH (RFC 6242; host keys pinned exactly as
//! for lldpcli over SSH).
//!
//! The `<get>` carries a subtree filter for the `lldp` container and, when the device
//! announces `ietf-interfaces`, for each interface's `name`, `phys-address`, `speed` and
//! `oper-status` (both the NMDA `interfaces` and the deprecated `interfaces-state`), which
//! give the port table lldpcli's source reads from sysfs. A device without `ietf-interfaces`
//! gets its ports from the LLDP port list (MAC only where the advertised port id is one,
//! speed unknown: the inventory and defaults decide the rate, as for an unknown sysfs
//! speed).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tsn_lldp::dot1ab::{LLDP_MODULE, LLDP_NS};
use tsn_lldp::{IdSubtype, LldpError, PortState};
use tsn_netconf::client::{Client, ClientOptions, Filter};
use tsn_netconf::message::YANG_LIBRARY_NS;
use tsn_netconf::ssh::SshTransport;
use tsn_netconf::xml::Element;
use tsn_ssh::KnownHosts;

use crate::config::Device;
use crate::source::{ssh_config, DeviceReport, NeighbourSource, SourceError};

/// The `ietf-interfaces` namespace.
pub const IF_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-interfaces";
const IF_MODULE: &str = "ietf-interfaces";
/// What the parse errors name as the "command".
const GET_LLDP: &str = "NETCONF <get> of ieee802-dot1ab-lldp";
const GET_INTERFACES: &str = "NETCONF <get> of ietf-interfaces";

/// A NETCONF session with a device.
pub type Session = Client<SshTransport>;

/// What the NETCONF port of a device turned out to offer (source `auto`).
#[derive(Debug)]
pub enum Offer {
    /// A session with a server that announces `ieee802-dot1ab-lldp`.
    Lldp(Box<Session>),
    /// The host key was refused: stop here, whatever the source.
    Refused(SourceError),
    /// No NETCONF, or NETCONF without the LLDP module: why.
    NotOffered(String),
}

/// The modules of a server that matter here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Modules {
    lldp: bool,
    interfaces: bool,
}

/// Reads devices over NETCONF.
#[derive(Debug)]
pub struct NetconfLldp {
    known_hosts: Arc<Mutex<KnownHosts>>,
    connect_timeout: Duration,
}

impl NetconfLldp {
    /// A source checking host keys against `known_hosts` (the inventory's
    /// `netconf_host_key`, else `host_key`, take precedence).
    pub fn new(known_hosts: KnownHosts, connect_timeout: Duration) -> Self {
        Self::shared(Arc::new(Mutex::new(known_hosts)), connect_timeout)
    }

    /// A source sharing its known hosts with other sources.
    pub fn shared(known_hosts: Arc<Mutex<KnownHosts>>, connect_timeout: Duration) -> Self {
        NetconfLldp { known_hosts, connect_timeout }
    }

    /// Opens a NETCONF session with `device` (SSH host key checked first).
    ///
    /// # Errors
    ///
    /// [`SourceError::Ssh`] (unreachable, host key refused, authentication, no `netconf`
    /// subsystem) or [`SourceError::Netconf`] (no or a bad `<hello>`).
    pub async fn connect(&self, device: &Device) -> Result<Session, SourceError> {
        let pinned = device.netconf_host_key.as_deref().or(device.host_key.as_deref());
        let cfg = ssh_config(&self.known_hosts, device, device.netconf_port, pinned, self.connect_timeout)?;
        let options = ClientOptions {
            device: device.name.clone(),
            rpc_timeout: self.connect_timeout,
            ..ClientOptions::default()
        };
        Ok(tsn_netconf::ssh::connect(cfg, options).await?)
    }

    /// Whether `device` offers `ieee802-dot1ab-lldp` over NETCONF; with a session to read
    /// it if so.
    pub async fn probe(&self, device: &Device) -> Offer {
        let mut client = match self.connect(device).await {
            Ok(c) => c,
            Err(e) if e.is_host_key_error() => return Offer::Refused(e),
            Err(e) => return Offer::NotOffered(e.to_string()),
        };
        match modules(&mut client).await {
            Ok(m) if m.lldp => Offer::Lldp(Box::new(client)),
            Ok(_) => {
                let _ = client.close().await;
                Offer::NotOffered(format!("the server does not list {LLDP_MODULE}"))
            }
            Err(e) => {
                let _ = client.close().await;
                Offer::NotOffered(format!("reading its YANG library: {e}"))
            }
        }
    }

    /// Reads `device` over an open session.
    ///
    /// # Errors
    ///
    /// NETCONF failures, and [`SourceError::Parse`] for data that is not a usable
    /// `ieee802-dot1ab-lldp` tree (none at all included).
    pub async fn read_with(&self, client: &mut Session, device: &Device) -> Result<DeviceReport, SourceError> {
        let offered = modules(client).await.unwrap_or_default();
        let mut filter = format!("<lldp xmlns=\"{LLDP_NS}\"/>");
        if offered.interfaces {
            let entry = "<interface><name/><phys-address/><speed/><oper-status/></interface>";
            filter.push_str(&format!(
                "<interfaces xmlns=\"{IF_NS}\">{entry}</interfaces><interfaces-state xmlns=\"{IF_NS}\">{entry}</interfaces-state>"
            ));
        }
        let data = client.get(Some(&Filter::Subtree(filter))).await?;
        tracing::debug!(device = %device.name, interfaces = offered.interfaces, "NETCONF LLDP data read");
        let parse = |source| SourceError::Parse { command: GET_LLDP.to_owned(), source };
        let lldp = tsn_lldp::parse_lldp_xml(&data.to_xml()).map_err(parse)?;
        let mut ports = interface_ports(&data)
            .map_err(|source| SourceError::Parse { command: GET_INTERFACES.to_owned(), source })?;
        for p in &lldp.ports {
            if !ports.iter().any(|q| q.name == p.name) {
                let mac = p.id.as_ref().filter(|id| id.subtype == IdSubtype::Mac).map(|id| id.value.clone());
                ports.push(PortState { name: p.name.clone(), mac, speed_bps: None, operstate: "unknown".to_owned() });
            }
        }
        Ok(DeviceReport { chassis: lldp.chassis, neighbours: lldp.neighbors, ports })
    }
}

#[async_trait]
impl NeighbourSource for NetconfLldp {
    async fn read(&self, device: &Device) -> Result<DeviceReport, SourceError> {
        let mut client = self.connect(device).await?;
        let report = self.read_with(&mut client, device).await;
        let _ = client.close().await;
        report
    }
}

/// The modules the server announces in its `<hello>`, or, when the hello does not list the
/// LLDP module but announces a YANG library, the modules that library lists (RFC 7895
/// `modules-state` or RFC 8525 `yang-library`).
async fn modules(client: &mut Session) -> Result<Modules, SourceError> {
    let hello = client.server_hello().modules();
    let mut m = Modules {
        lldp: hello.iter().any(|x| x.module == LLDP_MODULE),
        interfaces: hello.iter().any(|x| x.module == IF_MODULE),
    };
    let has_library = client.server_hello().capabilities.iter().any(|c| c.contains("yang-library"));
    if m.lldp || !has_library {
        return Ok(m);
    }
    let filter = format!("<modules-state xmlns=\"{YANG_LIBRARY_NS}\"/><yang-library xmlns=\"{YANG_LIBRARY_NS}\"/>");
    let data = client.get(Some(&Filter::Subtree(filter))).await?;
    let mut names = Vec::new();
    if let Some(state) = data.child_ns(YANG_LIBRARY_NS, "modules-state") {
        names.extend(state.children.iter().filter(|x| x.name == "module").filter_map(|x| x.child_text("name")));
    }
    if let Some(library) = data.child_ns(YANG_LIBRARY_NS, "yang-library") {
        for set in library.children.iter().filter(|x| x.name == "module-set") {
            names.extend(set.children.iter().filter(|x| x.name == "module").filter_map(|x| x.child_text("name")));
        }
    }
    m.lldp |= names.contains(&LLDP_MODULE);
    m.interfaces |= names.contains(&IF_MODULE);
    Ok(m)
}

/// The port table from `ietf-interfaces` state (`interfaces` and `interfaces-state`; the
/// first value found per interface wins). Interfaces without any state leaf are left out.
fn interface_ports(data: &Element) -> Result<Vec<PortState>, LldpError> {
    let mut ports: Vec<PortState> = Vec::new();
    for container in ["interfaces", "interfaces-state"] {
        let Some(c) = data.child_ns(IF_NS, container) else { continue };
        for i in c.children.iter().filter(|x| x.name == "interface") {
            let Some(name) = i.child_text("name").filter(|n| !n.is_empty()) else { continue };
            let invalid = |field: &'static str, value: &str| LldpError::Invalid {
                context: format!("interface {name}"),
                field,
                value: value.to_owned(),
            };
            let mac = match i.child_text("phys-address") {
                Some(m) if tsn_lldp::ports::is_mac(m) => Some(m.to_ascii_lowercase()),
                Some(m) => return Err(invalid("phys-address", m)),
                None => None,
            };
            let speed_bps = match i.child_text("speed") {
                Some(s) => match s.parse::<u64>() {
                    Ok(0) => None,
                    Ok(n) => Some(n),
                    Err(_) => return Err(invalid("speed", s)),
                },
                None => None,
            };
            let operstate = i.child_text("oper-status").map(|s| match s {
                "lower-layer-down" => "lowerlayerdown".to_owned(),
                "not-present" => "notpresent".to_owned(),
                other => other.to_owned(),
            });
            if mac.is_none() && speed_bps.is_none() && operstate.is_none() {
                continue;
            }
            match ports.iter_mut().find(|p| p.name == name) {
                Some(p) => {
                    p.mac = p.mac.take().or(mac);
                    p.speed_bps = p.speed_bps.or(speed_bps);
                    if p.operstate == "unknown" {
                        if let Some(o) = operstate {
                            p.operstate = o;
                        }
                    }
                }
                None => ports.push(PortState {
                    name: name.to_owned(),
                    mac,
                    speed_bps,
                    operstate: operstate.unwrap_or_else(|| "unknown".to_owned()),
                }),
            }
        }
    }
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_state_becomes_the_port_table() {
        let data = Element::parse(&format!(
            "<data xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\">\
             <interfaces xmlns=\"{IF_NS}\">\
               <interface><name>p0</name><phys-address>4A:CD:A6:F8:A7:3C</phys-address><speed>10000000000</speed>\
                 <oper-status>up</oper-status></interface>\
               <interface><name>p1</name><oper-status>lower-layer-down</oper-status></interface>\
               <interface><name>cfg-only</name></interface></interfaces>\
             <interfaces-state xmlns=\"{IF_NS}\"><interface><name>p1</name><speed>1000000000</speed></interface>\
             </interfaces-state></data>"
        ))
        .unwrap();
        let ports = interface_ports(&data).unwrap();
        assert_eq!(ports.len(), 2, "{ports:?}");
        assert_eq!(ports[0].mac.as_deref(), Some("4a:cd:a6:f8:a7:3c"));
        assert_eq!(ports[0].speed_bps, Some(10_000_000_000));
        assert!(ports[0].is_up());
        assert_eq!(ports[1].speed_bps, Some(1_000_000_000), "from interfaces-state");
        assert!(!ports[1].is_up());
        let bad = Element::parse(&format!(
            "<data><interfaces xmlns=\"{IF_NS}\"><interface><name>p0</name><speed>fast</speed></interface></interfaces></data>"
        ))
        .unwrap();
        let e = interface_ports(&bad).unwrap_err().to_string();
        assert!(e.contains("interface p0") && e.contains("speed"), "{e}");
    }
}
