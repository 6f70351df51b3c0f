//! The operations endpoint of every service: `GET /healthz` (200 `ok` when healthy, 503
//! with the failing check otherwise) and `GET /metrics` (Prometheus text format).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::Metrics;

/// A health check: `Ok(())` when healthy, else what is wrong.
pub type HealthCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// What the operations endpoint shows.
#[derive(Clone)]
pub struct Ops {
    /// The service's metrics.
    pub metrics: Metrics,
    /// Checks run on every `/healthz` request.
    pub checks: Vec<(String, HealthCheck)>,
}

impl std::fmt::Debug for Ops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ops").field("checks", &self.checks.iter().map(|(n, _)| n).collect::<Vec<_>>()).finish()
    }
}

impl Ops {
    /// Metrics and no checks.
    pub fn new(metrics: Metrics) -> Self {
        Ops { metrics, checks: Vec::new() }
    }

    /// Adds the check `name`.
    pub fn check<F, Fut>(mut self, name: &str, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks.push((name.to_owned(), Arc::new(move || Box::pin(f()))));
        self
    }

    /// Adds the check `store`: healthy while the service's database answers.
    pub fn check_store(self, store: crate::Store) -> Self {
        self.check("store", move || {
            let store = store.clone();
            async move {
                if store.ping().await {
                    Ok(())
                } else {
                    Err("database unreachable".into())
                }
            }
        })
    }

    /// The axum router with `/healthz` and `/metrics`, to merge into another router.
    pub fn router(self) -> Router {
        Router::new().route("/healthz", get(healthz)).route("/metrics", get(metrics)).with_state(Arc::new(self))
    }
}

async fn healthz(State(ops): State<Arc<Ops>>) -> Response {
    for (name, check) in &ops.checks {
        if let Err(why) = check().await {
            return (StatusCode::SERVICE_UNAVAILABLE, format!("{name}: {why}\n")).into_response();
        }
    }
    (StatusCode::OK, "ok\n").into_response()
}

async fn metrics(State(ops): State<Arc<Ops>>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], ops.metrics.render()).into_response()
}

/// Serves `ops` on `listener` until `shutdown` is cancelled.
pub async fn serve(listener: TcpListener, ops: Ops, shutdown: CancellationToken) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "operations endpoint listening (/healthz, /metrics)");
    axum::serve(listener, ops.router()).with_graceful_shutdown(async move { shutdown.cancelled().await }).await
}

/// Binds `addr` and serves `ops` there in a background task; returns the bound address.
pub async fn spawn(addr: &str, ops: Ops, shutdown: CancellationToken) -> std::io::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = serve(listener, ops, shutdown).await {
            tracing::error!(error = %e, "operations endpoint failed");
        }
    });
    Ok(local)
}
