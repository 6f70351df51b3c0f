//! An SSH client (russh) for the control plane: run commands on devices (topology
//! discovery) and open subsystems (NETCONF over SSH, RFC 6242), authenticating with a
//! private key and **never trusting an unknown server**.
//!
//! Server host keys are checked against a [`KnownHosts`] store in OpenSSH's format:
//! - a pinned key that matches: connect;
//! - a host with pinned keys presenting another key: refused, always, with
//!   [`SshError::HostKeyMismatch`] naming both fingerprints (`SHA256:...` as OpenSSH prints
//!   them);
//! - a host with nothing pinned: refused with [`SshError::UnknownHostKey`] unless
//!   [`ClientConfig::trust_unknown`] is set, in which case the key is pinned (and saved when
//!   the store is file-backed): trust on first use, an explicit choice.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tsn_ssh::SshError> {
//! use std::sync::{Arc, Mutex};
//! use tsn_ssh::{ClientConfig, KnownHosts, SshClient};
//! let known = Arc::new(Mutex::new(KnownHosts::load("/etc/tsn/known_hosts")?));
//! let cfg = ClientConfig::new("fe80::2%eth1", 22, "root", "/etc/tsn/id_ed25519", known);
//! let client = SshClient::connect(cfg).await?;
//! let out = client.exec("lldpcli -f json0 show chassis").await?;
//! assert_eq!(out.exit_status, Some(0));
//! let netconf = client.subsystem("netconf").await?; // AsyncRead + AsyncWrite
//! # drop(netconf);
//! client.close().await;
//! # Ok(()) }
//! ```
//!
//! Host names may carry an IPv6 scope (`fe80::2%eth1` or `fe80::2%3`), which the standard
//! library's resolver does not accept; it is resolved here (`/sys/class/net/<if>/ifindex`).

mod known_hosts;

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use russh::client::{self, Handle, Msg};
use russh::keys::PrivateKeyWithHashAlg;
use russh::{ChannelMsg, ChannelStream, Disconnect};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

pub use known_hosts::{fingerprint, host_entry_name, HostKeyStatus, KnownHosts};
/// The russh version this crate is built on (its key types appear in this API).
pub use russh;

/// Largest stdout (and, separately, stderr) [`SshClient::exec`] collects.
pub const MAX_EXEC_OUTPUT: usize = 16 * 1024 * 1024;

/// What can go wrong talking SSH to a device.
#[derive(Debug, Error)]
pub enum SshError {
    /// The server presented a key other than the one pinned for it. Never accepted.
    #[error(
        "host key mismatch for {host}: expected {expected_fingerprint}, got {got_fingerprint} \
         (possible man-in-the-middle, or the device was re-keyed: update its pinned key)"
    )]
    HostKeyMismatch {
        /// The known-hosts name of the server (`host` or `[host]:port`).
        host: String,
        /// The pinned key(s), `SHA256:...` (comma-separated if several).
        expected_fingerprint: String,
        /// The key the server presented, `SHA256:...`.
        got_fingerprint: String,
    },
    /// The server's key is not pinned and `trust_unknown` is off.
    #[error("unknown host key for {host}: {fingerprint} is not pinned (add it to the known hosts to trust it)")]
    UnknownHostKey {
        /// The known-hosts name of the server.
        host: String,
        /// The key the server presented, `SHA256:...`.
        fingerprint: String,
    },
    /// The server's key is marked `@revoked`.
    #[error("host key {fingerprint} of {host} is revoked")]
    HostKeyRevoked {
        /// The known-hosts name of the server.
        host: String,
        /// The revoked key, `SHA256:...`.
        fingerprint: String,
    },
    /// The server refused our key.
    #[error("authentication as {user}@{host} with key {key} refused")]
    Auth {
        /// The user.
        user: String,
        /// The server.
        host: String,
        /// The private key file.
        key: PathBuf,
    },
    /// The private key file cannot be read or decoded.
    #[error("private key {path}: {message}")]
    Key {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A known-hosts text is malformed.
    #[error("known hosts {source_name} line {line}: {message}")]
    KnownHosts {
        /// Where the text came from (a file name, an inventory entry).
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The host name cannot be resolved (or its IPv6 scope is not an interface).
    #[error("cannot resolve {host}: {message}")]
    Resolve {
        /// The host.
        host: String,
        /// Why.
        message: String,
    },
    /// A socket or file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: io::Error,
    },
    /// A step did not finish in time.
    #[error("{what} with {host} timed out after {after:?}")]
    Timeout {
        /// The server.
        host: String,
        /// The step (`TCP connect`, `SSH handshake`, `authentication`).
        what: &'static str,
        /// The limit.
        after: Duration,
    },
    /// The server refused a channel request (exec, subsystem).
    #[error("server refused {request}")]
    Refused {
        /// The request, e.g. `subsystem netconf`.
        request: String,
    },
    /// A command printed more than [`MAX_EXEC_OUTPUT`] bytes on one stream.
    #[error("`{command}` printed more than {MAX_EXEC_OUTPUT} bytes")]
    OutputTooLarge {
        /// The command.
        command: String,
    },
    /// The SSH protocol failed (disconnect, bad packet, no common algorithm, ...).
    #[error("ssh: {0}")]
    Protocol(String),
}

impl From<russh::Error> for SshError {
    fn from(e: russh::Error) -> Self {
        match e {
            russh::Error::IO(source) => SshError::Io { context: "ssh connection".to_owned(), source },
            other => SshError::Protocol(other.to_string()),
        }
    }
}

impl SshError {
    /// Whether this is a host-key failure (mismatch, unknown, revoked): a security event,
    /// not a transient one; retrying does not help.
    pub fn is_host_key_error(&self) -> bool {
        matches!(
            self,
            SshError::HostKeyMismatch { .. } | SshError::UnknownHostKey { .. } | SshError::HostKeyRevoked { .. }
        )
    }
}

/// How to reach and log into one server.
#[derive(Clone)]
pub struct ClientConfig {
    /// Host name or address; IPv6 link-local addresses with a scope (`fe80::2%eth1`).
    pub host: String,
    /// TCP port (22; 830 for NETCONF).
    pub port: u16,
    /// User to log in as.
    pub user: String,
    /// Private key file (OpenSSH format, unencrypted; ed25519 or ECDSA).
    pub key: PathBuf,
    /// Pinned host keys (shared between clients; locked only briefly, never across an await).
    pub known_hosts: Arc<Mutex<KnownHosts>>,
    /// Pin an unknown server's key instead of refusing it (default false). A changed key is
    /// refused whatever this says.
    pub trust_unknown: bool,
    /// Time allowed for each of TCP connect, SSH handshake and authentication.
    pub connect_timeout: Duration,
    /// Send a keepalive after this much silence from the server (and drop the connection
    /// after three unanswered ones).
    pub keepalive: Option<Duration>,
    /// Look the host key up under this name instead of `host` (OpenSSH `HostKeyAlias`),
    /// e.g. a device name when its address changes.
    pub host_key_alias: Option<String>,
}

impl ClientConfig {
    /// A configuration with the defaults: unknown keys refused, 10 s connect timeout, no
    /// keepalive, no alias.
    pub fn new(
        host: impl Into<String>,
        port: u16,
        user: impl Into<String>,
        key: impl Into<PathBuf>,
        known_hosts: Arc<Mutex<KnownHosts>>,
    ) -> Self {
        ClientConfig {
            host: host.into(),
            port,
            user: user.into(),
            key: key.into(),
            known_hosts,
            trust_unknown: false,
            connect_timeout: Duration::from_secs(10),
            keepalive: None,
            host_key_alias: None,
        }
    }

    fn key_name(&self) -> &str {
        self.host_key_alias.as_deref().unwrap_or(&self.host)
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("key", &self.key)
            .field("trust_unknown", &self.trust_unknown)
            .field("connect_timeout", &self.connect_timeout)
            .field("keepalive", &self.keepalive)
            .field("host_key_alias", &self.host_key_alias)
            .finish_non_exhaustive()
    }
}

/// Checks the server key during the handshake.
struct Verifier {
    known_hosts: Arc<Mutex<KnownHosts>>,
    name: String,
    port: u16,
    trust_unknown: bool,
}

impl client::Handler for Verifier {
    type Error = SshError;

    async fn check_server_key(
        &mut self,
        server_public_key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = server_public_key.public_key();
        let entry = host_entry_name(&self.name, self.port);
        let got = fingerprint(&key);
        // A poisoned lock only means another thread panicked mid-update; the data is a
        // list of lines and still consistent.
        let mut store = self.known_hosts.lock().unwrap_or_else(|p| p.into_inner());
        match store.check(&self.name, self.port, &key) {
            HostKeyStatus::Match => {
                tracing::debug!(host = %entry, fingerprint = %got, "host key matches the pinned key");
                Ok(true)
            }
            HostKeyStatus::Mismatch(expected) => {
                tracing::error!(host = %entry, expected = %expected.join(", "), got = %got, "host key mismatch");
                Err(SshError::HostKeyMismatch {
                    host: entry,
                    expected_fingerprint: expected.join(", "),
                    got_fingerprint: got,
                })
            }
            HostKeyStatus::Revoked => {
                tracing::error!(host = %entry, fingerprint = %got, "revoked host key");
                Err(SshError::HostKeyRevoked { host: entry, fingerprint: got })
            }
            HostKeyStatus::Unknown if self.trust_unknown => {
                tracing::warn!(host = %entry, fingerprint = %got, "pinning the unknown host key (trust_unknown)");
                store.trust(&self.name, self.port, &key);
                store.save()?;
                Ok(true)
            }
            HostKeyStatus::Unknown => {
                tracing::warn!(host = %entry, fingerprint = %got, "unknown host key refused");
                Err(SshError::UnknownHostKey { host: entry, fingerprint: got })
            }
        }
    }
}

/// The result of a remote command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// What it printed on stdout.
    pub stdout: Vec<u8>,
    /// What it printed on stderr.
    pub stderr: Vec<u8>,
    /// Its exit status; `None` if the server reported none (e.g. killed by a signal).
    pub exit_status: Option<u32>,
    /// The signal that killed it, if any (e.g. `KILL`).
    pub exit_signal: Option<String>,
}

impl ExecOutput {
    /// Whether it exited with status 0.
    pub fn success(&self) -> bool {
        self.exit_status == Some(0)
    }

    /// stdout as text (invalid UTF-8 replaced).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text (invalid UTF-8 replaced), trimmed.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).trim().to_owned()
    }
}

/// A byte stream to a subsystem (e.g. a NETCONF server). Dropping it closes the channel.
pub struct SshStream {
    inner: ChannelStream<Msg>,
}

impl fmt::Debug for SshStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshStream").finish_non_exhaustive()
    }
}

impl AsyncRead for SshStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for SshStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// An authenticated SSH connection. Commands and subsystems each get their own channel, so
/// one client serves several at once (`&self`).
pub struct SshClient {
    handle: Handle<Verifier>,
    target: String,
}

impl fmt::Debug for SshClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshClient").field("target", &self.target).finish_non_exhaustive()
    }
}

impl SshClient {
    /// Connects, checks the server's host key (see the crate docs) and authenticates with
    /// the private key.
    ///
    /// # Errors
    ///
    /// [`SshError::HostKeyMismatch`], [`SshError::UnknownHostKey`],
    /// [`SshError::HostKeyRevoked`], [`SshError::Auth`], [`SshError::Key`],
    /// [`SshError::Resolve`], [`SshError::Io`], [`SshError::Timeout`],
    /// [`SshError::Protocol`].
    pub async fn connect(cfg: ClientConfig) -> Result<SshClient, SshError> {
        let target = format!("{}@{}", cfg.user, host_entry_name(&cfg.host, cfg.port));
        let span = tracing::debug_span!("ssh_connect", %target);
        let _enter = span.enter();
        // Read the key first: a bad key file is a local configuration error, reported as
        // such without touching the network.
        let key = russh::keys::load_secret_key(&cfg.key, None)
            .map_err(|e| SshError::Key { path: cfg.key.clone(), message: e.to_string() })?;
        let addrs = resolve(&cfg.host, cfg.port).await?;
        let timeout = cfg.connect_timeout;
        let host = cfg.host.clone();
        let timed_out = |what| SshError::Timeout { host: host.clone(), what, after: timeout };

        let mut stream = None;
        let mut last_err = None;
        for addr in &addrs {
            match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
                Ok(Ok(s)) => {
                    stream = Some(s);
                    break;
                }
                Ok(Err(source)) => last_err = Some(SshError::Io { context: format!("connecting to {addr}"), source }),
                Err(_) => last_err = Some(timed_out("TCP connect")),
            }
        }
        let stream = match (stream, last_err) {
            (Some(s), _) => s,
            (None, Some(e)) => return Err(e),
            (None, None) => return Err(SshError::Resolve { host, message: "no address".to_owned() }),
        };
        let _ = stream.set_nodelay(true);

        let mut config = client::Config {
            keepalive_interval: cfg.keepalive,
            keepalive_max: 3,
            inactivity_timeout: None,
            nodelay: true,
            ..Default::default()
        };
        // Ask for a pinned key type first, so that a server with several host keys
        // presents the one we know.
        let pinned = {
            let store = cfg.known_hosts.lock().unwrap_or_else(|p| p.into_inner());
            store.algorithms_for(cfg.key_name(), cfg.port)
        };
        if !pinned.is_empty() {
            let mut order = pinned.clone();
            order.extend(config.preferred.key.iter().filter(|a| !pinned.contains(a)).cloned());
            config.preferred.key = order.into();
        }
        let verifier = Verifier {
            known_hosts: cfg.known_hosts.clone(),
            name: cfg.key_name().to_owned(),
            port: cfg.port,
            trust_unknown: cfg.trust_unknown,
        };
        let mut handle = tokio::time::timeout(timeout, client::connect_stream(Arc::new(config), stream, verifier))
            .await
            .map_err(|_| timed_out("SSH handshake"))??;

        let key = PrivateKeyWithHashAlg::new(Arc::new(key), None);
        let auth = tokio::time::timeout(timeout, handle.authenticate_publickey(cfg.user.clone(), key))
            .await
            .map_err(|_| timed_out("authentication"))??;
        if !auth.success() {
            return Err(SshError::Auth { user: cfg.user, host: cfg.host, key: cfg.key });
        }
        tracing::debug!("connected");
        Ok(SshClient { handle, target })
    }

    /// `user@host` (or `user@[host]:port`) of this connection.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Runs `command` on the server (through the user's shell) and collects its output.
    /// A non-zero exit is not an error here: see [`ExecOutput::exit_status`].
    ///
    /// # Errors
    ///
    /// [`SshError::Refused`] if the server refuses to run commands,
    /// [`SshError::OutputTooLarge`], and connection errors.
    pub async fn exec(&self, command: &str) -> Result<ExecOutput, SshError> {
        let mut channel = self.handle.channel_open_session().await?;
        channel.exec(true, command).await?;
        let mut out = ExecOutput::default();
        let too_large = || SshError::OutputTooLarge { command: command.to_owned() };
        while let Some(msg) = channel.wait().await {
            match msg {
                ChannelMsg::Data { data } => {
                    if out.stdout.len() + data.len() > MAX_EXEC_OUTPUT {
                        return Err(too_large());
                    }
                    out.stdout.extend_from_slice(&data);
                }
                ChannelMsg::ExtendedData { data, ext: 1 } => {
                    if out.stderr.len() + data.len() > MAX_EXEC_OUTPUT {
                        return Err(too_large());
                    }
                    out.stderr.extend_from_slice(&data);
                }
                ChannelMsg::ExitStatus { exit_status } => out.exit_status = Some(exit_status),
                ChannelMsg::ExitSignal { signal_name, .. } => out.exit_signal = Some(format!("{signal_name:?}")),
                ChannelMsg::Failure => return Err(SshError::Refused { request: format!("exec {command:?}") }),
                ChannelMsg::Close => break,
                _ => {}
            }
        }
        tracing::debug!(target = %self.target, command, status = ?out.exit_status, "exec done");
        Ok(out)
    }

    /// Starts the subsystem `name` (e.g. `netconf`) and returns its byte stream once the
    /// server has accepted the request.
    ///
    /// # Errors
    ///
    /// [`SshError::Refused`] if the server has no such subsystem (or closes the channel),
    /// and connection errors.
    pub async fn subsystem(&self, name: &str) -> Result<SshStream, SshError> {
        let mut channel = self.handle.channel_open_session().await?;
        channel.request_subsystem(true, name).await?;
        let refused = || SshError::Refused { request: format!("subsystem {name:?}") };
        loop {
            match channel.wait().await {
                Some(ChannelMsg::Success) => break,
                Some(ChannelMsg::Failure | ChannelMsg::Close | ChannelMsg::Eof) | None => return Err(refused()),
                Some(_) => {}
            }
        }
        Ok(SshStream { inner: channel.into_stream() })
    }

    /// Whether the connection has been closed (by either side or by keepalive failure).
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Disconnects politely.
    pub async fn close(self) {
        let _ = self.handle.disconnect(Disconnect::ByApplication, "", "en").await;
    }
}

/// Resolves `host`, accepting IPv6 scopes (`fe80::1%eth0`, `fe80::1%3`) and brackets.
async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, SshError> {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let err = |message: String| SshError::Resolve { host: host.to_owned(), message };
    if let Some((addr, scope)) = bare.split_once('%') {
        let ip: std::net::Ipv6Addr = addr.parse().map_err(|_| err(format!("{addr:?} is not an IPv6 address")))?;
        let scope_id = match scope.parse::<u32>() {
            Ok(n) => n,
            Err(_) => interface_index(scope).map_err(err)?,
        };
        return Ok(vec![SocketAddr::V6(SocketAddrV6::new(ip, port, 0, scope_id))]);
    }
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, port)).await.map_err(|e| err(e.to_string()))?.collect();
    if addrs.is_empty() {
        return Err(err("no address".to_owned()));
    }
    Ok(addrs)
}

/// The index of network interface `name` (Linux sysfs).
fn interface_index(name: &str) -> Result<u32, String> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return Err(format!("{name:?} is not an interface name"));
    }
    let path = format!("/sys/class/net/{name}/ifindex");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("scope {name:?}: {e}"))?;
    text.trim().parse().map_err(|_| format!("unreadable {path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn scoped_addresses_resolve() {
        let a = resolve("fe80::2%1", 22).await.unwrap();
        assert_eq!(a, vec!["[fe80::2%1]:22".parse().unwrap()]);
        let lo = resolve("fe80::2%lo", 830).await.unwrap();
        assert!(matches!(lo[0], SocketAddr::V6(v) if v.scope_id() > 0 && v.port() == 830));
        assert_eq!(resolve("127.0.0.1", 22).await.unwrap(), vec!["127.0.0.1:22".parse().unwrap()]);
        assert_eq!(resolve("[::1]", 22).await.unwrap(), vec!["[::1]:22".parse().unwrap()]);
        assert!(matches!(resolve("fe80::2%no-such-if", 22).await, Err(SshError::Resolve { .. })));
        assert!(matches!(resolve("fe80::2%../x", 22).await, Err(SshError::Resolve { .. })));
        assert!(matches!(resolve("nonsense%1", 22).await, Err(SshError::Resolve { .. })));
    }

    #[test]
    fn errors_name_both_fingerprints() {
        let e = SshError::HostKeyMismatch {
            host: "b1".into(),
            expected_fingerprint: "SHA256:aaa".into(),
            got_fingerprint: "SHA256:bbb".into(),
        };
        let text = e.to_string();
        assert!(text.contains("SHA256:aaa") && text.contains("SHA256:bbb") && text.contains("b1"), "{text}");
        assert!(e.is_host_key_error());
    }
}
