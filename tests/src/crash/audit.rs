//! Invariant 3: the audit chain verifies (through the daemon, as
//! `elevate audit --verify`), holds every transition a client was told
//! about, and tells each request's life as the state machine allows it,
//! ending in the state the store holds.

use std::collections::BTreeMap;

use super::check::Snapshot;
use super::drive::Acks;
use super::world::{World, GRACE};

/// Invariant 4 while the daemon runs: every `expired` and `timed_out` row
/// was written within [`GRACE`] of its deadline, unless the daemon was down
/// then, in which case within [`GRACE`] of its return.
pub fn late_endings(s: &Snapshot, downs: &[(i64, i64)]) -> Vec<String> {
    let grace = GRACE.as_millis() as i64;
    let mut v = Vec::new();
    for e in &s.audit {
        let key = match e.event.as_str() {
            "expired" => "expires_at",
            "timed_out" => "pending_until",
            _ => continue,
        };
        let Some(deadline) = e.detail.get(key).and_then(serde_json::Value::as_i64) else {
            v.push(format!("{} row without {key}: {}", e.event, e.detail));
            continue;
        };
        let mut allowed = deadline + grace;
        for (down, back) in downs {
            if *down < allowed && deadline <= *back {
                allowed = allowed.max(back + grace);
            }
        }
        if e.at > allowed {
            v.push(format!(
                "request {}: {} {} ms after its deadline, with the daemon running",
                e.request_id.as_deref().unwrap_or("?"),
                e.event,
                e.at - deadline
            ));
        }
    }
    v
}

/// The chain verifies, as the daemon checks it.
pub fn verify_violations(world: &World) -> Vec<String> {
    let out = world.d.elevate(None, &["--json", "audit", "--verify"]);
    if out.status.success() {
        return Vec::new();
    }
    vec![format!(
        "elevate audit --verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )]
}

/// Acknowledged transitions are audited, and each request's audit rows
/// follow the state machine to the state the store holds.
pub fn history_violations(s: &Snapshot, acks: &Acks) -> Vec<String> {
    let mut v = Vec::new();
    let mut counts: BTreeMap<(&str, &str), u32> = BTreeMap::new();
    let mut life: BTreeMap<&str, &str> = BTreeMap::new();
    for entry in &s.audit {
        let (Some(rid), event) = (entry.request_id.as_deref(), &entry.event) else {
            continue;
        };
        *counts.entry((rid, event.as_str())).or_default() += 1;
        let at = life.get(rid).copied().unwrap_or("");
        match step(at, event) {
            Some(Ok(next)) => {
                life.insert(rid, next);
            }
            Some(Err(())) => v.push(format!("request {rid}: audit row {event:?} while {at:?}")),
            None => {}
        }
    }
    for ((rid, event), n) in &acks.events {
        let have = counts
            .get(&(rid.as_str(), event.as_str()))
            .copied()
            .unwrap_or(0);
        if have < *n {
            v.push(format!(
                "request {rid}: {event} was acknowledged {n} times, audited {have} times"
            ));
        }
    }
    for (rid, state) in &acks.finals {
        let stored = s.grants.get(rid).map(|g| g.state.as_str());
        if stored != Some(state.as_str()) {
            v.push(format!(
                "request {rid}: a client was told {state}, the store says {stored:?}"
            ));
        }
    }
    for (rid, g) in &s.grants {
        let told = life.get(rid.as_str()).copied().unwrap_or("no audit rows");
        if told != g.state {
            v.push(format!(
                "request {rid}: the store says {}, the audit log {told}",
                g.state
            ));
        }
    }
    v
}

/// Where a request stands, following its audit rows.
fn step(state: &str, event: &str) -> Option<Result<&'static str, ()>> {
    let next = match (state, event) {
        ("", "requested") => "requested",
        (_, "requested") => return Some(Err(())),
        ("requested", "pending") => "pending",
        ("requested" | "pending", "granted") => "active",
        ("requested" | "pending", "denied") | ("requested", "grant_failed") => "denied",
        ("pending", "cancelled") => "cancelled",
        ("pending", "timed_out") => "timed_out",
        ("active", "expired") => "expired",
        ("active", "revoked") => "revoked",
        ("pending" | "active", "approval" | "denial") => return None,
        (
            "active",
            "extension_asked"
            | "extended"
            | "extension_requested"
            | "extension_denied"
            | "extension_cancelled"
            | "extension_timed_out"
            | "extension_refused",
        ) => return None,
        (
            _,
            "pending"
            | "granted"
            | "denied"
            | "grant_failed"
            | "cancelled"
            | "timed_out"
            | "expired"
            | "revoked"
            | "approval"
            | "denial"
            | "extension_asked"
            | "extended"
            | "extension_requested"
            | "extension_denied"
            | "extension_cancelled"
            | "extension_timed_out"
            | "extension_refused",
        ) => return Some(Err(())),
        _ => return None,
    };
    Some(Ok(next))
}
