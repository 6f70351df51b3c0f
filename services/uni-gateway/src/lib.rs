//! uni-gateway: the CUC-facing RESTCONF UNI of the CNC (IEEE 802.1Qdj `ieee802-dot1q-cnc-config`).
//!
//! * RFC 8040 over HTTP/1.1 and HTTP/2, plain or TLS (rustls) with optional client
//!   certificates; HTTP Basic users for labs. Identities map to the CUC ids they may touch.
//! * Every request body is parsed and validated by libyang ([`tsn_yang`]) against the
//!   product's own modules; errors are `ietf-restconf:errors` with RFC 8040 §7 status codes.
//! * What a client writes is stored (sqlx: SQLite or PostgreSQL) before it is acknowledged.
//!   Operations create compute requests in the same transaction as their outbox row; a
//!   publisher sends them on the bus; outcomes update the config-false status and are sent
//!   to clients as notifications on an SSE event stream. See [`tasks`] for the data flow.
//! * Without a bus, an in-process backend ([`backend`]) answers compute requests with
//!   `tsn-sched`, behind the same bus interface.

pub mod app;
pub mod auth;
pub mod backend;
pub mod config;
pub mod convert;
pub mod doc;
pub mod error;
pub mod media;
pub mod metrics;
pub mod notify;
pub mod ops;
pub mod path;
pub mod query;
pub mod restconf;
pub mod server;
pub mod store;
pub mod tasks;
pub mod tree;
pub mod viz;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

pub use config::{AuthConfig, BasicUser, GatewayConfig, TlsConfig};

/// Serves RESTCONF on `listener` until `shutdown` is cancelled. With `bus = Some(b)`, compute
/// requests are published on the bus (topic `compute.requested`, body
/// `tsn_pipeline::v1::ComputeRequest`, envelope `request_id` = a fresh unique id) and
/// outcomes are consumed from the durable queue `uni-gateway.results` bound to
/// `schedule.failed` and `deploy.completed` (body `tsn_pipeline::v1::RequestOutcome`, same
/// request id). With `bus = None`, an in-process backend answers compute requests by calling
/// tsn-sched directly on the topology from the config (`topology_file`).
pub async fn serve(
    config: GatewayConfig,
    listener: tokio::net::TcpListener,
    bus: Option<Arc<dyn tsn_bus::Bus>>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    config.validate()?;
    let schema = tsn_yang::Schema::cnc_config().context("loading the YANG modules")?;
    let store = Arc::new(
        store::Store::connect(&config.database_url)
            .await
            .with_context(|| format!("connecting to the store {}", redact(&config.database_url)))?,
    );
    let tls = config.tls.as_ref().map(server::tls_acceptor).transpose()?;
    let tasks_token = shutdown.child_token();
    let mut tasks = tokio::task::JoinSet::new();
    let topology = match &config.topology_file {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            let t: tsn_model::Topology =
                serde_json::from_str(&text).with_context(|| format!("parsing the topology {}", p.display()))?;
            t.validate().with_context(|| format!("topology {}", p.display()))?;
            Some(t)
        }
        None => None,
    };
    let bus: Arc<dyn tsn_bus::Bus> = match bus {
        Some(b) => b,
        None => {
            let memory: Arc<dyn tsn_bus::Bus> = Arc::new(tsn_bus::MemoryBus::new());
            let backend = backend::InProcess::new(topology.clone(), Duration::from_millis(config.solve_time_limit_ms));
            let sub = backend::subscribe(memory.as_ref()).await?;
            tasks.spawn(backend::run(memory.clone(), sub, backend, tasks_token.clone()));
            memory
        }
    };
    let app = Arc::new(app::App {
        config,
        schema,
        store,
        bus,
        hub: notify::Hub::default(),
        metrics: metrics::Metrics::default(),
        outbox_wake: tokio::sync::Notify::new(),
        shutdown: shutdown.clone(),
        started_ms: store::now_ms(),
        viz: viz::Visualizer::new(topology),
    });
    viz::restore(&app).await;
    tasks.spawn(tasks::outbox_publisher(app.clone(), tasks_token.clone()));
    // Bind the results queue before accepting requests, so that no outcome of a request
    // made through this gateway can be published to an unbound topic.
    let results = match tokio::time::timeout(Duration::from_secs(10), tasks::subscribe_results(app.bus.as_ref())).await
    {
        Ok(Ok(sub)) => Some(sub),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot subscribe to outcomes yet; retrying in the background");
            None
        }
        Err(_) => {
            tracing::warn!("subscribing to outcomes timed out; retrying in the background");
            None
        }
    };
    tasks.spawn(tasks::results_consumer(app.clone(), results, tasks_token.clone()));
    // The visualizer follows the pipeline on a queue of its own, bound before requests too.
    let viz_sub = match tokio::time::timeout(Duration::from_secs(10), viz::subscribe(app.bus.as_ref())).await {
        Ok(Ok(sub)) => Some(sub),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "the visualizer cannot subscribe yet; retrying in the background");
            None
        }
        Err(_) => None,
    };
    tasks.spawn(viz::tracker(app.clone(), viz_sub, tasks_token.clone()));
    let addr = listener.local_addr().ok();
    tracing::info!(?addr, tls = tls.is_some(), "uni-gateway serving RESTCONF");
    server::run(listener, restconf::router(app.clone()), tls, shutdown).await;
    tasks_token.cancel();
    while tasks.join_next().await.is_some() {}
    tracing::info!("uni-gateway stopped");
    Ok(())
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &url[..s + 3], &url[at..]),
        _ => url.to_owned(),
    }
}
