//! The unix socket on which applications (through `libktsn.so`) ask the agent for a region,
//! and the client side of that negotiation.
//!
//! ```text
//! app ──connect──▶ agent.sock
//! app ──Hello{version, pid}──▶
//!     ◀──RegionOffer{geometry} + memfd (SCM_RIGHTS)── agent   (region registered with the engine)
//! … the connection stays open: EOF = the application is gone, the region is retired …
//! ```

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing::{info, warn};

use crate::engine::EngineHandle;
use crate::shm::{
    AgentRegion, AppRegion, Descriptor, Hello, RegionOffer, ShmError, SubmitError, DEFAULT_SLOT_COUNT,
    DEFAULT_SLOT_SIZE, PROTOCOL_VERSION,
};
use crate::sys;
use crate::time::Clock;
use crate::DatapathError;

/// Environment variable naming the agent socket (for the shim and the agent).
pub const SOCKET_ENV: &str = "KTSN_AGENT_SOCKET";
/// Default agent socket path.
pub const DEFAULT_SOCKET_PATH: &str = "/run/ktsn/agent.sock";

/// The agent socket path from [`SOCKET_ENV`] or the default.
pub fn socket_path_from_env() -> PathBuf {
    std::env::var_os(SOCKET_ENV).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET_PATH))
}

/// The listening agent socket; removes the socket file and stops accepting when dropped.
#[derive(Debug)]
pub struct ShimServer {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Open application connections (clones), shut down when the server goes away so that
    /// applications see the agent leave exactly as if its process had ended.
    conns: Conns,
}

type Conns = Arc<Mutex<HashMap<u64, UnixStream>>>;

impl ShimServer {
    /// Listens on `path` (mode 0600, replacing a stale socket) and attaches every
    /// application that connects to `engine` with a region of `slot_count` slots.
    pub fn start(engine: &EngineHandle, path: &Path, slot_count: u32) -> Result<ShimServer, DatapathError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| DatapathError::Io(format!("creating {}", dir.display()), e))?;
        }
        let _ = std::fs::remove_file(path);
        let listener =
            UnixListener::bind(path).map_err(|e| DatapathError::Io(format!("binding {}", path.display()), e))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| DatapathError::Io(format!("chmod {}", path.display()), e))?;
        listener.set_nonblocking(true).map_err(|e| DatapathError::Io("agent socket".into(), e))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let engine = engine.session_sink();
        let conns: Conns = Arc::default();
        let registry = conns.clone();
        let next = AtomicU64::new(0);
        let thread = std::thread::Builder::new()
            .name("ktsn-accept".into())
            .spawn(move || {
                while !flag.load(Ordering::Acquire) {
                    match listener.accept() {
                        Ok((conn, _)) => {
                            let engine = engine.clone();
                            let key = next.fetch_add(1, Ordering::Relaxed);
                            if let (Ok(clone), Ok(mut map)) = (conn.try_clone(), registry.lock()) {
                                map.insert(key, clone);
                            }
                            let registry = registry.clone();
                            let _ = std::thread::Builder::new().name("ktsn-session".into()).spawn(move || {
                                if let Err(e) = serve(conn, &engine, slot_count) {
                                    warn!(error = %e, "agent socket: session failed");
                                }
                                if let Ok(mut map) = registry.lock() {
                                    map.remove(&key);
                                }
                            });
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(10));
                        }
                        Err(e) => {
                            warn!(error = %e, "agent socket: accept failed");
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                }
            })
            .map_err(|e| DatapathError::Io("spawning the accept thread".into(), e))?;
        info!(path = %path.display(), "agent socket listening");
        Ok(ShimServer { path: path.to_path_buf(), stop, thread: Some(thread), conns })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ShimServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
        if let Ok(mut map) = self.conns.lock() {
            for (_, c) in map.drain() {
                let _ = c.shutdown(std::net::Shutdown::Both);
            }
        }
    }
}

fn serve(mut conn: UnixStream, engine: &crate::engine::SessionSink, slot_count: u32) -> Result<(), DatapathError> {
    conn.set_nonblocking(false).map_err(|e| DatapathError::Io("session socket".into(), e))?;
    conn.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| DatapathError::Io("session socket".into(), e))?;
    let (pid, uid) = sys::peer_credentials(conn.as_raw_fd()).map_err(|e| DatapathError::Io("SO_PEERCRED".into(), e))?;
    let mut buf = [0u8; Hello::LEN];
    conn.read_exact(&mut buf).map_err(|e| DatapathError::Io("reading hello".into(), e))?;
    let hello = Hello::decode(&buf)?;
    if hello.version != PROTOCOL_VERSION {
        let offer = RegionOffer { version: PROTOCOL_VERSION, status: 1, slot_count: 0, slot_size: 0, region_len: 0 };
        let _ = conn.write_all(&offer.encode());
        return Err(DatapathError::Shm(ShmError::Protocol(format!("application speaks version {}", hello.version))));
    }
    let (region, fd) = AgentRegion::create(slot_count, DEFAULT_SLOT_SIZE, pid as u32)?;
    let l = region.layout();
    let offer = RegionOffer {
        version: PROTOCOL_VERSION,
        status: 0,
        slot_count: l.slot_count,
        slot_size: l.slot_size,
        region_len: l.len as u64,
    };
    let closed = Arc::new(AtomicBool::new(false));
    sys::send_with_fd(conn.as_raw_fd(), &offer.encode(), fd.as_raw_fd())
        .map_err(|e| DatapathError::Io("sending the region".into(), e))?;
    drop(fd);
    let id = engine.add_session(pid as u32, region, closed.clone())?;
    info!(session = id, pid, uid, "agent socket: application attached");
    // Block until the application goes away (EOF or error); it never sends more.
    conn.set_read_timeout(None).map_err(|e| DatapathError::Io("session socket".into(), e))?;
    let mut sink = [0u8; 64];
    loop {
        match conn.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    closed.store(true, Ordering::Release);
    info!(session = id, pid, "agent socket: application detached");
    Ok(())
}

/// The application side: a connection to the agent with its region.
#[derive(Debug)]
pub struct AgentClient {
    conn: UnixStream,
    region: AppRegion,
}

/// The agent's heartbeat is stale after this long; then the client checks the socket.
const HEARTBEAT_STALE_NS: u64 = 200_000_000;

impl AgentClient {
    /// Connects to the agent at `path` and maps the region it offers.
    pub fn connect(path: &Path) -> Result<AgentClient, DatapathError> {
        let mut conn =
            UnixStream::connect(path).map_err(|e| DatapathError::Io(format!("connecting to {}", path.display()), e))?;
        conn.set_read_timeout(Some(Duration::from_secs(2))).map_err(|e| DatapathError::Io("agent socket".into(), e))?;
        let hello = Hello { version: PROTOCOL_VERSION, pid: std::process::id() };
        conn.write_all(&hello.encode()).map_err(|e| DatapathError::Io("sending hello".into(), e))?;
        let mut buf = [0u8; RegionOffer::LEN];
        let (n, fd) = sys::recv_with_fd(conn.as_raw_fd(), &mut buf)
            .map_err(|e| DatapathError::Io("receiving the region offer".into(), e))?;
        let offer = RegionOffer::decode(&buf[..n])?;
        if offer.status != 0 {
            return Err(DatapathError::Shm(ShmError::Protocol(format!("agent refused: status {}", offer.status))));
        }
        let fd = fd.ok_or_else(|| DatapathError::Shm(ShmError::Protocol("offer without a region fd".into())))?;
        let region = AppRegion::attach(fd, &offer)?;
        Ok(AgentClient { conn, region })
    }

    /// Queues one datagram.
    pub fn submit(&mut self, parts: &[&[u8]], desc: Descriptor) -> Result<(), SubmitError> {
        self.region.submit(parts, desc)
    }

    /// Largest payload per datagram.
    pub fn max_payload(&self) -> usize {
        self.region.slot_size() as usize
    }

    /// Whether the agent still serves this region: its heartbeat is fresh, or, when stale,
    /// the connection is still open.
    pub fn agent_alive(&self) -> bool {
        let beat = self.region.heartbeat_ns();
        let now = Clock::Monotonic.now_ns();
        if beat != 0 && now.saturating_sub(beat) < HEARTBEAT_STALE_NS {
            return true;
        }
        // Stale: has the agent closed the connection?
        !sys::peer_closed(self.conn.as_raw_fd())
    }
}

/// Default geometry re-exported for callers that size their own regions.
pub const DEFAULT_SLOTS: u32 = DEFAULT_SLOT_COUNT;
