//! Transitions racing each other on real threads, as the server runs them:
//! each operation reads a row, then takes the lock to change it, so the
//! change must be made to the row as stored then, not as it was read.

use std::sync::Barrier;

use elevated_proto::{DecideOn, ErrorCode, Request, RequestState, Response};

use super::testkit::{
    ask, configure, env, err, events, ferris_no, gated_roles, id, peer, peer_in, t, view, Env,
};
use super::Peer;
use crate::store::requests;

const ROUNDS: usize = 40;

/// Runs `a` and `b` at the same moment and returns both answers.
fn at_once(e: &Env, a: (&Peer, Request), b: (&Peer, Request)) -> (Response, Response) {
    let gate = Barrier::new(2);
    std::thread::scope(|s| {
        let ha = s.spawn(|| {
            gate.wait();
            e.engine.handle(a.0, a.1, t(1))
        });
        let hb = s.spawn(|| {
            gate.wait();
            e.engine.handle(b.0, b.1, t(1))
        });
        (ha.join().unwrap(), hb.join().unwrap())
    })
}

fn dropin_exists(e: &Env, rid: &str) -> bool {
    e.dir
        .path()
        .join("sudoers.d")
        .join(format!("elevated_{rid}"))
        .exists()
}

fn stored_state(e: &Env, rid: &str) -> RequestState {
    let st = e.engine.lock();
    let gid = elevated_proto::GrantId::parse(rid).unwrap();
    requests::get(st.store.conn(), &gid).unwrap().unwrap().state
}

/// Audit events about one request.
fn events_of(e: &Env, rid: &str) -> Vec<String> {
    let st = e.engine.lock();
    crate::store::audit::list(st.store.conn(), None, 10_000, None)
        .unwrap()
        .into_iter()
        .filter(|r| r.request_id.as_deref() == Some(rid))
        .map(|r| r.event)
        .collect()
}

fn count(evs: &[String], name: &str) -> usize {
    evs.iter().filter(|e| *e == name).count()
}

/// The loser of a race gets a clear error; the winner's answer stands.
fn one_wins(a: &Response, b: &Response) -> Response {
    match (a, b) {
        (Response::Request { .. }, Response::Error { .. }) => {
            let (code, msg) = err(b.clone());
            assert_eq!(code, ErrorCode::BadRequest, "{msg}");
            a.clone()
        }
        (Response::Error { .. }, Response::Request { .. }) => one_wins(b, a),
        _ => panic!("exactly one of two racing decisions must win: {a:?} / {b:?}"),
    }
}

#[test]
fn an_approval_and_a_denial_at_once_decide_once() {
    let e = env();
    let boss = peer("boss", 1000);
    let lead = peer_in("lena", 1001, &["leads"]);
    // A granted one is held: each round asks as another ferris, whom the
    // user database knows (activation looks the requester up again).
    for round in 0..ROUNDS {
        let uid = 5000 + u32::try_from(round).unwrap();
        e.accounts
            .lock()
            .unwrap()
            .insert(uid, super::testkit::account("ferris", uid, &[]));
    }
    for round in 0..ROUNDS {
        let v = view(ask(&e, &ferris_no(round), "gated", Some(60), None, t(0)));
        let approve = Request::Approve(DecideOn {
            id: id(&v),
            comment: None,
            signature: None,
        });
        let deny = Request::Deny(DecideOn {
            id: id(&v),
            comment: None,
            signature: None,
        });
        let (a, b) = at_once(&e, (&boss, approve), (&lead, deny));
        let won = view(one_wins(&a, &b));
        let state = stored_state(&e, &v.id);
        assert_eq!(won.state, state);
        // The host agrees with the store: a drop-in exactly when active.
        assert_eq!(dropin_exists(&e, &v.id), state == RequestState::Active);
        let evs = events_of(&e, &v.id);
        assert_eq!(count(&evs, "granted") + count(&evs, "denied"), 1, "{evs:?}");
        assert_eq!(
            count(&evs, "approval") + count(&evs, "denial"),
            1,
            "{evs:?}"
        );
    }
}

#[test]
fn a_withdrawal_racing_an_approval_leaves_no_stray_grant() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let boss = peer("boss", 1000);
    for _ in 0..ROUNDS {
        let v = view(ask(&e, &ferris, "gated", Some(60), None, t(0)));
        let approve = Request::Approve(DecideOn {
            id: id(&v),
            comment: None,
            signature: None,
        });
        let cancel = Request::Cancel { id: id(&v) };
        let (a, b) = at_once(&e, (&boss, approve), (&ferris, cancel));
        let won = view(one_wins(&a, &b));
        let state = stored_state(&e, &v.id);
        assert_eq!(won.state, state);
        assert_eq!(dropin_exists(&e, &v.id), state == RequestState::Active);
        let evs = events_of(&e, &v.id);
        assert_eq!(
            count(&evs, "granted") + count(&evs, "cancelled"),
            1,
            "{evs:?}"
        );
        if state == RequestState::Active {
            e.engine
                .handle(&ferris, Request::Revoke { id: id(&v) }, t(2));
        }
    }
}

#[test]
fn two_revocations_at_once_end_a_grant_once() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let root = peer("root", 0);
    for _ in 0..ROUNDS {
        let v = view(ask(&e, &ferris, "ops", Some(60), None, t(0)));
        let revoke = || Request::Revoke { id: id(&v) };
        let (a, b) = at_once(&e, (&ferris, revoke()), (&root, revoke()));
        assert_eq!(view(one_wins(&a, &b)).state, RequestState::Revoked);
        assert!(!dropin_exists(&e, &v.id));
        assert_eq!(count(&events_of(&e, &v.id), "revoked"), 1);
    }
}

#[test]
fn simultaneous_requests_from_one_user_stop_at_the_pending_limit() {
    let e = env();
    // Eight roles, two threads each: one pending request per role and
    // user, five per user.
    gated_roles(&e, 8);
    // Every round is at the same instant: far more than a minute's
    // requests, which is not what this is about.
    configure(&e, |cfg| {
        cfg.settings.limits.requests_per_minute = usize::MAX
    });
    let ferris = peer("ferris", 4242);
    let n = 16;
    for round in 0..ROUNDS {
        let gate = Barrier::new(n);
        let answers: Vec<Response> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..n)
                .map(|i| {
                    let (gate, e, ferris) = (&gate, &e, &ferris);
                    s.spawn(move || {
                        gate.wait();
                        let role = format!("gated-{}", 1 + i % 8);
                        ask(e, ferris, &role, Some(60), None, t(0))
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut pending = Vec::new();
        let mut refused = 0;
        for r in answers {
            match r {
                Response::Request { request } if request.state == RequestState::Pending => {
                    pending.push(request);
                }
                Response::Error {
                    code: ErrorCode::Limit | ErrorCode::Conflict,
                    ..
                } => refused += 1,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!((pending.len(), refused), (5, n - 5), "round {round}");
        let mut roles: Vec<&str> = pending.iter().map(|v| v.role.as_str()).collect();
        roles.sort_unstable();
        roles.dedup();
        assert_eq!(roles.len(), 5, "one pending request per role: {roles:?}");
        let stored = requests::pending_count(e.engine.lock().store.conn(), 4242).unwrap();
        assert_eq!(stored, 5);
        for v in &pending {
            let c = view(
                e.engine
                    .handle(&ferris, Request::Cancel { id: id(v) }, t(1)),
            );
            assert_eq!(c.state, RequestState::Cancelled);
        }
    }
    assert_eq!(count(&events(&e), "requested"), 5 * ROUNDS);
}

#[test]
fn reconciliation_never_removes_the_drop_in_of_a_grant_being_made() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let r = e.engine.reconcile(t(1)).unwrap();
                assert!(r.removed.is_empty(), "removed as stray: {:?}", r.removed);
            }
        });
        for _ in 0..ROUNDS * 3 {
            let v = view(ask(&e, &ferris, "ops", Some(600), None, t(1)));
            assert_eq!(v.state, RequestState::Active);
            assert!(
                dropin_exists(&e, &v.id),
                "active grant {} lost its drop-in",
                v.id
            );
            e.engine
                .handle(&ferris, Request::Revoke { id: id(&v) }, t(2));
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
    });
}
