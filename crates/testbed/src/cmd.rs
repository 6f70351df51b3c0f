//! Running external programs (`ip`, `lldpcli`, `kill`, ...) with a time limit.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::TestbedError;

/// How long one external command may take before it is killed.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);

/// The command line of `cmd` for error messages.
pub(crate) fn describe(program: &str, args: &[&str]) -> String {
    let mut s = program.to_owned();
    for a in args {
        s.push(' ');
        s.push_str(a);
    }
    s
}

/// Runs `program args` to completion (at most `timeout`), capturing its output.
/// A non-zero exit is not an error here; see [`run_ok`].
pub(crate) fn run(program: &str, args: &[&str], timeout: Duration) -> Result<Output, TestbedError> {
    let command = describe(program, args);
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| TestbedError::Spawn { command: command.clone(), source })?;
    // Drain both pipes on their own threads so a chatty child never blocks on a full pipe.
    let out = child.stdout.take().map(drain);
    let err = child.stderr.take().map(drain);
    let status = match wait_timeout(&mut child, timeout) {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(TestbedError::CommandTimeout { command, timeout });
        }
    };
    let stdout = out.and_then(|h| h.join().ok()).unwrap_or_default();
    let stderr = err.and_then(|h| h.join().ok()).unwrap_or_default();
    Ok(Output { status, stdout, stderr })
}

/// Runs `program args` and fails unless it exits with status 0; returns its stdout.
pub(crate) fn run_ok(program: &str, args: &[&str]) -> Result<String, TestbedError> {
    let output = run(program, args, COMMAND_TIMEOUT)?;
    check(describe(program, args), output)
}

/// Turns a finished command into its stdout, or an error carrying its stderr.
pub(crate) fn check(command: String, output: Output) -> Result<String, TestbedError> {
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(TestbedError::CommandFailed {
            command,
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

fn drain(mut r: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

/// Waits for `child` to exit for at most `timeout`; `None` if it is still running.
pub(crate) fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            // An error from try_wait means the child can no longer be waited for.
            Ok(None) => return None,
            Err(_) => return None,
        }
    }
}

/// Sends `signal` (e.g. `TERM`, `KILL`) to `pid` with kill(1); errors are ignored because
/// the process may already be gone.
pub(crate) fn signal(pid: u32, signal: &str) {
    let _ = run("kill", &[&format!("-{signal}"), &pid.to_string()], Duration::from_secs(5));
}

/// Whether `pid` is a live process (zombies count as gone: they run nothing and hold no
/// namespace).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may itself contain ')'.
        Ok(stat) => match stat.rfind(')').and_then(|i| stat[i + 1..].split_whitespace().next()) {
            Some(state) => state != "Z" && state != "X",
            None => true,
        },
        Err(_) => false,
    }
}
