//! Emulated networks for integration tests: every node (bridge or end station) is a Linux
//! network namespace, every full-duplex cable a veth pair, and each node can run lldpd and
//! an OpenSSH server, so the topology service can discover a real LLDP network on one
//! machine.
//!
//! ```no_run
//! # fn main() -> Result<(), tsn_testbed::TestbedError> {
//! use std::time::Duration;
//! let mut tb = tsn_testbed::Testbed::builder()
//!     .bridge("b0")
//!     .station("e0")
//!     .cable("e0", "b0")
//!     .build()?;
//! tb.start_lldpd(&tsn_testbed::LldpdOptions::default())?;
//! let neighbours = tsn_testbed::poll_until(Duration::from_secs(20), "e0 seen by b0", || {
//!     tb.lldp_neighbors("b0").ok().filter(|n| !n.is_empty())
//! })?;
//! assert_eq!(neighbours[0].chassis.name.as_deref(), Some("e0"));
//! # Ok(()) }
//! ```
//!
//! Naming (all deterministic from the testbed's prefix, e.g. `tb00abc01`):
//! - namespace of node `b0`: `<prefix>-b0`;
//! - ports inside a namespace: `p0`, `p1`, ... in the order the node's cables were added;
//! - management link (optional): `m0` inside the namespace (`fe80::2/64`), peer
//!   `<prefix>m<i>` in the root namespace (`fe80::1/64`), `i` the node's index. IPv6
//!   link-local addresses are scoped to their interface, so testbeds running in parallel
//!   can reuse them without ever colliding with each other or with the host's routes.
//! - files (configs, keys, sockets, logs): `/tmp/tsn-testbed-<prefix>/`.
//!
//! Everything is torn down when the [`Testbed`] is dropped, also while a test panics:
//! daemons are stopped by pid, every remaining process of each namespace is killed, the
//! namespaces and the root-namespace veths are deleted. [`cleanup_stale`] and
//! [`cleanup_orphans`] remove what a crashed run (SIGKILL, abort) left behind.

mod cmd;

use std::collections::HashSet;
use std::fs;
use std::net::{Ipv6Addr, SocketAddrV6, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use thiserror::Error;
use tsn_model::{Link, LinkPorts, Node, NodeId, NodeKind, Topology};

pub use cmd::process_alive;

/// What can go wrong while building, using or tearing down a testbed.
#[derive(Debug, Error)]
pub enum TestbedError {
    /// The machine cannot host a testbed (not root, no `ip netns`, a tool missing).
    #[error("testbed prerequisites not met: {0}")]
    Prerequisite(String),
    /// The description of the network is not usable.
    #[error("invalid testbed description: {0}")]
    Invalid(String),
    /// A node name that is not part of the testbed.
    #[error("unknown node {0:?}")]
    UnknownNode(String),
    /// No cable joins the two nodes.
    #[error("no cable between {0:?} and {1:?}")]
    NoCable(String, String),
    /// A program could not be started.
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// Why.
        source: std::io::Error,
    },
    /// A program exited unsuccessfully.
    #[error("`{command}` failed ({status}): {stderr}")]
    CommandFailed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A program did not finish in time and was killed.
    #[error("`{command}` did not finish within {timeout:?}")]
    CommandTimeout {
        /// The command line.
        command: String,
        /// The limit.
        timeout: Duration,
    },
    /// A daemon exited or never became ready.
    #[error("{daemon} on node {node}: {reason}")]
    Daemon {
        /// `lldpd` or `sshd`.
        daemon: &'static str,
        /// The node.
        node: String,
        /// What happened, with the end of the daemon's log.
        reason: String,
    },
    /// A condition polled with [`poll_until`] did not become true in time.
    #[error("timed out after {timeout:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The limit.
        timeout: Duration,
    },
    /// lldpcli output that the parser rejected.
    #[error("lldpcli output of node {node}: {source}")]
    Lldp {
        /// The node.
        node: String,
        /// The parser's error.
        source: tsn_lldp::LldpError,
    },
    /// A file of the testbed could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TestbedError + '_ {
    move |source| TestbedError::Io { path: path.to_owned(), source }
}

/// The address of the node side of a management link.
pub const NODE_MANAGEMENT_ADDR: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
/// The address of the root-namespace side of a management link.
pub const HOST_MANAGEMENT_ADDR: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
/// Name of the management interface inside every namespace.
pub const MANAGEMENT_INTERFACE: &str = "m0";
/// Prefix of the automatically chosen testbed prefixes (`tb` + 5 base-36 digits of the pid
/// + 2 of a per-process sequence number).
pub const AUTO_PREFIX_START: &str = "tb";
const DIR_START: &str = "/tmp/tsn-testbed-";
const MAX_NODE_NAME: usize = 32;
const MAX_PREFIX: usize = 9;
const IFNAMSIZ: usize = 15;

/// Checks that this process can build testbeds: it runs as root, `ip netns` works, and
/// lldpd and lldpcli are installed.
///
/// # Errors
///
/// [`TestbedError::Prerequisite`] naming what is missing and how to fix it.
pub fn check_prerequisites() -> Result<(), TestbedError> {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|l| l.split_whitespace().nth(1));
    if euid != Some("0") {
        return Err(TestbedError::Prerequisite(format!(
            "must run as root (effective uid {}) to create network namespaces",
            euid.unwrap_or("unknown")
        )));
    }
    cmd::run_ok("ip", &["netns", "list"])
        .map_err(|e| TestbedError::Prerequisite(format!("`ip netns` is unavailable ({e}); install iproute2")))?;
    for tool in ["lldpd", "lldpcli"] {
        if find_program(tool).is_none() {
            return Err(TestbedError::Prerequisite(format!("{tool} not found; install lldpd (scripts/setup)")));
        }
    }
    Ok(())
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Makes an unencrypted ed25519 key pair with OpenSSH's ssh-keygen as `dir/name` (and
/// `dir/name.pub`, replacing both), commented `name`: the private key file and the public
/// key line. Used for host and client keys alike.
///
/// # Errors
///
/// [`TestbedError::Invalid`] for a name that is not a plain file name,
/// [`TestbedError::Prerequisite`] without ssh-keygen, and command or file errors.
pub fn ssh_keygen(dir: &Path, name: &str) -> Result<(PathBuf, String), TestbedError> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return Err(TestbedError::Invalid(format!("key name {name:?} must be a plain file name")));
    }
    if find_program("ssh-keygen").is_none() {
        return Err(TestbedError::Prerequisite("ssh-keygen not found; install openssh-client".to_owned()));
    }
    let key = dir.join(name);
    let _ = fs::remove_file(&key);
    let _ = fs::remove_file(key.with_extension("pub"));
    cmd::run_ok("ssh-keygen", &["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", &path_str(&key)])?;
    let pub_path = PathBuf::from(format!("{}.pub", key.display()));
    let public = fs::read_to_string(&pub_path).map_err(io_err(&pub_path))?.trim().to_owned();
    Ok((key, public))
}

/// Polls `probe` every 100 ms until it returns `Some`, for at most `timeout`.
///
/// # Errors
///
/// [`TestbedError::Timeout`] naming `what` if `probe` never returned `Some`.
pub fn poll_until<T>(timeout: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> Result<T, TestbedError> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe() {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            return Err(TestbedError::Timeout { what: what.to_owned(), timeout });
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// One end of a cable: a port of a node.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// The node.
    pub node: NodeId,
    /// The interface name inside the node's namespace (`p0`, `p1`, ...).
    pub port: String,
}

/// A full-duplex cable (one veth pair), i.e. the two directed links `a → b` and `b → a`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Cable {
    /// One end.
    pub a: Endpoint,
    /// The other end.
    pub b: Endpoint,
}

/// The management link of a node: a veth pair between the root namespace and the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagementLink {
    /// The interface in the root namespace.
    pub host_interface: String,
    /// Its interface index (the scope id of link-local addresses on it).
    pub host_ifindex: u32,
}

impl ManagementLink {
    /// `fe80::2%<host interface>`, the node's address as ssh(1) and friends write it.
    pub fn node_host(&self) -> String {
        format!("{NODE_MANAGEMENT_ADDR}%{}", self.host_interface)
    }

    /// The node's management address on `port`, reachable from the root namespace.
    pub fn node_addr(&self, port: u16) -> SocketAddrV6 {
        SocketAddrV6::new(NODE_MANAGEMENT_ADDR, port, 0, self.host_ifindex)
    }
}

/// A node of a running testbed.
#[derive(Debug)]
pub struct TestbedNode {
    /// The node's name.
    pub id: NodeId,
    /// Bridge or end station.
    pub kind: NodeKind,
    /// Its network namespace.
    pub namespace: String,
    /// Its ports, `p0`, `p1`, ...
    pub ports: Vec<String>,
    /// Its management link, if the testbed has a management network.
    pub management: Option<ManagementLink>,
    lldpd_socket: Option<PathBuf>,
}

/// Settings of the lldpd started in every namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LldpdOptions {
    /// Seconds between LLDPDUs (`configure lldp tx-interval`); the advertised TTL is four
    /// times this.
    pub tx_interval_s: u32,
    /// How long to wait for each daemon to answer on its control socket.
    pub ready_timeout: Duration,
    /// Nodes that get no lldpd (devices without LLDP, known only from an inventory).
    pub except: Vec<String>,
    /// Advertise port ids as MAC addresses (lldpd's `portidsubtype macaddress`, the
    /// interface name then goes into the port description) instead of interface names.
    pub port_id_mac: bool,
}

impl Default for LldpdOptions {
    fn default() -> Self {
        LldpdOptions {
            tx_interval_s: 1,
            ready_timeout: Duration::from_secs(20),
            except: Vec::new(),
            port_id_mac: false,
        }
    }
}

/// Settings of an OpenSSH server started with [`Testbed::start_sshd_with`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SshdOptions {
    /// OpenSSH `authorized_keys` lines accepted for root.
    pub authorized_keys: String,
    /// TCP port; 0 means 22.
    pub port: u16,
    /// `Subsystem` lines: (name, command), e.g. `("netconf", "/usr/sbin/netconf-subsystem")`.
    pub subsystems: Vec<(String, String)>,
}

/// How to reach the sshd of a node (see [`Testbed::start_sshd`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshEndpoint {
    /// The node.
    pub node: NodeId,
    /// Its address and port, with the scope id of the management link.
    pub addr: SocketAddrV6,
    /// The same address as ssh(1) takes it: `fe80::2%<interface>`.
    pub host: String,
    /// The user to log in as.
    pub user: String,
    /// The server's public host key, one `ssh-ed25519 AAAA... comment` line, to pin.
    pub host_public_key: String,
    /// The node's lldpd control socket, for `lldpcli -u` in remote commands (lldpd
    /// instances share the file system, so none of them uses the default socket).
    pub lldpcli_socket: Option<PathBuf>,
}

#[derive(Debug)]
struct Daemon {
    name: &'static str,
    node: NodeId,
    child: Child,
    log: PathBuf,
}

/// Describes a testbed before it is built (see [`Testbed::builder`]).
#[derive(Clone, Debug, Default)]
pub struct TestbedBuilder {
    nodes: Vec<(NodeId, NodeKind)>,
    cables: Vec<(NodeId, NodeId)>,
    prefix: Option<String>,
    management: bool,
}

impl TestbedBuilder {
    /// Adds a bridge.
    pub fn bridge(mut self, name: &str) -> Self {
        self.nodes.push((NodeId::from(name), NodeKind::Bridge));
        self
    }

    /// Adds an end station.
    pub fn station(mut self, name: &str) -> Self {
        self.nodes.push((NodeId::from(name), NodeKind::EndStation));
        self
    }

    /// Adds a full-duplex cable between two nodes (each gets its next free port).
    pub fn cable(mut self, a: &str, b: &str) -> Self {
        self.cables.push((NodeId::from(a), NodeId::from(b)));
        self
    }

    /// Adds the nodes of `topology` and one cable per pair of nodes joined by a directed
    /// link in either or both directions, in link order.
    pub fn topology(mut self, topology: &Topology) -> Self {
        for n in &topology.nodes {
            self.nodes.push((n.id.clone(), n.kind));
        }
        let mut seen = HashSet::new();
        for l in &topology.links {
            let key = if l.from <= l.to { (l.from.clone(), l.to.clone()) } else { (l.to.clone(), l.from.clone()) };
            if seen.insert(key) {
                self.cables.push((l.from.clone(), l.to.clone()));
            }
        }
        self
    }

    /// Uses `prefix` (1–9 lowercase letters or digits) instead of a generated one. The
    /// caller then guarantees that no other testbed uses it at the same time.
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = Some(prefix.to_owned());
        self
    }

    /// Gives every node a management link to the root namespace (needed for sshd).
    pub fn management_network(mut self) -> Self {
        self.management = true;
        self
    }

    /// Creates the namespaces, veth pairs and management links, and brings every
    /// interface up. On error, whatever was created is removed again.
    ///
    /// # Errors
    ///
    /// [`TestbedError::Invalid`] for a bad description, [`TestbedError::Prerequisite`] if
    /// the machine cannot host testbeds, and command errors from `ip`.
    pub fn build(self) -> Result<Testbed, TestbedError> {
        self.validate()?;
        check_prerequisites()?;
        let prefix = match &self.prefix {
            Some(p) => {
                if !list_namespaces()?.iter().any(|n| n.starts_with(&format!("{p}-"))) {
                    p.clone()
                } else {
                    return Err(TestbedError::Invalid(format!(
                        "prefix {p:?} is in use (call cleanup_stale if it is left over from a crash)"
                    )));
                }
            }
            None => {
                let p = auto_prefix();
                // The prefix holds our own pid: anything already named so was left by a
                // dead process that had the same pid.
                cleanup_stale(&p)?;
                p
            }
        };
        let dir = PathBuf::from(format!("{DIR_START}{prefix}"));
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let mut tb = Testbed {
            prefix,
            dir,
            nodes: Vec::new(),
            cables: Vec::new(),
            daemons: Vec::new(),
            down: Mutex::new(HashSet::new()),
            torn_down: false,
        };
        // From here on, dropping `tb` on an error removes what was created.
        for (id, kind) in &self.nodes {
            let namespace = format!("{}-{}", tb.prefix, id.0);
            cmd::run_ok("ip", &["netns", "add", &namespace])?;
            tb.nodes.push(TestbedNode {
                id: id.clone(),
                kind: *kind,
                namespace: namespace.clone(),
                ports: Vec::new(),
                management: None,
                lldpd_socket: None,
            });
            cmd::run_ok("ip", &["-n", &namespace, "link", "set", "lo", "up"])?;
        }
        for (a, b) in &self.cables {
            let ia = tb.index(&a.0)?;
            let ib = tb.index(&b.0)?;
            let pa = format!("p{}", tb.nodes[ia].ports.len());
            let pb = format!("p{}", tb.nodes[ib].ports.len());
            let (na, nb) = (tb.nodes[ia].namespace.clone(), tb.nodes[ib].namespace.clone());
            cmd::run_ok(
                "ip",
                &["link", "add", "name", &pa, "netns", &na, "type", "veth", "peer", "name", &pb, "netns", &nb],
            )?;
            tb.nodes[ia].ports.push(pa.clone());
            tb.nodes[ib].ports.push(pb.clone());
            tb.cables.push(Cable {
                a: Endpoint { node: a.clone(), port: pa.clone() },
                b: Endpoint { node: b.clone(), port: pb.clone() },
            });
            cmd::run_ok("ip", &["-n", &na, "link", "set", &pa, "up"])?;
            cmd::run_ok("ip", &["-n", &nb, "link", "set", &pb, "up"])?;
        }
        if self.management {
            for i in 0..tb.nodes.len() {
                let host = format!("{}m{i}", tb.prefix);
                if host.len() > IFNAMSIZ {
                    return Err(TestbedError::Invalid(format!("management interface name {host:?} is too long")));
                }
                let ns = tb.nodes[i].namespace.clone();
                cmd::run_ok(
                    "ip",
                    &["link", "add", "name", &host, "type", "veth", "peer", "name", MANAGEMENT_INTERFACE, "netns", &ns],
                )?;
                let host_addr = format!("{HOST_MANAGEMENT_ADDR}/64");
                let node_addr = format!("{NODE_MANAGEMENT_ADDR}/64");
                cmd::run_ok("ip", &["addr", "add", &host_addr, "dev", &host, "nodad"])?;
                cmd::run_ok("ip", &["-n", &ns, "addr", "add", &node_addr, "dev", MANAGEMENT_INTERFACE, "nodad"])?;
                cmd::run_ok("ip", &["link", "set", &host, "up"])?;
                cmd::run_ok("ip", &["-n", &ns, "link", "set", MANAGEMENT_INTERFACE, "up"])?;
                let ifindex_path = PathBuf::from(format!("/sys/class/net/{host}/ifindex"));
                let host_ifindex = fs::read_to_string(&ifindex_path)
                    .map_err(io_err(&ifindex_path))?
                    .trim()
                    .parse()
                    .map_err(|_| TestbedError::Invalid(format!("unreadable ifindex of {host}")))?;
                tb.nodes[i].management = Some(ManagementLink { host_interface: host, host_ifindex });
            }
        }
        Ok(tb)
    }

    fn validate(&self) -> Result<(), TestbedError> {
        if let Some(p) = &self.prefix {
            if p.is_empty() || p.len() > MAX_PREFIX || !p.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            {
                return Err(TestbedError::Invalid(format!(
                    "prefix {p:?} must be 1..={MAX_PREFIX} lowercase letters or digits"
                )));
            }
        }
        let mut names = HashSet::new();
        for (id, _) in &self.nodes {
            let n = &id.0;
            if n.is_empty()
                || n.len() > MAX_NODE_NAME
                || !n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
            {
                return Err(TestbedError::Invalid(format!(
                    "node name {n:?} must be 1..={MAX_NODE_NAME} letters, digits, '_' or '-'"
                )));
            }
            if !names.insert(n) {
                return Err(TestbedError::Invalid(format!("duplicate node {n:?}")));
            }
        }
        let mut pairs = HashSet::new();
        for (a, b) in &self.cables {
            for end in [a, b] {
                if !names.contains(&end.0) {
                    return Err(TestbedError::UnknownNode(end.0.clone()));
                }
            }
            if a == b {
                return Err(TestbedError::Invalid(format!("cable from {a} to itself")));
            }
            let key = if a <= b { (a, b) } else { (b, a) };
            if !pairs.insert(key) {
                return Err(TestbedError::Invalid(format!("two cables between {a} and {b}")));
            }
        }
        Ok(())
    }
}

fn auto_prefix() -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed) % (36 * 36);
    format!("{AUTO_PREFIX_START}{}{}", base36(std::process::id(), 5), base36(seq, 2))
}

fn base36(mut n: u32, width: usize) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A running emulated network. Dropping it tears everything down.
#[derive(Debug)]
pub struct Testbed {
    prefix: String,
    dir: PathBuf,
    nodes: Vec<TestbedNode>,
    cables: Vec<Cable>,
    daemons: Vec<Daemon>,
    /// Indices (in `cables`) of the cables set down with [`Testbed::set_link_down`].
    down: Mutex<HashSet<usize>>,
    torn_down: bool,
}

impl Testbed {
    /// Starts describing a testbed.
    pub fn builder() -> TestbedBuilder {
        TestbedBuilder::default()
    }

    /// The prefix of every name this testbed creates.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The directory holding configs, keys, sockets and daemon logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// All nodes, in the order they were added.
    pub fn nodes(&self) -> &[TestbedNode] {
        &self.nodes
    }

    /// All cables, in the order they were added.
    pub fn cables(&self) -> &[Cable] {
        &self.cables
    }

    /// The node called `name`.
    ///
    /// # Errors
    ///
    /// [`TestbedError::UnknownNode`].
    pub fn node(&self, name: &str) -> Result<&TestbedNode, TestbedError> {
        self.index(name).map(|i| &self.nodes[i])
    }

    fn index(&self, name: &str) -> Result<usize, TestbedError> {
        self.nodes.iter().position(|n| n.id.0 == name).ok_or_else(|| TestbedError::UnknownNode(name.to_owned()))
    }

    /// The namespace of node `name`.
    ///
    /// # Errors
    ///
    /// [`TestbedError::UnknownNode`].
    pub fn namespace(&self, name: &str) -> Result<&str, TestbedError> {
        self.node(name).map(|n| n.namespace.as_str())
    }

    /// The cable between `a` and `b` (in either orientation).
    ///
    /// # Errors
    ///
    /// [`TestbedError::NoCable`].
    pub fn cable(&self, a: &str, b: &str) -> Result<&Cable, TestbedError> {
        self.cables
            .iter()
            .find(|c| (c.a.node.0 == a && c.b.node.0 == b) || (c.a.node.0 == b && c.b.node.0 == a))
            .ok_or_else(|| TestbedError::NoCable(a.to_owned(), b.to_owned()))
    }

    /// The port of `a` that is cabled to `b`.
    ///
    /// # Errors
    ///
    /// [`TestbedError::NoCable`].
    pub fn port(&self, a: &str, b: &str) -> Result<&str, TestbedError> {
        let c = self.cable(a, b)?;
        Ok(if c.a.node.0 == a { &c.a.port } else { &c.b.port })
    }

    /// Runs `argv` inside the namespace of `node` (`ip netns exec`) and returns its output,
    /// whatever its exit status. It is killed after 20 s.
    ///
    /// # Errors
    ///
    /// [`TestbedError::UnknownNode`], [`TestbedError::Invalid`] for an empty `argv`, and
    /// spawn or timeout errors.
    pub fn exec(&self, node: &str, argv: &[&str]) -> Result<Output, TestbedError> {
        let ns = self.namespace(node)?;
        if argv.is_empty() {
            return Err(TestbedError::Invalid("exec needs a program".to_owned()));
        }
        let mut args = vec!["netns", "exec", ns];
        args.extend_from_slice(argv);
        cmd::run("ip", &args, cmd::COMMAND_TIMEOUT)
    }

    /// Like [`Testbed::exec`], but fails unless the command exits with status 0; returns
    /// its stdout.
    ///
    /// # Errors
    ///
    /// As [`Testbed::exec`], and [`TestbedError::CommandFailed`] with the command's stderr.
    pub fn exec_ok(&self, node: &str, argv: &[&str]) -> Result<String, TestbedError> {
        let output = self.exec(node, argv)?;
        cmd::check(format!("[{node}] {}", argv.join(" ")), output)
    }

    /// Cuts the cable between `a` and `b`: both ends are set administratively down.
    ///
    /// # Errors
    ///
    /// [`TestbedError::NoCable`] and errors of `ip`.
    pub fn set_link_down(&self, a: &str, b: &str) -> Result<(), TestbedError> {
        self.set_link(a, b, "down")
    }

    /// Restores the cable between `a` and `b`: both ends are set up again.
    ///
    /// # Errors
    ///
    /// [`TestbedError::NoCable`] and errors of `ip`.
    pub fn set_link_up(&self, a: &str, b: &str) -> Result<(), TestbedError> {
        self.set_link(a, b, "up")
    }

    fn set_link(&self, a: &str, b: &str, state: &str) -> Result<(), TestbedError> {
        let cable = self.cable(a, b)?;
        let index = self.cables.iter().position(|c| c == cable).unwrap_or_default();
        for end in [&cable.a, &cable.b] {
            let ns = self.namespace(&end.node.0)?;
            cmd::run_ok("ip", &["-n", ns, "link", "set", &end.port, state])?;
        }
        let mut down = self.down.lock().unwrap_or_else(|p| p.into_inner());
        if state == "down" {
            down.insert(index);
        } else {
            down.remove(&index);
        }
        Ok(())
    }

    /// Whether the cable between `a` and `b` is up (not cut with [`Testbed::set_link_down`]).
    ///
    /// # Errors
    ///
    /// [`TestbedError::NoCable`].
    pub fn link_is_up(&self, a: &str, b: &str) -> Result<bool, TestbedError> {
        let cable = self.cable(a, b)?;
        let down = self.down.lock().unwrap_or_else(|p| p.into_inner());
        Ok(!self.cables.iter().enumerate().any(|(i, c)| c == cable && down.contains(&i)))
    }

    /// The MAC address of interface `port` of `node` (lower case `aa:bb:...`).
    ///
    /// # Errors
    ///
    /// [`TestbedError::UnknownNode`] and command errors.
    pub fn interface_mac(&self, node: &str, port: &str) -> Result<String, TestbedError> {
        let path = format!("/sys/class/net/{port}/address");
        Ok(self.exec_ok(node, &["cat", &path])?.trim().to_ascii_lowercase())
    }

    /// The network as built: every node, and two directed links per cable that is up, with
    /// the interface names and MAC addresses of both ends in [`Link::ports`]; the other
    /// fields are copied from `template` (its `from`, `to` and `ports` are ignored).
    /// Nodes and links are sorted by name, the order the topology service publishes in.
    ///
    /// # Errors
    ///
    /// Command errors while reading MAC addresses.
    pub fn built_topology(&self, template: &Link) -> Result<Topology, TestbedError> {
        let mut topology = Topology::default();
        for n in &self.nodes {
            topology.nodes.push(Node { id: n.id.clone(), kind: n.kind });
        }
        let down = self.down.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for (i, c) in self.cables.iter().enumerate() {
            if down.contains(&i) {
                continue;
            }
            let mac_a = self.interface_mac(&c.a.node.0, &c.a.port)?;
            let mac_b = self.interface_mac(&c.b.node.0, &c.b.port)?;
            for ((from, from_mac), (to, to_mac)) in [((&c.a, &mac_a), (&c.b, &mac_b)), ((&c.b, &mac_b), (&c.a, &mac_a))]
            {
                topology.links.push(Link {
                    from: from.node.clone(),
                    to: to.node.clone(),
                    ports: LinkPorts {
                        from_port: Some(from.port.clone()),
                        from_mac: Some(from_mac.clone()),
                        to_port: Some(to.port.clone()),
                        to_mac: Some(to_mac.clone()),
                    },
                    ..template.clone()
                });
            }
        }
        topology.nodes.sort_by(|a, b| a.id.cmp(&b.id));
        topology.links.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
        Ok(topology)
    }

    /// Generates an ed25519 client key pair `<name>` (no passphrase) in [`Testbed::dir`]
    /// with ssh-keygen; returns the private key file and the public key line (for
    /// `authorized_keys`).
    ///
    /// # Errors
    ///
    /// [`TestbedError::Invalid`] for a name that is not a plain file name,
    /// [`TestbedError::Prerequisite`] without ssh-keygen, and command or file errors.
    pub fn generate_client_key(&self, name: &str) -> Result<(PathBuf, String), TestbedError> {
        ssh_keygen(&self.dir, name)
    }

    /// Starts lldpd in every namespace (but those in `options.except`) and waits until each
    /// answers on its own control socket with its configuration applied.
    ///
    /// Each instance runs in the foreground (`-d`), on the node's ports only (`-I p*`),
    /// with its own control socket (`-u`), pidfile (`-p`) and configuration file (`-O`):
    /// system name = node name, port id subtype `ifname` (the port id is the interface
    /// name; `macaddress` with `options.port_id_mac`), the bridge or station capability
    /// enabled, and the given tx-interval.
    ///
    /// # Errors
    ///
    /// [`TestbedError::Prerequisite`] if lldpd is missing, [`TestbedError::Daemon`] if an
    /// instance exits or does not become ready, and file or command errors.
    pub fn start_lldpd(&mut self, options: &LldpdOptions) -> Result<(), TestbedError> {
        let lldpd = find_program("lldpd")
            .ok_or_else(|| TestbedError::Prerequisite("lldpd not found; install lldpd (scripts/setup)".to_owned()))?;
        let lldpd = lldpd.to_string_lossy().into_owned();
        for i in 0..self.nodes.len() {
            let node = &self.nodes[i];
            if node.lldpd_socket.is_some() || options.except.contains(&node.id.0) {
                continue;
            }
            let name = node.id.0.clone();
            let capability = match node.kind {
                NodeKind::Bridge => "bridge",
                NodeKind::EndStation => "station",
            };
            let conf = self.dir.join(format!("{name}.lldpd.conf"));
            let text = format!(
                "configure system hostname {name}\n\
                 configure lldp portidsubtype {}\n\
                 configure system capabilities enabled {capability}\n\
                 configure lldp tx-interval {}\n",
                if options.port_id_mac { "macaddress" } else { "ifname" },
                options.tx_interval_s.max(1)
            );
            fs::write(&conf, text).map_err(io_err(&conf))?;
            let socket = self.dir.join(format!("{name}.lldpd.sock"));
            let pidfile = self.dir.join(format!("{name}.lldpd.pid"));
            let log = self.dir.join(format!("{name}.lldpd.log"));
            let (socket_s, pid_s, conf_s) = (path_str(&socket), path_str(&pidfile), path_str(&conf));
            let args = ["-d", "-u", &socket_s, "-p", &pid_s, "-O", &conf_s, "-I", "p*"];
            let ns = node.namespace.clone();
            self.spawn_daemon("lldpd", i, &ns, &lldpd, &args, &log)?;
            self.nodes[i].lldpd_socket = Some(socket);
        }
        for i in 0..self.nodes.len() {
            let name = self.nodes[i].id.0.clone();
            if self.nodes[i].lldpd_socket.is_none() {
                continue;
            }
            let ready = poll_until(options.ready_timeout, "lldpd to answer", || {
                if let Some(reason) = self.daemon_exited("lldpd", &name) {
                    return Some(Err(reason));
                }
                match self.lldp_chassis(&name) {
                    Ok(c) if c.name.as_deref() == Some(name.as_str()) => Some(Ok(())),
                    _ => None,
                }
            });
            match ready {
                Ok(Ok(())) => {}
                Ok(Err(reason)) | Err(TestbedError::Timeout { what: reason, .. }) => {
                    return Err(self.daemon_error("lldpd", &name, &reason));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn spawn_daemon(
        &mut self,
        daemon: &'static str,
        index: usize,
        namespace: &str,
        program: &str,
        args: &[&str],
        log: &Path,
    ) -> Result<(), TestbedError> {
        let out = fs::File::create(log).map_err(io_err(log))?;
        let err = out.try_clone().map_err(io_err(log))?;
        let mut all = vec!["netns", "exec", namespace, program];
        all.extend_from_slice(args);
        // `ip netns exec` execs the program, so the child's pid is the daemon's.
        let child = Command::new("ip")
            .args(&all)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|source| TestbedError::Spawn { command: cmd::describe("ip", &all), source })?;
        self.daemons.push(Daemon { name: daemon, node: self.nodes[index].id.clone(), child, log: log.to_owned() });
        Ok(())
    }

    fn daemon_exited(&mut self, daemon: &str, node: &str) -> Option<String> {
        // The most recent one: a node may run several sshds (one per port).
        let d = self.daemons.iter_mut().rev().find(|d| d.name == daemon && d.node.0 == node)?;
        match d.child.try_wait() {
            Ok(Some(status)) => Some(format!("exited with {status}")),
            _ => None,
        }
    }

    fn daemon_error(&self, daemon: &'static str, node: &str, reason: &str) -> TestbedError {
        let log = self
            .daemons
            .iter()
            .rev()
            .find(|d| d.name == daemon && d.node.0 == node)
            .and_then(|d| fs::read_to_string(&d.log).ok())
            .unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(10).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        TestbedError::Daemon { daemon, node: node.to_owned(), reason: format!("{reason}; log: {}", tail.join(" | ")) }
    }

    /// Runs `lldpcli -u <node's socket> args...` in the node's namespace; returns stdout.
    ///
    /// # Errors
    ///
    /// [`TestbedError::Daemon`] if lldpd was not started on the node, and command errors.
    pub fn lldpcli(&self, node: &str, args: &[&str]) -> Result<String, TestbedError> {
        let socket = self.node(node)?.lldpd_socket.as_ref().ok_or_else(|| TestbedError::Daemon {
            daemon: "lldpd",
            node: node.to_owned(),
            reason: "not started (call start_lldpd)".to_owned(),
        })?;
        let socket = path_str(socket);
        let mut argv = vec!["lldpcli", "-u", &socket];
        argv.extend_from_slice(args);
        self.exec_ok(node, &argv)
    }

    /// The node's LLDP neighbours, parsed from `lldpcli -f json0 show neighbors details`.
    ///
    /// # Errors
    ///
    /// As [`Testbed::lldpcli`], and [`TestbedError::Lldp`] if the output does not parse.
    pub fn lldp_neighbors(&self, node: &str) -> Result<Vec<tsn_lldp::Neighbor>, TestbedError> {
        let text = self.lldpcli(node, &["-f", "json0", "show", "neighbors", "details"])?;
        tsn_lldp::parse_neighbors(&text).map_err(|source| TestbedError::Lldp { node: node.to_owned(), source })
    }

    /// The node's own chassis, parsed from `lldpcli -f json0 show chassis`.
    ///
    /// # Errors
    ///
    /// As [`Testbed::lldpcli`], and [`TestbedError::Lldp`] if the output does not parse.
    pub fn lldp_chassis(&self, node: &str) -> Result<tsn_lldp::Chassis, TestbedError> {
        let text = self.lldpcli(node, &["-f", "json0", "show", "chassis"])?;
        tsn_lldp::parse_chassis(&text).map_err(|source| TestbedError::Lldp { node: node.to_owned(), source })
    }

    /// Starts an OpenSSH server in the namespace of `node`, reachable from the root
    /// namespace over the node's management link, and waits until it accepts TCP
    /// connections.
    ///
    /// The server has its own configuration, a fresh ed25519 host key, pidfile and log in
    /// [`Testbed::dir`]; it accepts only public-key logins as root with the keys in
    /// `authorized_keys` (OpenSSH `authorized_keys` lines).
    ///
    /// # Errors
    ///
    /// [`TestbedError::Invalid`] if the testbed has no management network,
    /// [`TestbedError::Prerequisite`] if sshd or ssh-keygen is missing,
    /// [`TestbedError::Daemon`] if sshd exits or never listens, and file or command errors.
    pub fn start_sshd(&mut self, node: &str, authorized_keys: &str) -> Result<SshEndpoint, TestbedError> {
        let options = SshdOptions { authorized_keys: authorized_keys.to_owned(), ..SshdOptions::default() };
        self.start_sshd_with(node, &options)
    }

    /// Like [`Testbed::start_sshd`], with a port and `Subsystem` lines (e.g. a NETCONF
    /// server reached as the `netconf` subsystem). A node runs at most one sshd per port.
    ///
    /// # Errors
    ///
    /// As [`Testbed::start_sshd`], and [`TestbedError::Invalid`] for a subsystem name or
    /// command containing a line break.
    pub fn start_sshd_with(&mut self, node: &str, options: &SshdOptions) -> Result<SshEndpoint, TestbedError> {
        let i = self.index(node)?;
        let authorized_keys = options.authorized_keys.as_str();
        let port = if options.port == 0 { 22 } else { options.port };
        let mut subsystems = String::new();
        for (name, command) in &options.subsystems {
            if name.contains(char::is_whitespace) || command.contains('\n') || name.is_empty() {
                return Err(TestbedError::Invalid(format!("bad sshd subsystem {name:?} = {command:?}")));
            }
            subsystems.push_str(&format!("Subsystem {name} {command}\n"));
        }
        let mgmt = self.nodes[i].management.clone().ok_or_else(|| {
            TestbedError::Invalid("sshd needs a management network (TestbedBuilder::management_network)".to_owned())
        })?;
        let sshd = find_program("sshd").ok_or_else(|| {
            TestbedError::Prerequisite("sshd not found; install openssh-server (scripts/setup)".to_owned())
        })?;
        if find_program("ssh-keygen").is_none() {
            return Err(TestbedError::Prerequisite("ssh-keygen not found; install openssh-client".to_owned()));
        }
        // sshd refuses to start without its privilege separation directory.
        let privsep = Path::new("/run/sshd");
        fs::create_dir_all(privsep).map_err(io_err(privsep))?;
        let key = self.dir.join(format!("{node}.{port}.ssh_host_ed25519_key"));
        let _ = fs::remove_file(&key);
        let _ = fs::remove_file(key.with_extension("pub"));
        cmd::run_ok("ssh-keygen", &["-q", "-t", "ed25519", "-N", "", "-C", node, "-f", &path_str(&key)])?;
        let pub_path = PathBuf::from(format!("{}.pub", key.display()));
        let host_public_key = fs::read_to_string(&pub_path).map_err(io_err(&pub_path))?.trim().to_owned();
        let authorized = self.dir.join(format!("{node}.{port}.authorized_keys"));
        fs::write(&authorized, authorized_keys).map_err(io_err(&authorized))?;
        let pidfile = self.dir.join(format!("{node}.{port}.sshd.pid"));
        let conf = self.dir.join(format!("{node}.{port}.sshd_config"));
        let text = format!(
            "Port {port}\n\
             ListenAddress {NODE_MANAGEMENT_ADDR}%{MANAGEMENT_INTERFACE}\n\
             HostKey {}\n\
             PidFile {}\n\
             AuthorizedKeysFile {}\n\
             PermitRootLogin prohibit-password\n\
             PubkeyAuthentication yes\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             UsePAM no\n\
             StrictModes no\n\
             PrintMotd no\n\
             LogLevel VERBOSE\n\
             {subsystems}",
            key.display(),
            pidfile.display(),
            authorized.display()
        );
        fs::write(&conf, text).map_err(io_err(&conf))?;
        let log = self.dir.join(format!("{node}.{port}.sshd.log"));
        let ns = self.nodes[i].namespace.clone();
        self.spawn_daemon("sshd", i, &ns, &path_str(&sshd), &["-D", "-e", "-f", &path_str(&conf)], &log)?;
        let addr = mgmt.node_addr(port);
        let ready = poll_until(Duration::from_secs(20), "sshd to listen", || {
            if let Some(reason) = self.daemon_exited("sshd", node) {
                return Some(Err(reason));
            }
            TcpStream::connect_timeout(&addr.into(), Duration::from_secs(1)).ok().map(|_| Ok(()))
        });
        match ready {
            Ok(Ok(())) => {}
            Ok(Err(reason)) | Err(TestbedError::Timeout { what: reason, .. }) => {
                return Err(self.daemon_error("sshd", node, &reason));
            }
            Err(e) => return Err(e),
        }
        Ok(SshEndpoint {
            node: NodeId::from(node),
            addr,
            host: mgmt.node_host(),
            user: "root".to_owned(),
            host_public_key,
            lldpcli_socket: self.nodes[i].lldpd_socket.clone(),
        })
    }

    /// The pids of the daemons this testbed started (lldpd monitors, sshd listeners).
    pub fn daemon_pids(&self) -> Vec<u32> {
        self.daemons.iter().map(|d| d.child.id()).collect()
    }

    /// Every process currently running in one of the testbed's namespaces (daemons and
    /// their children).
    ///
    /// # Errors
    ///
    /// Errors of `ip netns pids`.
    pub fn namespace_pids(&self) -> Result<Vec<u32>, TestbedError> {
        let mut pids = Vec::new();
        for n in &self.nodes {
            pids.extend(namespace_pids(&n.namespace)?);
        }
        Ok(pids)
    }

    /// Tears the testbed down now and reports the first problem (dropping it does the
    /// same, silently).
    ///
    /// # Errors
    ///
    /// The first command or file error met; teardown goes on after an error.
    pub fn teardown(mut self) -> Result<(), TestbedError> {
        self.teardown_inner()
    }

    fn teardown_inner(&mut self) -> Result<(), TestbedError> {
        if self.torn_down {
            return Ok(());
        }
        self.torn_down = true;
        let mut first: Option<TestbedError> = None;
        // Stop the daemons' descendants first, deepest first (lldpd's unprivileged
        // worker, sshd sessions) so that each is reaped by its parent; stopped the other way round they are
        // orphaned and linger as zombies until init reaps them.
        let children: Vec<u32> = self.daemons.iter().flat_map(|d| descendants(d.child.id())).collect();
        for &c in &children {
            cmd::signal(c, "TERM");
        }
        let _ = poll_until(Duration::from_secs(3), "daemon children to exit", || {
            children.iter().all(|&c| !process_alive(c)).then_some(())
        });
        for d in &self.daemons {
            cmd::signal(d.child.id(), "TERM");
        }
        for d in &mut self.daemons {
            if cmd::wait_timeout(&mut d.child, Duration::from_secs(3)).is_none() {
                let _ = d.child.kill();
                let _ = d.child.wait();
            }
        }
        self.daemons.clear();
        let namespaces: Vec<String> = self.nodes.iter().map(|n| n.namespace.clone()).collect();
        let hosts: Vec<String> =
            self.nodes.iter().filter_map(|n| n.management.as_ref().map(|m| m.host_interface.clone())).collect();
        if let Err(e) = remove_namespaces(&namespaces) {
            first.get_or_insert(e);
        }
        // Deleting a namespace deletes the veths in it and their peers; these are only
        // left if a namespace could not be deleted.
        for h in hosts {
            let present = || Path::new("/sys/class/net").join(&h).exists();
            if present() {
                // The kernel removes the peer of a deleted namespace's veth asynchronously:
                // it may vanish between the check and the delete, which is no error.
                if let Err(e) = cmd::run_ok("ip", &["link", "del", &h]) {
                    if present() {
                        first.get_or_insert(e);
                    }
                }
            }
        }
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                first.get_or_insert(TestbedError::Io { path: self.dir.clone(), source: e });
            }
        }
        first.map_or(Ok(()), Err)
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        let _ = self.teardown_inner();
    }
}

/// The direct children of `pid` (Linux `/proc/<pid>/task/<tid>/children`).
fn child_pids(pid: u32) -> Vec<u32> {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|c| c.split_whitespace().filter_map(|p| p.parse().ok()).collect::<Vec<u32>>())
        .collect()
}

/// All descendants of `pid`, every process listed after its own descendants.
fn descendants(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for c in child_pids(pid) {
        out.extend(descendants(c));
        out.push(c);
    }
    out
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Names of all network namespaces (`ip netns list`).
///
/// # Errors
///
/// Errors of `ip`.
pub fn list_namespaces() -> Result<Vec<String>, TestbedError> {
    let out = cmd::run_ok("ip", &["netns", "list"])?;
    // Lines are `name` or `name (id: 3)`.
    Ok(out.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_owned).collect())
}

/// Names of all interfaces of the root namespace.
///
/// # Errors
///
/// Errors of `ip`.
pub fn list_host_interfaces() -> Result<Vec<String>, TestbedError> {
    let out = cmd::run_ok("ip", &["-o", "link", "show"])?;
    // Lines are `12: name@peer: <FLAGS> ...`.
    Ok(out.lines().filter_map(|l| l.split(": ").nth(1)).map(|n| n.split('@').next().unwrap_or(n).to_owned()).collect())
}

fn namespace_pids(namespace: &str) -> Result<Vec<u32>, TestbedError> {
    let out = cmd::run_ok("ip", &["netns", "pids", namespace])?;
    Ok(out.split_whitespace().filter_map(|p| p.parse().ok()).collect())
}

/// Kills every process in each namespace, then deletes the namespaces.
fn remove_namespaces(namespaces: &[String]) -> Result<usize, TestbedError> {
    let mut first = None;
    let mut killed = 0;
    let existing = list_namespaces()?;
    for ns in namespaces.iter().filter(|n| existing.contains(n)) {
        let gone = poll_until(Duration::from_secs(5), "namespace processes to exit", || {
            let pids = namespace_pids(ns).unwrap_or_default();
            for &p in &pids {
                cmd::signal(p, "KILL");
                killed += 1;
            }
            pids.is_empty().then_some(())
        });
        if let Err(e) = gone {
            first.get_or_insert(e);
        }
        if let Err(e) = cmd::run_ok("ip", &["netns", "del", ns]) {
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(killed), Err)
}

/// What [`cleanup_stale`] removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StaleCleanup {
    /// Deleted namespaces.
    pub namespaces: Vec<String>,
    /// Deleted root-namespace interfaces.
    pub interfaces: Vec<String>,
    /// Number of processes killed inside those namespaces.
    pub processes_killed: usize,
}

/// Removes everything named with `prefix` that a crashed run left: processes in the
/// namespaces, the namespaces `<prefix>*`, root-namespace interfaces `<prefix>*`, and the
/// directories `/tmp/tsn-testbed-<prefix>*`. Never call it with the prefix of a testbed
/// that is still in use.
///
/// # Errors
///
/// [`TestbedError::Invalid`] for an empty prefix (it would match everything), and the
/// first command error met (cleanup goes on after it).
pub fn cleanup_stale(prefix: &str) -> Result<StaleCleanup, TestbedError> {
    if prefix.is_empty() {
        return Err(TestbedError::Invalid("cleanup_stale needs a non-empty prefix".to_owned()));
    }
    let mut report = StaleCleanup::default();
    let mut first = None;
    report.namespaces = list_namespaces()?.into_iter().filter(|n| n.starts_with(prefix)).collect();
    match remove_namespaces(&report.namespaces) {
        Ok(n) => report.processes_killed = n,
        Err(e) => {
            first.get_or_insert(e);
        }
    }
    report.interfaces = list_host_interfaces()?.into_iter().filter(|n| n.starts_with(prefix)).collect();
    for i in &report.interfaces {
        // As in teardown: a peer of a deleted namespace's veth may vanish on its own.
        if let Err(e) = cmd::run_ok("ip", &["link", "del", i]) {
            if Path::new("/sys/class/net").join(i).exists() {
                first.get_or_insert(e);
            }
        }
    }
    if let Ok(entries) = fs::read_dir("/tmp") {
        let start = format!("tsn-testbed-{prefix}");
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&start) {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
    first.map_or(Ok(report), Err)
}

/// Removes the leftovers of automatically prefixed testbeds whose owning process is dead
/// (the pid is part of the prefix), leaving those of live processes alone.
///
/// # Errors
///
/// As [`cleanup_stale`].
pub fn cleanup_orphans() -> Result<StaleCleanup, TestbedError> {
    let mut total = StaleCleanup::default();
    let mut prefixes: Vec<String> = list_namespaces()?.into_iter().filter_map(|n| orphan_prefix(&n)).collect();
    prefixes.extend(list_host_interfaces()?.into_iter().filter_map(|n| orphan_prefix(&n)));
    prefixes.sort();
    prefixes.dedup();
    for p in prefixes {
        let r = cleanup_stale(&p)?;
        total.namespaces.extend(r.namespaces);
        total.interfaces.extend(r.interfaces);
        total.processes_killed += r.processes_killed;
    }
    Ok(total)
}

/// The auto prefix at the start of `name` if its owner process is gone.
fn orphan_prefix(name: &str) -> Option<String> {
    let prefix = name.get(..AUTO_PREFIX_START.len() + 7)?;
    let digits = prefix.strip_prefix(AUTO_PREFIX_START)?;
    if !digits.bytes().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()) {
        return None;
    }
    let rest = &name[prefix.len()..];
    if !(rest.starts_with('-') || rest.starts_with('m')) {
        return None;
    }
    let pid = u32::from_str_radix(&digits[..5], 36).ok()?;
    (!process_alive(pid)).then(|| prefix.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_prefixes_are_short_and_distinct() {
        let a = auto_prefix();
        let b = auto_prefix();
        assert_ne!(a, b);
        assert_eq!(a.len(), MAX_PREFIX);
        assert!(format!("{a}m99999").len() <= IFNAMSIZ);
        assert_eq!(base36(35, 2), "0z");
        assert_eq!(base36(36, 2), "10");
    }

    #[test]
    fn descriptions_are_validated_before_touching_the_system() {
        let bad = [
            Testbed::builder().bridge("b0").bridge("b0"),
            Testbed::builder().bridge("b 0"),
            Testbed::builder().bridge("b0").cable("b0", "x"),
            Testbed::builder().bridge("b0").cable("b0", "b0"),
            Testbed::builder().bridge("a").bridge("b").cable("a", "b").cable("b", "a"),
            Testbed::builder().bridge("a").prefix("TOO-long-prefix"),
        ];
        for b in bad {
            assert!(b.validate().is_err(), "{b:?}");
        }
        assert!(Testbed::builder().bridge("a").station("b").cable("a", "b").validate().is_ok());
    }

    #[test]
    fn topology_links_become_one_cable_per_pair() {
        let mut t = Topology::default();
        for (n, k) in [("b0", NodeKind::Bridge), ("e0", NodeKind::EndStation)] {
            t.nodes.push(tsn_model::Node { id: NodeId::from(n), kind: k });
        }
        for (f, to) in [("e0", "b0"), ("b0", "e0")] {
            t.links.push(tsn_model::Link {
                from: NodeId::from(f),
                to: NodeId::from(to),
                rate_bps: 1_000_000_000,
                propagation_delay_ns: 0,
                processing_delay_ns: 0,
                scheduled_queues: 1,
                gcl_max_entries: 8,
                ports: Default::default(),
            });
        }
        let b = Testbed::builder().topology(&t);
        assert_eq!(b.nodes.len(), 2);
        assert_eq!(b.cables, vec![(NodeId::from("e0"), NodeId::from("b0"))]);
    }

    #[test]
    fn orphan_prefixes_need_the_auto_shape() {
        assert_eq!(orphan_prefix("other-ns"), None);
        assert_eq!(orphan_prefix("tbZZ"), None);
        // pid 0 never exists as a process.
        assert_eq!(orphan_prefix("tb0000000-b0").as_deref(), Some("tb0000000"));
        let own = format!("{AUTO_PREFIX_START}{}00-b0", base36(std::process::id(), 5));
        assert_eq!(orphan_prefix(&own), None);
    }
}
