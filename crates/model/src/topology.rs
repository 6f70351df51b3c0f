use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{ModelError, TRAFFIC_CLASSES};

/// Name of a node (bridge or end station), unique in a topology.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub String);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for NodeId {
    fn from(s: &str) -> Self {
        NodeId(s.to_owned())
    }
}

/// What a node does with frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeKind {
    /// Forwards frames between its ports (a TSN bridge).
    Bridge,
    /// Sends and receives frames (talker/listener); never forwards.
    EndStation,
}

/// A node of the network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// Unique name.
    pub id: NodeId,
    /// Bridge or end station.
    pub kind: NodeKind,
}

/// A directed link `from → to`, which is also the egress port of `from` towards `to`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LinkId {
    /// Transmitting node.
    pub from: NodeId,
    /// Receiving node.
    pub to: NodeId,
}

impl LinkId {
    /// The link `from → to`.
    pub fn new(from: impl Into<String>, to: impl Into<String>) -> Self {
        LinkId { from: NodeId(from.into()), to: NodeId(to.into()) }
    }

    /// The opposite direction of the same cable.
    pub fn reversed(&self) -> Self {
        LinkId { from: self.to.clone(), to: self.from.clone() }
    }
}

impl fmt::Display for LinkId {
    /// `(u, v)`, the notation of tsnkit route files.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.from, self.to)
    }
}

/// A directed link with everything the scheduler needs to know about its egress port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// Transmitting node.
    pub from: NodeId,
    /// Receiving node.
    pub to: NodeId,
    /// Line rate in bits per second.
    pub rate_bps: u64,
    /// Time from the last bit leaving `from` to the last bit arriving at `to`.
    #[serde(default)]
    pub propagation_delay_ns: u64,
    /// Processing delay inside `from` between receiving a frame and being able to start
    /// it on this link (bridge delay). Not used when `from` is the talker.
    #[serde(default)]
    pub processing_delay_ns: u64,
    /// Number of egress queues available to scheduled traffic on this port (1..=8).
    #[serde(default = "default_scheduled_queues")]
    pub scheduled_queues: u8,
    /// Maximum number of entries of the port's gate control list.
    #[serde(default = "default_gcl_max_entries")]
    pub gcl_max_entries: u32,
    /// How the link's two ends are named on the devices (interface names, MAC addresses),
    /// as discovered or configured; empty in pure scheduling instances.
    #[serde(default, skip_serializing_if = "LinkPorts::is_empty")]
    pub ports: LinkPorts,
}

/// Device-level names of a link's two ends: what southbound needs to address the egress
/// port (`from_port`) and what the UNI uses to find an end station (its interface's MAC).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkPorts {
    /// Interface name of the egress port on `from`, e.g. `eth1` or `swp3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_port: Option<String>,
    /// MAC address of that interface (`aa:bb:cc:dd:ee:ff`, lower case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_mac: Option<String>,
    /// Interface name of the ingress port on `to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_port: Option<String>,
    /// MAC address of that interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_mac: Option<String>,
}

impl LinkPorts {
    /// Whether no name is known.
    pub fn is_empty(&self) -> bool {
        self.from_port.is_none() && self.from_mac.is_none() && self.to_port.is_none() && self.to_mac.is_none()
    }
}

fn default_scheduled_queues() -> u8 {
    1
}

fn default_gcl_max_entries() -> u32 {
    1024
}

impl Link {
    /// The id (`from → to`) of this link.
    pub fn id(&self) -> LinkId {
        LinkId { from: self.from.clone(), to: self.to.clone() }
    }
}

/// Nodes and directed links.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topology {
    /// All nodes.
    pub nodes: Vec<Node>,
    /// All directed links (two per full-duplex cable).
    pub links: Vec<Link>,
}

impl Topology {
    /// The node called `id`.
    pub fn node(&self, id: &NodeId) -> Option<&Node> {
        self.nodes.iter().find(|n| &n.id == id)
    }

    /// The directed link `id`.
    pub fn link(&self, id: &LinkId) -> Option<&Link> {
        self.links.iter().find(|l| l.from == id.from && l.to == id.to)
    }

    /// An index from link id to position in `links`, for repeated look-ups.
    pub fn link_index(&self) -> HashMap<LinkId, usize> {
        self.links.iter().enumerate().map(|(i, l)| (l.id(), i)).collect()
    }

    /// Checks ids are unique, links join known nodes, and every number is in range.
    pub fn validate(&self) -> Result<(), ModelError> {
        let mut nodes = HashSet::new();
        for n in &self.nodes {
            if n.id.0.is_empty() {
                return Err(ModelError::invalid("node", "empty node id"));
            }
            if !nodes.insert(&n.id) {
                return Err(ModelError::DuplicateNode(n.id.0.clone()));
            }
        }
        let mut links = HashSet::new();
        for l in &self.links {
            let ctx = format!("link {}", l.id());
            for end in [&l.from, &l.to] {
                if !nodes.contains(end) {
                    return Err(ModelError::UnknownNode { context: ctx, node: end.0.clone() });
                }
            }
            if l.from == l.to {
                return Err(ModelError::invalid(ctx, "a link must join two different nodes"));
            }
            if !links.insert(l.id()) {
                return Err(ModelError::DuplicateLink(l.id().to_string()));
            }
            if l.rate_bps == 0 {
                return Err(ModelError::invalid(ctx, "rate must be positive"));
            }
            if l.scheduled_queues == 0 || l.scheduled_queues > TRAFFIC_CLASSES {
                return Err(ModelError::invalid(
                    ctx,
                    format!("scheduled_queues must be 1..=8, not {}", l.scheduled_queues),
                ));
            }
            if l.gcl_max_entries < 2 {
                return Err(ModelError::invalid(ctx, "gcl_max_entries must be at least 2"));
            }
        }
        Ok(())
    }
}
