//! The audit chain: appending, reading by visibility, verifying.

use super::*;
use crate::audit::event::AuditEvent;
use crate::store::Store;
use serde_json::json;

#[test]
fn chain_detects_edits_and_deletions() {
    let mut s = Store::open_in_memory().unwrap();
    for i in 0..5 {
        s.tx(|tx| {
            append(
                tx,
                1000 + i,
                AuditEvent::Requested,
                "alice",
                Some("abcd1234"),
                &json!({"i": i}),
            )
        })
        .unwrap();
    }
    let v = verify(s.conn()).unwrap();
    assert_eq!(v.rows, 5);
    assert_eq!(v.first_bad, None);

    s.conn()
        .execute("UPDATE audit SET actor = 'mallory' WHERE seq = 3", [])
        .unwrap();
    let v = verify(s.conn()).unwrap();
    assert_eq!(v.first_bad.as_ref().map(|b| b.0), Some(3));

    s.conn()
        .execute("UPDATE audit SET actor = 'alice' WHERE seq = 3", [])
        .unwrap();
    assert_eq!(verify(s.conn()).unwrap().first_bad, None);
    s.conn()
        .execute("DELETE FROM audit WHERE seq = 2", [])
        .unwrap();
    let v = verify(s.conn()).unwrap();
    assert_eq!(v.first_bad.as_ref().map(|b| b.0), Some(3));
}

#[test]
fn list_filters_by_visibility_and_time() {
    let mut s = Store::open_in_memory().unwrap();
    for (id, uid) in [("aaaa2222", 1000), ("bbbb3333", 1001)] {
        s.conn()
            .execute(
                "INSERT INTO requests (id, uid, user, role, host, duration_secs, state, \
                 message, approvals_needed, requested_at, grant_spec) \
                 VALUES (?1, ?2, 'u', 'ops', 'h', 60, 'active', '', 0, 0, '{}')",
                params![id, uid],
            )
            .unwrap();
    }
    s.tx(|tx| {
        append(
            tx,
            10,
            AuditEvent::Requested,
            "alice",
            Some("aaaa2222"),
            &json!({}),
        )
    })
    .unwrap();
    s.tx(|tx| {
        append(
            tx,
            20,
            AuditEvent::Requested,
            "bob",
            Some("bbbb3333"),
            &json!({}),
        )
    })
    .unwrap();
    s.tx(|tx| {
        append(
            tx,
            30,
            AuditEvent::Granted,
            "policy",
            Some("aaaa2222"),
            &json!({}),
        )
    })
    .unwrap();
    let all = list(s.conn(), None, 100, None).unwrap();
    assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    let alice = list(s.conn(), None, 100, Some(1000)).unwrap();
    assert_eq!(alice.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 3]);
    let recent = list(s.conn(), Some(15), 100, None).unwrap();
    assert_eq!(recent.len(), 2);
    let last = list(s.conn(), None, 1, None).unwrap();
    assert_eq!(last[0].seq, 3);
}

#[test]
fn rows_are_never_visible_by_actor_name() {
    let mut s = Store::open_in_memory().unwrap();
    s.conn()
        .execute(
            "INSERT INTO requests (id, uid, user, role, host, duration_secs, state, \
             message, approvals_needed, requested_at, grant_spec) \
             VALUES ('cccc4444', 1000, 'alice', 'ops', 'h', 60, 'active', '', 0, 0, '{}')",
            [],
        )
        .unwrap();
    // Actors that are also names of system accounts, and a row about
    // nobody's request (a session without a grant).
    for actor in ["daemon", "pam", "policy", "bob"] {
        s.tx(|tx| {
            append(
                tx,
                10,
                AuditEvent::SessionOpen,
                actor,
                Some("cccc4444"),
                &json!({}),
            )
        })
        .unwrap();
        s.tx(|tx| append(tx, 10, AuditEvent::SessionClose, actor, None, &json!({})))
            .unwrap();
    }
    // daemon (uid 1), a user called pam or policy, and bob (uid 1001)
    // own no request: they see nothing, whatever the actors are called.
    for uid in [1, 101, 102, 1001] {
        assert!(list(s.conn(), None, 100, Some(uid)).unwrap().is_empty());
    }
    assert_eq!(list(s.conn(), None, 100, Some(1000)).unwrap().len(), 4);
}

#[test]
fn rows_a_user_acted_in_are_theirs_to_read() {
    let mut s = Store::open_in_memory().unwrap();
    s.conn()
        .execute(
            "INSERT INTO requests (id, uid, user, role, host, duration_secs, state, \
             message, approvals_needed, requested_at, grant_spec) \
             VALUES ('dddd5555', 1000, 'alice', 'ops', 'h', 60, 'pending', '', 1, 0, '{}')",
            [],
        )
        .unwrap();
    s.tx(|tx| {
        append(
            tx,
            10,
            AuditEvent::Requested,
            "alice",
            Some("dddd5555"),
            &json!({"uid": 1000}),
        )
    })
    .unwrap();
    // bob (uid 1001) approves alice's request.
    let approval = json!({"uid": 1001, "approver": "user:bob"});
    s.tx(|tx| {
        append(
            tx,
            20,
            AuditEvent::Approval,
            "user:bob",
            Some("dddd5555"),
            &approval,
        )
    })
    .unwrap();
    s.tx(|tx| {
        append(
            tx,
            20,
            AuditEvent::Granted,
            "user:bob",
            Some("dddd5555"),
            &json!({}),
        )
    })
    .unwrap();
    let bob = list(s.conn(), None, 100, Some(1001)).unwrap();
    assert_eq!(bob.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![2]);
    let alice = list(s.conn(), None, 100, Some(1000)).unwrap();
    assert_eq!(alice.len(), 3);
    assert!(list(s.conn(), None, 100, Some(1002)).unwrap().is_empty());
}
