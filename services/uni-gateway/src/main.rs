//! uni-gateway binary: `uni-gateway [CONFIG.toml]` (or `TSN_GW_CONFIG`), `TSN_GW_*`
//! overrides, `TSN_GW_LOG` (tracing filter). With `amqp_url` it talks to RabbitMQ; without,
//! it answers compute requests in process.

use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use uni_gateway::GatewayConfig;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("TSN_GW_LOG").unwrap_or_else(|_| "info".into()))
        .with_ansi(false)
        .init();
    if let Err(e) = run().await {
        eprintln!("uni-gateway: {e:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let path = std::env::args().nth(1).or_else(|| std::env::var("TSN_GW_CONFIG").ok()).map(PathBuf::from);
    let config = GatewayConfig::load(path.as_deref())?;
    let listener = tokio::net::TcpListener::bind(&config.listen).await?;
    let bus: Option<Arc<dyn tsn_bus::Bus>> = match &config.amqp_url {
        Some(url) => {
            let mut amqp = tsn_bus::AmqpConfig::new(url.clone());
            amqp.namespace = config.amqp_namespace.clone();
            amqp.queue_expiry = config.amqp_queue_expiry_secs.map(std::time::Duration::from_secs);
            amqp.connection_name = "uni-gateway".into();
            Some(Arc::new(tsn_bus::AmqpBus::connect(amqp).await?))
        }
        None => None,
    };
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
        token.cancel();
    });
    uni_gateway::serve(config, listener, bus, shutdown).await
}
