//! Transitions that race: each operation reads its row without the lock,
//! decides, then locks to commit. These tests commit a second transition
//! exactly in between (through the `between_read_and_lock` seam), as a
//! concurrent client or the timer can, and check that the first one then
//! refuses instead of writing its stale row back. The crash campaign
//! (tests/tests/crash.rs) found the first of these as two `granted` rows.

use elevated_proto::{DecideOn, ErrorCode, ExtendBy, Request, RequestState, Response, ReviewNote};

use super::testkit::{
    approve, ask, env, env_stored, err, events, ferris_no, file, id, peer, peer_in, t, view, Env,
};
use super::{Engine, BETWEEN};

/// Runs `f` on the engine the next time an operation on this thread has
/// read its row and is about to lock.
fn meanwhile(f: impl FnOnce(&Engine) + 'static) {
    BETWEEN.with(|b| *b.borrow_mut() = Some(Box::new(f)));
}

fn count(e: &Env, event: &str) -> usize {
    events(e).iter().filter(|ev| *ev == event).count()
}

/// The stored state, read while every window these tests open still runs
/// (a window past its end is shown as expired, whatever is stored).
fn state_of(e: &Env, v: &elevated_proto::RequestView) -> RequestState {
    let r = e
        .engine
        .handle(&peer("root", 0), Request::Show { id: id(v) }, t(100));
    view(r).state
}

#[test]
fn two_approvers_at_once_grant_once() {
    let e = env();
    let v = view(ask(
        &e,
        &peer("ferris", 4242),
        "gated",
        Some(600),
        None,
        t(0),
    ));
    let other = id(&v);
    meanwhile(move |engine| {
        let lead = peer_in("carol", 101, &["leads"]);
        let r = engine.handle(
            &lead,
            Request::Approve(DecideOn {
                id: other,
                comment: None,
                signature: None,
            }),
            t(10),
        );
        assert!(matches!(r, Response::Request { .. }), "{r:?}");
    });
    let (code, msg) = err(approve(&e, &peer("boss", 100), &v, t(11)));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(msg.contains("changed"), "{msg}");
    assert_eq!(count(&e, "granted"), 1, "{:?}", events(&e));
    assert_eq!(state_of(&e, &v), RequestState::Active);
}

#[test]
fn an_approval_racing_a_cancellation_grants_nothing() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "gated", Some(600), None, t(0)));
    let other = id(&v);
    meanwhile(move |engine| {
        let r = engine.handle(&ferris, Request::Cancel { id: other }, t(10));
        assert!(matches!(r, Response::Request { .. }), "{r:?}");
    });
    let (code, _) = err(approve(&e, &peer("boss", 100), &v, t(11)));
    assert_eq!(code, ErrorCode::BadRequest);
    assert_eq!(state_of(&e, &v), RequestState::Cancelled);
    assert!(!file(&e, &v).exists(), "a cancelled request has no drop-in");
    assert_eq!(count(&e, "granted"), 0, "{:?}", events(&e));
}

#[test]
fn an_extension_racing_the_end_does_not_revive_the_grant() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "ops", Some(60), None, t(0)));
    meanwhile(|engine| assert_eq!(engine.expire_due(t(60)).unwrap(), 1));
    let r = e.engine.handle(
        &ferris,
        Request::Extend(ExtendBy {
            id: id(&v),
            duration_secs: 60,
            reason: None,
        }),
        t(59),
    );
    let (code, _) = err(r);
    assert_eq!(code, ErrorCode::BadRequest);
    assert_eq!(state_of(&e, &v), RequestState::Expired);
    assert!(!file(&e, &v).exists());
    assert_eq!(events(&e), ["requested", "granted", "expired"]);
}

#[test]
fn a_revocation_racing_the_end_leaves_it_expired() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "ops", Some(60), None, t(0)));
    meanwhile(|engine| assert_eq!(engine.expire_due(t(60)).unwrap(), 1));
    let (code, msg) = err(e
        .engine
        .handle(&ferris, Request::Revoke { id: id(&v) }, t(59)));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(msg.contains("is expired"), "{msg}");
    assert_eq!(state_of(&e, &v), RequestState::Expired);
    assert_eq!(events(&e), ["requested", "granted", "expired"]);
}

#[test]
fn withdrawing_an_extension_just_approved_keeps_the_new_end() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "gated", Some(600), None, t(0)));
    let v = view(approve(&e, &peer("boss", 100), &v, t(10)));
    let x = view(e.engine.handle(
        &ferris,
        Request::Extend(ExtendBy {
            id: id(&v),
            duration_secs: 300,
            reason: None,
        }),
        t(100),
    ));
    assert_eq!(x.extension_secs, Some(300));
    let other = id(&v);
    meanwhile(move |engine| {
        let r = engine.handle(
            &peer("boss", 100),
            Request::Approve(DecideOn {
                id: other,
                comment: None,
                signature: None,
            }),
            t(110),
        );
        assert!(matches!(r, Response::Request { .. }), "{r:?}");
    });
    let (code, _) = err(e
        .engine
        .handle(&ferris, Request::Cancel { id: id(&v) }, t(111)));
    assert_eq!(code, ErrorCode::BadRequest);
    let now = view(
        e.engine
            .handle(&peer("root", 0), Request::Show { id: id(&v) }, t(112)),
    );
    assert_eq!(now.expires_at.as_deref(), Some(t(910).to_string().as_str()));
    let text = std::fs::read_to_string(file(&e, &v)).unwrap();
    let notafter = t(910).strftime("NOTAFTER=%Y%m%d%H%M%SZ").to_string();
    assert!(
        text.contains(&notafter),
        "the drop-in and the store agree: {text}"
    );
}

#[test]
fn a_review_racing_the_end_leaves_it_expired() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "glass", Some(60), None, t(0)));
    assert_eq!(v.state, RequestState::Active);
    meanwhile(|engine| assert_eq!(engine.expire_due(t(60)).unwrap(), 1));
    let r = e.engine.handle(
        &peer("boss", 100),
        Request::Review(ReviewNote {
            id: id(&v),
            comment: None,
        }),
        t(59),
    );
    assert_eq!(view(r).state, RequestState::Expired);
    assert_eq!(state_of(&e, &v), RequestState::Expired);
    assert!(!file(&e, &v).exists());
}

#[test]
fn verifying_the_audit_chain_does_not_hold_up_transitions() {
    let e = env_stored("/usr/sbin/visudo", true);
    for i in 0..20 {
        let _ = ask(&e, &ferris_no(i), "ops", Some(60), None, t(i as i64));
    }
    let e = std::sync::Arc::new(e);
    let (tx, rx) = std::sync::mpsc::channel();
    // While a transition holds the engine (as the timer or a grant does),
    // a verification still runs to its end.
    let held = e.engine.lock();
    let other = e.clone();
    std::thread::spawn(move || {
        let r = other
            .engine
            .handle(&peer("mallory", 666), Request::AuditVerify {}, t(100));
        let _ = tx.send(r);
    });
    // A generous bound that only a verification waiting for the lock misses.
    let r = rx.recv_timeout(std::time::Duration::from_secs(60));
    drop(held);
    match r {
        Ok(Response::AuditVerify { ok, rows, .. }) => {
            assert!(ok);
            assert_eq!(rows, 40);
        }
        other => panic!("verification waited for the engine's lock: {other:?}"),
    }
}
