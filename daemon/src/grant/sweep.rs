//! Which processes to end when a grant's window closes, with
//! `on_expiry = "terminate"`: pure functions over the text of
//! `/proc/PID/{stat,status,environ}` and `/proc/stat`. The reading and the
//! signals live in [`super::procs`].
//!
//! Two kinds of process are chosen:
//! - the user's processes (real or effective uid) that still hold a group
//!   the grant added, as a supplementary group or as real or effective gid
//!   (after `sg` or `newgrp`);
//! - processes started through the grant's sudo rule: `SUDO_UID` and
//!   `SUDO_USER` name the user, the real or effective uid is the rule's
//!   run-as user, and the process started inside the window; with every
//!   descendant, whatever its environment.
//!
//! Never pid 1, kernel threads, or the caller's own process.

use std::collections::{BTreeMap, BTreeSet};

use elevated_proto::UserName;

/// `PF_KTHREAD` in the flags field of `/proc/PID/stat`.
const PF_KTHREAD: u64 = 0x0020_0000;

/// `btime` has a resolution of one second: a process may appear to start up
/// to this much before it really did.
const START_SLACK_MS: i64 = 1000;

/// What `/proc/PID/status` says about a process.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Status {
    /// Command name (`Name:`).
    pub name: String,
    /// Parent pid (`PPid:`).
    pub ppid: u32,
    /// Real, effective, saved and file-system uid (`Uid:`).
    pub uids: [u32; 4],
    /// Real, effective, saved and file-system gid (`Gid:`).
    pub gids: [u32; 4],
    /// Supplementary groups (`Groups:`).
    pub groups: Vec<u32>,
}

fn four(value: &str) -> Option<[u32; 4]> {
    let mut out = [0; 4];
    let mut it = value.split_whitespace();
    for slot in &mut out {
        *slot = it.next()?.parse().ok()?;
    }
    Some(out)
}

/// Parses `/proc/PID/status`; `None` when a needed line is missing or bad.
#[must_use]
pub fn parse_status(text: &str) -> Option<Status> {
    let mut s = Status::default();
    let (mut ppid, mut uids, mut gids, mut groups) = (false, false, false, false);
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key {
            "Name" => s.name = value.trim().to_owned(),
            "PPid" => {
                s.ppid = value.trim().parse().ok()?;
                ppid = true;
            }
            "Uid" => {
                s.uids = four(value)?;
                uids = true;
            }
            "Gid" => {
                s.gids = four(value)?;
                gids = true;
            }
            "Groups" => {
                s.groups = value
                    .split_whitespace()
                    .map(str::parse)
                    .collect::<Result<_, _>>()
                    .ok()?;
                groups = true;
            }
            _ => {}
        }
    }
    (ppid && uids && gids && groups).then_some(s)
}

/// What `/proc/PID/stat` says about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// State letter (`R`, `S`, `Z`, ...).
    pub state: char,
    /// Parent pid.
    pub ppid: u32,
    /// Kernel flags (field 9).
    pub flags: u64,
    /// Start time, clock ticks after boot (field 22).
    pub start_ticks: u64,
}

impl Stat {
    /// A kernel thread (`PF_KTHREAD`).
    #[must_use]
    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }

    /// Exited, waiting to be reaped (or being torn down).
    #[must_use]
    pub fn is_dead(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Parses `/proc/PID/stat`. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted after its last `)`.
#[must_use]
pub fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // f[0] is field 3.
    let field = |n: usize| f.get(n - 3).copied();
    Some(Stat {
        state: field(3)?.chars().next()?,
        ppid: field(4)?.parse().ok()?,
        flags: field(9)?.parse().ok()?,
        start_ticks: field(22)?.parse().ok()?,
    })
}

/// The sudo variables of a process environment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SudoEnv {
    /// `SUDO_UID`, when a number.
    pub uid: Option<u32>,
    /// `SUDO_USER`.
    pub user: Option<String>,
}

/// Picks `SUDO_UID` and `SUDO_USER` out of `/proc/PID/environ` (NUL
/// separated `KEY=VALUE`).
#[must_use]
pub fn parse_environ(bytes: &[u8]) -> SudoEnv {
    let mut env = SudoEnv::default();
    for var in bytes.split(|b| *b == 0) {
        if let Some(v) = var.strip_prefix(b"SUDO_UID=") {
            env.uid = std::str::from_utf8(v).ok().and_then(|s| s.parse().ok());
        } else if let Some(v) = var.strip_prefix(b"SUDO_USER=") {
            env.user = std::str::from_utf8(v).ok().map(str::to_owned);
        }
    }
    env
}

/// Boot time, seconds since the epoch, from `/proc/stat` (`btime`).
#[must_use]
pub fn parse_btime(text: &str) -> Option<i64> {
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// Converts process start times (clock ticks after boot) to Unix ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// Boot time, seconds since the epoch.
    pub btime: i64,
    /// Clock ticks per second (`sysconf(_SC_CLK_TCK)`).
    pub ticks_per_sec: u64,
}

impl Clock {
    /// Start time in Unix ms (at most a second early: `btime` is whole
    /// seconds).
    #[must_use]
    pub fn start_ms(&self, ticks: u64) -> i64 {
        let hz = u128::from(self.ticks_per_sec.max(1));
        let ms = i64::try_from(u128::from(ticks) * 1000 / hz).unwrap_or(i64::MAX);
        self.btime.saturating_mul(1000).saturating_add(ms)
    }
}

/// One process as the sweep sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcInfo {
    pub pid: u32,
    /// From `/proc/PID/stat`.
    pub stat: Stat,
    /// From `/proc/PID/status`.
    pub status: Status,
    /// From `/proc/PID/environ` (empty when it could not be read).
    pub env: SudoEnv,
}

/// The grant whose processes are sought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The grant's user.
    pub user: UserName,
    /// Their uid.
    pub uid: u32,
    /// Gids of the groups the daemon added for this grant and takes back
    /// now ([`super::groups::Added::Now`] only, never one the user had).
    pub gids: Vec<u32>,
    /// Uid of the sudo rule's run-as user; `None` when the grant gave no
    /// sudo rights (nothing is sought through `SUDO_UID` then).
    pub runas_uid: Option<u32>,
    /// Window start, Unix ms.
    pub starts_at: i64,
    /// Window end, Unix ms.
    pub expires_at: i64,
    /// The grant gave login access (`login = true`): the user's processes
    /// started during the window (the logins it allowed and what they ran)
    /// count as its sessions.
    pub login_sessions: bool,
}

/// Why a process was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// It still holds this granted gid.
    HoldsGroup { gid: u32 },
    /// It was started through the grant's sudo rule inside the window.
    Sudo,
    /// It descends from a process started through the grant's sudo rule.
    SudoDescendant {
        /// That process.
        ancestor: u32,
    },
    /// A process of the user started during a login grant's window.
    LoginSession,
}

/// A process to end, with what identifies it against pid reuse.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Victim {
    pub pid: u32,
    /// Start time in clock ticks after boot: a pid with another start time
    /// is another process.
    pub start_ticks: u64,
    /// Command name.
    pub name: String,
    /// Real uid.
    pub uid: u32,
    /// Why it was chosen.
    pub reason: Reason,
}

fn never(p: &ProcInfo, own_pid: u32) -> bool {
    p.pid <= 2 || p.pid == own_pid || p.stat.is_kernel_thread() || p.stat.is_dead()
}

fn holds_group(p: &ProcInfo, t: &Target) -> Option<u32> {
    let [ruid, euid, ..] = p.status.uids;
    if ruid != t.uid && euid != t.uid {
        return None;
    }
    let [rgid, egid, ..] = p.status.gids;
    t.gids
        .iter()
        .copied()
        .find(|g| p.status.groups.contains(g) || *g == rgid || *g == egid)
}

fn started_by_sudo(p: &ProcInfo, t: &Target, clock: &Clock) -> bool {
    let Some(runas) = t.runas_uid else {
        return false;
    };
    let [ruid, euid, ..] = p.status.uids;
    let start = clock.start_ms(p.stat.start_ticks);
    p.env.uid == Some(t.uid)
        && p.env.user.as_deref() == Some(t.user.as_str())
        && (ruid == runas || euid == runas)
        && start.saturating_add(START_SLACK_MS) >= t.starts_at
        && start <= t.expires_at
}

fn login_session(p: &ProcInfo, t: &Target, clock: &Clock) -> bool {
    let [ruid, euid, ..] = p.status.uids;
    let start = clock.start_ms(p.stat.start_ticks);
    t.login_sessions
        && (ruid == t.uid || euid == t.uid)
        && start.saturating_add(START_SLACK_MS) >= t.starts_at
        && start <= t.expires_at
}

/// The processes to end for `target`, by pid; `own_pid` (the daemon) is
/// never chosen.
#[must_use]
pub fn select(procs: &[ProcInfo], target: &Target, clock: &Clock, own_pid: u32) -> Vec<Victim> {
    let mut chosen: BTreeMap<u32, (&ProcInfo, Reason)> = BTreeMap::new();
    let mut children: BTreeMap<u32, Vec<&ProcInfo>> = BTreeMap::new();
    for p in procs {
        children.entry(p.status.ppid).or_default().push(p);
    }
    let mut roots = Vec::new();
    for p in procs.iter().filter(|p| !never(p, own_pid)) {
        if started_by_sudo(p, target, clock) {
            chosen.insert(p.pid, (p, Reason::Sudo));
            roots.push(p.pid);
        } else if let Some(gid) = holds_group(p, target) {
            chosen.insert(p.pid, (p, Reason::HoldsGroup { gid }));
        } else if login_session(p, target, clock) {
            chosen.insert(p.pid, (p, Reason::LoginSession));
        }
    }
    for root in roots {
        let mut stack = vec![root];
        let mut seen = BTreeSet::new();
        while let Some(pid) = stack.pop() {
            if !seen.insert(pid) {
                continue;
            }
            for child in children.get(&pid).into_iter().flatten() {
                if never(child, own_pid) {
                    continue;
                }
                chosen
                    .entry(child.pid)
                    .or_insert((child, Reason::SudoDescendant { ancestor: root }));
                stack.push(child.pid);
            }
        }
    }
    chosen
        .into_values()
        .map(|(p, reason)| Victim {
            pid: p.pid,
            start_ticks: p.stat.start_ticks,
            name: p.status.name.clone(),
            uid: p.status.uids[0],
            reason,
        })
        .collect()
}

#[cfg(test)]
#[path = "sweep_tests.rs"]
mod tests;
