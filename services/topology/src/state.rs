//! Snapshot versions: a new version only when the discovered graph (or the set of
//! unreachable devices) changed, remembered across restarts in a small JSON file.
//!
//! The file holds the last published version **and the snapshot itself** (not a hash): the
//! comparison is exact, needs no stable hash function, and the file doubles as the
//! operator's view of what was last published. It is written atomically (temporary file,
//! fsync, rename) before the snapshot is published, so a crash can at worst publish a
//! version late, never reuse a number for different content.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tsn_model::Topology;

/// A state file that cannot be read or written.
#[derive(Debug, Error)]
pub enum StateError {
    /// Reading or writing failed.
    #[error("state file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a state file of this service.
    #[error("state file {path} is corrupt: {message} (move it away to start again from version 1)")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What serde said.
        message: String,
    },
}

/// The last published snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// Its version (1, 2, ...).
    pub version: u64,
    /// The graph.
    pub topology: Topology,
    /// Devices that could not be read, with why.
    pub unreachable: Vec<(String, String)>,
}

/// Hands out versions: the same one for the same content, the next one for new content.
#[derive(Debug, Default)]
pub struct VersionTracker {
    path: Option<PathBuf>,
    last: Option<Published>,
}

impl VersionTracker {
    /// A tracker that keeps its state at `path` (loading what is there), or in memory only.
    ///
    /// # Errors
    ///
    /// [`StateError`] for an unreadable or corrupt file (a missing one is fine).
    pub fn open(path: Option<&Path>) -> Result<Self, StateError> {
        let Some(path) = path else { return Ok(VersionTracker::default()) };
        let last = match fs::read_to_string(path) {
            Ok(text) => Some(
                serde_json::from_str(&text)
                    .map_err(|e| StateError::Corrupt { path: path.to_owned(), message: e.to_string() })?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(StateError::Io { path: path.to_owned(), source }),
        };
        Ok(VersionTracker { path: Some(path.to_owned()), last })
    }

    /// The last published snapshot, if any.
    pub fn last(&self) -> Option<&Published> {
        self.last.as_ref()
    }

    /// The version for this content: the current one if nothing changed (`false`), else the
    /// next one, saved before it is returned (`true`).
    ///
    /// # Errors
    ///
    /// [`StateError::Io`] if the new version cannot be saved (it is then not used).
    pub fn observe(
        &mut self,
        topology: &Topology,
        unreachable: &[(String, String)],
    ) -> Result<(u64, bool), StateError> {
        if let Some(last) = &self.last {
            if last.topology == *topology && last.unreachable == unreachable {
                return Ok((last.version, false));
            }
        }
        let next = Published {
            version: self.last.as_ref().map_or(1, |l| l.version + 1),
            topology: topology.clone(),
            unreachable: unreachable.to_vec(),
        };
        if let Some(path) = &self.path {
            save(path, &next)?;
        }
        let version = next.version;
        self.last = Some(next);
        Ok((version, true))
    }
}

fn save(path: &Path, state: &Published) -> Result<(), StateError> {
    let io = |source| StateError::Io { path: path.to_owned(), source };
    let text = serde_json::to_string_pretty(state).map_err(|e| io(std::io::Error::other(e)))?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = fs::File::create(&tmp).map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tsn_model::{Node, NodeKind};

    fn topo(n: usize) -> Topology {
        Topology {
            nodes: (0..n).map(|i| Node { id: format!("b{i}").as_str().into(), kind: NodeKind::Bridge }).collect(),
            links: Vec::new(),
        }
    }

    #[test]
    fn versions_change_only_with_content_and_survive_restarts() {
        let dir = std::env::temp_dir().join(format!("tsn-topology-state-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        let _ = fs::remove_file(&path);
        let mut t = VersionTracker::open(Some(&path)).unwrap();
        assert_eq!(t.observe(&topo(1), &[]).unwrap(), (1, true));
        assert_eq!(t.observe(&topo(1), &[]).unwrap(), (1, false));
        assert_eq!(t.observe(&topo(2), &[]).unwrap(), (2, true));
        let down = [("b9".to_owned(), "host key mismatch".to_owned())];
        assert_eq!(t.observe(&topo(2), &down).unwrap(), (3, true));
        // A restart keeps the version for the same content and goes on from it.
        let mut t = VersionTracker::open(Some(&path)).unwrap();
        assert_eq!(t.observe(&topo(2), &down).unwrap(), (3, false));
        assert_eq!(t.observe(&topo(3), &[]).unwrap(), (4, true));
        fs::write(&path, "{not json").unwrap();
        assert!(matches!(VersionTracker::open(Some(&path)), Err(StateError::Corrupt { .. })));
        fs::remove_dir_all(&dir).unwrap();
        // In memory only: versions start at 1.
        let mut t = VersionTracker::open(None).unwrap();
        assert_eq!(t.observe(&topo(1), &[]).unwrap(), (1, true));
    }
}
