//! Command hooks: run a program once per event with the event's JSON on
//! standard input, and kill it when it overstays its timeout.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use super::config::CommandSettings;
use super::event::Event;
use super::worker::Life;
use crate::sys::exec::exec_program;
use crate::sys::trust::open_program;

/// Bytes of a hook's standard error kept for the log.
const MAX_STDERR: usize = 2048;
/// Time between SIGTERM and SIGKILL for a hook that overstayed.
const KILL_GRACE: Duration = Duration::from_millis(500);
/// `PATH` hooks run with (their environment is otherwise empty).
const HOOK_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A configured command hook.
pub(super) struct CommandHook {
    path: PathBuf,
    args: Vec<String>,
    timeout: Duration,
}

impl CommandHook {
    pub(super) fn new(settings: &CommandSettings) -> Self {
        Self {
            path: settings.command.clone(),
            args: settings.args.clone(),
            timeout: settings.timeout,
        }
    }

    /// The program, for the log.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs the hook once for `event`. It runs in its own process group
    /// with an empty environment apart from `PATH`, `ELEVATED_EVENT` and
    /// `ELEVATED_ID`, in `/`, with standard output discarded. When it
    /// overstays its timeout, or the notifier shuts down, the whole group
    /// gets SIGTERM and then SIGKILL.
    pub(super) fn run(&self, event: &Event, life: &Life) -> Result<(), String> {
        let shown = self.path.display();
        // Checked now, not only at load: the file may have changed since.
        // The checked descriptor is what runs, so the path cannot be swapped
        // in between.
        let program = open_program(&self.path)
            .map_err(|e| format!("refusing to run {shown}: {}", e.message_for(&self.path)))?;
        let mut cmd = Command::new(&self.path);
        cmd.env_clear()
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0);
        let env = [
            ("PATH", HOOK_PATH),
            ("ELEVATED_EVENT", event.kind.as_str()),
            ("ELEVATED_ID", event.id.as_str()),
        ];
        exec_program(&mut cmd, program, &self.path, &self.args, &env)
            .map_err(|e| format!("cannot start {shown}: {e}"))?;
        let mut child =
            spawn(&mut cmd).map_err(|e| format!("cannot start {}: {e}", self.path.display()))?;
        // A writer thread, so a hook that never reads cannot stall us; it
        // ends with an error once the hook exits or is killed.
        if let Some(mut stdin) = child.stdin.take() {
            let mut json = event.to_json();
            json.push('\n');
            let _ = thread::Builder::new()
                .name("notify-hook-stdin".into())
                .spawn(move || {
                    let _ = stdin.write_all(json.as_bytes());
                });
        }
        let stderr = collect_stderr(&mut child);
        let outcome = wait(&mut child, self.timeout, life);
        // A grandchild may keep the pipe open: wait for the text only briefly.
        let text = stderr
            .and_then(|rx| rx.recv_timeout(Duration::from_millis(200)).ok())
            .unwrap_or_default();
        let stderr_note = if text.trim().is_empty() {
            String::new()
        } else {
            format!("; stderr: {}", text.trim())
        };
        match outcome {
            Waited::Exited(status) if status.success() => Ok(()),
            Waited::Exited(status) => Err(format!("{status}{stderr_note}")),
            Waited::TimedOut => Err(format!(
                "killed after its timeout of {}{stderr_note}",
                humantime::format_duration(self.timeout)
            )),
            Waited::Stopped => Err(format!("killed at shutdown{stderr_note}")),
            Waited::Failed(e) => Err(format!("cannot wait for it: {e}")),
        }
    }
}

/// Spawns `cmd`, trying again briefly while the program is being written
/// (ETXTBSY: a package upgrade replacing the hook).
fn spawn(cmd: &mut Command) -> std::io::Result<Child> {
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(nix::libc::ETXTBSY) && tries < 5 => {
                tries += 1;
                thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Reads the hook's standard error on a thread, keeping the first
/// [`MAX_STDERR`] bytes and discarding the rest.
fn collect_stderr(child: &mut Child) -> Option<mpsc::Receiver<String>> {
    let mut pipe = child.stderr.take()?;
    let (tx, rx) = mpsc::sync_channel(1);
    thread::Builder::new()
        .name("notify-hook-stderr".into())
        .spawn(move || {
            let mut kept = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let room = MAX_STDERR.saturating_sub(kept.len());
                        kept.extend_from_slice(&buf[..n.min(room)]);
                    }
                }
            }
            let _ = tx.send(String::from_utf8_lossy(&kept).into_owned());
        })
        .ok()?;
    Some(rx)
}

enum Waited {
    Exited(ExitStatus),
    TimedOut,
    Stopped,
    Failed(std::io::Error),
}

fn wait(child: &mut Child, timeout: Duration, life: &Life) -> Waited {
    let deadline = Instant::now() + timeout;
    let mut step = Duration::from_millis(2);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Waited::Exited(status),
            Ok(None) => {}
            Err(e) => {
                kill_group(child);
                return Waited::Failed(e);
            }
        }
        let now = Instant::now();
        if now >= deadline {
            kill_group(child);
            return Waited::TimedOut;
        }
        if life.past_deadline() {
            kill_group(child);
            return Waited::Stopped;
        }
        thread::sleep(step.min(deadline - now));
        step = (step * 2).min(Duration::from_millis(50));
    }
}

/// SIGTERM to the hook's process group, SIGKILL after [`KILL_GRACE`], and
/// the hook reaped.
fn kill_group(child: &mut Child) {
    let Ok(pid) = i32::try_from(child.id()) else {
        let _ = child.kill();
        let _ = child.wait();
        return;
    };
    let group = Pid::from_raw(pid);
    let _ = killpg(group, Signal::SIGTERM);
    let until = Instant::now() + KILL_GRACE;
    while Instant::now() < until {
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    // The group may outlive its leader: kill it either way.
    let _ = killpg(group, Signal::SIGKILL);
    let _ = child.wait();
}
