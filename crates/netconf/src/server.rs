//! The NETCONF server of the software bridge: running and candidate datastores owned by
//! one actor task, sessions over any transport (an SSH `netconf` subsystem channel in
//! production, see [`crate::ssh_server`]), libyang validation, and a pluggable
//! [`GateBackend`] that receives every committed gate-parameter-table.
//!
//! ```text
//!  session task ─┐ Cmd::Rpc{session, rpc, reply}          ┌─ GateBackend::check/apply
//!  session task ─┼────────────────────────────▶ datastore actor ──┤
//!  timer task ───┘ Cmd::ConfirmTimeout / Cmd::Closed        └─ Validator (libyang)
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tsn_model::GateControlList;

use crate::datastore::{apply_edit, subtree_filter, Operation};
use crate::error::NetconfError;
use crate::framing::{Framed, Framing, DEFAULT_MAX_MESSAGE};
use crate::message::{
    Hello, RpcError, BASE_1_0, BASE_1_1, CAP_CANDIDATE, CAP_CONFIRMED_COMMIT, CAP_ROLLBACK_ON_ERROR, CAP_VALIDATE,
    CAP_WRITABLE_RUNNING,
};
use crate::render::{gate_tables, GateTable};
use crate::state::{merge_state, StateProvider};
use crate::validate::{module_capabilities, Validator};
use crate::xml::{Element, NC_NS};

/// The default confirm timeout of a confirmed commit (RFC 6241: 600 s).
pub const DEFAULT_CONFIRM_TIMEOUT: Duration = Duration::from_secs(600);

/// A backend refused a gate control list.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(pub String);

/// Where committed gate control lists go: the datapath engine in production, a
/// [`RecordingBackend`] in tests.
pub trait GateBackend: Send + Sync + fmt::Debug {
    /// Whether `port` can run `gcl` (hardware limits); called on validate and before a
    /// commit touches anything.
    fn check(&self, port: &str, gcl: &GateControlList) -> Result<(), BackendError> {
        let _ = (port, gcl);
        Ok(())
    }
    /// Installs `gcl` on `port` (gate-enabled); replaces what the port ran before.
    fn apply(&self, port: &str, gcl: &GateControlList) -> Result<(), BackendError>;
    /// The port's gate table was removed or disabled: all gates open.
    fn clear(&self, port: &str) -> Result<(), BackendError>;
}

/// A backend that records what it was given; optionally refuses lists longer than
/// `max_entries` (the way a real port with a small gate table would).
#[derive(Debug, Default)]
pub struct RecordingBackend {
    max_entries: Option<usize>,
    fail_apply: bool,
    state: Mutex<RecordingState>,
}

#[derive(Debug, Default)]
struct RecordingState {
    current: BTreeMap<String, GateControlList>,
    log: Vec<String>,
}

impl RecordingBackend {
    /// Accepts everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuses lists with more than `max_entries` entries.
    pub fn with_max_entries(max_entries: usize) -> Self {
        RecordingBackend { max_entries: Some(max_entries), ..Default::default() }
    }

    /// Passes every check but fails every apply (a datapath that breaks at commit time).
    pub fn failing_apply() -> Self {
        RecordingBackend { fail_apply: true, ..Default::default() }
    }

    /// What each port runs now.
    pub fn current(&self) -> BTreeMap<String, GateControlList> {
        self.state.lock().map(|s| s.current.clone()).unwrap_or_default()
    }

    /// Every apply/clear so far, as `apply PORT N` / `clear PORT` lines.
    pub fn log(&self) -> Vec<String> {
        self.state.lock().map(|s| s.log.clone()).unwrap_or_default()
    }
}

impl GateBackend for RecordingBackend {
    fn check(&self, port: &str, gcl: &GateControlList) -> Result<(), BackendError> {
        match self.max_entries {
            Some(max) if gcl.entries.len() > max => Err(BackendError(format!(
                "port {port}: {} gate control entries, the hardware gate table holds {max}",
                gcl.entries.len()
            ))),
            _ => Ok(()),
        }
    }

    fn apply(&self, port: &str, gcl: &GateControlList) -> Result<(), BackendError> {
        self.check(port, gcl)?;
        if self.fail_apply {
            return Err(BackendError(format!("port {port}: the datapath refused the gate control list")));
        }
        let mut s = self.state.lock().map_err(|_| BackendError("backend state poisoned".into()))?;
        s.log.push(format!("apply {port} {}", gcl.entries.len()));
        s.current.insert(port.to_owned(), gcl.clone());
        Ok(())
    }

    fn clear(&self, port: &str) -> Result<(), BackendError> {
        let mut s = self.state.lock().map_err(|_| BackendError("backend state poisoned".into()))?;
        s.log.push(format!("clear {port}"));
        s.current.remove(port);
        Ok(())
    }
}

/// Server settings.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The bridge's name (logs; `from` of the ports' link ids).
    pub name: String,
    /// Validates datastores (libyang in production).
    pub validator: Arc<dyn Validator>,
    /// Receives committed gate tables.
    pub backend: Arc<dyn GateBackend>,
    /// Initial running configuration: top-level data elements.
    pub initial: Vec<Element>,
    /// Longest accepted message.
    pub max_message: usize,
    /// Time a client has to send its hello.
    pub hello_timeout: Duration,
}

impl ServerConfig {
    /// A server named `name` with `validator` and `backend`, starting empty.
    pub fn new(name: &str, validator: Arc<dyn Validator>, backend: Arc<dyn GateBackend>) -> Self {
        ServerConfig {
            name: name.to_owned(),
            validator,
            backend,
            initial: Vec::new(),
            max_message: DEFAULT_MAX_MESSAGE,
            hello_timeout: Duration::from_secs(60),
        }
    }
}

#[derive(Debug)]
enum Cmd {
    Rpc { session: u32, rpc: Element, reply: oneshot::Sender<Result<Option<String>, Vec<RpcError>>> },
    Closed { session: u32 },
    ConfirmTimeout { generation: u64 },
    Snapshot { reply: oneshot::Sender<(Element, Element)> },
}

/// A running server: clone it into every session. Dropping every handle stops the actor.
#[derive(Clone, Debug)]
pub struct NetconfServer {
    tx: mpsc::Sender<Cmd>,
    next_session: Arc<AtomicU32>,
    name: Arc<str>,
    max_message: usize,
    hello_timeout: Duration,
    /// Operational state added to `<get>` answers (see [`crate::state`]).
    state: Option<Arc<dyn StateProvider>>,
}

impl NetconfServer {
    /// Starts the datastore actor.
    pub fn start(config: ServerConfig) -> Self {
        Self::start_inner(config, None)
    }

    /// Starts the datastore actor with a source of operational state: `<get>` answers
    /// carry `state`'s data merged with running, and the `<hello>` announces its modules.
    pub fn start_with_state(config: ServerConfig, state: Arc<dyn StateProvider>) -> Self {
        Self::start_inner(config, Some(state))
    }

    fn start_inner(config: ServerConfig, state: Option<Arc<dyn StateProvider>>) -> Self {
        let (tx, rx) = mpsc::channel(64);
        let running = Element { children: config.initial.clone(), ..Element::new(Some(NC_NS), "data") };
        let server = NetconfServer {
            tx: tx.clone(),
            next_session: Arc::new(AtomicU32::new(1)),
            name: config.name.clone().into(),
            max_message: config.max_message,
            hello_timeout: config.hello_timeout,
            state,
        };
        let actor = Actor {
            candidate: running.clone(),
            running,
            locks: HashMap::new(),
            pending: None,
            generation: 0,
            tx: tx.downgrade(),
            config,
        };
        tokio::spawn(actor.run(rx));
        server
    }

    /// The bridge's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The running and candidate datastores (their `<data>` roots), for tests and the
    /// node agent's status.
    pub async fn snapshot(&self) -> Option<(Element, Element)> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Cmd::Snapshot { reply: tx }).await.ok()?;
        rx.await.ok()
    }

    /// Serves one NETCONF session over `io` until the client closes it, the transport
    /// fails, or a malformed message arrives (which ends the session; never a panic).
    pub async fn serve_session<T: AsyncRead + AsyncWrite + Unpin + Send>(&self, io: T) -> Result<(), NetconfError> {
        let session = self.next_session.fetch_add(1, Ordering::Relaxed);
        let r = self.session_loop(io, session).await;
        let _ = self.tx.send(Cmd::Closed { session }).await;
        match &r {
            Ok(()) => tracing::debug!(bridge = %self.name, session, "NETCONF session ended"),
            Err(e) => tracing::info!(bridge = %self.name, session, error = %e, "NETCONF session closed on error"),
        }
        r
    }

    async fn session_loop<T: AsyncRead + AsyncWrite + Unpin + Send>(
        &self,
        io: T,
        session: u32,
    ) -> Result<(), NetconfError> {
        let mut framed = Framed::new(io, self.max_message);
        let mut caps: Vec<String> = [
            BASE_1_0,
            BASE_1_1,
            CAP_CANDIDATE,
            "urn:ietf:params:netconf:capability:confirmed-commit:1.0",
            CAP_CONFIRMED_COMMIT,
            "urn:ietf:params:netconf:capability:validate:1.0",
            CAP_VALIDATE,
            CAP_ROLLBACK_ON_ERROR,
            CAP_WRITABLE_RUNNING,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        caps.extend(module_capabilities());
        if let Some(state) = &self.state {
            for c in state.capabilities() {
                if !caps.contains(&c) {
                    caps.push(c);
                }
            }
        }
        let hello = Hello { capabilities: caps, session_id: Some(session) };
        framed.write_message(&hello.to_xml()).await?;
        let first = tokio::time::timeout(self.hello_timeout, framed.read_message())
            .await
            .map_err(|_| NetconfError::Timeout {
                operation: "hello".into(),
                timeout_ms: self.hello_timeout.as_millis() as u64,
            })??
            .ok_or(NetconfError::Closed)?;
        let client = Hello::parse(&Element::parse(&first)?)?;
        if client.session_id.is_some() {
            return Err(NetconfError::Protocol("client <hello> carries a session-id".into()));
        }
        if client.has(BASE_1_1) {
            framed.set_framing(Framing::Chunked);
        } else if !client.has(BASE_1_0) {
            return Err(NetconfError::Protocol("client speaks neither base:1.0 nor base:1.1".into()));
        }
        loop {
            let text = match framed.read_message().await {
                Ok(Some(t)) => t,
                Ok(None) => return Ok(()),
                Err(e) => return Err(e),
            };
            let rpc = match Element::parse(&text) {
                Ok(el) => el,
                Err(e) => {
                    let err = RpcError::new("rpc", "malformed-message", format!("not well-formed XML: {e}"));
                    let _ = framed.write_message(&reply_xml(&[], Err(vec![err]))).await;
                    return Err(e.into());
                }
            };
            if !rpc.is(NC_NS, "rpc") {
                let err = RpcError::new("protocol", "unknown-element", format!("expected <rpc>, got <{}>", rpc.name));
                framed.write_message(&reply_xml(&[], Err(vec![err]))).await?;
                return Err(NetconfError::Protocol(format!("unexpected <{}>", rpc.name)));
            }
            let attrs = rpc.attrs.clone();
            if rpc.attr("message-id").is_none() {
                let mut err = RpcError::new("rpc", "missing-attribute", "<rpc> without message-id");
                err.info = Some("<bad-attribute>message-id</bad-attribute><bad-element>rpc</bad-element>".into());
                framed.write_message(&reply_xml(&attrs, Err(vec![err]))).await?;
                continue;
            }
            let closing = rpc.children.first().is_some_and(|op| op.is(NC_NS, "close-session"));
            let result = match (&self.state, rpc.children.first()) {
                // With operational state, <get> is answered here: the provider may be slow
                // and must not hold up the datastore actor.
                (Some(state), Some(op)) if op.is(NC_NS, "get") => self.get_with_state(state.as_ref(), op).await?,
                _ => {
                    let (tx, rx) = oneshot::channel();
                    self.tx.send(Cmd::Rpc { session, rpc, reply: tx }).await.map_err(|_| NetconfError::Closed)?;
                    rx.await.map_err(|_| NetconfError::Closed)?
                }
            };
            framed.write_message(&reply_xml(&attrs, result)).await?;
            if closing {
                framed.shutdown().await;
                return Ok(());
            }
        }
    }
}

impl NetconfServer {
    /// `<get>` on a server with operational state: running (from the actor) merged with
    /// the provider's state, then filtered.
    async fn get_with_state(&self, state: &dyn StateProvider, op: &Element) -> Result<RpcResult, NetconfError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Cmd::Snapshot { reply: tx }).await.map_err(|_| NetconfError::Closed)?;
        let (running, _) = rx.await.map_err(|_| NetconfError::Closed)?;
        let filter = match op.child("filter") {
            Some(f) if f.attr("type").unwrap_or("subtree") == "subtree" => Some(f.children.as_slice()),
            // Other filter types are refused by `read` below.
            _ => None,
        };
        let data = match state.state(filter).await {
            Ok(elements) => merge_state(&running, &elements),
            Err(e) => {
                tracing::warn!(bridge = %self.name, error = %e, "operational state unavailable");
                return Ok(Err(err("application", "operation-failed", format!("operational state unavailable: {e}"))));
            }
        };
        Ok(read(&data, op))
    }
}

fn reply_xml(attrs: &[crate::xml::Attr], result: Result<Option<String>, Vec<RpcError>>) -> String {
    let mut el = Element::new(Some(NC_NS), "rpc-reply");
    el.attrs = attrs.to_vec();
    let open = el.to_xml();
    let open = open.trim_end_matches("/>");
    let body = match result {
        Ok(None) => "<ok/>".to_owned(),
        Ok(Some(data)) => data,
        Err(errors) => errors.iter().map(RpcError::to_xml).collect(),
    };
    format!("{open}>{body}</rpc-reply>")
}

#[derive(Debug)]
struct Pending {
    rollback: Element,
    session: u32,
    persist: Option<String>,
    generation: u64,
    timer: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
struct Actor {
    config: ServerConfig,
    running: Element,
    candidate: Element,
    locks: HashMap<&'static str, u32>,
    pending: Option<Pending>,
    generation: u64,
    tx: mpsc::WeakSender<Cmd>,
}

type RpcResult = Result<Option<String>, Vec<RpcError>>;

fn err(error_type: &str, tag: &str, message: impl Into<String>) -> Vec<RpcError> {
    vec![RpcError::new(error_type, tag, message)]
}

/// The `<data>` answer of get / get-config: `data` through the request's filter.
fn read(data: &Element, op: &Element) -> RpcResult {
    let data = match op.child("filter") {
        None => data.clone(),
        Some(f) => match f.attr("type").unwrap_or("subtree") {
            "subtree" => subtree_filter(data, &f.children),
            other => {
                return Err(err("protocol", "operation-not-supported", format!("{other} filters are not supported")))
            }
        },
    };
    Ok(Some(Element { ns: Some(NC_NS.into()), name: "data".into(), ..data }.to_xml()))
}

fn datastore_of(el: Option<&Element>) -> Option<&'static str> {
    let ds = el?.children.first()?;
    match ds.name.as_str() {
        "running" => Some("running"),
        "candidate" => Some("candidate"),
        "startup" => Some("startup"),
        _ => None,
    }
}

impl Actor {
    async fn run(mut self, mut rx: mpsc::Receiver<Cmd>) {
        while let Some(cmd) = rx.recv().await {
            match cmd {
                Cmd::Rpc { session, rpc, reply } => {
                    let r = self.rpc(session, &rpc).await;
                    let _ = reply.send(r);
                }
                Cmd::Closed { session } => self.session_closed(session).await,
                Cmd::ConfirmTimeout { generation } => {
                    if self.pending.as_ref().is_some_and(|p| p.generation == generation) {
                        tracing::warn!(bridge = %self.config.name, "confirmed commit not confirmed in time; reverting");
                        self.revert().await;
                    }
                }
                Cmd::Snapshot { reply } => {
                    let _ = reply.send((self.running.clone(), self.candidate.clone()));
                }
            }
        }
    }

    async fn session_closed(&mut self, session: u32) {
        let held_candidate = self.locks.get("candidate") == Some(&session);
        self.locks.retain(|_, s| *s != session);
        if held_candidate {
            self.candidate = self.running.clone();
        }
        if self.pending.as_ref().is_some_and(|p| p.session == session && p.persist.is_none()) {
            tracing::warn!(bridge = %self.config.name, session, "session of an unconfirmed commit ended; reverting");
            self.revert().await;
        }
    }

    fn locked_by_other(&self, ds: &str, session: u32) -> Option<Vec<RpcError>> {
        match self.locks.get(ds) {
            Some(&holder) if holder != session => {
                let mut e =
                    RpcError::new("protocol", "in-use", format!("the {ds} datastore is locked by session {holder}"));
                e.info = Some(format!("<session-id>{holder}</session-id>"));
                Some(vec![e])
            }
            _ => None,
        }
    }

    async fn rpc(&mut self, session: u32, rpc: &Element) -> RpcResult {
        let Some(op) = rpc.children.first() else {
            return Err(err("protocol", "missing-element", "<rpc> without an operation"));
        };
        if op.ns.as_deref() != Some(NC_NS) {
            return Err(err("protocol", "operation-not-supported", format!("operation {} not supported", op.name)));
        }
        tracing::debug!(bridge = %self.config.name, session, operation = %op.name, "rpc");
        match op.name.as_str() {
            "get" => self.read(&self.running, op),
            "get-config" => match datastore_of(op.child("source")) {
                Some("running") => self.read(&self.running, op),
                Some("candidate") => self.read(&self.candidate, op),
                _ => Err(err("protocol", "invalid-value", "get-config source must be running or candidate")),
            },
            "edit-config" => self.edit_config(session, op).await,
            "copy-config" => self.copy_config(session, op).await,
            "delete-config" => {
                Err(err("protocol", "operation-not-supported", "delete-config: this server has no startup datastore"))
            }
            "lock" | "unlock" => self.lock(session, op, op.name == "lock"),
            "validate" => {
                let data = match datastore_of(op.child("source")) {
                    Some("running") => self.running.clone(),
                    Some("candidate") => self.candidate.clone(),
                    _ => match op.child("source").and_then(|s| s.child("config")) {
                        Some(c) => Element { children: c.children.clone(), ..Element::new(Some(NC_NS), "data") },
                        None => {
                            return Err(err(
                                "protocol",
                                "invalid-value",
                                "validate source must be running, candidate or config",
                            ))
                        }
                    },
                };
                self.check(&data).await.map(|_| None)
            }
            "commit" => self.commit(session, op).await,
            "cancel-commit" => self.cancel_commit(session, op).await,
            "discard-changes" => {
                if let Some(e) = self.locked_by_other("candidate", session) {
                    return Err(e);
                }
                self.candidate = self.running.clone();
                Ok(None)
            }
            "close-session" => Ok(None),
            "kill-session" => Err(err("protocol", "operation-not-supported", "kill-session is not supported")),
            other => Err(err("protocol", "operation-not-supported", format!("operation {other} not supported"))),
        }
    }

    fn read(&self, data: &Element, op: &Element) -> RpcResult {
        read(data, op)
    }

    async fn edit_config(&mut self, session: u32, op: &Element) -> RpcResult {
        let target = datastore_of(op.child("target"));
        let target = match target {
            Some(t @ ("running" | "candidate")) => t,
            _ => return Err(err("protocol", "invalid-value", "edit-config target must be running or candidate")),
        };
        if let Some(e) = self.locked_by_other(target, session) {
            return Err(e);
        }
        let default_op = match op.child_text("default-operation") {
            None => Operation::Merge,
            Some(s) => match Operation::parse(s) {
                Some(o @ (Operation::Merge | Operation::Replace | Operation::None)) => o,
                _ => return Err(err("protocol", "invalid-value", format!("bad default-operation {s:?}"))),
            },
        };
        let test_only = op.child_text("test-option") == Some("test-only");
        let Some(config) = op.child("config") else {
            return Err(err("protocol", "missing-element", "edit-config without <config> (url is not supported)"));
        };
        let mut new = if target == "running" { self.running.clone() } else { self.candidate.clone() };
        if default_op == Operation::Replace {
            new.children.clear();
        }
        // Edits apply to a copy and replace the datastore only when all succeeded: every
        // error option behaves as rollback-on-error.
        apply_edit(
            &mut new,
            &config.children,
            if default_op == Operation::Replace { Operation::Merge } else { default_op },
        )
        .map_err(|e| vec![*e])?;
        if target == "running" {
            if self.pending.is_some() {
                return Err(err("protocol", "in-use", "a confirmed commit is pending on running"));
            }
            self.check(&new).await?;
            if !test_only {
                self.install(new).await?;
                self.candidate = self.running.clone();
            }
        } else if !test_only {
            self.candidate = new;
        }
        Ok(None)
    }

    async fn copy_config(&mut self, session: u32, op: &Element) -> RpcResult {
        let target = match datastore_of(op.child("target")) {
            Some(t @ ("running" | "candidate")) => t,
            _ => return Err(err("protocol", "invalid-value", "copy-config target must be running or candidate")),
        };
        if let Some(e) = self.locked_by_other(target, session) {
            return Err(e);
        }
        let source = match datastore_of(op.child("source")) {
            Some("running") => self.running.clone(),
            Some("candidate") => self.candidate.clone(),
            _ => match op.child("source").and_then(|s| s.child("config")) {
                Some(c) => Element { children: c.children.clone(), ..Element::new(Some(NC_NS), "data") },
                None => {
                    return Err(err(
                        "protocol",
                        "invalid-value",
                        "copy-config source must be running, candidate or config",
                    ))
                }
            },
        };
        if target == "running" {
            self.check(&source).await?;
            self.install(source).await?;
            self.candidate = self.running.clone();
        } else {
            self.candidate = source;
        }
        Ok(None)
    }

    fn lock(&mut self, session: u32, op: &Element, lock: bool) -> RpcResult {
        let ds = match datastore_of(op.child("target")) {
            Some(t @ ("running" | "candidate")) => t,
            _ => return Err(err("protocol", "invalid-value", "lock target must be running or candidate")),
        };
        let holder = self.locks.get(ds).copied();
        if lock {
            if let Some(h) = holder {
                let mut e =
                    RpcError::new("protocol", "lock-denied", format!("the {ds} datastore is locked by session {h}"));
                e.info = Some(format!("<session-id>{h}</session-id>"));
                return Err(vec![e]);
            }
            if ds == "candidate" && self.candidate != self.running {
                let mut e = RpcError::new("protocol", "lock-denied", "the candidate has uncommitted changes");
                e.info = Some("<session-id>0</session-id>".into());
                return Err(vec![e]);
            }
            self.locks.insert(ds, session);
        } else {
            if holder != Some(session) {
                return Err(err(
                    "protocol",
                    "operation-failed",
                    format!("the {ds} datastore is not locked by this session"),
                ));
            }
            self.locks.remove(ds);
        }
        Ok(None)
    }

    /// Validation: libyang, then the backend's check of every gate table.
    async fn check(&self, data: &Element) -> Result<Vec<GateTable>, Vec<RpcError>> {
        let validator = self.config.validator.clone();
        let copy = data.clone();
        let result = tokio::task::spawn_blocking(move || validator.validate(&copy))
            .await
            .map_err(|e| err("application", "operation-failed", format!("validation task failed: {e}")))?;
        if let Err(v) = result {
            let mut e = RpcError::new("application", "invalid-value", v.message);
            e.path = v.path;
            return Err(vec![e]);
        }
        let tables =
            gate_tables(data, &self.config.name).map_err(|e| err("application", "invalid-value", e.to_string()))?;
        let mut errors = Vec::new();
        for t in tables.iter().filter(|t| t.gate_enabled) {
            if let Err(e) = self.config.backend.check(&t.interface, &t.gcl) {
                let mut r = RpcError::new("application", "operation-failed", e.0);
                r.path = Some(format!("/ietf-interfaces:interfaces/interface[name='{}']", t.interface));
                errors.push(r);
            }
        }
        if errors.is_empty() {
            Ok(tables)
        } else {
            Err(errors)
        }
    }

    /// Makes `new` the running datastore and brings the backend in line with it. On a
    /// backend failure the ports already changed go back and running stays as it was.
    async fn install(&mut self, new: Element) -> Result<(), Vec<RpcError>> {
        let name = self.config.name.clone();
        let old_tables = gate_tables(&self.running, &name).unwrap_or_default();
        let new_tables = gate_tables(&new, &name).map_err(|e| err("application", "invalid-value", e.to_string()))?;
        let enabled = |ts: &[GateTable]| -> BTreeMap<String, GateControlList> {
            ts.iter().filter(|t| t.gate_enabled).map(|t| (t.interface.clone(), t.gcl.clone())).collect()
        };
        let (old, new_map) = (enabled(&old_tables), enabled(&new_tables));
        let backend = self.config.backend.clone();
        let mut done: Vec<&str> = Vec::new();
        let mut failure = None;
        for (port, gcl) in &new_map {
            if old.get(port) == Some(gcl) {
                continue;
            }
            match backend.apply(port, gcl) {
                Ok(()) => done.push(port),
                Err(e) => {
                    failure = Some((port.clone(), e));
                    break;
                }
            }
        }
        if failure.is_none() {
            for port in old.keys().filter(|p| !new_map.contains_key(*p)) {
                if let Err(e) = backend.clear(port) {
                    failure = Some((port.clone(), e));
                    break;
                }
                done.push(port);
            }
        }
        if let Some((port, e)) = failure {
            for p in done {
                let restored = match old.get(p) {
                    Some(g) => backend.apply(p, g),
                    None => backend.clear(p),
                };
                if let Err(e2) = restored {
                    tracing::error!(bridge = %name, port = p, error = %e2, "could not restore the port's previous gate control list");
                }
            }
            let mut r =
                RpcError::new("application", "operation-failed", format!("applying the gate control list failed: {e}"));
            r.path = Some(format!("/ietf-interfaces:interfaces/interface[name='{port}']"));
            return Err(vec![r]);
        }
        self.running = new;
        tracing::info!(bridge = %name, ports = new_map.len(), "running configuration installed");
        Ok(())
    }

    async fn commit(&mut self, session: u32, op: &Element) -> RpcResult {
        let confirmed = op.child("confirmed").is_some();
        let timeout = match op.child_text("confirm-timeout") {
            None => DEFAULT_CONFIRM_TIMEOUT,
            Some(s) => match s.parse::<u32>() {
                Ok(n) if n > 0 => Duration::from_secs(u64::from(n)),
                _ => return Err(err("protocol", "invalid-value", format!("bad confirm-timeout {s:?}"))),
            },
        };
        let persist = op.child_text("persist").map(str::to_owned);
        let persist_id = op.child_text("persist-id").map(str::to_owned);
        if let Some(e) = self.locked_by_other("running", session).or_else(|| self.locked_by_other("candidate", session))
        {
            return Err(e);
        }
        if let Some(p) = &self.pending {
            match (&p.persist, &persist_id) {
                (Some(expected), Some(got)) if expected == got => {}
                (Some(_), _) => {
                    return Err(err(
                        "protocol",
                        "invalid-value",
                        "a persistent confirmed commit is pending: persist-id missing or wrong",
                    ))
                }
                (None, _) if p.session != session => {
                    return Err(err(
                        "protocol",
                        "in-use",
                        format!("a confirmed commit of session {} is pending", p.session),
                    ))
                }
                (None, _) => {}
            }
        } else if persist_id.is_some() {
            return Err(err("protocol", "invalid-value", "no confirmed commit with that persist-id is pending"));
        }
        let before = self.running.clone();
        if self.candidate != self.running {
            self.check(&self.candidate.clone()).await?;
            self.install(self.candidate.clone()).await?;
        }
        if confirmed {
            self.generation += 1;
            let generation = self.generation;
            let tx = self.tx.clone();
            let timer = tokio::spawn(async move {
                tokio::time::sleep(timeout).await;
                if let Some(tx) = tx.upgrade() {
                    let _ = tx.send(Cmd::ConfirmTimeout { generation }).await;
                }
            });
            // A follow-up confirmed commit keeps the rollback of the first one.
            let rollback = match self.pending.take() {
                Some(p) => {
                    p.timer.abort();
                    p.rollback
                }
                None => before,
            };
            self.pending = Some(Pending { rollback, session, persist, generation, timer });
        } else if let Some(p) = self.pending.take() {
            p.timer.abort();
            tracing::info!(bridge = %self.config.name, "confirmed commit confirmed");
        }
        Ok(None)
    }

    async fn cancel_commit(&mut self, session: u32, op: &Element) -> RpcResult {
        let persist_id = op.child_text("persist-id");
        let Some(p) = &self.pending else {
            return Err(err("protocol", "operation-failed", "no confirmed commit is pending"));
        };
        match (&p.persist, persist_id) {
            (Some(expected), Some(got)) if expected == got => {}
            (Some(_), _) => return Err(err("protocol", "invalid-value", "persist-id missing or wrong")),
            (None, Some(_)) => return Err(err("protocol", "invalid-value", "the pending commit has no persist-id")),
            (None, None) if p.session != session => {
                return Err(err("protocol", "in-use", format!("the pending commit belongs to session {}", p.session)))
            }
            (None, None) => {}
        }
        self.revert().await;
        Ok(None)
    }

    /// Puts the configuration from before the pending confirmed commit back.
    async fn revert(&mut self) {
        let Some(p) = self.pending.take() else { return };
        p.timer.abort();
        if let Err(e) = self.install(p.rollback.clone()).await {
            tracing::error!(bridge = %self.config.name, errors = %RpcError::summary(&e), "revert failed in the backend; running restored anyway");
            self.running = p.rollback;
        }
        self.candidate = self.running.clone();
    }
}
