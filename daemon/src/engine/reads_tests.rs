//! Reads are served outside the engine lock, from one read transaction,
//! and a user verifies the audit chain once at a time.

use std::sync::mpsc;
use std::time::Duration;

use elevated_proto::{
    AuditQuery, ErrorCode, ListFilter, LoginQuery, LoginVerdict, Request, Response,
};

use super::testkit::{ask, env_stored, err, id, peer, t, view};

/// Long enough that only a read stuck behind the lock misses it; the test
/// asserts that an answer comes at all, not how fast.
const NEVER: Duration = Duration::from_secs(60);

#[test]
fn reads_are_answered_while_a_transition_holds_the_lock() {
    let e = env_stored("/usr/sbin/visudo", true);
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "ops", Some(60), None, t(0)));
    let rid = id(&v);
    let reads = [
        Request::Audit(AuditQuery {
            since: None,
            limit: None,
        }),
        Request::AuditVerify {},
        Request::List(ListFilter {
            pending: false,
            all: true,
            unreviewed: false,
        }),
        Request::List(ListFilter {
            pending: true,
            all: false,
            unreviewed: false,
        }),
        Request::Status {},
        Request::Show { id: rid },
        Request::Roles {},
        Request::Ping {},
    ];
    // What a transition does while it runs visudo or gpasswd.
    let held = e.engine.lock();
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel();
        for req in reads.clone() {
            let (tx, engine, ferris) = (tx.clone(), &e.engine, &ferris);
            s.spawn(move || {
                let answer = engine.handle(ferris, req.clone(), t(1));
                let _ = tx.send((req, answer));
            });
        }
        for answered in 0..reads.len() {
            let (req, answer) = rx.recv_timeout(NEVER).unwrap_or_else(|_| {
                panic!("only {answered} of {} reads were answered: the others wait for the engine lock", reads.len())
            });
            assert!(
                !matches!(answer, Response::Error { .. }),
                "{req:?}: {answer:?}"
            );
        }
        drop(held);
    });
}

#[test]
fn a_user_verifies_the_audit_chain_one_at_a_time() {
    let e = env_stored("/usr/sbin/visudo", true);
    let ferris = peer("ferris", 4242);
    let running = e.engine.verifying(4242).unwrap();
    let (code, msg) = err(e.engine.handle(&ferris, Request::AuditVerify {}, t(1)));
    assert_eq!(code, ErrorCode::Limit, "{msg}");
    assert!(msg.contains("already running"), "{msg}");
    // Someone else's verification is not theirs to wait for.
    let other = e
        .engine
        .handle(&peer("root", 0), Request::AuditVerify {}, t(1));
    assert!(
        matches!(other, Response::AuditVerify { ok: true, .. }),
        "{other:?}"
    );
    drop(running);
    let again = e.engine.handle(&ferris, Request::AuditVerify {}, t(1));
    assert!(
        matches!(again, Response::AuditVerify { ok: true, .. }),
        "{again:?}"
    );
}

#[test]
fn a_login_without_a_grant_is_refused_while_a_transition_holds_the_lock() {
    let e = env_stored("/usr/sbin/visudo", true);
    let mut cfg = (*e.engine.config()).clone();
    cfg.settings.login.require_grant = true;
    e.engine.set_config(cfg);
    let held = e.engine.lock();
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel();
        let engine = &e.engine;
        s.spawn(move || {
            let q = Request::Login(LoginQuery {
                user: "nobody".into(),
                service: "sshd".into(),
                rhost: None,
                tty: None,
                request_role: None,
                reason: None,
            });
            let _ = tx.send(engine.handle(&peer("root", 0), q, t(1)));
        });
        let answer = rx
            .recv_timeout(NEVER)
            .unwrap_or_else(|_| panic!("the login question waited for the engine lock"));
        match answer {
            Response::Login {
                verdict, message, ..
            } => {
                assert_eq!(verdict, LoginVerdict::Deny, "{message}");
                assert!(message.contains("needs an active grant"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        drop(held);
    });
}
