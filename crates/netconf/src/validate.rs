//! YANG validation of datastore contents with libyang, against the product's own modules
//! (`yang/` of the repository, embedded at compile time).
//!
//! libyang is driven through its command-line front end `yanglint` (Debian
//! `libyang2-tools`), one process per validation: a validation happens on `<validate>` and
//! `<commit>`, not per packet. When the workspace's libyang wrapper (tsn-yang) exists, a
//! [`Validator`] over it replaces this one without touching the server.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::xml::Element;

/// The product's modules the software bridge implements: (file name, text).
pub const BRIDGE_MODULES: &[(&str, &str)] = &[
    ("ietf-interfaces@2018-02-20.yang", include_str!("../../../yang/ietf-interfaces@2018-02-20.yang")),
    ("iana-if-type@2023-01-26.yang", include_str!("../../../yang/iana-if-type@2023-01-26.yang")),
    ("ieee802-types@2023-10-22.yang", include_str!("../../../yang/ieee802-types@2023-10-22.yang")),
    ("ieee802-dot1q-types@2023-10-26.yang", include_str!("../../../yang/ieee802-dot1q-types@2023-10-26.yang")),
    ("ieee802-dot1q-bridge@2023-10-26.yang", include_str!("../../../yang/ieee802-dot1q-bridge@2023-10-26.yang")),
    ("ieee802-dot1q-sched@2023-10-22.yang", include_str!("../../../yang/ieee802-dot1q-sched@2023-10-22.yang")),
    (
        "ieee802-dot1q-sched-bridge@2023-10-26.yang",
        include_str!("../../../yang/ieee802-dot1q-sched-bridge@2023-10-26.yang"),
    ),
];

/// Modules loaded as implemented (the rest are imported).
const IMPLEMENTED: &[&str] = &[
    "ietf-interfaces@2018-02-20.yang",
    "iana-if-type@2023-01-26.yang",
    "ieee802-dot1q-bridge@2023-10-26.yang",
    "ieee802-dot1q-sched@2023-10-22.yang",
    "ieee802-dot1q-sched-bridge@2023-10-26.yang",
];

/// The capabilities (`ns?module=…&revision=…`) of [`BRIDGE_MODULES`].
pub fn module_capabilities() -> Vec<String> {
    BRIDGE_MODULES
        .iter()
        .filter_map(|(file, text)| {
            let (name, rev) = file.strip_suffix(".yang")?.split_once('@')?;
            let ns =
                text.lines().find_map(|l| l.trim().strip_prefix("namespace "))?.trim_matches(|c| c == '"' || c == ';');
            Some(format!("{ns}?module={name}&revision={rev}"))
        })
        .collect()
}

/// Validation failed: libyang's messages.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    /// libyang's error text (one line per error).
    pub message: String,
    /// The data path libyang named, if any.
    pub path: Option<String>,
}

/// Validates a configuration datastore.
pub trait Validator: Send + Sync + std::fmt::Debug {
    /// Checks the children of `data` (the top-level data nodes) as a complete
    /// configuration datastore.
    fn validate(&self, data: &Element) -> Result<(), ValidationError>;
}

/// Accepts everything (tests of the protocol machinery only).
#[derive(Debug, Default)]
pub struct NoValidation;

impl Validator for NoValidation {
    fn validate(&self, _data: &Element) -> Result<(), ValidationError> {
        Ok(())
    }
}

/// libyang through `yanglint`, with the modules written to a private directory.
#[derive(Debug)]
pub struct YanglintValidator {
    dir: PathBuf,
    yanglint: PathBuf,
    counter: AtomicU64,
}

static INSTANCE: AtomicU64 = AtomicU64::new(0);

impl YanglintValidator {
    /// Writes `modules` (file name, text) into a fresh directory under the system temp dir.
    pub fn new(modules: &[(&str, &str)]) -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "tsn-netconf-yang-{}-{}",
            std::process::id(),
            INSTANCE.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        for (file, text) in modules {
            std::fs::write(dir.join(file), text)?;
        }
        Ok(YanglintValidator { dir, yanglint: PathBuf::from("yanglint"), counter: AtomicU64::new(0) })
    }

    /// The product's bridge modules.
    pub fn bridge() -> std::io::Result<Self> {
        Self::new(BRIDGE_MODULES)
    }

    /// The directory holding the modules.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for YanglintValidator {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs yanglint on an XML instance document: `-t config` (configuration only), modules
/// from `dir` only (`-D`), `implemented` loaded explicitly (identities need implemented
/// modules).
pub fn yanglint_config(
    yanglint: &Path,
    dir: &Path,
    implemented: &[&str],
    instance: &Path,
) -> Result<(), ValidationError> {
    let out = std::process::Command::new(yanglint)
        .arg("-D")
        .arg("-p")
        .arg(dir)
        .arg("-t")
        .arg("config")
        .args(implemented.iter().map(|m| dir.join(m)))
        .arg(instance)
        .output()
        .map_err(|e| ValidationError { message: format!("cannot run yanglint: {e}"), path: None })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> =
        stderr.lines().filter(|l| l.starts_with("libyang err") || l.contains("[E]")).map(str::trim).collect();
    let first = lines.iter().find(|l| l.starts_with("libyang err")).copied();
    let path =
        first.and_then(|l| l.split("Data location \"").nth(1)).and_then(|r| r.split('"').next()).map(str::to_owned);
    let message = first
        .map(|l| l.trim_start_matches("libyang err : ").split(" (Data location").next().unwrap_or(l).to_owned())
        .unwrap_or_else(|| {
            if stderr.trim().is_empty() {
                format!("yanglint exited with {}", out.status)
            } else {
                stderr.trim().to_owned()
            }
        });
    Err(ValidationError { message, path })
}

impl Validator for YanglintValidator {
    fn validate(&self, data: &Element) -> Result<(), ValidationError> {
        if data.children.is_empty() {
            return Ok(());
        }
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let file = self.dir.join(format!("data-{n}.xml"));
        let xml: String = data.children.iter().map(Element::to_xml).collect();
        std::fs::write(&file, xml)
            .map_err(|e| ValidationError { message: format!("cannot write {file:?}: {e}"), path: None })?;
        let r = yanglint_config(&self.yanglint, &self.dir, IMPLEMENTED, &file);
        let _ = std::fs::remove_file(&file);
        r
    }
}
