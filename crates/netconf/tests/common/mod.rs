//! Shared helpers: key files, SSH NETCONF servers on loopback, pinned client configs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tsn_model::{GateControlEntry, GateControlList, LinkId};
use tsn_netconf::server::{GateBackend, NetconfServer, ServerConfig};
use tsn_netconf::ssh_server::{load_host_key, parse_authorized_keys, serve, SshServerConfig};
use tsn_netconf::validate::YanglintValidator;
use tsn_netconf::PortGcl;
use tsn_ssh::russh::keys::PublicKey;
use tsn_ssh::{ClientConfig, KnownHosts};

static DIRS: AtomicU32 = AtomicU32::new(0);

/// A fresh directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "tsn-netconf-{tag}-{}-{}",
            std::process::id(),
            DIRS.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An ed25519 key pair made by OpenSSH's ssh-keygen: the private key file.
pub fn keygen(dir: &Path, name: &str) -> PathBuf {
    tsn_testbed::ssh_keygen(dir, name).expect("ssh-keygen").0
}

pub fn public_key(private: &Path) -> PublicKey {
    let text = std::fs::read_to_string(private.with_extension("pub")).unwrap();
    parse_authorized_keys(&text).unwrap().remove(0)
}

/// A NETCONF-over-SSH server on 127.0.0.1 (random port).
pub struct TestServer {
    pub name: String,
    pub port: u16,
    pub host_key: PublicKey,
    pub host_key_file: PathBuf,
    pub netconf: NetconfServer,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn start_server(dir: &Path, name: &str, backend: Arc<dyn GateBackend>, client_key: &Path) -> TestServer {
    let host_key_file = keygen(dir, &format!("host-{name}"));
    let host = load_host_key(&host_key_file).unwrap();
    let host_key = host.public_key().clone();
    let validator = Arc::new(YanglintValidator::bridge().unwrap());
    let netconf = NetconfServer::start(ServerConfig::new(name, validator, backend));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let ssh = SshServerConfig {
        host_key: host,
        authorized_keys: vec![public_key(client_key)],
        users: vec!["tsn".into()],
        inactivity_timeout: None,
    };
    let nc = netconf.clone();
    let task = tokio::spawn(async move {
        let _ = serve(listener, ssh, nc).await;
    });
    TestServer { name: name.to_owned(), port, host_key, host_key_file, netconf, task }
}

/// A client config for `server` with its host key pinned.
pub fn pinned(server: &TestServer, client_key: &Path) -> ClientConfig {
    let mut known = KnownHosts::in_memory();
    known.trust("127.0.0.1", server.port, &server.host_key);
    ClientConfig::new("127.0.0.1", server.port, "tsn", client_key, Arc::new(Mutex::new(known)))
}

/// A GCL of `n` entries over a 1 ms cycle on `iface`: class 7 window first, then the rest.
pub fn gcl(bridge: &str, iface: &str, n: usize) -> PortGcl {
    let mut entries = Vec::new();
    let step = 1_000_000 / n as u64;
    for i in 0..n {
        let gate_states = if i % 2 == 0 { 0x80 } else { 0x7f };
        let interval_ns = if i + 1 == n { 1_000_000 - step * (n as u64 - 1) } else { step };
        entries.push(GateControlEntry { gate_states, interval_ns });
    }
    PortGcl {
        interface: iface.to_owned(),
        gcl: GateControlList { port: LinkId::new(bridge, "next"), base_time_ns: 0, cycle_time_ns: 1_000_000, entries },
    }
}
