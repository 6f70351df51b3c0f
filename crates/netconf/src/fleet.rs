//! Fleet-atomic deploys: the gate control lists of one schedule go to every bridge or to
//! none.
//!
//! Candidate-capable devices: lock running and candidate, edit the candidate, validate
//! everywhere, confirmed-commit everywhere, then confirm everywhere. Devices with only a
//! writable running datastore: snapshot, edit running, restore the snapshot on failure.
//! On any failure every device is brought back: candidates discarded, confirmed commits
//! cancelled, running-only devices restored, and (if a confirm failed after others
//! succeeded) the confirmed devices get their pre-deploy snapshot back.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::client::{Client, ClientOptions, Datastore, EditConfig, Filter};
use crate::error::NetconfError;
use crate::message::{CAP_CANDIDATE, CAP_WRITABLE_RUNNING};
use crate::render::{render, PortGcl, PortLimits, RenderOptions, SchedVariant, IF_NS};
use crate::xml::{Element, NC_NS};

/// Any byte stream a NETCONF session can run on.
pub trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

/// A boxed transport.
pub type BoxTransport = Box<dyn Transport>;

/// Opens a NETCONF transport to one device (SSH `netconf` subsystem in production).
#[async_trait::async_trait]
pub trait DeviceConnector: Send + Sync + fmt::Debug {
    /// A new transport to the device.
    async fn open(&self) -> Result<BoxTransport, NetconfError>;
}

/// One bridge of a deploy and what it gets.
#[derive(Clone, Debug)]
pub struct FleetDevice {
    /// The device's name (the topology node id).
    pub name: String,
    /// How to reach it.
    pub connector: Arc<dyn DeviceConnector>,
    /// Its egress ports' gate control lists.
    pub ports: Vec<PortGcl>,
}

/// Deploy settings.
#[derive(Clone, Debug)]
pub struct FleetOptions {
    /// Absolute PTP time of the schedule's origin (see [`RenderOptions::epoch_ns`]).
    pub epoch_ns: u64,
    /// The ports' supported-* values.
    pub limits: PortLimits,
    /// How long devices keep an unconfirmed commit before reverting on their own.
    pub confirm_timeout: Duration,
    /// Client settings (timeouts); `device` is overwritten per device.
    pub client: ClientOptions,
    /// The model for devices whose hello/yang-library names neither variant.
    pub fallback_variant: Option<SchedVariant>,
}

impl Default for FleetOptions {
    fn default() -> Self {
        FleetOptions {
            epoch_ns: 0,
            limits: PortLimits::default(),
            confirm_timeout: Duration::from_secs(120),
            client: ClientOptions::default(),
            fallback_variant: None,
        }
    }
}

/// The step a device failed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// SSH/NETCONF session setup and capability discovery.
    Connect,
    /// Rendering the configuration for the device's model.
    Render,
    /// Locking.
    Lock,
    /// Reading the pre-deploy configuration.
    Snapshot,
    /// edit-config.
    Edit,
    /// validate.
    Validate,
    /// The confirmed commit.
    Commit,
    /// The confirming commit.
    Confirm,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// How a device was configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceMode {
    /// Candidate datastore with confirmed commit.
    Candidate,
    /// Writable running only (snapshot and restore).
    RunningOnly,
}

/// What happened to one device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceOutcome {
    /// It runs the new configuration.
    Committed,
    /// It was changed and then brought back to its previous configuration.
    RolledBack,
    /// It was never changed (the deploy failed before it was touched).
    Untouched,
    /// This device made the deploy fail.
    Failed {
        /// Where.
        stage: Stage,
        /// The device's error.
        error: String,
    },
    /// Bringing it back failed: it may hold the new configuration (needs an operator).
    RollbackFailed {
        /// The error.
        error: String,
    },
}

/// One device's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceResult {
    /// The device.
    pub device: String,
    /// How it was configured, once known.
    pub mode: Option<DeviceMode>,
    /// The model used, once known.
    pub variant: Option<SchedVariant>,
    /// What happened.
    pub outcome: DeviceOutcome,
}

/// The result of a deploy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetResult {
    /// Every device runs the new configuration.
    pub success: bool,
    /// Per device, in the order given.
    pub devices: Vec<DeviceResult>,
}

impl FleetResult {
    /// The devices that made the deploy fail, with their errors.
    pub fn failures(&self) -> Vec<(&str, Stage, &str)> {
        self.devices
            .iter()
            .filter_map(|d| match &d.outcome {
                DeviceOutcome::Failed { stage, error } => Some((d.device.as_str(), *stage, error.as_str())),
                _ => None,
            })
            .collect()
    }
}

struct Dev {
    name: String,
    client: Option<Client<BoxTransport>>,
    mode: Option<DeviceMode>,
    variant: Option<SchedVariant>,
    config: String,
    /// The `<interfaces>` before the deploy.
    snapshot: Option<Element>,
    changed: bool,
    /// A confirmed commit is pending on the device.
    pending: bool,
    confirmed: bool,
    failure: Option<(Stage, String)>,
    rollback_error: Option<String>,
}

impl Dev {
    fn fail(&mut self, stage: Stage, e: impl fmt::Display) {
        tracing::warn!(device = %self.name, %stage, error = %e, "deploy step failed");
        self.failure = Some((stage, e.to_string()));
    }

    fn client(&mut self) -> &mut Client<BoxTransport> {
        self.client.as_mut().expect("steps run only on connected devices")
    }
}

async fn connect(device: &FleetDevice, opts: &FleetOptions) -> Dev {
    let mut dev = Dev {
        name: device.name.clone(),
        client: None,
        mode: None,
        variant: None,
        config: String::new(),
        snapshot: None,
        changed: false,
        pending: false,
        confirmed: false,
        failure: None,
        rollback_error: None,
    };
    let client_opts = ClientOptions { device: device.name.clone(), ..opts.client.clone() };
    let mut client = match device.connector.open().await {
        Ok(io) => match Client::handshake(io, client_opts).await {
            Ok(c) => c,
            Err(e) => {
                dev.fail(Stage::Connect, e);
                return dev;
            }
        },
        Err(e) => {
            dev.fail(Stage::Connect, e);
            return dev;
        }
    };
    dev.mode = if client.has_capability(CAP_CANDIDATE) {
        Some(DeviceMode::Candidate)
    } else if client.has_capability(CAP_WRITABLE_RUNNING) {
        Some(DeviceMode::RunningOnly)
    } else {
        dev.fail(Stage::Connect, "the device offers neither :candidate nor :writable-running");
        dev.client = Some(client);
        return dev;
    };
    let modules = match client.modules().await {
        Ok(m) => m,
        Err(e) => {
            dev.fail(Stage::Connect, e);
            dev.client = Some(client);
            return dev;
        }
    };
    dev.client = Some(client);
    dev.variant = SchedVariant::detect(&modules).or(opts.fallback_variant);
    let Some(variant) = dev.variant else {
        dev.fail(Stage::Render, "the device announces neither ieee802-dot1q-sched-bridge nor ieee802-dot1q-sched");
        return dev;
    };
    let render_opts = RenderOptions { limits: opts.limits, ..RenderOptions::new(variant, opts.epoch_ns) };
    match render(&device.ports, &render_opts) {
        Ok(el) => dev.config = el.to_xml(),
        Err(e) => dev.fail(Stage::Render, e),
    }
    dev
}

/// Runs `step` on every device still without failure, concurrently.
async fn each<'a, F, Fut>(devs: &'a mut [Dev], step: F)
where
    F: Fn(&'a mut Dev) -> Fut,
    Fut: std::future::Future<Output = ()> + 'a,
{
    join_all(devs.iter_mut().filter(|d| d.failure.is_none()).map(step)).await;
}

fn interfaces_filter() -> Filter {
    Filter::Subtree(format!("<interfaces xmlns=\"{IF_NS}\"/>"))
}

/// Deploys every device's ports, all or nothing. See the module docs for the protocol.
pub async fn deploy_fleet(devices: Vec<FleetDevice>, opts: &FleetOptions) -> FleetResult {
    let mut devs: Vec<Dev> = join_all(devices.iter().map(|d| connect(d, opts))).await;
    let failed = |devs: &[Dev]| devs.iter().any(|d| d.failure.is_some());

    // Lock, and snapshot what runs now (for running-only restores and compensation).
    if !failed(&devs) {
        each(&mut devs, |d| async move {
            let mode = d.mode;
            let r = async {
                d.client().lock(Datastore::Running).await?;
                if mode == Some(DeviceMode::Candidate) {
                    d.client().lock(Datastore::Candidate).await?;
                }
                Ok::<_, NetconfError>(())
            }
            .await;
            if let Err(e) = r {
                d.fail(Stage::Lock, e);
                return;
            }
            match d.client().get_config(Datastore::Running, Some(&interfaces_filter())).await {
                Ok(data) => {
                    d.snapshot = Some(
                        data.child_ns(IF_NS, "interfaces")
                            .cloned()
                            .unwrap_or_else(|| Element::new(Some(IF_NS), "interfaces")),
                    )
                }
                Err(e) => d.fail(Stage::Snapshot, e),
            }
        })
        .await;
    }
    // Edit and validate the candidates.
    if !failed(&devs) {
        each(&mut devs, |d| async move {
            if d.mode != Some(DeviceMode::Candidate) {
                return;
            }
            let edit = EditConfig::merge(Datastore::Candidate, d.config.clone());
            if let Err(e) = d.client().edit_config(&edit).await {
                d.fail(Stage::Edit, e);
                return;
            }
            if let Err(e) = d.client().validate(Datastore::Candidate).await {
                d.fail(Stage::Validate, e);
            }
        })
        .await;
    }
    // Running-only devices change now: every candidate validated.
    if !failed(&devs) {
        each(&mut devs, |d| async move {
            if d.mode != Some(DeviceMode::RunningOnly) {
                return;
            }
            d.changed = true;
            let edit = EditConfig::merge(Datastore::Running, d.config.clone());
            if let Err(e) = d.client().edit_config(&edit).await {
                d.fail(Stage::Edit, e);
            }
        })
        .await;
    }
    // Confirmed commit everywhere.
    if !failed(&devs) {
        let timeout = opts.confirm_timeout;
        each(&mut devs, |d| async move {
            if d.mode != Some(DeviceMode::Candidate) {
                return;
            }
            d.changed = true;
            match d.client().confirmed_commit(timeout, None).await {
                Ok(()) => d.pending = true,
                Err(e) => d.fail(Stage::Commit, e),
            }
        })
        .await;
    }
    // Confirm everywhere.
    if !failed(&devs) {
        each(&mut devs, |d| async move {
            if d.mode != Some(DeviceMode::Candidate) {
                d.confirmed = true;
                return;
            }
            match d.client().commit().await {
                Ok(()) => {
                    d.pending = false;
                    d.confirmed = true;
                }
                Err(e) => d.fail(Stage::Confirm, e),
            }
        })
        .await;
    }

    let success = !failed(&devs);
    if !success {
        join_all(devs.iter_mut().map(roll_back)).await;
    }
    // Unlock and close (closing alone releases locks; unlock keeps the server logs clean).
    join_all(devs.iter_mut().map(|d| async move {
        if let Some(mut c) = d.client.take() {
            let _ = c.unlock(Datastore::Candidate).await;
            let _ = c.unlock(Datastore::Running).await;
            let _ = c.close().await;
        }
    }))
    .await;

    let devices = devs
        .into_iter()
        .map(|d| DeviceResult {
            outcome: match (&d.failure, &d.rollback_error) {
                (_, Some(e)) => DeviceOutcome::RollbackFailed { error: e.clone() },
                (Some((stage, error)), None) => DeviceOutcome::Failed { stage: *stage, error: error.clone() },
                (None, None) if success => DeviceOutcome::Committed,
                (None, None) if d.changed => DeviceOutcome::RolledBack,
                (None, None) => DeviceOutcome::Untouched,
            },
            device: d.name,
            mode: d.mode,
            variant: d.variant,
        })
        .collect();
    let result = FleetResult { success, devices };
    if success {
        tracing::info!(devices = result.devices.len(), "deploy committed on every device");
    } else {
        tracing::warn!(failures = ?result.failures(), "deploy failed; devices rolled back");
    }
    result
}

/// Brings one device back to its pre-deploy configuration.
async fn roll_back(d: &mut Dev) {
    let Some(client) = d.client.as_mut() else { return };
    let r = roll_back_steps(client, d.mode, &mut d.pending, d.confirmed, d.changed, d.snapshot.as_ref()).await;
    if let Err(e) = r {
        if d.changed {
            tracing::error!(device = %d.name, error = %e, "rollback failed");
            d.rollback_error = Some(e.to_string());
        } else {
            tracing::debug!(device = %d.name, error = %e, "cleanup of an unchanged device failed");
        }
    }
}

async fn roll_back_steps(
    client: &mut Client<BoxTransport>,
    mode: Option<DeviceMode>,
    pending: &mut bool,
    confirmed: bool,
    changed: bool,
    snapshot: Option<&Element>,
) -> Result<(), NetconfError> {
    match mode {
        Some(DeviceMode::Candidate) => {
            if *pending {
                client.cancel_commit(None).await?;
                *pending = false;
            }
            if confirmed {
                // Confirmed before another device failed its confirm: put the snapshot back.
                restore(client, snapshot, Datastore::Candidate).await?;
                client.commit().await?;
            } else {
                client.discard_changes().await?;
            }
        }
        Some(DeviceMode::RunningOnly) if changed => restore(client, snapshot, Datastore::Running).await?,
        _ => {}
    }
    Ok(())
}

async fn restore(
    client: &mut Client<BoxTransport>,
    snapshot: Option<&Element>,
    target: Datastore,
) -> Result<(), NetconfError> {
    let Some(snapshot) = snapshot else {
        return Err(NetconfError::Protocol("no snapshot to restore".into()));
    };
    let snap = snapshot.clone().with_attr(Some(NC_NS), "operation", "replace");
    client.edit_config(&EditConfig::merge(target, snap.to_xml())).await
}
