//! Processes read from `/proc`, and ending them: SIGTERM, a grace period,
//! then SIGKILL, sent through `crate::sys::pidfd`. Which processes to
//! choose is decided by the pure functions of [`super::sweep`].
//!
//! Everything here blocks (reading `/proc`, sleeping through the grace
//! period): async callers run it with `spawn_blocking`.
#![forbid(unsafe_code)]

use std::fs::{self, File};
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use super::sweep::{
    parse_btime, parse_environ, parse_stat, parse_status, select, Clock, ProcInfo, SudoEnv, Target,
    Victim,
};
use super::GrantError;
use crate::sys::pidfd::{PidFd, Signal};

/// The real `/proc`.
pub const PROC: &str = "/proc";

/// Most of a process environment read when looking for `SUDO_UID`.
const ENVIRON_LIMIT: u64 = 1 << 20;

/// How often a signalled process is checked for having exited.
const POLL: Duration = Duration::from_millis(50);

/// How long to wait for a process to disappear after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(2);

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> GrantError + 'a {
    move |source| GrantError::Io {
        action,
        path: path.display().to_string(),
        source,
    }
}

/// Boot time from `ROOT/stat` and the kernel's clock tick rate.
pub fn clock(root: &Path) -> Result<Clock, GrantError> {
    let path = root.join("stat");
    let text = fs::read_to_string(&path).map_err(io("reading", &path))?;
    let btime = parse_btime(&text).ok_or_else(|| GrantError::Io {
        action: "parsing",
        path: path.display().to_string(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "no btime line"),
    })?;
    Ok(Clock {
        btime,
        ticks_per_sec: crate::sys::clock::ticks_per_second(),
    })
}

fn read_environ(path: &Path) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    File::open(path)
        .ok()?
        .take(ENVIRON_LIMIT)
        .read_to_end(&mut buf)
        .ok()?;
    Some(buf)
}

/// One process from `ROOT/PID`; `None` when it is gone or unreadable.
#[must_use]
pub fn read_proc(root: &Path, pid: u32) -> Option<ProcInfo> {
    let dir = root.join(pid.to_string());
    let stat = parse_stat(&fs::read_to_string(dir.join("stat")).ok()?)?;
    let status = parse_status(&fs::read_to_string(dir.join("status")).ok()?)?;
    // Kernel threads have no environment; an unreadable one counts as
    // empty (the process cannot be matched through SUDO_UID then).
    let env = if stat.is_kernel_thread() {
        SudoEnv::default()
    } else {
        read_environ(&dir.join("environ"))
            .map(|b| parse_environ(&b))
            .unwrap_or_default()
    };
    Some(ProcInfo {
        pid,
        stat,
        status,
        env,
    })
}

/// Every process under `root` (normally [`PROC`]); processes that exit
/// during the scan are skipped.
pub fn scan(root: &Path) -> Result<Vec<ProcInfo>, GrantError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(root).map_err(io("listing", root))? {
        let entry = entry.map_err(io("listing", root))?;
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(p) = read_proc(root, pid) {
            out.push(p);
        }
    }
    out.sort_by_key(|p| p.pid);
    Ok(out)
}

/// The processes under `root` to end for `target` (never this process).
pub fn find(root: &Path, target: &Target) -> Result<Vec<Victim>, GrantError> {
    let clock = clock(root)?;
    let procs = scan(root)?;
    Ok(select(&procs, target, &clock, std::process::id()))
}

/// What happened to one process.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// It had exited before any signal.
    AlreadyGone,
    /// It exited within the grace period after SIGTERM.
    Terminated,
    /// It outlived the grace period and was killed with SIGKILL.
    Killed,
    /// It outlived the grace period but was spared: by then another grant
    /// gave the user what it held again.
    Spared,
    /// It was still there after SIGKILL (uninterruptible sleep, most
    /// likely); it dies when the kernel lets it.
    Survived,
    /// A signal could not be sent.
    Failed { error: String },
}

/// Per-process results of [`terminate_while`], for the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Each process with its outcome, in the order given.
    pub ended: Vec<(Victim, Outcome)>,
}

impl Report {
    /// Whether every process is gone (or was gone).
    #[cfg(test)]
    #[must_use]
    pub fn all_gone(&self) -> bool {
        self.ended.iter().all(|(_, o)| {
            matches!(
                o,
                Outcome::AlreadyGone | Outcome::Terminated | Outcome::Killed
            )
        })
    }
}

/// Whether the process is still the one chosen and has not exited. A pid
/// with another start time has been reused: the chosen one is gone.
fn alive(v: &Victim) -> bool {
    let Ok(text) = fs::read_to_string(Path::new(PROC).join(v.pid.to_string()).join("stat")) else {
        return false;
    };
    parse_stat(&text).is_some_and(|s| s.start_ticks == v.start_ticks && !s.is_dead())
}

/// A handle on the chosen process, or `Ok(None)` when it is gone. The
/// start time is checked *after* the handle is open: a match proves the
/// handle names the process chosen (a running process keeps its pid), so
/// every later signal through it can never reach a process that reused
/// the pid.
fn handle(v: &Victim) -> Result<Option<PidFd>, String> {
    match PidFd::open_existing(v.pid) {
        Ok(Some(fd)) if alive(v) => Ok(Some(fd)),
        Ok(_) => Ok(None),
        Err(e) => Err(format!("pidfd_open: {e}")),
    }
}

fn signal(fd: &PidFd, sig: Signal) -> Result<bool, String> {
    fd.signal(sig).map_err(|e| format!("{sig}: {e}"))
}

/// Waits until none of `pending` is alive or `limit` has passed; returns
/// the indexes still alive.
fn wait_gone(victims: &[Victim], mut pending: Vec<usize>, limit: Duration) -> Vec<usize> {
    let deadline = Instant::now() + limit;
    loop {
        pending.retain(|i| victims.get(*i).is_some_and(alive));
        if pending.is_empty() || Instant::now() >= deadline {
            return pending;
        }
        std::thread::sleep(POLL.min(deadline.saturating_duration_since(Instant::now())));
    }
}

/// Sends SIGTERM to every process, waits up to `grace` for them to exit,
/// then SIGKILLs the rest. Signals go through pidfds opened and checked
/// against each process's start time, so a reused pid is never signalled.
#[cfg(test)]
#[must_use]
pub fn terminate(victims: &[Victim], grace: Duration) -> Report {
    terminate_while(victims, grace, &|| None)
}

/// `terminate`, asking `still_due` before the SIGKILL which processes are
/// still to be ended (`None`: all of them). One no longer listed — the user
/// was granted the same group again during the grace period — is spared.
#[must_use]
pub fn terminate_while(
    victims: &[Victim],
    grace: Duration,
    still_due: &dyn Fn() -> Option<Vec<Victim>>,
) -> Report {
    let mut outcomes: Vec<Option<Outcome>> = vec![None; victims.len()];
    let mut handles: Vec<Option<PidFd>> = Vec::with_capacity(victims.len());
    let mut pending = Vec::new();
    for (i, v) in victims.iter().enumerate() {
        let fd = match handle(v) {
            Ok(Some(fd)) => fd,
            Ok(None) => {
                outcomes[i] = Some(Outcome::AlreadyGone);
                handles.push(None);
                continue;
            }
            Err(error) => {
                outcomes[i] = Some(Outcome::Failed { error });
                handles.push(None);
                continue;
            }
        };
        match signal(&fd, Signal::SIGTERM) {
            Ok(true) => pending.push(i),
            Ok(false) => outcomes[i] = Some(Outcome::AlreadyGone),
            Err(error) => outcomes[i] = Some(Outcome::Failed { error }),
        }
        handles.push(Some(fd));
    }
    let stubborn = wait_gone(victims, pending.clone(), grace);
    let due = if stubborn.is_empty() {
        None
    } else {
        still_due()
    };
    let mut killed = Vec::new();
    for i in &pending {
        if !stubborn.contains(i) {
            outcomes[*i] = Some(Outcome::Terminated);
            continue;
        }
        let (Some(v), Some(Some(fd))) = (victims.get(*i), handles.get(*i)) else {
            continue;
        };
        if let Some(due) = &due {
            if !due
                .iter()
                .any(|d| d.pid == v.pid && d.start_ticks == v.start_ticks)
            {
                outcomes[*i] = Some(Outcome::Spared);
                continue;
            }
        }
        match signal(fd, Signal::SIGKILL) {
            Ok(true) => killed.push(*i),
            Ok(false) => outcomes[*i] = Some(Outcome::Terminated),
            Err(error) => outcomes[*i] = Some(Outcome::Failed { error }),
        }
    }
    let survivors = wait_gone(victims, killed.clone(), KILL_WAIT);
    for i in killed {
        outcomes[i] = Some(if survivors.contains(&i) {
            Outcome::Survived
        } else {
            Outcome::Killed
        });
    }
    Report {
        ended: victims
            .iter()
            .cloned()
            .zip(
                outcomes
                    .into_iter()
                    .map(|o| o.unwrap_or(Outcome::AlreadyGone)),
            )
            .collect(),
    }
}

/// Finds and ends the processes of `target` in the real `/proc`, then looks
/// once more for any started meanwhile (a child forked during the grace
/// period) and ends those too. `now_due` turns the target into what is
/// still to be ended at each step: a group or login access granted again
/// meanwhile by another grant is left out, so its new processes live.
pub fn end_processes(
    target: &Target,
    grace: Duration,
    now_due: &dyn Fn(&Target) -> Target,
) -> Result<Report, GrantError> {
    let root = Path::new(PROC);
    // If /proc cannot be read again, keep to the first choice: the window
    // has ended, and ending too much is safer than keeping a privilege.
    let still_due = || find(root, &now_due(target)).ok();
    let mut report = terminate_while(&find(root, &now_due(target))?, grace, &still_due);
    let mut again = find(root, &now_due(target))?;
    again.retain(|v| {
        !report
            .ended
            .iter()
            .any(|(w, _)| w.pid == v.pid && w.start_ticks == v.start_ticks)
    });
    if !again.is_empty() {
        report
            .ended
            .extend(terminate_while(&again, grace, &still_due).ended);
    }
    Ok(report)
}

#[cfg(test)]
#[path = "procs_tests.rs"]
mod tests;
