//! The topology service (DESIGN.md §1): logs into every managed device over SSH (pinned host
//! keys only), reads its LLDP neighbours, its own chassis and its port speeds (with lldpcli,
//! or as `ieee802-dot1ab-lldp` over NETCONF where the device offers it), builds the
//! network as a directed graph and publishes a versioned [`tsn_pipeline::v1::TopologySnapshot`]
//! on `topology.changed` whenever something changed.
//!
//! ```text
//!   interval tick ──┐
//!   topology.rediscover (bus) ──▶ round ──▶ Discoverer ──▶ NeighbourSource × devices (concurrent)
//!                                   │             └──▶ graph::build ──▶ Discovery
//!                                   ▼
//!                           VersionTracker (state file) ──▶ topology.changed (bus)
//! ```
//!
//! Publishing rules: a round whose graph and unreachable devices equal the last published
//! snapshot publishes nothing, except (a) the first round after a start, which republishes
//! the current snapshot **under its stored version** (late subscribers get it; a restart
//! never invents a new version for unchanged content), and (b) an on-demand request, which
//! is answered with the current snapshot (same version when unchanged). A failed publish is
//! retried every round until it succeeds.

pub mod config;
pub mod graph;
pub mod netconf;
pub mod source;
pub mod state;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tsn_bus::{topics::TOPOLOGY_CHANGED, Bus, ConsumerOptions};
use tsn_service::{Counter, Gauge, Histogram, Metrics};

pub use config::{Device, LinkDefaults, SourceKind, StaticStation, TopologyConfig};
pub use graph::Discovery;
pub use netconf::NetconfLldp;
pub use source::{DeviceReport, DeviceSource, LldpcliOverSsh, NeighbourSource, SourceError, StaticSource};
pub use state::{Published, VersionTracker};

/// Topic of on-demand rediscovery requests (any body; the request id is echoed in the
/// envelope of the snapshot published in answer).
pub const REDISCOVER: &str = "topology.rediscover";

/// Reads every inventory device through a [`NeighbourSource`] and builds the graph.
#[derive(Debug, Clone)]
pub struct Discoverer {
    config: Arc<TopologyConfig>,
    source: Arc<dyn NeighbourSource>,
}

impl Discoverer {
    /// A discoverer of `config`'s inventory reading devices through `source`.
    pub fn new(config: TopologyConfig, source: Arc<dyn NeighbourSource>) -> Self {
        Discoverer { config: Arc::new(config), source }
    }

    /// The inventory and settings.
    pub fn config(&self) -> &TopologyConfig {
        &self.config
    }

    /// One discovery round: all devices read concurrently, each within
    /// `device_timeout_s`; a device that fails is unreachable with the reason.
    pub async fn discover(&self) -> Discovery {
        let started = Instant::now();
        let timeout = Duration::from_secs(self.config.device_timeout_s.max(1));
        let mut tasks = JoinSet::new();
        for device in self.config.devices.iter().cloned() {
            let source = self.source.clone();
            tasks.spawn(async move {
                let result = match tokio::time::timeout(timeout, source.read(&device)).await {
                    Ok(r) => r,
                    Err(_) => Err(SourceError::Timeout(timeout)),
                };
                (device.name, result)
            });
        }
        let mut reports = BTreeMap::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((name, Ok(report))) => {
                    reports.insert(name, Ok(report));
                }
                Ok((name, Err(e))) => {
                    if e.is_host_key_error() {
                        tracing::error!(device = %name, error = %e, "device refused: host key not trusted");
                    } else {
                        tracing::warn!(device = %name, error = %e, "device unreachable");
                    }
                    reports.insert(name, Err(e.to_string()));
                }
                // A panicking reader is a bug; its device then counts as not read.
                Err(e) => tracing::error!(error = %e, "device reader task failed"),
            }
        }
        let discovery = graph::build(&self.config, &reports);
        for w in &discovery.warnings {
            tracing::warn!("{w}");
        }
        tracing::debug!(
            nodes = discovery.topology.nodes.len(),
            links = discovery.topology.links.len(),
            unreachable = discovery.unreachable.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "discovery round done"
        );
        discovery
    }
}

/// The service's Prometheus series.
#[derive(Debug)]
struct Meters {
    version: Gauge,
    nodes: Gauge,
    links: Gauge,
    unreachable: Gauge,
    rounds: Counter,
    publish_failures: Counter,
    round_seconds: Histogram,
}

impl Meters {
    fn new(m: &Metrics) -> Self {
        Meters {
            version: m.gauge("tsn_topology_version", "Version of the last published topology snapshot", &[]),
            nodes: m.gauge("tsn_topology_nodes", "Nodes in the last discovered topology", &[]),
            links: m.gauge("tsn_topology_links", "Directed links in the last discovered topology", &[]),
            unreachable: m.gauge(
                "tsn_topology_unreachable_devices",
                "Inventory devices not read in the last round",
                &[],
            ),
            rounds: m.counter("tsn_topology_rounds_total", "Discovery rounds run", &[]),
            publish_failures: m.counter(
                "tsn_topology_publish_failures_total",
                "Snapshots that could not be published",
                &[],
            ),
            round_seconds: m.histogram(
                "tsn_topology_round_seconds",
                "Duration of one discovery round",
                &[],
                tsn_service::SECONDS_BUCKETS,
            ),
        }
    }
}

/// Why a round ran.
#[derive(Debug)]
enum Trigger {
    Periodic,
    OnDemand(tsn_bus::Delivery),
}

/// Runs the service until `shutdown`: the real sources (lldpcli over SSH, NETCONF, as each
/// device's `source` says), the known_hosts file of the configuration.
///
/// # Errors
///
/// A bad configuration, an unreadable known_hosts or state file, or a bus that fails to
/// subscribe.
pub async fn run(config: TopologyConfig, bus: Arc<dyn Bus>, shutdown: CancellationToken) -> anyhow::Result<()> {
    config.validate().map_err(|e| anyhow::anyhow!("invalid topology configuration: {e}"))?;
    let source = DeviceSource::from_file(config.known_hosts.as_ref(), Duration::from_secs(config.ssh_timeout_s))
        .context("known_hosts")?;
    run_with_source(config, Arc::new(source), bus, shutdown).await
}

/// [`run`] with another neighbour source (e.g. [`StaticSource`] in dev mode and tests).
///
/// # Errors
///
/// As [`run`].
pub async fn run_with_source(
    config: TopologyConfig,
    source: Arc<dyn NeighbourSource>,
    bus: Arc<dyn Bus>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    config.validate().map_err(|e| anyhow::anyhow!("invalid topology configuration: {e}"))?;
    let mut tracker = VersionTracker::open(config.state_file.as_deref())?;
    let metrics = Metrics::new();
    let meters = Meters::new(&metrics);
    // Healthy once the current snapshot is out: a service that cannot publish is not.
    let published = Arc::new(AtomicBool::new(false));
    let health = published.clone();
    let ops = tsn_service::http::Ops::new(metrics).check("snapshot published", move || {
        let ok = health.load(Ordering::Relaxed);
        async move {
            if ok {
                Ok(())
            } else {
                Err("no topology snapshot published yet (or the last publish failed)".to_owned())
            }
        }
    });
    tsn_service::start_ops(&config.ops, ops, &shutdown).await?;
    let mut requests = bus
        .subscribe(&config.rediscover_queue, &[REDISCOVER], ConsumerOptions::default())
        .await
        .context("subscribing to rediscovery requests")?;
    let mut ticker = tokio::time::interval(config.interval());
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let discoverer = Discoverer::new(config, source);
    tracing::info!(
        devices = discoverer.config().devices.len(),
        interval_s = discoverer.config().interval_s,
        "topology service started"
    );
    let mut must_publish = true;
    loop {
        let trigger = tokio::select! {
            () = shutdown.cancelled() => break,
            _ = ticker.tick() => Trigger::Periodic,
            next = requests.next() => match next {
                Ok(d) => Trigger::OnDemand(d),
                Err(e) => {
                    tracing::warn!(error = %e, "rediscovery subscription failed; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            },
        };
        let started = Instant::now();
        let discovery = tokio::select! {
            () = shutdown.cancelled() => break,
            d = discoverer.discover() => d,
        };
        meters.rounds.inc();
        meters.round_seconds.observe(started.elapsed().as_secs_f64());
        meters.nodes.set(discovery.topology.nodes.len() as i64);
        meters.links.set(discovery.topology.links.len() as i64);
        meters.unreachable.set(discovery.unreachable.len() as i64);
        let (version, changed) = match tracker.observe(&discovery.topology, &discovery.unreachable) {
            Ok(v) => v,
            Err(e) => {
                // Publishing a version that is not saved could reuse its number after a
                // restart; skip this round instead.
                tracing::error!(error = %e, "cannot save the topology state; not publishing");
                continue;
            }
        };
        let request_id = match &trigger {
            Trigger::OnDemand(d) => d.message().request_id.clone(),
            Trigger::Periodic => format!("topology-v{version}"),
        };
        if changed {
            tracing::info!(
                version,
                nodes = discovery.topology.nodes.len(),
                links = discovery.topology.links.len(),
                unreachable = discovery.unreachable.len(),
                "topology changed"
            );
        }
        if changed || must_publish || matches!(trigger, Trigger::OnDemand(_)) {
            let body = tsn_pipeline::topology::to_pb(version, &discovery.topology, &discovery.unreachable);
            let message = tsn_pipeline::encode(TOPOLOGY_CHANGED, &request_id, version, &body);
            match bus.publish(TOPOLOGY_CHANGED, &message).await {
                Ok(()) => {
                    must_publish = false;
                    published.store(true, Ordering::Relaxed);
                    meters.version.set(i64::try_from(version).unwrap_or(i64::MAX));
                    tracing::info!(version, request_id = %request_id, "topology snapshot published");
                }
                Err(e) => {
                    must_publish = true;
                    published.store(false, Ordering::Relaxed);
                    meters.publish_failures.inc();
                    tracing::error!(version, error = %e, "publishing the topology snapshot failed; retrying next round");
                }
            }
        }
        if let Trigger::OnDemand(d) = trigger {
            // Acked after the answer is out: a crash before it redelivers the request.
            if let Err(e) = d.ack().await {
                tracing::warn!(error = %e, "cannot ack a rediscovery request");
            }
        }
    }
    requests.close().await;
    tracing::info!("topology service stopped");
    Ok(())
}
