//! File formats of tsn-cp.
//!
//! * [`json`]: the native JSON forms of [`tsn_model::Problem`] and [`tsn_model::Schedule`]
//!   (serde of the model types, pretty-printed on output).
//! * [`tsnkit`]: the CSV formats of the tsnkit benchmark suite — `<id>_task.csv` and
//!   `<id>_topo.csv` (plus an optional routes file) in, `GCL.csv`, `OFFSET.csv` and
//!   `ROUTE.csv` out.
//!
//! Every reader returns a [`FormatError`] on bad input — naming the kind of file, the line
//! (and column for JSON) and what is wrong — and never panics, whatever the input.

use std::fmt;

use thiserror::Error;

mod csv;
pub mod json;
pub mod tsnkit;

/// The kind of file a [`FormatError`] refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A tsnkit stream set (`<id>_task.csv`).
    TsnkitTask,
    /// A tsnkit topology (`<id>_topo.csv`).
    TsnkitTopo,
    /// A tsnkit-style routes file (`stream,route`).
    TsnkitRoutes,
    /// A tsn-cp JSON problem.
    JsonProblem,
    /// A tsn-cp JSON schedule.
    JsonSchedule,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::TsnkitTask => "tsnkit task CSV",
            FileKind::TsnkitTopo => "tsnkit topology CSV",
            FileKind::TsnkitRoutes => "tsnkit routes CSV",
            FileKind::JsonProblem => "JSON problem",
            FileKind::JsonSchedule => "JSON schedule",
        })
    }
}

/// Input that cannot be read: which file, where (when known) and what is wrong.
///
/// Displays as e.g. `tsnkit task CSV, line 3: column `period`: "abc" is not a number`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct FormatError {
    /// The kind of file.
    pub file: FileKind,
    /// 1-based line number of the offending line, when the error has one.
    pub line: Option<usize>,
    /// 1-based column (JSON only), when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl FormatError {
    /// An error at `line` of a `file`.
    pub fn at(file: FileKind, line: usize, message: impl Into<String>) -> Self {
        FormatError { file, line: Some(line), column: None, message: message.into() }
    }

    /// An error about a whole `file` (no particular line).
    pub fn whole(file: FileKind, message: impl Into<String>) -> Self {
        FormatError { file, line: None, column: None, message: message.into() }
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, ", line {l}, column {c}")?,
            (Some(l), None) => write!(f, ", line {l}")?,
            _ => {}
        }
        write!(f, ": {}", self.message)
    }
}
