//! Shared state of a running gateway.

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tsn_bus::Bus;
use tsn_yang::Schema;

use crate::config::GatewayConfig;
use crate::metrics::Metrics;
use crate::notify::Hub;
use crate::store::Store;
use crate::viz::Visualizer;

/// Everything the handlers and tasks share.
#[derive(Debug)]
pub struct App {
    /// The configuration.
    pub config: GatewayConfig,
    /// The YANG schema (cnc-config).
    pub schema: Schema,
    /// The store.
    pub store: Arc<Store>,
    /// The bus compute requests go to (in-memory with the in-process backend).
    pub bus: Arc<dyn Bus>,
    /// Live notification fan-out.
    pub hub: Hub,
    /// Counters.
    pub metrics: Metrics,
    /// Wakes the outbox publisher.
    pub outbox_wake: Notify,
    /// Cancelled when the gateway stops.
    pub shutdown: CancellationToken,
    /// Start time (ms since the epoch).
    pub started_ms: i64,
    /// What the visualizer shows (deployed schedule, topology).
    pub viz: Visualizer,
}
