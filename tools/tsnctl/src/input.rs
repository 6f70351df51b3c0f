//! Loading a [`Problem`] from the input flags ([`InputArgs`]).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tsn_formats::{json, tsnkit, FileKind, FormatError};
use tsn_model::Problem;

use crate::cli::InputArgs;

/// Reads a whole file, naming it in the error.
pub fn read_file(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The problem named by the flags: a JSON problem, or a tsnkit pair (with optional routes).
pub fn load_problem(input: &InputArgs) -> Result<Problem> {
    if let Some(path) = &input.problem {
        return json::read_problem(&read_file(path)?).map_err(|e| located(path, e));
    }
    let (task, topo) = match (&input.tsnkit, &input.id, &input.tsnkit_task, &input.tsnkit_topo) {
        (Some(dir), Some(id), _, _) => (dir.join(format!("{id}_task.csv")), dir.join(format!("{id}_topo.csv"))),
        (_, _, Some(task), Some(topo)) => (task.clone(), topo.clone()),
        _ => {
            anyhow::bail!("give --problem, --tsnkit-task with --tsnkit-topo, or --tsnkit with --id")
        }
    };
    let (task_text, topo_text) = (read_file(&task)?, read_file(&topo)?);
    let mut problem = tsnkit::read_instance(&task_text, &topo_text).map_err(|e| {
        let path = if e.file == FileKind::TsnkitTopo { &topo } else { &task };
        located(path, e)
    })?;
    if let Some(routes) = &input.tsnkit_routes {
        problem.routes = tsnkit::read_routes(&read_file(routes)?, &problem).map_err(|e| located(routes, e))?;
        problem.validate().with_context(|| format!("{}: the routes do not fit the problem", routes.display()))?;
    }
    Ok(problem)
}

/// The input files the flags name, for messages.
pub fn describe(input: &InputArgs) -> String {
    let show = |p: &PathBuf| p.display().to_string();
    match (&input.problem, &input.tsnkit, &input.id, &input.tsnkit_task) {
        (Some(p), ..) => show(p),
        (_, Some(dir), Some(id), _) => format!("{} #{id}", dir.display()),
        (_, _, _, Some(task)) => show(task),
        _ => "?".into(),
    }
}

fn located(path: &Path, e: FormatError) -> anyhow::Error {
    anyhow::anyhow!("{}: {e}", path.display())
}
