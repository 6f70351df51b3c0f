//! The shape of `lldpcli -f json0` output, exactly as lldpd prints it, kept apart from the
//! domain types in `lib.rs`.
//!
//! json0 wraps every value in an array (even singletons) and every leaf in
//! `{"value": "..."}`, so the shape does not depend on how many neighbours there are.
//! Unknown keys (`auto-negotiation`, `vlan`, `lldp-med`, ...) are ignored.

use serde::Deserialize;

/// `show neighbors [details]`: `{"lldp": [{"interface": [...]}]}`; with no neighbours
/// lldpd prints `{"lldp": [{}]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NeighborsDoc {
    pub(crate) lldp: Vec<LldpSection>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct LldpSection {
    #[serde(default)]
    pub(crate) interface: Vec<Interface>,
}

/// One neighbour as seen on one local interface (an interface with several neighbours
/// appears several times).
#[derive(Debug, Deserialize)]
pub(crate) struct Interface {
    pub(crate) name: Option<String>,
    pub(crate) via: Option<String>,
    pub(crate) age: Option<String>,
    #[serde(default)]
    pub(crate) chassis: Vec<Chassis>,
    #[serde(default)]
    pub(crate) port: Vec<Port>,
}

/// `show chassis`: `{"local-chassis": [{"chassis": [...]}]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChassisDoc {
    #[serde(rename = "local-chassis")]
    pub(crate) local_chassis: Vec<LocalChassis>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct LocalChassis {
    #[serde(default)]
    pub(crate) chassis: Vec<Chassis>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Chassis {
    #[serde(default)]
    pub(crate) id: Vec<TypedValue>,
    #[serde(default)]
    pub(crate) name: Vec<Value>,
    #[serde(default)]
    pub(crate) descr: Vec<Value>,
    #[serde(default, rename = "mgmt-ip")]
    pub(crate) mgmt_ip: Vec<Value>,
    #[serde(default)]
    pub(crate) capability: Vec<Capability>,
    /// Older lldpd versions print the TTL with the chassis instead of the port.
    #[serde(default)]
    pub(crate) ttl: Vec<Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Port {
    #[serde(default)]
    pub(crate) id: Vec<TypedValue>,
    #[serde(default)]
    pub(crate) descr: Vec<Value>,
    #[serde(default)]
    pub(crate) ttl: Vec<Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct TypedValue {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) value: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Value {
    pub(crate) value: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Capability {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) enabled: bool,
}
