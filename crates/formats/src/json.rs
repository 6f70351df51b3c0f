//! The native JSON formats: [`Problem`] and [`Schedule`] exactly as their serde derives in
//! `tsn-model` define them (field names as in the Rust types, times in ns, rates in bit/s).
//! Writers produce pretty-printed JSON with a trailing newline; readers report syntax and
//! type errors with line and column.

use tsn_model::{Problem, Schedule};

use crate::{FileKind, FormatError};

fn from_serde(file: FileKind, e: &serde_json::Error) -> FormatError {
    let (line, column) = if e.line() == 0 { (None, None) } else { (Some(e.line()), Some(e.column())) };
    // serde_json's own message ends with " at line L column C"; we carry those separately.
    let msg = e.to_string();
    let message = match msg.rfind(" at line ") {
        Some(i) if line.is_some() => msg[..i].to_string(),
        _ => msg,
    };
    FormatError { file, line, column, message }
}

/// Parses a JSON problem and validates it ([`Problem::validate`]).
pub fn read_problem(text: &str) -> Result<Problem, FormatError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let problem: Problem = serde_json::from_str(text).map_err(|e| from_serde(FileKind::JsonProblem, &e))?;
    problem.validate().map_err(|e| FormatError::whole(FileKind::JsonProblem, e.to_string()))?;
    Ok(problem)
}

/// The problem as pretty-printed JSON.
pub fn write_problem(problem: &Problem) -> String {
    // Serialising the model types cannot fail: every map key is a string.
    let mut s = serde_json::to_string_pretty(problem).unwrap_or_default();
    s.push('\n');
    s
}

/// Parses a JSON schedule. It is not checked against any problem: use `tsn-check` for that.
pub fn read_schedule(text: &str) -> Result<Schedule, FormatError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    serde_json::from_str(text).map_err(|e| from_serde(FileKind::JsonSchedule, &e))
}

/// The schedule as pretty-printed JSON.
pub fn write_schedule(schedule: &Schedule) -> String {
    let mut s = serde_json::to_string_pretty(schedule).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_have_line_and_column() {
        let e = read_problem("{\n  \"streams\": [\n}").unwrap_err();
        assert_eq!(e.file, FileKind::JsonProblem);
        assert_eq!(e.line, Some(3));
        assert!(e.column.is_some());
        assert!(!e.message.contains(" at line "), "{e}");
        let e = read_schedule("").unwrap_err();
        assert_eq!(e.file, FileKind::JsonSchedule);
    }
}
