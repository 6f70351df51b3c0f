//! The client's SSH transport: `tsn-ssh` (host keys pinned in a known-hosts store,
//! unknown or changed keys refused) and its `netconf` subsystem.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tsn_ssh::{ClientConfig as SshConfig, SshClient, SshStream};

use crate::client::{Client, ClientOptions, Connector};
use crate::error::NetconfError;
use crate::fleet::{BoxTransport, DeviceConnector};

/// A `netconf` subsystem channel that keeps its SSH connection alive.
#[derive(Debug)]
pub struct SshTransport {
    stream: SshStream,
    _client: Arc<SshClient>,
}

impl AsyncRead for SshTransport {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for SshTransport {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Opens an SSH connection (checking the host key) and its `netconf` subsystem.
pub async fn open(cfg: SshConfig) -> Result<SshTransport, NetconfError> {
    let client = SshClient::connect(cfg).await?;
    let stream = client.subsystem("netconf").await?;
    Ok(SshTransport { stream, _client: Arc::new(client) })
}

/// Connects and exchanges hellos: a NETCONF session over SSH.
pub async fn connect(cfg: SshConfig, options: ClientOptions) -> Result<Client<SshTransport>, NetconfError> {
    Client::handshake(open(cfg).await?, options).await
}

/// Opens NETCONF-over-SSH transports to one device, for [`crate::client::Session`] and
/// [`crate::fleet::deploy_fleet`].
#[derive(Clone)]
pub struct SshConnector {
    /// The SSH settings (host, key, known hosts).
    pub config: SshConfig,
}

impl std::fmt::Debug for SshConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SshConnector({}@{}:{})", self.config.user, self.config.host, self.config.port)
    }
}

#[async_trait::async_trait]
impl Connector for SshConnector {
    type Io = SshTransport;
    async fn connect(&self) -> Result<SshTransport, NetconfError> {
        open(self.config.clone()).await
    }
}

#[async_trait::async_trait]
impl DeviceConnector for SshConnector {
    async fn open(&self) -> Result<BoxTransport, NetconfError> {
        Ok(Box::new(open(self.config.clone()).await?))
    }
}
