//! tsn-netconf: NETCONF (RFC 6241) over SSH (RFC 6242) for tsn-cp.
//!
//! * [`framing`]: base:1.0 end-of-message and base:1.1 chunked framing;
//! * [`xml`]: the small owned XML tree every message is parsed into;
//! * [`client`]: the client state machine over any transport, with a reconnecting
//!   [`client::Session`];
//! * [`render`]: gate control lists as `ieee802-dot1q-sched-bridge` (2023) or
//!   `ieee802-dot1q-sched` (2018) configuration, and back;
//! * [`fleet`]: all-or-nothing deploys over many bridges ([`fleet::deploy_fleet`]);
//! * [`server`] and [`ssh_server`]: the NETCONF server of the software bridge, with
//!   libyang validation ([`validate`]), a pluggable [`server::GateBackend`] and
//!   operational state for `<get>` from a [`state::StateProvider`];
//! * [`ssh`]: the client transport over `tsn-ssh` (pinned host keys).

pub mod client;
pub mod datastore;
pub mod error;
pub mod fleet;
pub mod framing;
pub mod message;
pub mod render;
pub mod server;
pub mod ssh;
pub mod ssh_server;
pub mod state;
pub mod validate;
pub mod xml;

pub use client::{Client, ClientOptions, Datastore, EditConfig, Filter};
pub use error::{FramingError, NetconfError, XmlError};
pub use fleet::{deploy_fleet, DeviceOutcome, DeviceResult, FleetDevice, FleetOptions, FleetResult};
pub use message::{Hello, RpcError};
pub use render::{render, PortGcl, PortLimits, RenderOptions, SchedVariant};
pub use server::{GateBackend, NetconfServer, RecordingBackend, ServerConfig};
pub use state::{StateError, StateProvider};
