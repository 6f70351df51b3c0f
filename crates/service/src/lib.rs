//! The runtime every tsn-cp service binary shares (DESIGN.md §1, §7):
//!
//! - [`config`]: typed settings from a TOML file plus environment overrides, with a clear
//!   exit (status 78) on a bad configuration;
//! - [`init_tracing`]: structured logs (text or JSON) where every message handled runs in a
//!   span carrying its `request_id` ([`request_span`]);
//! - [`http`]: `/healthz` and `/metrics` (Prometheus text, [`Metrics`]);
//! - [`shutdown_on_signals`]: SIGTERM/SIGINT → a [`CancellationToken`];
//! - [`store`]: the sqlx pool chosen by URL (`sqlite://…` or `postgres://…`) with
//!   per-service migrations;
//! - [`BusSettings`] and [`connect_bus`]: the bus a service talks to (RabbitMQ, or the
//!   in-memory bus when a test or `tsnctl dev` hands one in).

pub mod config;
pub mod http;
mod metrics;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
pub use tokio_util::sync::CancellationToken;
use tsn_bus::{AmqpBus, AmqpConfig, Bus};

pub use metrics::{Counter, Gauge, Histogram, Metrics, SECONDS_BUCKETS};
pub use store::{Store, StoreError};

/// How a service reaches the bus.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct BusSettings {
    /// `amqp://user:pass@host:port/vhost`; the default is the local RabbitMQ.
    pub url: String,
    /// Prefix of every exchange and queue name (empty in production; tests use one per run).
    pub namespace: String,
    /// When set, broker queues expire after this many seconds unused (tests).
    pub queue_expiry_secs: Option<u64>,
}

impl Default for BusSettings {
    fn default() -> Self {
        BusSettings {
            url: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
            namespace: String::new(),
            queue_expiry_secs: None,
        }
    }
}

impl BusSettings {
    /// The AMQP configuration for a connection named `name`.
    pub fn amqp_config(&self, name: &str) -> AmqpConfig {
        let mut c = AmqpConfig::new(self.url.clone());
        c.namespace = self.namespace.clone();
        c.connection_name = name.to_owned();
        c.queue_expiry = self.queue_expiry_secs.map(Duration::from_secs);
        c
    }
}

/// Settings every service has: where to log, serve operations endpoints and store state.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct CommonSettings {
    /// `host:port` of `/healthz` and `/metrics`; none = not served.
    pub http_listen: Option<String>,
    /// Default log filter (`RUST_LOG` wins), e.g. `info` or `preprocess=debug,info`.
    pub log_level: String,
    /// JSON log lines instead of text.
    pub log_json: bool,
}

impl Default for CommonSettings {
    fn default() -> Self {
        CommonSettings { http_listen: None, log_level: "info".into(), log_json: false }
    }
}

/// Why a service could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The bus could not be reached before shutdown.
    #[error("bus: {0}")]
    Bus(#[from] tsn_bus::BusError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The operations endpoint could not be bound.
    #[error("cannot serve /healthz and /metrics on {addr}: {source}")]
    Http {
        /// The address.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Shut down before being ready.
    #[error("shut down while starting")]
    Cancelled,
}

/// Connects to RabbitMQ, retrying with backoff (a broker that is still starting is not an
/// error) until it answers or `shutdown` is cancelled.
pub async fn connect_bus(
    settings: &BusSettings,
    name: &str,
    shutdown: &CancellationToken,
) -> Result<Arc<dyn Bus>, ServiceError> {
    let mut delay = Duration::from_millis(200);
    loop {
        match AmqpBus::connect(settings.amqp_config(name)).await {
            Ok(bus) => return Ok(Arc::new(bus)),
            Err(e) => {
                tracing::warn!(error = %e, ?delay, "bus not reachable yet; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return Err(ServiceError::Cancelled),
                    () = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Installs the global tracing subscriber: `RUST_LOG` or `default_filter`, text or JSON.
/// Span fields (e.g. `request_id`) appear on every line logged inside the span. Calling it
/// twice is harmless (the second call does nothing).
pub fn init_tracing(default_filter: &str, json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(default_filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

/// The span a message is handled in: `request_id` on every log line inside it.
pub fn request_span(service: &'static str, kind: &str, request_id: &str) -> tracing::Span {
    tracing::info_span!("message", service, kind = %kind, request_id = %request_id)
}

/// A token cancelled on SIGTERM or SIGINT (Ctrl-C).
pub fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
            tracing::error!("cannot install signal handlers; stop with SIGKILL");
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        }
        t.cancel();
    });
    token
}

/// Host name and process id, to tell replicas apart in logs and messages.
pub fn instance_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_owned()).unwrap_or_default();
    format!("{}:{}", if host.is_empty() { "localhost" } else { &host }, std::process::id())
}

/// Starts the operations endpoint when `settings.http_listen` is set.
pub async fn start_ops(
    settings: &CommonSettings,
    ops: http::Ops,
    shutdown: &CancellationToken,
) -> Result<Option<std::net::SocketAddr>, ServiceError> {
    match &settings.http_listen {
        None => Ok(None),
        Some(addr) => http::spawn(addr, ops, shutdown.clone())
            .await
            .map(Some)
            .map_err(|source| ServiceError::Http { addr: addr.clone(), source }),
    }
}

/// Runs a service binary: parses `--config`, loads `C` (prefix `env_prefix`), initialises
/// tracing, connects to the bus, installs the signal handlers and runs `run`. Exit status: 0
/// on a clean shutdown, 1 on an error, 78 on a bad configuration, 64 on bad arguments.
pub fn main<C, F, Fut>(
    service: &str,
    env_prefix: &str,
    common: fn(&C) -> &CommonSettings,
    bus: fn(&C) -> &BusSettings,
    run: F,
) -> std::process::ExitCode
where
    C: serde::de::DeserializeOwned,
    F: FnOnce(C, Arc<dyn Bus>, CancellationToken) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let (path, _) = config::args_or_exit(service, &[]);
    let config: C = config::load_or_exit(service, path.as_deref(), env_prefix);
    let c = common(&config);
    init_tracing(&c.log_level, c.log_json);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{service}: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let shutdown = shutdown_on_signals();
        let bus = connect_bus(bus(&config), service, &shutdown).await?;
        run(config, bus, shutdown).await
    });
    // A solve running on a blocking thread cannot be interrupted; its job went back to the
    // queue already, so do not wait for it.
    runtime.shutdown_timeout(Duration::from_secs(2));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "{service} stopped");
            eprintln!("{service}: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
