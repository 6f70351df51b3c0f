//! Shared by the tests that run `tsnctl dev` as a process.

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

/// The tsnctl binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_tsnctl");

/// A fresh scratch folder `<group>/<test>` under cargo's temporary directory.
pub fn scratch(group: &str, test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(group).join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts `tsnctl <args>` with its stderr in `log` and its stdout read by a thread: every
/// line is appended to the returned text, and what `pick` makes of a line is sent on the
/// returned channel.
pub fn spawn_reading<I, S, T>(
    args: I,
    log: &Path,
    pick: impl Fn(&str) -> Option<T> + Send + 'static,
) -> (Child, Receiver<T>, Arc<Mutex<String>>)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
    T: Send + 'static,
{
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("tsnctl starts");
    let out = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = BufReader::new(child.stdout.take().unwrap());
    let o = out.clone();
    std::thread::spawn(move || {
        for line in reader.lines().map_while(Result::ok) {
            if let Some(event) = pick(&line) {
                let _ = tx.send(event);
            }
            o.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    (child, rx, out)
}
