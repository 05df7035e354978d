//! The campaign's invariants, checked after every restart:
//! 1. every `elevated_*` file and every membership the daemon added
//!    belongs to an active grant in the store, and every active grant is
//!    on the host (drop-in with the stored end as NOTAFTER, membership);
//! 2. `visudo -c` passes on the whole sudoers tree;
//! 3. the audit chain verifies, holds every acknowledged transition, and
//!    tells each request's life as the state machine allows it, ending in
//!    the state the store holds;
//! 4. no grant outlives its end by more than a second once the daemon is
//!    back.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::time::{Duration, Instant};

use super::drive::Acks;
use super::world::{World, GRACE};

/// One request row, as far as the checks care.
#[derive(Debug, Clone)]
pub struct Grant {
    pub user: String,
    pub state: String,
    pub expires_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub pending_until: Option<i64>,
    pub sudo: bool,
    pub groups: Vec<String>,
}

/// One audit row, as far as the checks care.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub request_id: Option<String>,
    pub event: String,
    /// Unix ms.
    pub at: i64,
    pub detail: serde_json::Value,
}

/// The store and the host, read in that order.
#[derive(Debug)]
pub struct Snapshot {
    /// Before the store was read.
    pub t0: i64,
    pub grants: BTreeMap<String, Grant>,
    /// Audit rows in chain order.
    pub audit: Vec<AuditEntry>,
    /// `elevated_*` files: name, text, mode, owner.
    pub files: Vec<(String, String, u32, u32)>,
    /// Supplementary members of the test group.
    pub members: Vec<String>,
    /// After the host was read.
    pub t1: i64,
}

pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

const GRACE_MS: i64 = GRACE.as_millis() as i64;

pub fn snapshot(world: &World) -> Snapshot {
    let t0 = now_ms();
    let db = world.d.db();
    // One read transaction: requests and audit rows from the same commit.
    db.execute_batch("BEGIN").unwrap();
    let mut grants = BTreeMap::new();
    let mut stmt = db
        .prepare(
            "SELECT id, user, state, expires_at, ended_at, pending_until, grant_spec FROM requests",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            let spec: String = r.get(6)?;
            Ok((
                r.get::<_, String>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                spec,
            ))
        })
        .unwrap();
    for row in rows {
        let (id, user, state, expires_at, ended_at, pending_until, spec) = row.unwrap();
        let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
        let groups = spec["groups"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|g| g.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let grant = Grant {
            user,
            state,
            expires_at,
            ended_at,
            pending_until,
            sudo: spec.get("sudo").is_some_and(|s| !s.is_null()),
            groups,
        };
        grants.insert(id, grant);
    }
    let mut stmt = db
        .prepare("SELECT request_id, event, at, detail FROM audit ORDER BY seq")
        .unwrap();
    let audit = stmt
        .query_map([], |r| {
            let detail: String = r.get(3)?;
            Ok(AuditEntry {
                request_id: r.get(0)?,
                event: r.get(1)?,
                at: r.get(2)?,
                detail: serde_json::from_str(&detail).unwrap_or_default(),
            })
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    drop(stmt);
    db.execute_batch("COMMIT").unwrap();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&world.d.sudoers).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if !name.starts_with("elevated_") {
            continue;
        }
        // Gone between listing and reading: the daemon removed it.
        let (Ok(text), Ok(meta)) = (std::fs::read_to_string(entry.path()), entry.metadata()) else {
            continue;
        };
        files.push((name, text, meta.mode() & 0o7777, meta.uid()));
    }
    let out = Command::new("getent")
        .args(["group", &world.group.name])
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let members = line
        .rsplit(':')
        .next()
        .unwrap_or("")
        .split(',')
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect();
    Snapshot {
        t0,
        grants,
        audit,
        files,
        members,
        t1: now_ms(),
    }
}

fn notafter(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap()
        .strftime("NOTAFTER=%Y%m%d%H%M%SZ")
        .to_string()
}

/// Whether a grant ended so recently that the host may still be catching
/// up (the store commits an end before the host is changed).
fn just_ended(g: &Grant, s: &Snapshot) -> bool {
    g.ended_at.is_some_and(|e| e >= s.t0 - GRACE_MS)
}

/// Invariant 1: the host matches the store; `pre` were members of the test
/// group before any grant.
pub fn host_violations(s: &Snapshot, pre: &[String]) -> Vec<String> {
    let mut v = Vec::new();
    for (name, text, mode, uid) in &s.files {
        let id = &name["elevated_".len()..];
        match s.grants.get(id) {
            Some(g) if g.state == "active" && g.sudo => {
                let want = notafter(g.expires_at.unwrap_or(0));
                if !text.contains(&want) {
                    v.push(format!(
                        "{name}: wants {want} (the stored end), has:\n{text}"
                    ));
                }
                if *mode != 0o440 || *uid != 0 {
                    v.push(format!("{name}: mode {mode:o} owner {uid}, not 0440 root"));
                }
            }
            Some(g) if just_ended(g, s) => {}
            Some(g) => v.push(format!("{name} on the host, but grant {id} is {}", g.state)),
            None => v.push(format!(
                "{name} on the host, but the store has no grant {id}"
            )),
        }
    }
    for (id, g) in &s.grants {
        let due_soon = g.expires_at.is_some_and(|e| e <= s.t1);
        if g.state != "active" || due_soon {
            continue;
        }
        if g.sudo && !s.files.iter().any(|f| f.0 == format!("elevated_{id}")) {
            v.push(format!("active grant {id} of {} has no drop-in", g.user));
        }
        if !g.groups.is_empty() && !s.members.contains(&g.user) {
            v.push(format!("active grant {id}: {} is not in the group", g.user));
        }
    }
    for m in pre {
        if !s.members.contains(m) {
            v.push(format!("{m} lost a membership the daemon did not add"));
        }
    }
    for m in s.members.iter().filter(|m| !pre.contains(m)) {
        let owed = s.grants.values().any(|g| {
            &g.user == m && !g.groups.is_empty() && (g.state == "active" || just_ended(g, s))
        });
        if !owed {
            v.push(format!("{m} is in the group, but no active grant owes it"));
        }
    }
    v
}

/// Invariant 4: nothing outlives its deadline by more than [`GRACE`] once
/// the daemon is back (`back_ms`: when it answered again).
pub fn expiry_violations(s: &Snapshot, back_ms: i64) -> Vec<String> {
    let mut v = Vec::new();
    for (id, g) in &s.grants {
        let deadline = match g.state.as_str() {
            "active" => g.expires_at,
            "pending" => g.pending_until,
            _ => None,
        };
        if let Some(d) = deadline {
            let late = s.t0 - d.max(back_ms);
            if late > GRACE_MS {
                v.push(format!(
                    "{} {id} of {} is still {} {late} ms after its deadline (or the restart)",
                    if g.state == "active" {
                        "grant"
                    } else {
                        "request"
                    },
                    g.user,
                    g.state
                ));
            }
        }
    }
    v
}

/// Invariant 2: the whole drop-in tree parses.
pub fn visudo_violations(world: &World) -> Vec<String> {
    let main = world.d.dir.path().join("sudoers-main");
    if !main.exists() {
        world.d.file(
            "sudoers-main",
            &format!("@includedir {}\n", world.d.sudoers.display()),
            0o440,
        );
    }
    let out = Command::new("visudo")
        .args(["-c", "-f"])
        .arg(&main)
        .output()
        .unwrap();
    if out.status.success() {
        Vec::new()
    } else {
        vec![format!(
            "visudo -c on the drop-in tree: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )]
    }
}

/// `visudo -c` on the host's own /etc/sudoers.
pub fn real_visudo() -> Result<(), String> {
    let out = Command::new("visudo").arg("-c").output().unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// How long the host may take to catch up with the store after a restart
/// before a mismatch counts (it commits an end first, then changes the
/// host; the periodic reconciliation runs every second).
const SETTLE: Duration = Duration::from_secs(3);

/// Every invariant, after a restart at `back_ms`; `downs` are the
/// intervals (Unix ms) the daemon was not running. Host mismatches are
/// looked at again for up to [`SETTLE`]; the rest stand as first seen.
pub fn violations(world: &World, acks: &Acks, back_ms: i64, downs: &[(i64, i64)]) -> Vec<String> {
    let deadline = Instant::now() + SETTLE;
    let first = snapshot(world);
    let mut v = expiry_violations(&first, back_ms);
    v.extend(visudo_violations(world));
    v.extend(super::audit::verify_violations(world));
    v.extend(super::audit::history_violations(&first, acks));
    v.extend(super::audit::late_endings(&first, downs));
    let mut s = first;
    loop {
        let host = host_violations(&s, &world.preexisting_members());
        if host.is_empty() || Instant::now() >= deadline {
            v.extend(host);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        s = snapshot(world);
    }
    for late in expiry_violations(&s, back_ms) {
        let id = late
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        if !v.iter().any(|x| x.contains(&id)) {
            v.push(late);
        }
    }
    v
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
