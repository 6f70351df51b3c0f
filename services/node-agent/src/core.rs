//! The agent's state, owned by one thread that reads one `Msg` at a time.
//!
//! ```text
//!  gRPC handlers ──Msg + oneshot──▶ core thread ──▶ EngineHandle (datapath thread)
//!                                      │                  ▲
//!                                      └─ ports, schedule │ ShimServer (libktsn.so regions)
//! ```
//!
//! The core is a plain thread (not a task): applying a schedule opens AF_PACKET sockets and
//! waits for the engine, both blocking.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tokio::sync::{mpsc, oneshot};
use tonic::Status;
use tracing::info;
use tsn_datapath::{sys, AfPacketTx, Clock, EngineConfig, EngineHandle, PortSpec, ShimServer, TxBackend};

use crate::pb;
use crate::wire::{self, ValidSchedule};

/// Settings of the core.
#[derive(Clone, Debug)]
pub struct CoreOptions {
    /// Node name reported in `GetState`.
    pub node: String,
    /// Record schedules only; never open a NIC.
    pub dry_run: bool,
    /// Engine settings (real mode).
    pub engine: EngineConfig,
    /// Unix socket for `libktsn.so` (real mode).
    pub shim_socket: PathBuf,
    /// Slots per application region.
    pub shim_slots: u32,
}

/// A request to the core.
#[derive(Debug)]
pub enum Msg {
    /// Apply a schedule.
    Apply(Box<pb::ApplyScheduleRequest>, oneshot::Sender<Result<pb::ApplyScheduleResponse, Status>>),
    /// Report the state.
    State(oneshot::Sender<pb::AgentState>),
    /// Report the counters.
    Counters(oneshot::Sender<pb::CounterReport>),
}

/// Handle to the core thread.
#[derive(Clone, Debug)]
pub struct CoreHandle {
    tx: mpsc::Sender<Msg>,
}

impl CoreHandle {
    /// Sends `msg` and waits for its reply.
    pub async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Msg) -> Result<T, Status> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(make(tx)).await.map_err(|_| Status::unavailable("agent core stopped"))?;
        rx.await.map_err(|_| Status::internal("agent core dropped the request"))
    }
}

struct Core {
    opts: CoreOptions,
    engine: Option<EngineHandle>,
    _shim: Option<ShimServer>,
    backends: BTreeMap<String, &'static str>,
    current: Option<ValidSchedule>,
}

/// Starts the core (and, unless dry-run, the datapath engine and the shim socket).
pub fn start(opts: CoreOptions) -> Result<CoreHandle, tsn_datapath::DatapathError> {
    let (engine, shim) = if opts.dry_run {
        (None, None)
    } else {
        let engine = EngineHandle::start(opts.engine.clone())?;
        let shim = ShimServer::start(&engine, &opts.shim_socket, opts.shim_slots)?;
        (Some(engine), Some(shim))
    };
    let (tx, mut rx) = mpsc::channel::<Msg>(64);
    let mut core = Core { opts, engine, _shim: shim, backends: BTreeMap::new(), current: None };
    std::thread::Builder::new()
        .name("agent-core".into())
        .spawn(move || {
            while let Some(msg) = rx.blocking_recv() {
                core.handle(msg);
            }
            info!("agent core stopped");
        })
        .map_err(|e| tsn_datapath::DatapathError::Io("spawning the agent core".into(), e))?;
    Ok(CoreHandle { tx })
}

impl Core {
    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Apply(req, reply) => {
                let r = self.apply(*req);
                let _ = reply.send(r);
            }
            Msg::State(reply) => {
                let _ = reply.send(self.state());
            }
            Msg::Counters(reply) => {
                let _ = reply.send(self.counter_report());
            }
        }
    }

    fn apply(&mut self, req: pb::ApplyScheduleRequest) -> Result<pb::ApplyScheduleResponse, Status> {
        let current = self.current.as_ref().map_or(0, |c| c.datapath.generation);
        if req.generation < current {
            return Err(Status::failed_precondition(format!(
                "generation {} is older than the generation in force ({current})",
                req.generation
            )));
        }
        if req.generation == current && current != 0 {
            return Ok(pb::ApplyScheduleResponse {
                generation: current,
                changed: false,
                message: "generation already in force".into(),
            });
        }
        let valid = wire::validate(&req).map_err(|e| Status::invalid_argument(e.0))?;
        if let Some(engine) = &self.engine {
            for p in &valid.datapath.ports {
                if self.backends.contains_key(&p.name) {
                    continue;
                }
                let (mac, ipv4) = sys::if_addresses(&p.name)
                    .map_err(|e| Status::failed_precondition(format!("port {}: {e}", p.name)))?;
                let tx = AfPacketTx::open(&p.name).map_err(|e| Status::failed_precondition(e.to_string()))?;
                let kind = tx.kind();
                engine
                    .add_port(
                        PortSpec {
                            name: p.name.clone(),
                            mac,
                            ipv4,
                            rate_bps: p.rate_bps,
                            gcl: None,
                            tx_guard_ns: 20_000,
                        },
                        Box::new(tx),
                    )
                    .map_err(|e| Status::internal(e.to_string()))?;
                self.backends.insert(p.name.clone(), kind);
            }
            engine.apply(valid.datapath.clone()).map_err(|e| Status::invalid_argument(e.to_string()))?;
        } else {
            for p in &valid.datapath.ports {
                self.backends.insert(p.name.clone(), "none");
            }
        }
        info!(
            request_id = %req.request_id,
            generation = req.generation,
            ports = valid.datapath.ports.len(),
            streams = valid.datapath.streams.len(),
            dry_run = self.opts.dry_run,
            "schedule applied"
        );
        let generation = req.generation;
        self.current = Some(valid);
        Ok(pb::ApplyScheduleResponse { generation, changed: true, message: "applied".into() })
    }

    fn state(&self) -> pb::AgentState {
        let req = self.current.as_ref().map(|c| &c.request);
        let counters = self.engine.as_ref().map(EngineHandle::counters).unwrap_or_default();
        pb::AgentState {
            node: self.opts.node.clone(),
            generation: req.map_or(0, |r| r.generation),
            request_id: req.map(|r| r.request_id.clone()).unwrap_or_default(),
            dry_run: self.opts.dry_run,
            ports: req
                .map(|r| {
                    r.ports
                        .iter()
                        .map(|p| pb::PortState {
                            port: p.port.clone(),
                            backend: self.backends.get(&p.port).copied().unwrap_or("none").into(),
                            schedule: Some(p.clone()),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            streams: req.map(|r| r.streams.clone()).unwrap_or_default(),
            sessions: counters.sessions as u32,
            total: Some(wire::counters(&counters.total, counters.queued)),
            port_counters: wire::port_counters(&counters),
            base_time_ns: req.map_or(0, |r| r.base_time_ns),
        }
    }

    fn counter_report(&self) -> pb::CounterReport {
        let counters = self.engine.as_ref().map(EngineHandle::counters).unwrap_or_default();
        pb::CounterReport {
            timestamp_ns: Clock::Tai.now_ns(),
            generation: self.current.as_ref().map_or(0, |c| c.datapath.generation),
            total: Some(wire::counters(&counters.total, counters.queued)),
            ports: wire::port_counters(&counters),
        }
    }
}
