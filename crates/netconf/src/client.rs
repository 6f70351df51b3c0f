//! The NETCONF client: hello and capabilities, message-id matching, the RFC 6241
//! operations, and a reconnecting session with keepalives. Generic over the transport:
//! an SSH `netconf` subsystem channel in production, pipes or `tokio::io::duplex` in tests.

use std::fmt;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite};

use crate::error::NetconfError;
use crate::framing::{Framed, Framing, DEFAULT_MAX_MESSAGE};
use crate::message::{Hello, ModuleCapability, Reply, BASE_1_0, BASE_1_1, YANG_LIBRARY_NS};
use crate::xml::{escape, Element, NC_NS};

/// Client settings.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Name of the device in logs and errors.
    pub device: String,
    /// Longest wait for one reply.
    pub rpc_timeout: Duration,
    /// Longest accepted message.
    pub max_message: usize,
    /// Offer base:1.1 (chunked framing). On by default; off forces base:1.0.
    pub offer_base_1_1: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            device: "device".into(),
            rpc_timeout: Duration::from_secs(30),
            max_message: DEFAULT_MAX_MESSAGE,
            offer_base_1_1: true,
        }
    }
}

/// A configuration datastore.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Datastore {
    /// `<running/>`.
    Running,
    /// `<candidate/>`.
    Candidate,
    /// `<startup/>`.
    Startup,
}

impl Datastore {
    /// The element name.
    pub fn name(self) -> &'static str {
        match self {
            Datastore::Running => "running",
            Datastore::Candidate => "candidate",
            Datastore::Startup => "startup",
        }
    }
}

impl fmt::Display for Datastore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `<filter>` for get and get-config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    /// A subtree filter: XML of the filter's content.
    Subtree(String),
    /// An XPath filter (needs `:xpath`).
    XPath(String),
}

impl Filter {
    fn to_xml(&self) -> String {
        match self {
            Filter::Subtree(s) => format!("<filter type=\"subtree\">{s}</filter>"),
            Filter::XPath(x) => format!("<filter type=\"xpath\" select=\"{}\"/>", escape(x)),
        }
    }
}

/// `<default-operation>` of edit-config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultOperation {
    /// Merge (the protocol default).
    Merge,
    /// Replace.
    Replace,
    /// None: only nodes with an explicit operation change.
    None,
}

/// `<error-option>` of edit-config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorOption {
    /// Stop at the first error (the protocol default).
    StopOnError,
    /// Continue after errors.
    ContinueOnError,
    /// Undo everything on error (needs `:rollback-on-error`).
    RollbackOnError,
}

/// An edit-config request.
#[derive(Clone, Debug)]
pub struct EditConfig {
    /// Target datastore.
    pub target: Datastore,
    /// The `<config>` content (top-level data elements with their namespaces; operations
    /// as `nc:operation` attributes).
    pub config: String,
    /// Default operation.
    pub default_operation: Option<DefaultOperation>,
    /// Error option.
    pub error_option: Option<ErrorOption>,
}

impl EditConfig {
    /// A merge of `config` into `target`, rolled back entirely on error.
    pub fn merge(target: Datastore, config: impl Into<String>) -> Self {
        EditConfig {
            target,
            config: config.into(),
            default_operation: None,
            error_option: Some(ErrorOption::RollbackOnError),
        }
    }
}

/// A session with a NETCONF server.
#[derive(Debug)]
pub struct Client<T> {
    framed: Framed<T>,
    server: Hello,
    next_id: u64,
    options: ClientOptions,
    broken: bool,
}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Client<T> {
    /// Exchanges hellos over `io` and switches to chunked framing when both sides speak
    /// base:1.1.
    pub async fn handshake(io: T, options: ClientOptions) -> Result<Self, NetconfError> {
        let mut framed = Framed::new(io, options.max_message);
        let mut caps = vec![BASE_1_0.to_owned()];
        if options.offer_base_1_1 {
            caps.push(BASE_1_1.to_owned());
        }
        let ours = Hello { capabilities: caps, session_id: None };
        let timeout = options.rpc_timeout;
        let server = tokio::time::timeout(timeout, async {
            framed.write_message(&ours.to_xml()).await?;
            let msg = framed.read_message().await?.ok_or(NetconfError::Closed)?;
            Hello::parse(&Element::parse(&msg)?)
        })
        .await
        .map_err(|_| NetconfError::Timeout { operation: "hello".into(), timeout_ms: timeout.as_millis() as u64 })??;
        if server.session_id.is_none() {
            return Err(NetconfError::Protocol("server <hello> without <session-id>".into()));
        }
        if options.offer_base_1_1 && server.has(BASE_1_1) {
            framed.set_framing(Framing::Chunked);
        } else if !server.has(BASE_1_0) {
            return Err(NetconfError::Protocol("server supports neither base:1.0 nor base:1.1 with us".into()));
        }
        tracing::debug!(device = %options.device, session = ?server.session_id, framing = ?framed.framing(), "NETCONF session up");
        Ok(Client { framed, server, next_id: 1, options, broken: false })
    }

    /// The server's hello.
    pub fn server_hello(&self) -> &Hello {
        &self.server
    }

    /// The session id the server assigned.
    pub fn session_id(&self) -> u32 {
        self.server.session_id.unwrap_or_default()
    }

    /// The framing in use.
    pub fn framing(&self) -> Framing {
        self.framed.framing()
    }

    /// The device name from the options.
    pub fn device(&self) -> &str {
        &self.options.device
    }

    /// Whether the server announced `capability` (compared without query).
    pub fn has_capability(&self, capability: &str) -> bool {
        self.server.has(capability)
    }

    /// Sends `<rpc>` with `operation` as its content and waits for the reply with the same
    /// message-id (notifications and stale replies are skipped).
    pub async fn rpc(&mut self, operation: &str) -> Result<Reply, NetconfError> {
        if self.broken {
            return Err(NetconfError::Closed);
        }
        let id = self.next_id;
        self.next_id += 1;
        let op_name = operation.trim_start().trim_start_matches('<').split([' ', '>', '/']).next().unwrap_or("rpc");
        let op_name = op_name.to_owned();
        let timeout = self.options.rpc_timeout;
        let result = tokio::time::timeout(timeout, self.exchange(id, operation)).await;
        let result = match result {
            Ok(r) => r,
            Err(_) => Err(NetconfError::Timeout { operation: op_name.clone(), timeout_ms: timeout.as_millis() as u64 }),
        };
        if let Err(e) = &result {
            if e.is_fatal() {
                self.broken = true;
            }
            tracing::debug!(device = %self.options.device, operation = %op_name, error = %e, "NETCONF rpc failed");
        }
        result
    }

    async fn exchange(&mut self, id: u64, operation: &str) -> Result<Reply, NetconfError> {
        let msg = format!("<rpc xmlns=\"{NC_NS}\" message-id=\"{id}\">{operation}</rpc>");
        self.framed.write_message(&msg).await?;
        loop {
            let text = self.framed.read_message().await?.ok_or(NetconfError::Closed)?;
            let el = Element::parse(&text)?;
            match el.name.as_str() {
                "rpc-reply" => match el.attr("message-id") {
                    Some(got) if got == id.to_string() => return Reply::from_element(el),
                    // A reply without message-id answers a message the server could not
                    // parse (RFC 6241 §4.1 allows it); it can only be ours.
                    None => return Reply::from_element(el),
                    Some(other) => {
                        tracing::warn!(device = %self.options.device, expected = id, got = other, "skipping reply to another request");
                    }
                },
                "notification" => tracing::debug!(device = %self.options.device, "skipping notification"),
                other => return Err(NetconfError::Protocol(format!("unexpected <{other}> from server"))),
            }
        }
    }

    /// `<get>` with an optional filter: the `<data>` element.
    pub async fn get(&mut self, filter: Option<&Filter>) -> Result<Element, NetconfError> {
        let f = filter.map(Filter::to_xml).unwrap_or_default();
        Ok(self.rpc(&format!("<get>{f}</get>")).await?.into_data())
    }

    /// `<get-config>` of `source` with an optional filter: the `<data>` element.
    pub async fn get_config(&mut self, source: Datastore, filter: Option<&Filter>) -> Result<Element, NetconfError> {
        let f = filter.map(Filter::to_xml).unwrap_or_default();
        Ok(self.rpc(&format!("<get-config><source><{source}/></source>{f}</get-config>")).await?.into_data())
    }

    /// `<edit-config>`.
    pub async fn edit_config(&mut self, edit: &EditConfig) -> Result<(), NetconfError> {
        let mut op = format!("<edit-config><target><{}/></target>", edit.target);
        if let Some(d) = edit.default_operation {
            let d = match d {
                DefaultOperation::Merge => "merge",
                DefaultOperation::Replace => "replace",
                DefaultOperation::None => "none",
            };
            op.push_str(&format!("<default-operation>{d}</default-operation>"));
        }
        if let Some(e) = edit.error_option {
            let e = match e {
                ErrorOption::StopOnError => "stop-on-error",
                ErrorOption::ContinueOnError => "continue-on-error",
                ErrorOption::RollbackOnError => "rollback-on-error",
            };
            op.push_str(&format!("<error-option>{e}</error-option>"));
        }
        op.push_str(&format!("<config>{}</config></edit-config>", edit.config));
        self.rpc(&op).await.map(drop)
    }

    /// `<copy-config>` of inline `config` to `target` (replaces the whole datastore).
    pub async fn copy_config_inline(&mut self, target: Datastore, config: &str) -> Result<(), NetconfError> {
        self.rpc(&format!(
            "<copy-config><target><{target}/></target><source><config>{config}</config></source></copy-config>"
        ))
        .await
        .map(drop)
    }

    /// `<lock>`.
    pub async fn lock(&mut self, target: Datastore) -> Result<(), NetconfError> {
        self.rpc(&format!("<lock><target><{target}/></target></lock>")).await.map(drop)
    }

    /// `<unlock>`.
    pub async fn unlock(&mut self, target: Datastore) -> Result<(), NetconfError> {
        self.rpc(&format!("<unlock><target><{target}/></target></unlock>")).await.map(drop)
    }

    /// `<validate>` of `source`.
    pub async fn validate(&mut self, source: Datastore) -> Result<(), NetconfError> {
        self.rpc(&format!("<validate><source><{source}/></source></validate>")).await.map(drop)
    }

    /// `<commit>`: commits the candidate, or confirms a pending confirmed commit.
    pub async fn commit(&mut self) -> Result<(), NetconfError> {
        self.rpc("<commit/>").await.map(drop)
    }

    /// `<commit><confirmed/>`: the server reverts unless confirmed within `timeout`.
    /// With `persist`, the commit survives the end of this session and is confirmed or
    /// cancelled with the same id.
    pub async fn confirmed_commit(&mut self, timeout: Duration, persist: Option<&str>) -> Result<(), NetconfError> {
        let persist = persist.map(|p| format!("<persist>{}</persist>", escape(p))).unwrap_or_default();
        let op = format!(
            "<commit><confirmed/><confirm-timeout>{}</confirm-timeout>{persist}</commit>",
            timeout.as_secs().max(1)
        );
        self.rpc(&op).await.map(drop)
    }

    /// Confirms a persistent confirmed commit from any session.
    pub async fn confirm_persisted(&mut self, persist_id: &str) -> Result<(), NetconfError> {
        self.rpc(&format!("<commit><persist-id>{}</persist-id></commit>", escape(persist_id))).await.map(drop)
    }

    /// `<cancel-commit>`: reverts a pending confirmed commit.
    pub async fn cancel_commit(&mut self, persist_id: Option<&str>) -> Result<(), NetconfError> {
        let op = match persist_id {
            Some(p) => format!("<cancel-commit><persist-id>{}</persist-id></cancel-commit>", escape(p)),
            None => "<cancel-commit/>".to_owned(),
        };
        self.rpc(&op).await.map(drop)
    }

    /// `<discard-changes>`: resets the candidate to running.
    pub async fn discard_changes(&mut self) -> Result<(), NetconfError> {
        self.rpc("<discard-changes/>").await.map(drop)
    }

    /// A cheap round trip that keeps the session (and the SSH connection) alive: a
    /// get-config with an empty subtree filter, which selects nothing.
    pub async fn ping(&mut self) -> Result<(), NetconfError> {
        self.get_config(Datastore::Running, Some(&Filter::Subtree(String::new()))).await.map(drop)
    }

    /// The YANG modules of the server: from its hello, or when the hello lists none of the
    /// scheduled-traffic modules, from ietf-yang-library (`modules-state`).
    pub async fn modules(&mut self) -> Result<Vec<ModuleCapability>, NetconfError> {
        let mut modules = self.server.modules();
        let listed = modules.iter().any(|m| m.module.starts_with("ieee802-dot1q-sched"));
        let has_yang_library = self.server.capabilities.iter().any(|c| c.contains("yang-library"));
        if !listed && has_yang_library {
            let filter = Filter::Subtree(format!("<modules-state xmlns=\"{YANG_LIBRARY_NS}\"/>"));
            let data = self.get(Some(&filter)).await?;
            if let Some(state) = data.child_ns(YANG_LIBRARY_NS, "modules-state") {
                for m in state.children.iter().filter(|m| m.name == "module") {
                    if let (Some(name), Some(ns)) = (m.child_text("name"), m.child_text("namespace")) {
                        modules.push(ModuleCapability {
                            namespace: ns.to_owned(),
                            module: name.to_owned(),
                            revision: m.child_text("revision").filter(|r| !r.is_empty()).map(str::to_owned),
                        });
                    }
                }
            }
        }
        Ok(modules)
    }

    /// `<close-session>`, then closes the transport.
    pub async fn close(mut self) -> Result<(), NetconfError> {
        let r = self.rpc("<close-session/>").await.map(drop);
        self.framed.shutdown().await;
        r
    }
}

/// Opens transports to one device (an SSH `netconf` subsystem in production).
#[async_trait::async_trait]
pub trait Connector: Send + Sync {
    /// The transport.
    type Io: AsyncRead + AsyncWrite + Unpin + Send;
    /// Opens a new transport.
    async fn connect(&self) -> Result<Self::Io, NetconfError>;
}

/// A session that reconnects: fatal transport errors drop the session; the next call
/// opens a new one. Idempotent reads are retried once on a fresh session; writes are not
/// (locks and uncommitted candidate edits die with their session).
#[derive(Debug)]
pub struct Session<C: Connector> {
    connector: C,
    options: ClientOptions,
    client: Option<Client<C::Io>>,
    keepalive: Option<Duration>,
    last_used: Instant,
    reconnects: u32,
}

impl<C: Connector> Session<C> {
    /// A session that connects lazily and pings after `keepalive` of idleness.
    pub fn new(connector: C, options: ClientOptions, keepalive: Option<Duration>) -> Self {
        Session { connector, options, client: None, keepalive, last_used: Instant::now(), reconnects: 0 }
    }

    /// How many times the session was re-established after a failure.
    pub fn reconnects(&self) -> u32 {
        self.reconnects
    }

    /// The connected client, connecting first when needed.
    pub async fn client(&mut self) -> Result<&mut Client<C::Io>, NetconfError> {
        if self.client.as_ref().is_some_and(|c| c.broken) {
            self.client = None;
            self.reconnects += 1;
            tracing::info!(device = %self.options.device, "NETCONF session lost; reconnecting");
        }
        if self.client.is_none() {
            let io = self.connector.connect().await?;
            self.client = Some(Client::handshake(io, self.options.clone()).await?);
        }
        self.last_used = Instant::now();
        Ok(self.client.as_mut().expect("connected above"))
    }

    /// Runs an RPC; when `idempotent` and the session broke, retries once on a new session.
    pub async fn rpc(&mut self, operation: &str, idempotent: bool) -> Result<Reply, NetconfError> {
        let first = self.client().await?.rpc(operation).await;
        match first {
            Err(e) if e.is_fatal() && idempotent => {
                tracing::info!(device = %self.options.device, error = %e, "retrying on a new session");
                self.client().await?.rpc(operation).await
            }
            other => other,
        }
    }

    /// Call periodically: pings when the session was idle for the keepalive interval and
    /// reconnects when the ping fails.
    pub async fn keepalive(&mut self) -> Result<(), NetconfError> {
        let Some(interval) = self.keepalive else { return Ok(()) };
        if self.client.is_some() && self.last_used.elapsed() < interval {
            return Ok(());
        }
        let r = self.client().await?.ping().await;
        if let Err(e) = r {
            if e.is_fatal() {
                self.client().await?.ping().await?;
            } else {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Closes the session, if open.
    pub async fn close(&mut self) {
        if let Some(c) = self.client.take() {
            let _ = c.close().await;
        }
    }
}
