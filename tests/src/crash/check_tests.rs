//! The checks themselves, on made-up snapshots: each invariant must flag
//! the breach it is there for (a campaign with a blind check would pass
//! whatever the daemon did).

use std::collections::BTreeMap;

use super::super::audit::{history_violations, late_endings};
use super::super::drive::Acks;
use super::*;

const T: i64 = 1_800_000_000_000;

fn grant(user: &str, state: &str, end: i64, groups: bool) -> Grant {
    Grant {
        user: user.into(),
        state: state.into(),
        expires_at: Some(end),
        ended_at: (state != "active").then_some(end),
        pending_until: None,
        sudo: true,
        groups: if groups { vec!["g".into()] } else { vec![] },
    }
}

fn row(rid: &str, event: &str, at: i64, detail: serde_json::Value) -> AuditEntry {
    AuditEntry {
        request_id: Some(rid.into()),
        event: event.into(),
        at,
        detail,
    }
}

fn dropin(id: &str, end: i64) -> (String, String, u32, u32) {
    let text = format!(
        "alice ALL = (root) {} NOPASSWD: /usr/bin/true\n",
        notafter(end)
    );
    (format!("elevated_{id}"), text, 0o440, 0)
}

/// A consistent host: alice holds one active sudo and group grant; dave
/// was a member before.
fn good() -> Snapshot {
    let end = T + 5000;
    Snapshot {
        t0: T,
        grants: BTreeMap::from([("a1".to_owned(), grant("alice", "active", end, true))]),
        audit: vec![
            row("a1", "requested", T - 100, json_null()),
            row("a1", "granted", T - 100, json_null()),
        ],
        files: vec![dropin("a1", end)],
        members: vec!["dave".into(), "alice".into()],
        t1: T + 10,
    }
}

fn json_null() -> serde_json::Value {
    serde_json::Value::Null
}

fn pre() -> Vec<String> {
    vec!["dave".into()]
}

#[test]
fn a_consistent_host_passes() {
    let s = good();
    assert_eq!(host_violations(&s, &pre()), Vec::<String>::new());
    assert_eq!(expiry_violations(&s, T - 1000), Vec::<String>::new());
    assert_eq!(
        history_violations(&s, &Acks::default()),
        Vec::<String>::new()
    );
}

#[test]
fn host_breaches_are_flagged() {
    // A drop-in of an ended grant, long ago.
    let mut s = good();
    s.grants.get_mut("a1").unwrap().state = "revoked".into();
    s.grants.get_mut("a1").unwrap().ended_at = Some(T - 5000);
    let v = host_violations(&s, &pre());
    assert!(v.iter().any(|m| m.contains("is revoked")), "{v:?}");
    assert!(
        v.iter().any(|m| m.contains("no active grant owes")),
        "{v:?}"
    );
    // A drop-in nobody knows, and a temporary one left behind.
    let mut s = good();
    s.files.push(dropin("zz", T + 5000));
    s.files
        .push(("elevated_a1.tmp".into(), String::new(), 0o440, 0));
    let v = host_violations(&s, &pre());
    assert_eq!(v.len(), 2, "{v:?}");
    // An extension on the host that the store never committed.
    let mut s = good();
    s.files = vec![dropin("a1", T + 9000)];
    let v = host_violations(&s, &pre());
    assert!(v.iter().any(|m| m.contains("stored end")), "{v:?}");
    // Wrong mode; a missing drop-in and membership of an active grant.
    let mut s = good();
    s.files[0].2 = 0o644;
    assert_eq!(host_violations(&s, &pre()).len(), 1);
    let mut s = good();
    s.files.clear();
    s.members = pre();
    let v = host_violations(&s, &pre());
    assert_eq!(v.len(), 2, "{v:?}");
    // A membership that was there before any grant, taken away.
    let mut s = good();
    s.members = vec!["alice".into()];
    let v = host_violations(&s, &pre());
    assert!(v.iter().any(|m| m.contains("dave lost")), "{v:?}");
}

#[test]
fn grants_past_their_end_are_flagged() {
    let mut s = good();
    s.grants.get_mut("a1").unwrap().expires_at = Some(T - 1500);
    assert_eq!(expiry_violations(&s, T - 60_000).len(), 1);
    // Back only 200 ms ago: the bound runs from the restart.
    assert_eq!(expiry_violations(&s, T - 200), Vec::<String>::new());
}

#[test]
fn late_endings_count_from_the_deadline_or_the_return() {
    let mut s = good();
    let late = row(
        "a1",
        "expired",
        T + 1500,
        serde_json::json!({"expires_at": T}),
    );
    s.audit.push(late);
    assert_eq!(late_endings(&s, &[]).len(), 1);
    // Down from before the deadline until T + 1000: within a second of that.
    assert_eq!(
        late_endings(&s, &[(T - 10, T + 1000)]),
        Vec::<String>::new()
    );
    // Down, but only long after the deadline's grace ran out.
    assert_eq!(late_endings(&s, &[(T + 1200, T + 1400)]).len(), 1);
}

#[test]
fn histories_must_follow_the_state_machine_and_the_acks() {
    let mut s = good();
    s.audit.push(row("a1", "granted", T, json_null()));
    let v = history_violations(&s, &Acks::default());
    assert!(
        v.iter().any(|m| m.contains("\"granted\" while \"active\"")),
        "{v:?}"
    );

    let mut s = good();
    s.audit.push(row("a1", "expired", T, json_null()));
    s.audit.push(row("a1", "extension_asked", T, json_null()));
    let v = history_violations(&s, &Acks::default());
    assert!(v.iter().any(|m| m.contains("while \"expired\"")), "{v:?}");
    assert!(v.iter().any(|m| m.contains("store says active")), "{v:?}");

    let s = good();
    let mut acks = Acks::default();
    acks.events.insert(("a1".into(), "revoked".into()), 1);
    acks.finals.insert("a1".into(), "revoked".into());
    let v = history_violations(&s, &acks);
    assert_eq!(v.len(), 2, "{v:?}");
}
