//! southbound: network configuration (DESIGN.md §1, §3).
//!
//! ```text
//! schedule.solved ─▶ southbound.solved ─▶ dedup ─▶ verify ─▶ version check ─┬─▶ deploy.stale (→ preprocess)
//!                                                                           ▼
//!                          per-device configs ─▶ DeviceConfigurator::apply (all devices)
//!                                                   │ ok                    │ a device failed
//!                                                   ▼                       ▼
//!                       store configs + version + outcome          roll back the changed devices
//!                                                   ▼                       ▼
//!                          deploy.completed (deployed, READY)   deploy.completed (not deployed)
//! ```
//!
//! The deployed version of each network lives in southbound's table: a solution built on
//! another admitted version is stale and goes back to preprocess. Every finished deploy is
//! recorded with its outcome under the request id, so a redelivered `schedule.solved`
//! republishes the same outcome instead of deploying twice.

pub mod agent;
pub mod configurator;
pub mod netconf;
pub mod render;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use prost::Message as _;
use serde::Deserialize;
use sqlx::Row;
use tracing::Instrument as _;
use tsn_bus::{Bus, ConsumerOptions, Delivery};
use tsn_pipeline::failure_code::FailureReason;
use tsn_pipeline::{decode, encode, model, outcome, v1};
use tsn_service::store::{hex, unhex};
use tsn_service::{BusSettings, CancellationToken, CommonSettings, Metrics, Store, StoreError};

pub use configurator::{ConfigureError, DeviceConfigurator, DryRunConfigurator, InMemoryConfigurator};
pub use netconf::NetconfFleetConfigurator;
pub use render::DeviceConfig;

/// The queue southbound consumes solved schedules from.
pub const SOLVED_QUEUE: &str = "southbound.solved";

/// southbound's migrations.
pub const MIGRATIONS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS southbound_networks (network TEXT PRIMARY KEY, version BIGINT NOT NULL);
     CREATE TABLE IF NOT EXISTS southbound_deploys (request_id TEXT PRIMARY KEY, topic TEXT NOT NULL, body TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS southbound_devices (device TEXT PRIMARY KEY, body TEXT NOT NULL)",
];

/// Which configurator southbound uses.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ConfiguratorSetting {
    /// Write each device's JSON into `dir`.
    DryRun {
        /// The directory.
        dir: PathBuf,
    },
    /// Keep configurations in memory (tests).
    Memory,
    /// Bridges over NETCONF as one fleet transaction per deploy (see [`netconf`]).
    Netconf(Box<netconf::NetconfSettings>),
}

/// southbound's settings (file + `TSN_SOUTHBOUND_*` environment).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct SouthboundConfig {
    /// The bus.
    pub bus: BusSettings,
    /// Logs and the operations endpoint.
    pub ops: CommonSettings,
    /// `sqlite://FILE?mode=rwc` or `postgres://…`.
    pub database_url: String,
    /// The device configurator.
    pub configurator: ConfiguratorSetting,
}

impl Default for SouthboundConfig {
    fn default() -> Self {
        SouthboundConfig {
            bus: BusSettings::default(),
            ops: CommonSettings::default(),
            database_url: "sqlite://southbound.db?mode=rwc".into(),
            configurator: ConfiguratorSetting::DryRun { dir: PathBuf::from("southbound-config") },
        }
    }
}

/// Runs southbound with the configurator its settings name.
pub async fn run(config: SouthboundConfig, bus: Arc<dyn Bus>, shutdown: CancellationToken) -> anyhow::Result<()> {
    let configurator: Arc<dyn DeviceConfigurator> = match &config.configurator {
        ConfiguratorSetting::DryRun { dir } => Arc::new(DryRunConfigurator::new(dir)?),
        ConfiguratorSetting::Memory => Arc::new(InMemoryConfigurator::new()),
        ConfiguratorSetting::Netconf(settings) => {
            let stations: Arc<dyn DeviceConfigurator> = match &settings.stations {
                Some(netconf::StationSetting::DryRun { dir }) => Arc::new(DryRunConfigurator::new(dir)?),
                Some(netconf::StationSetting::Memory) => Arc::new(InMemoryConfigurator::new()),
                Some(netconf::StationSetting::Grpc(agents)) => {
                    Arc::new(agent::GrpcAgentConfigurator::from_settings(agents)?)
                }
                None => {
                    tracing::warn!("end-station configurations are kept in memory only (no `stations` setting)");
                    Arc::new(InMemoryConfigurator::new())
                }
            };
            Arc::new(netconf::NetconfFleetConfigurator::from_settings(settings, stations)?)
        }
    };
    run_with(config, bus, configurator, shutdown).await
}

/// Runs southbound with `configurator` until `shutdown` is cancelled.
pub async fn run_with(
    config: SouthboundConfig,
    bus: Arc<dyn Bus>,
    configurator: Arc<dyn DeviceConfigurator>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let store = Store::open(&config.database_url).await?;
    store.migrate("southbound", MIGRATIONS).await?;
    let metrics = Metrics::new();
    let ops = tsn_service::http::Ops::new(metrics.clone()).check_store(store.clone());
    tsn_service::start_ops(&config.ops, ops, &shutdown).await?;
    let mut solved =
        bus.subscribe(SOLVED_QUEUE, &[tsn_pipeline::SCHEDULE_SOLVED], ConsumerOptions::with_prefetch(1)).await?;
    let deployer = Deployer { store, bus, configurator, metrics };
    tracing::info!(configurator = ?deployer.configurator, "southbound ready");
    loop {
        let d = tokio::select! {
            () = shutdown.cancelled() => break,
            d = solved.next() => d,
        };
        match d {
            Ok(d) => deployer.delivery(d).await,
            Err(e) => {
                tracing::error!(error = %e, "solved queue failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    solved.close().await;
    tracing::info!("southbound stopped");
    Ok(())
}

struct Deployer {
    store: Store,
    bus: Arc<dyn Bus>,
    configurator: Arc<dyn DeviceConfigurator>,
    metrics: Metrics,
}

/// Why handling a delivery stopped.
enum Problem {
    /// The message can never be processed.
    Poison(String),
    /// Store or bus trouble: try again.
    Transient(String),
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        Problem::Transient(e.to_string())
    }
}

impl From<sqlx::Error> for Problem {
    fn from(e: sqlx::Error) -> Self {
        Problem::Transient(e.to_string())
    }
}

impl Deployer {
    async fn delivery(&self, delivery: Delivery) {
        let message = delivery.message().clone();
        let span = tsn_service::request_span("southbound", &message.kind, &message.request_id);
        async {
            let result = match self.handle(&message).await {
                Ok(()) => delivery.ack().await,
                Err(Problem::Poison(why)) => {
                    tracing::warn!(%why, "unprocessable solved schedule: dead-lettering it");
                    self.count("poison");
                    delivery.nack(false).await
                }
                Err(Problem::Transient(why)) => {
                    tracing::warn!(%why, "transient failure: the schedule will be redelivered");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    delivery.nack(true).await
                }
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, "could not settle the delivery (it will be redelivered)");
            }
        }
        .instrument(span)
        .await
    }

    fn count(&self, result: &str) {
        self.metrics
            .counter("southbound_deploys_total", "Solved schedules handled by result.", &[("result", result)])
            .inc();
    }

    async fn recorded(&self, request_id: &str) -> Result<Option<(String, v1::RequestOutcome)>, Problem> {
        let row = sqlx::query("SELECT topic, body FROM southbound_deploys WHERE request_id = $1")
            .bind(request_id)
            .fetch_optional(self.store.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let topic: String = row.try_get("topic")?;
        let body: String = row.try_get("body")?;
        let outcome = v1::RequestOutcome::decode(unhex(&body)?.as_slice())
            .map_err(|e| Problem::Transient(format!("corrupt stored outcome: {e}")))?;
        Ok(Some((topic, outcome)))
    }

    async fn publish(
        &self,
        topic: &str,
        request_id: &str,
        topology_version: u64,
        o: &v1::RequestOutcome,
    ) -> Result<(), Problem> {
        self.bus
            .publish(topic, &encode(topic, request_id, topology_version, o))
            .await
            .map_err(|e| Problem::Transient(format!("publishing {topic}: {e}")))
    }

    async fn handle(&self, message: &tsn_bus::Message) -> Result<(), Problem> {
        let rid = message.request_id.as_str();
        if let Some((topic, o)) = self.recorded(rid).await? {
            tracing::info!("already deployed: republishing the recorded outcome");
            self.count("duplicate");
            return self.publish(&topic, rid, message.topology_version, &o).await;
        }
        let solved: v1::SolvedJob =
            decode(tsn_pipeline::SCHEDULE_SOLVED, message).map_err(|e| Problem::Poison(e.to_string()))?;
        let job = solved.job.clone().unwrap_or_default();
        let ctx = job.request.clone().unwrap_or_default();
        let kind = tsn_pipeline::SCHEDULE_SOLVED;
        let problem = job
            .problem
            .as_ref()
            .ok_or_else(|| Problem::Poison("solved job without a problem".into()))
            .and_then(|p| model::problem_from_pb(kind, p).map_err(|e| Problem::Poison(e.to_string())))?;
        let schedule = solved
            .schedule
            .as_ref()
            .ok_or_else(|| Problem::Poison("solved job without a schedule".into()))
            .and_then(|s| model::schedule_from_pb(kind, s).map_err(|e| Problem::Poison(e.to_string())))?;

        // DESIGN.md §4: verified again before anything is deployed.
        let verdict = tsn_check::verify(&problem, &schedule);
        if !verdict.is_ok() {
            let o = outcome::failed(
                &ctx,
                FailureReason::Internal,
                &format!("internal error: the schedule failed verification before deployment: {verdict}"),
            );
            self.finish(rid, tsn_pipeline::SCHEDULE_FAILED, &o, None).await?;
            self.count("unverified");
            return self.publish(tsn_pipeline::SCHEDULE_FAILED, rid, message.topology_version, &o).await;
        }

        let deployed_version = self.network_version(&ctx.network).await?;
        if ctx.admitted_version != deployed_version {
            tracing::info!(
                built_on = ctx.admitted_version,
                deployed = deployed_version,
                "stale solution: back to preprocess"
            );
            self.count("stale");
            let body = v1::StaleSolution {
                network: ctx.network.clone(),
                built_on_version: ctx.admitted_version,
                deployed_version,
            };
            return self
                .bus
                .publish(
                    tsn_pipeline::DEPLOY_STALE,
                    &encode(tsn_pipeline::DEPLOY_STALE, rid, message.topology_version, &body),
                )
                .await
                .map_err(|e| Problem::Transient(e.to_string()));
        }

        let version = deployed_version + 1;
        let previous = self.device_configs().await?;
        let configs =
            render::device_configs(&problem, &schedule, &ctx, version, &previous.keys().cloned().collect::<Vec<_>>());
        if let Err(e) = self.configurator.apply_all(&configs, &previous).await {
            let mut o = outcome::failed(&ctx, FailureReason::Deploy, &format!("deploy failed: {e}"));
            for s in o.streams.iter_mut().filter(|s| ctx.requested.iter().any(|r| r.stream_id == s.stream_id)) {
                s.failed_interfaces =
                    vec![v1::EndStation { mac_address: String::new(), interface_name: e.device.clone() }];
            }
            self.finish(rid, tsn_pipeline::DEPLOY_COMPLETED, &o, None).await?;
            self.count("deploy-failed");
            return self.publish(tsn_pipeline::DEPLOY_COMPLETED, rid, message.topology_version, &o).await;
        }

        let mut streams: Vec<v1::StreamOutcome> =
            ctx.requested.iter().map(|e| render::ready_outcome(&problem, &schedule, e)).collect();
        streams.extend(ctx.rejected.iter().cloned());
        streams.extend(ctx.removed.iter().map(|id| v1::StreamOutcome {
            stream_id: id.clone(),
            status: v1::StreamStatus::Removed as i32,
            ..Default::default()
        }));
        let mut endpoints = ctx.admitted.clone();
        endpoints.extend(ctx.requested.iter().cloned());
        let admitted = v1::AdmittedState {
            network: ctx.network.clone(),
            version,
            streams: problem.streams.iter().map(model::stream_to_pb).collect(),
            schedules: schedule.streams.iter().map(model::stream_schedule_to_pb).collect(),
            endpoints,
        };
        let o = v1::RequestOutcome {
            domain_id: ctx.domain_id.clone(),
            cuc_id: ctx.cuc_id.clone(),
            streams,
            deployed: true,
            detail: format!(
                "deployed version {version} to {} devices ({} schedule by {} in {} ms)",
                configs.len(),
                solved.algorithm,
                solved.solver,
                solved.solve_time_us / 1000
            ),
            admitted_state: Some(admitted),
        };
        self.finish(rid, tsn_pipeline::DEPLOY_COMPLETED, &o, Some((&ctx.network, version, &configs))).await?;
        tracing::info!(version, devices = configs.len(), streams = ctx.requested.len(), "deployed");
        self.count("deployed");
        self.publish(tsn_pipeline::DEPLOY_COMPLETED, rid, message.topology_version, &o).await
    }

    async fn network_version(&self, network: &str) -> Result<u64, Problem> {
        let row = sqlx::query("SELECT version FROM southbound_networks WHERE network = $1")
            .bind(network)
            .fetch_optional(self.store.pool())
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<i64, _>("version")? as u64,
            None => 0,
        })
    }

    async fn device_configs(&self) -> Result<std::collections::BTreeMap<String, DeviceConfig>, Problem> {
        let rows = sqlx::query("SELECT device, body FROM southbound_devices").fetch_all(self.store.pool()).await?;
        let mut out = std::collections::BTreeMap::new();
        for r in rows {
            let device: String = r.try_get("device")?;
            let body: String = r.try_get("body")?;
            let c: DeviceConfig =
                serde_json::from_str(&body).map_err(|e| Problem::Transient(format!("corrupt device config: {e}")))?;
            out.insert(device, c);
        }
        Ok(out)
    }

    /// Records the outcome (and, for a deploy, the new version and device configs) in one
    /// transaction, before the outcome is published.
    async fn finish(
        &self,
        request_id: &str,
        topic: &str,
        o: &v1::RequestOutcome,
        deployed: Option<(&str, u64, &[DeviceConfig])>,
    ) -> Result<(), Problem> {
        let mut tx = self.store.pool().begin().await?;
        if let Some((network, version, configs)) = deployed {
            sqlx::query("DELETE FROM southbound_networks WHERE network = $1").bind(network).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO southbound_networks (network, version) VALUES ($1, $2)")
                .bind(network)
                .bind(version as i64)
                .execute(&mut *tx)
                .await?;
            for c in configs {
                let body = serde_json::to_string(c).map_err(|e| Problem::Transient(e.to_string()))?;
                sqlx::query("DELETE FROM southbound_devices WHERE device = $1")
                    .bind(&c.device)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO southbound_devices (device, body) VALUES ($1, $2)")
                    .bind(&c.device)
                    .bind(body)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        sqlx::query("INSERT INTO southbound_deploys (request_id, topic, body) VALUES ($1, $2, $3) ON CONFLICT (request_id) DO NOTHING")
            .bind(request_id)
            .bind(topic)
            .bind(hex(&o.encode_to_vec()))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The `southbound` binary: `southbound [--config FILE.toml]`, settings also from `TSN_SOUTHBOUND_*`
/// environment variables. Exit status 0 after SIGTERM/SIGINT, 1 on an error, 78 on a bad
/// configuration.
pub fn main() -> std::process::ExitCode {
    tsn_service::main("southbound", "TSN_SOUTHBOUND", |c: &SouthboundConfig| &c.ops, |c| &c.bus, run)
}
