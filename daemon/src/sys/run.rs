//! Running an external program with a time limit: `visudo`, `gpasswd` and
//! the notification hooks all go through [`run`].
//!
//! The engine runs `visudo` and `gpasswd` while it holds its lock, so a
//! child that never exits would stop every request and every expiry
//! behind it. Each child therefore runs in a process group of its own,
//! and once it overstays its timeout the whole group gets SIGTERM, then
//! SIGKILL, and the child is reaped before the error is returned: nothing
//! it started is left holding a lock file or a pipe.

use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// Bytes of a child's standard output or error kept; the rest is read and
/// discarded, so a chatty child cannot block on a full pipe.
pub const MAX_OUTPUT: usize = 8192;
/// Time between SIGTERM and SIGKILL for a child that overstayed.
const KILL_GRACE: Duration = Duration::from_millis(500);
/// How long the output of a finished child is waited for: a grandchild
/// may hold the pipes open after the child itself exited.
const OUTPUT_GRACE: Duration = Duration::from_millis(200);

/// How one run is bounded and fed.
pub struct Limits<'a> {
    /// Longest time the child may run.
    pub timeout: Duration,
    /// Written to the child's standard input (then closed); `None`: the
    /// child reads `/dev/null`.
    pub stdin: Option<Vec<u8>>,
    /// Keep standard output; otherwise it goes to `/dev/null`.
    pub capture_stdout: bool,
    /// Asked while waiting: `true` kills the child early (daemon shutdown).
    pub stop: Option<&'a dyn Fn() -> bool>,
}

impl Limits<'_> {
    /// Only a timeout: no input, output discarded, no early stop.
    #[must_use]
    pub fn timeout(timeout: Duration) -> Self {
        Self {
            timeout,
            stdin: None,
            capture_stdout: false,
            stop: None,
        }
    }
}

/// What a child that exited on its own left.
#[derive(Debug)]
pub struct Finished {
    /// Its exit status.
    pub status: ExitStatus,
    /// Its standard output (empty unless captured), at most [`MAX_OUTPUT`].
    pub stdout: String,
    /// Its standard error, at most [`MAX_OUTPUT`] bytes.
    pub stderr: String,
}

/// Why a child did not finish on its own.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The program could not be started.
    #[error("cannot start {program}: {source}")]
    Spawn { program: String, source: io::Error },
    /// The child overstayed its timeout and was killed.
    #[error("{program} did not finish within {}; it was killed with its process group (if it is merely slow, raise the timeout){}",
        humantime::format_duration(*timeout), note(stderr))]
    TimedOut {
        program: String,
        /// The timeout it overstayed.
        timeout: Duration,
        /// What it wrote on standard error before.
        stderr: String,
    },
    /// The caller asked to stop (shutdown) and the child was killed.
    #[error("{program} was killed at shutdown{}", note(stderr))]
    Stopped {
        program: String,
        /// What it wrote on standard error before.
        stderr: String,
    },
    /// Not started: the same program overstayed its timeout less than a
    /// timeout ago (see [`Backoff`]).
    #[error("{program} was not started: it overstayed its timeout of {} a moment ago and is given that long before it is tried again",
        humantime::format_duration(*timeout))]
    Skipped {
        program: String,
        /// Its timeout.
        timeout: Duration,
    },
    /// Waiting for the child failed; it was killed.
    #[error("cannot wait for {program}: {source}")]
    Wait { program: String, source: io::Error },
}

fn note(stderr: &str) -> String {
    let t = stderr.trim();
    if t.is_empty() {
        String::new()
    } else {
        format!("; its error output: {t}")
    }
}

/// Remembers that a program overstayed its timeout, so that the same
/// program is not started again for one more timeout: while it hangs (a
/// stuck lock, a dead file system), every grant and removal behind it
/// would otherwise wait the full timeout each, one after the other,
/// under the engine's lock. What it was needed for fails at once
/// instead (a grant is refused; a removal stays owed and is retried).
/// Clones share the state.
#[derive(Debug, Clone, Default)]
pub struct Backoff(std::sync::Arc<std::sync::Mutex<Option<Instant>>>);

impl Backoff {
    /// Like [`run`], but refused at once (as [`RunError::Skipped`]) within
    /// one timeout of the program's last overstay.
    pub fn run(&self, cmd: &mut Command, limits: &Limits<'_>) -> Result<Finished, RunError> {
        let now = Instant::now();
        let mut until = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = *until {
            if now < t {
                return Err(RunError::Skipped {
                    program: cmd.get_program().to_string_lossy().into_owned(),
                    timeout: limits.timeout,
                });
            }
            *until = None;
        }
        drop(until);
        let outcome = run(cmd, limits);
        if matches!(outcome, Err(RunError::TimedOut { .. })) {
            *self.0.lock().unwrap_or_else(|p| p.into_inner()) =
                Instant::now().checked_add(limits.timeout);
        }
        outcome
    }
}

/// Runs `cmd` in a process group of its own within `limits`, with its
/// standard error collected. The caller sets the program, arguments and
/// environment; this sets the standard streams and the process group.
pub fn run(cmd: &mut Command, limits: &Limits<'_>) -> Result<Finished, RunError> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdin(if limits.stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(if limits.capture_stdout {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stderr(Stdio::piped())
    // Its own group, so that the kill reaches whatever it started.
    .process_group(0);
    let mut child = spawn(cmd).map_err(|source| RunError::Spawn {
        program: program.clone(),
        source,
    })?;
    // A writer thread, so a child that never reads cannot stall us; it
    // ends with an error once the child exits or is killed.
    if let (Some(mut pipe), Some(input)) = (child.stdin.take(), limits.stdin.clone()) {
        let _ = thread::Builder::new()
            .name("elevated-stdin".into())
            .spawn(move || {
                let _ = pipe.write_all(&input);
            });
    }
    let stdout = child.stdout.take().and_then(collect);
    let stderr = child.stderr.take().and_then(collect);
    let outcome = wait(&mut child, limits);
    let text = |rx: Option<mpsc::Receiver<String>>| {
        rx.and_then(|rx| rx.recv_timeout(OUTPUT_GRACE).ok())
            .unwrap_or_default()
    };
    let (stdout, stderr) = (text(stdout), text(stderr));
    match outcome {
        Waited::Exited(status) => Ok(Finished {
            status,
            stdout,
            stderr,
        }),
        Waited::TimedOut => Err(RunError::TimedOut {
            program,
            timeout: limits.timeout,
            stderr,
        }),
        Waited::Stopped => Err(RunError::Stopped { program, stderr }),
        Waited::Failed(source) => Err(RunError::Wait { program, source }),
    }
}

/// Spawns `cmd`, trying again briefly while the program is being written
/// (ETXTBSY: a package upgrade replacing it).
fn spawn(cmd: &mut Command) -> io::Result<Child> {
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

/// Reads a pipe on a thread, keeping the first [`MAX_OUTPUT`] bytes.
fn collect(mut pipe: impl Read + Send + 'static) -> Option<mpsc::Receiver<String>> {
    let (tx, rx) = mpsc::sync_channel(1);
    thread::Builder::new()
        .name("elevated-output".into())
        .spawn(move || {
            let mut kept = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                    Ok(n) => {
                        let room = MAX_OUTPUT.saturating_sub(kept.len());
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
    Failed(io::Error),
}

fn wait(child: &mut Child, limits: &Limits<'_>) -> Waited {
    let deadline = Instant::now() + limits.timeout;
    // Short first steps: visudo and gpasswd usually take a few ms, and the
    // engine's lock is held meanwhile.
    let mut step = Duration::from_millis(1);
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
        if limits.stop.is_some_and(|stop| stop()) {
            kill_group(child);
            return Waited::Stopped;
        }
        thread::sleep(step.min(deadline - now));
        step = (step * 2).min(Duration::from_millis(50));
    }
}

/// SIGTERM to the child's process group, SIGKILL after [`KILL_GRACE`], and
/// the child reaped.
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

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
