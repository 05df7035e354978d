//! When a grant is trusted and who may read about it: ended windows while
//! the timer is late, what an extension must carry, bounds on failed
//! re-authentication, and audit visibility by uid.

use std::time::Duration;

use elevated_proto::{
    AuditQuery, ErrorCode, ExtendBy, ListFilter, LoginQuery, LoginVerdict, NewRequest, Request,
    RequestState, Response, ReviewNote, RoleName, UserName,
};

use super::testkit::{
    ask, configure, done, env, err, events, extend, id, peer, rule, t, view, Env,
};
use super::{Outcome, Reauth};
use crate::policy::Who;

#[test]
fn accounts_named_like_actors_see_no_other_rows() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "ops", Some(60), None, t(0)));
    // Rows by "policy" (granted) and by the daemon's timer (expired).
    assert_eq!(e.engine.expire_due(t(60)).unwrap(), 1);
    let rows = |who: &super::Peer| match e.engine.handle(
        who,
        Request::Audit(AuditQuery {
            since: None,
            limit: None,
        }),
        t(61),
    ) {
        Response::Audit { rows, .. } => rows,
        other => panic!("{other:?}"),
    };
    let all = rows(&peer("root", 0));
    for actor in ["ferris", "policy", "daemon"] {
        assert!(all.iter().any(|r| r.actor == actor), "{actor}: {all:?}");
    }
    // The system accounts daemon (uid 1) and accounts called pam and
    // policy own no request: they see nothing.
    for (name, uid) in [("daemon", 1), ("pam", 4301), ("policy", 4302)] {
        let seen = rows(&peer(name, uid));
        assert!(seen.is_empty(), "{name} was shown {seen:?}");
    }
    let own = rows(&ferris);
    assert_eq!(own.len(), all.len());
    assert!(own
        .iter()
        .all(|r| r.request.as_deref() == Some(v.id.as_str())));
}

#[test]
fn an_extension_needs_the_reason_its_rule_asks_for() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(
        &e,
        &ferris,
        "needs-reason",
        Some(600),
        Some("deploy"),
        t(0),
    ));
    assert_eq!(v.state, RequestState::Active);
    let (code, msg) = err(extend(&e, &ferris, &v, 300, None, 10));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(msg.contains("reason"), "{msg}");
    assert!(!events(&e).contains(&"extended".to_owned()));
    let x = view(extend(&e, &ferris, &v, 300, Some("deploy runs late"), 20));
    assert_eq!(x.expires_at.as_deref(), Some(t(900).to_string().as_str()));
}

#[test]
fn a_break_glass_extension_is_break_glass_and_reviewed_again() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let boss = peer("boss", 100);
    let v = view(ask(
        &e,
        &ferris,
        "glass",
        Some(600),
        Some("prod down"),
        t(0),
    ));
    let r = view(e.engine.handle(
        &boss,
        Request::Review(ReviewNote {
            id: id(&v),
            comment: None,
        }),
        t(5),
    ));
    assert!(r.reviewed.is_some());
    let x = view(extend(&e, &ferris, &v, 300, Some("still down"), 10));
    assert_eq!(x.state, RequestState::Active);
    assert!(x.break_glass);
    assert_eq!(x.reviewed, None, "the extension needs a review of its own");
    let glass = events(&e).iter().filter(|ev| *ev == "break_glass").count();
    assert_eq!(glass, 2, "{:?}", events(&e));
    let r = view(e.engine.handle(
        &boss,
        Request::Review(ReviewNote {
            id: id(&v),
            comment: None,
        }),
        t(20),
    ));
    assert!(r.reviewed.is_some());
}

/// A real account (the login check reads passwd): `nobody` may take role
/// `ops`, which counts as login access on a host that requires one.
fn login_env() -> (Env, super::Peer) {
    let e = env();
    let entry = crate::sys::users::entry_by_name("nobody").unwrap();
    configure(&e, |cfg| {
        cfg.settings.login.require_grant = true;
        if let Some(r) = cfg.policy.roles.get_mut(&RoleName::parse("ops").unwrap()) {
            r.login = true;
        }
        let mut r = rule("ops", 0, 9);
        r.who = Some(Who {
            users: Some(vec![UserName::parse("nobody").unwrap()]),
            ..Who::default()
        });
        cfg.policy.push_rule(r);
    });
    (e, peer("nobody", entry.uid()))
}

fn login(e: &Env, at: i64) -> LoginVerdict {
    match e.engine.handle(
        &peer("root", 0),
        Request::Login(LoginQuery {
            user: "nobody".into(),
            service: "sshd".into(),
            rhost: None,
            tty: None,
            request_role: None,
            reason: None,
        }),
        t(at),
    ) {
        Response::Login { verdict, .. } => verdict,
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_ended_window_is_not_trusted_while_the_timer_is_late() {
    let (e, nobody) = login_env();
    assert_eq!(login(&e, 0), LoginVerdict::Deny);
    let v = view(ask(&e, &nobody, "ops", Some(60), None, t(0)));
    assert_eq!(v.state, RequestState::Active);
    assert_eq!(login(&e, 59), LoginVerdict::Allow);
    // The window ended at 60; the timer has not run (expire_due not called).
    assert_eq!(login(&e, 60), LoginVerdict::Deny);
    assert_eq!(login(&e, 75), LoginVerdict::Deny);
    let status = match e.engine.handle(&nobody, Request::Status {}, t(75)) {
        Response::Requests { requests, .. } => requests,
        other => panic!("{other:?}"),
    };
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].state, RequestState::Expired);
    assert_eq!(status[0].remaining_secs, None);
    // `list` holds open requests and grants only; `--all` shows it expired.
    let listed = |all: bool| match e.engine.handle(
        &nobody,
        Request::List(ListFilter {
            pending: false,
            all,
            unreviewed: false,
        }),
        t(75),
    ) {
        Response::Requests { requests, .. } => requests,
        other => panic!("{other:?}"),
    };
    assert!(listed(false).is_empty());
    assert_eq!(listed(true)[0].state, RequestState::Expired);
    // Nor can the ended window be extended back to life.
    let (code, msg) = err(extend(&e, &nobody, &v, 300, None, 75));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(msg.contains("ended"), "{msg}");
    assert!(!events(&e).contains(&"extended".to_owned()));
    // The timer catches up.
    assert_eq!(e.engine.expire_due(t(76)).unwrap(), 1);
    assert_eq!(login(&e, 77), LoginVerdict::Deny);
}

/// Role `ops` asks for re-authentication; at most 3 failures per user and
/// 2 per grant within 15 minutes.
fn reauth_env() -> Env {
    let e = env();
    configure(&e, |cfg| {
        if let Some(r) = cfg.policy.roles.get_mut(&RoleName::parse("ops").unwrap()) {
            r.reauth = true;
        }
        let l = &mut cfg.settings.limits;
        l.reauth_failures_per_user = 3;
        l.reauth_failures_per_request = 2;
        l.reauth_failure_window = Duration::from_secs(900);
    });
    e
}

fn ask_ops(e: &Env, who: &super::Peer, reauth: Reauth, at: i64) -> Outcome {
    e.engine.handle_with(
        who,
        Request::Request(NewRequest {
            role: RoleName::parse("ops").unwrap(),
            duration_secs: Some(600),
            command: None,
            reason: None,
            ticket: None,
        }),
        reauth,
        t(at),
    )
}

fn limit_error(r: Outcome) -> String {
    match r {
        Outcome::Done(Response::Error {
            code: ErrorCode::Limit,
            message,
        }) => message,
        other => panic!("expected a limit error, got {other:?}"),
    }
}

#[test]
fn failed_reauthentications_are_bounded_per_user() {
    let e = reauth_env();
    let ferris = peer("ferris", 4242);
    for at in 1..=3 {
        assert!(matches!(
            ask_ops(&e, &ferris, Reauth::NotTried, at),
            Outcome::NeedsReauth
        ));
        let v = view(done(ask_ops(
            &e,
            &ferris,
            Reauth::Failed("wrong".into()),
            at,
        )));
        assert_eq!(v.state, RequestState::Denied);
    }
    let ev = events(&e);
    assert_eq!(ev.iter().filter(|e| *e == "reauth_failed").count(), 3);
    assert_eq!(ev.iter().filter(|e| *e == "reauth_locked").count(), 1);
    // PAM is not run again, and a success that raced past counts for nothing.
    let msg = limit_error(ask_ops(&e, &ferris, Reauth::NotTried, 4));
    assert!(msg.contains("3 failed attempts"), "{msg}");
    limit_error(ask_ops(&e, &ferris, Reauth::Passed, 4));
    // Someone else is not locked out.
    let boss = peer("boss", 100);
    configure(&e, |cfg| {
        let mut r = rule("ops", 0, 9);
        r.who = Some(Who {
            users: Some(vec![UserName::parse("boss").unwrap()]),
            ..Who::default()
        });
        cfg.policy.push_rule(r);
    });
    assert!(matches!(
        ask_ops(&e, &boss, Reauth::NotTried, 5),
        Outcome::NeedsReauth
    ));
    // The first failure leaves the window at 901: one attempt again.
    limit_error(ask_ops(&e, &ferris, Reauth::NotTried, 900));
    assert!(matches!(
        ask_ops(&e, &ferris, Reauth::NotTried, 901),
        Outcome::NeedsReauth
    ));
    let v = view(done(ask_ops(&e, &ferris, Reauth::Passed, 901)));
    assert_eq!(v.state, RequestState::Active);
}

#[test]
fn failed_reauthentications_are_bounded_per_grant() {
    let e = reauth_env();
    let ferris = peer("ferris", 4242);
    let v = view(done(ask_ops(&e, &ferris, Reauth::Passed, 0)));
    let ext = |reauth: Reauth, at: i64| {
        e.engine.handle_with(
            &ferris,
            Request::Extend(ExtendBy {
                id: id(&v),
                duration_secs: 60,
                reason: None,
            }),
            reauth,
            t(at),
        )
    };
    for at in 1..=2 {
        assert!(matches!(ext(Reauth::NotTried, at), Outcome::NeedsReauth));
        let (code, _) = err(done(ext(Reauth::Failed("wrong".into()), at)));
        assert_eq!(code, ErrorCode::Forbidden);
    }
    let msg = limit_error(ext(Reauth::NotTried, 3));
    assert!(msg.contains(&format!("for grant {}", v.id)), "{msg}");
    limit_error(ext(Reauth::Passed, 3));
    let ev = events(&e);
    assert_eq!(ev.iter().filter(|e| *e == "reauth_failed").count(), 2);
    assert_eq!(ev.iter().filter(|e| *e == "reauth_locked").count(), 1);
    assert!(!ev.contains(&"extended".to_owned()));
    // The user's bound (3) is not reached: a new request may still try
    // (once the grant is given back: a role is not held twice).
    let r = view(
        e.engine
            .handle(&ferris, Request::Revoke { id: id(&v) }, t(4)),
    );
    assert_eq!(r.state, RequestState::Revoked);
    assert!(matches!(
        ask_ops(&e, &ferris, Reauth::NotTried, 4),
        Outcome::NeedsReauth
    ));
}

#[test]
fn a_login_grant_taken_away_but_not_yet_recorded_allows_no_login() {
    let (e, nobody) = login_env();
    let v = view(ask(&e, &nobody, "ops", Some(600), None, t(0)));
    assert_eq!(login(&e, 1), LoginVerdict::Allow);
    // The store cannot record the revocation (as on a full disk).
    e.engine
        .lock()
        .store
        .conn()
        .execute_batch(&format!(
            "CREATE TEMP TRIGGER stuck BEFORE UPDATE ON requests WHEN OLD.id = '{}' \
             BEGIN SELECT RAISE(ABORT, 'no room'); END;",
            v.id
        ))
        .unwrap();
    let revoke = Request::Revoke { id: id(&v) };
    let (code, msg) = err(e.engine.handle(&peer("root", 0), revoke, t(2)));
    assert_eq!(code, ErrorCode::Internal);
    assert!(msg.contains("taken away on this host"), "{msg}");
    assert_eq!(login(&e, 3), LoginVerdict::Deny);
}
