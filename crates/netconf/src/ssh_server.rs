//! NETCONF over SSH (RFC 6242) for the software bridge: a russh server that accepts
//! public-key authentication from an authorized-keys list and runs a
//! [`NetconfServer`] session on every `netconf` subsystem channel.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use russh::keys::{PrivateKey, PublicKey};
use russh::server::{Auth, Msg, Server as _, Session};
use russh::{Channel, ChannelId};
use tokio::net::TcpListener;

use crate::server::NetconfServer;

/// SSH side of the server.
#[derive(Clone, Debug)]
pub struct SshServerConfig {
    /// The host key clients pin.
    pub host_key: PrivateKey,
    /// Public keys allowed to log in.
    pub authorized_keys: Vec<PublicKey>,
    /// User names allowed to log in; empty = any user with an authorized key.
    pub users: Vec<String>,
    /// Idle SSH connections are closed after this long.
    pub inactivity_timeout: Option<Duration>,
}

/// SSH setup errors.
#[derive(Debug, thiserror::Error)]
pub enum SshSetupError {
    /// A key file could not be read or parsed.
    #[error("{path}: {reason}")]
    Key {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Reads an OpenSSH private key file (unencrypted).
pub fn load_host_key(path: &Path) -> Result<PrivateKey, SshSetupError> {
    russh::keys::load_secret_key(path, None)
        .map_err(|e| SshSetupError::Key { path: path.display().to_string(), reason: e.to_string() })
}

/// Parses an OpenSSH `authorized_keys` file: `[options] type base64 [comment]` per line;
/// blank lines and `#` comments are skipped.
pub fn parse_authorized_keys(text: &str) -> Result<Vec<PublicKey>, SshSetupError> {
    let mut keys = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        // The key type is the field before the base64 blob; options (if any) come first.
        let key = fields
            .windows(2)
            .find(|w| w[0].starts_with("ssh-") || w[0].starts_with("ecdsa-") || w[0].starts_with("sk-"))
            .and_then(|w| russh::keys::parse_public_key_base64(w[1]).ok());
        match key {
            Some(k) => keys.push(k),
            None => {
                return Err(SshSetupError::Key {
                    path: "authorized_keys".into(),
                    reason: format!("line {}: not a public key", n + 1),
                })
            }
        }
    }
    Ok(keys)
}

#[derive(Clone)]
struct Factory {
    netconf: NetconfServer,
    authorized: Arc<Vec<PublicKey>>,
    users: Arc<Vec<String>>,
}

struct Conn {
    netconf: NetconfServer,
    authorized: Arc<Vec<PublicKey>>,
    users: Arc<Vec<String>>,
    channels: HashMap<ChannelId, Channel<Msg>>,
    peer: String,
}

impl russh::server::Server for Factory {
    type Handler = Conn;
    fn new_client(&mut self, peer: Option<std::net::SocketAddr>) -> Conn {
        Conn {
            netconf: self.netconf.clone(),
            authorized: self.authorized.clone(),
            users: self.users.clone(),
            channels: HashMap::new(),
            peer: peer.map(|p| p.to_string()).unwrap_or_default(),
        }
    }
}

impl russh::server::Handler for Conn {
    type Error = russh::Error;

    async fn auth_publickey(&mut self, user: &str, key: &PublicKey) -> Result<Auth, Self::Error> {
        let user_ok = self.users.is_empty() || self.users.iter().any(|u| u == user);
        let key_ok = self.authorized.iter().any(|k| k.key_data() == key.key_data());
        if user_ok && key_ok {
            tracing::debug!(bridge = %self.netconf.name(), peer = %self.peer, user, "SSH login");
            Ok(Auth::Accept)
        } else {
            tracing::warn!(bridge = %self.netconf.name(), peer = %self.peer, user, "SSH login refused");
            Ok(Auth::reject())
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.insert(channel.id(), channel);
        reply.accept().await;
        Ok(())
    }

    async fn subsystem_request(&mut self, id: ChannelId, name: &str, session: &mut Session) -> Result<(), Self::Error> {
        match (name, self.channels.remove(&id)) {
            ("netconf", Some(channel)) => {
                session.channel_success(id)?;
                let netconf = self.netconf.clone();
                tokio::spawn(async move {
                    let _ = netconf.serve_session(channel.into_stream()).await;
                });
            }
            _ => {
                session.channel_failure(id)?;
            }
        }
        Ok(())
    }
}

/// Serves NETCONF over SSH on `listener` until the returned future is dropped or the
/// listener fails.
pub async fn serve(listener: TcpListener, ssh: SshServerConfig, netconf: NetconfServer) -> std::io::Result<()> {
    let config = russh::server::Config {
        keys: vec![ssh.host_key],
        inactivity_timeout: ssh.inactivity_timeout,
        auth_rejection_time: Duration::from_millis(200),
        auth_rejection_time_initial: Some(Duration::from_millis(0)),
        methods: russh::MethodSet::from(&[russh::MethodKind::PublicKey][..]),
        nodelay: true,
        ..Default::default()
    };
    let mut factory = Factory { netconf, authorized: Arc::new(ssh.authorized_keys), users: Arc::new(ssh.users) };
    factory.run_on_socket(Arc::new(config), &listener).await
}
