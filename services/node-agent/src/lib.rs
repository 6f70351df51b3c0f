//! The node agent: the gRPC (mTLS) face of the enforcing datapath on every Linux node.
//!
//! * [`pb`] — generated `tsn.agent.v1` types, server and client (`proto/tsn/agent/v1`).
//! * [`wire`] — validation of `ApplyScheduleRequest`s into the datapath's types.
//! * [`core`] — the agent's state, one thread reading one message at a time.
//! * [`serve`] — gRPC server, `/healthz`, start-up and shutdown.
//! * [`bridge`] — the bridge role: the engine forwards between ports and applies the gate
//!   control lists committed over NETCONF (`node-agent bridge`).
//!
//! `--dry-run` accepts and records schedules without touching a NIC (for pipeline tests and
//! dev mode). The datapath itself is `tsn-datapath`; the shim is `libktsn.so` (ktsn-shim).

pub mod bridge;
pub mod core;
pub mod health;
pub mod wire;

/// Generated protobuf types and gRPC stubs of `tsn.agent.v1`.
#[allow(missing_docs, missing_debug_implementations, clippy::all)]
pub mod pb {
    tonic::include_proto!("tsn.agent.v1");
}

use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};
use tracing::info;

use crate::core::{CoreHandle, CoreOptions, Msg};
use crate::pb::node_agent_server::{NodeAgent, NodeAgentServer};

/// Errors of the agent service.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// Reading a file or binding a socket failed.
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    /// TLS material is missing or invalid.
    #[error("TLS: {0}")]
    Tls(String),
    /// A setting is not usable (bridge ports, SSH keys).
    #[error("configuration: {0}")]
    Config(String),
    /// The datapath could not start.
    #[error(transparent)]
    Datapath(#[from] tsn_datapath::DatapathError),
    /// The gRPC server failed.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// PEM files of the server's mTLS identity.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// Server certificate chain.
    pub cert: PathBuf,
    /// Server private key.
    pub key: PathBuf,
    /// CA that signs client certificates.
    pub client_ca: PathBuf,
}

/// How to run the agent.
#[derive(Clone, Debug)]
pub struct AgentOptions {
    /// Core settings (node name, dry-run, engine, shim socket).
    pub core: CoreOptions,
    /// gRPC listen address (port 0 = any).
    pub grpc_listen: SocketAddr,
    /// `/healthz` listen address (port 0 = any).
    pub health_listen: SocketAddr,
    /// mTLS material; `None` = plaintext (only with `--insecure` or `--dry-run`).
    pub tls: Option<TlsFiles>,
}

/// The gRPC service.
#[derive(Debug, Clone)]
pub struct AgentService {
    core: CoreHandle,
}

type CounterStream = Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::CounterReport, Status>> + Send>>;

#[tonic::async_trait]
impl NodeAgent for AgentService {
    async fn apply_schedule(
        &self,
        request: Request<pb::ApplyScheduleRequest>,
    ) -> Result<Response<pb::ApplyScheduleResponse>, Status> {
        let req = request.into_inner();
        let r = self.core.ask(|tx| Msg::Apply(Box::new(req), tx)).await??;
        Ok(Response::new(r))
    }

    async fn get_state(&self, _: Request<pb::GetStateRequest>) -> Result<Response<pb::AgentState>, Status> {
        Ok(Response::new(self.core.ask(Msg::State).await?))
    }

    type WatchCountersStream = CounterStream;

    async fn watch_counters(
        &self,
        request: Request<pb::WatchCountersRequest>,
    ) -> Result<Response<Self::WatchCountersStream>, Status> {
        let ms = match request.into_inner().interval_ms {
            0 => 1000,
            n => n.max(10),
        };
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let core = self.core.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(u64::from(ms)));
            loop {
                tick.tick().await;
                let report = core.ask(Msg::Counters).await;
                if tx.send(report).await.is_err() {
                    break; // client gone
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// A running agent: its bound addresses; stops when `shutdown` (given to [`serve`]) resolves.
#[derive(Debug)]
pub struct Running {
    /// Bound gRPC address.
    pub grpc_addr: SocketAddr,
    /// Bound `/healthz` address.
    pub health_addr: SocketAddr,
    /// The server task; resolves when the server stops.
    pub task: tokio::task::JoinHandle<Result<(), AgentError>>,
}

fn read(path: &PathBuf) -> Result<Vec<u8>, AgentError> {
    std::fs::read(path).map_err(|e| AgentError::Io(format!("reading {}", path.display()), e))
}

/// Starts the core, binds both listeners and serves until `shutdown` resolves.
pub async fn serve(
    opts: AgentOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Running, AgentError> {
    let tls = match &opts.tls {
        Some(t) => {
            let identity = Identity::from_pem(read(&t.cert)?, read(&t.key)?);
            let ca = Certificate::from_pem(read(&t.client_ca)?);
            Some(ServerTlsConfig::new().identity(identity).client_ca_root(ca))
        }
        None => None,
    };
    let core = core::start(opts.core.clone())?;
    let grpc = TcpListener::bind(opts.grpc_listen)
        .await
        .map_err(|e| AgentError::Io(format!("binding gRPC on {}", opts.grpc_listen), e))?;
    let health = TcpListener::bind(opts.health_listen)
        .await
        .map_err(|e| AgentError::Io(format!("binding /healthz on {}", opts.health_listen), e))?;
    let grpc_addr = grpc.local_addr().map_err(|e| AgentError::Io("gRPC address".into(), e))?;
    let health_addr = health.local_addr().map_err(|e| AgentError::Io("health address".into(), e))?;
    let health_task = tokio::spawn(health::serve(health, core.clone(), opts.core.dry_run));
    let mut builder = Server::builder();
    if let Some(tls) = tls {
        builder = builder.tls_config(tls)?;
    }
    let router = builder.add_service(NodeAgentServer::new(AgentService { core }));
    info!(%grpc_addr, %health_addr, tls = opts.tls.is_some(), dry_run = opts.core.dry_run, "node agent serving");
    let task = tokio::spawn(async move {
        let r = router.serve_with_incoming_shutdown(TcpListenerStream::new(grpc), shutdown).await;
        health_task.abort();
        r.map_err(AgentError::from)
    });
    Ok(Running { grpc_addr, health_addr, task })
}
