//! The `node-agent` binary as a child process of a test, inside a network namespace: its
//! stdout lines are read on a thread (the pipe stays open for the agent's whole life), its
//! stderr goes to a file, and both with the exit status are what a failing test prints.
#![allow(dead_code)]

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// A running agent; killed (and reaped) on drop.
pub struct Agent {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: PathBuf,
    status: Option<ExitStatus>,
}

impl Agent {
    /// Starts `node-agent <args>` in namespace `netns`; its stderr goes to `stderr`.
    pub fn start(netns: &str, args: &[&str], stderr: &Path) -> Agent {
        let log = std::fs::File::create(stderr).expect("agent stderr file");
        let mut child = Command::new("ip")
            .args(["netns", "exec", netns, env!("CARGO_BIN_EXE_node-agent")])
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("ip netns exec node-agent");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Agent { child, lines, seen: Vec::new(), stderr: stderr.to_path_buf(), status: None }
    }

    /// The process id (`ip netns exec` execs the agent in place).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The value of the first stdout line `<prefix>=<value>`, waiting up to `timeout`;
    /// panics with the agent's diagnostics if it does not come.
    pub fn wait_value(&mut self, prefix: &str, timeout: Duration) -> String {
        let want = format!("{prefix}=");
        if let Some(v) = self.seen.iter().find_map(|l| l.strip_prefix(&want)) {
            return v.to_string();
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if let Some(v) = line.strip_prefix(&want) {
                        return v.to_string();
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!("no {want} line within {timeout:?}\n{}", self.diagnostics()),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("agent closed stdout before {want}\n{}", self.diagnostics())
                }
            }
        }
    }

    /// Sends SIGTERM and waits for the exit; returns the stdout lines after the ones
    /// already seen.
    pub fn terminate(&mut self, timeout: Duration) -> (ExitStatus, Vec<String>) {
        let _ = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                self.status = Some(st);
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let Some(st) = self.status else { panic!("the agent did not exit on SIGTERM\n{}", self.diagnostics()) };
        let rest: Vec<String> = self.lines.iter().collect();
        self.seen.extend(rest.iter().cloned());
        (st, rest)
    }

    /// Whether the process still runs, and its exit status and stderr if not.
    pub fn diagnostics(&mut self) -> String {
        let state = match self.status.or_else(|| self.child.try_wait().ok().flatten()) {
            Some(st) => {
                self.status = Some(st);
                format!("agent exited: {st}")
            }
            None => "agent still running".to_string(),
        };
        let stderr = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let tail: Vec<&str> = stderr.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
        format!("{state}; stdout: {:?}\n--- agent stderr (last 40 lines) ---\n{}", self.seen, tail.join("\n"))
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
