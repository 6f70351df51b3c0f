//! Device configurators: the one trait southbound configures devices through, and the two
//! in-process implementations (the NETCONF and gRPC ones live with their issues).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::render::DeviceConfig;

/// Why a device refused or could not take its configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuring {device} failed: {reason}")]
pub struct ConfigureError {
    /// The device.
    pub device: String,
    /// What went wrong.
    pub reason: String,
}

/// Applies a device's whole configuration (replacing the previous one). Implementations:
/// [`InMemoryConfigurator`], [`DryRunConfigurator`], and
/// [`NetconfFleetConfigurator`](crate::netconf::NetconfFleetConfigurator) (bridges over
/// NETCONF, all or none); gRPC (node agents) plugs in here.
#[async_trait]
pub trait DeviceConfigurator: Send + Sync + fmt::Debug {
    /// Makes `config` the running configuration of `device`.
    async fn apply(&self, device: &str, config: &DeviceConfig) -> Result<(), ConfigureError>;

    /// Makes every configuration of `configs` running, all or none: when one device fails,
    /// the devices already changed get their `previous` configuration back (an empty one if
    /// they had none). The default applies device by device, in order; fleet-capable
    /// configurators override it with a transaction.
    async fn apply_all(
        &self,
        configs: &[DeviceConfig],
        previous: &BTreeMap<String, DeviceConfig>,
    ) -> Result<(), ConfigureError> {
        apply_in_turn(self, configs, previous).await
    }
}

/// The default [`DeviceConfigurator::apply_all`]: one device after the other, then
/// compensation of the changed ones on the first failure.
pub async fn apply_in_turn<C: DeviceConfigurator + ?Sized>(
    configurator: &C,
    configs: &[DeviceConfig],
    previous: &BTreeMap<String, DeviceConfig>,
) -> Result<(), ConfigureError> {
    let mut changed: Vec<&DeviceConfig> = Vec::new();
    for c in configs {
        if let Err(e) = configurator.apply(&c.device, c).await {
            tracing::warn!(error = %e, "deploy failed: rolling back");
            for new in changed {
                let old = previous.get(&new.device).cloned().unwrap_or_else(|| new.emptied());
                if let Err(e) = configurator.apply(&new.device, &old).await {
                    tracing::error!(error = %e, "rollback failed; the device needs attention");
                }
            }
            return Err(e);
        }
        changed.push(c);
    }
    Ok(())
}

/// Records what it is given; can be told to fail devices (for tests).
#[derive(Debug, Default)]
pub struct InMemoryConfigurator {
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    running: BTreeMap<String, DeviceConfig>,
    failing: BTreeSet<String>,
    applies: u64,
}

impl InMemoryConfigurator {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes every later `apply` to `device` fail (`true`) or work again (`false`).
    pub fn set_failing(&self, device: &str, failing: bool) {
        let mut s = self.lock();
        if failing {
            s.failing.insert(device.to_owned());
        } else {
            s.failing.remove(device);
        }
    }

    /// The running configuration of `device`.
    pub fn running(&self, device: &str) -> Option<DeviceConfig> {
        self.lock().running.get(device).cloned()
    }

    /// Every device's running configuration.
    pub fn all(&self) -> BTreeMap<String, DeviceConfig> {
        self.lock().running.clone()
    }

    /// Successful applies so far.
    pub fn applies(&self) -> u64 {
        self.lock().applies
    }
}

#[async_trait]
impl DeviceConfigurator for InMemoryConfigurator {
    async fn apply(&self, device: &str, config: &DeviceConfig) -> Result<(), ConfigureError> {
        let mut s = self.lock();
        if s.failing.contains(device) {
            return Err(ConfigureError {
                device: device.to_owned(),
                reason: "device refused the configuration (test)".into(),
            });
        }
        s.running.insert(device.to_owned(), config.clone());
        s.applies += 1;
        Ok(())
    }
}

/// Writes each device's rendered configuration as JSON to `DIR/<device>.json` (replacing
/// it atomically), for dev mode and for reading what would be deployed.
#[derive(Debug, Clone)]
pub struct DryRunConfigurator {
    dir: PathBuf,
}

impl DryRunConfigurator {
    /// Writes into `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(DryRunConfigurator { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `device`.
    pub fn file(&self, device: &str) -> PathBuf {
        // Node ids are names, but keep path separators out of file names.
        let safe: String = device.chars().map(|c| if c == '/' || c == '\\' || c == '\0' { '_' } else { c }).collect();
        self.dir.join(format!("{safe}.json"))
    }
}

#[async_trait]
impl DeviceConfigurator for DryRunConfigurator {
    async fn apply(&self, device: &str, config: &DeviceConfig) -> Result<(), ConfigureError> {
        let fail = |reason: String| ConfigureError { device: device.to_owned(), reason };
        let text = serde_json::to_string_pretty(config).map_err(|e| fail(e.to_string()))?;
        let file = self.file(device);
        let tmp = file.with_extension("json.tmp");
        tokio::fs::write(&tmp, text + "\n").await.map_err(|e| fail(format!("writing {}: {e}", tmp.display())))?;
        tokio::fs::rename(&tmp, &file).await.map_err(|e| fail(format!("renaming to {}: {e}", file.display())))?;
        Ok(())
    }
}
