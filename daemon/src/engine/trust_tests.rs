//! When a grant is trusted and who may read about it: ended windows while
//! the timer is late, what an extension must carry, bounds on failed
//! re-authentication, and audit visibility by uid.

use std::sync::Arc;

use elevated_proto::{
    ErrorCode, LoginVerdict, Request, RequestState, Response, RoleName, UserName,
};

use super::tests::{ask, env, err, events, id, peer, rule, t, view, Env};
use crate::config::Loaded;
use crate::policy::Who;

/// Changes the engine's configuration in place.
fn configure(e: &Env, f: impl FnOnce(&mut Loaded)) {
    let mut cfg = (*e.engine.config()).clone();
    f(&mut cfg);
    e.engine.lock().cfg = Arc::new(cfg);
}

fn extend(
    e: &Env,
    who: &super::Peer,
    v: &elevated_proto::RequestView,
    secs: u64,
    reason: Option<&str>,
    at: i64,
) -> Response {
    e.engine.handle(
        who,
        Request::Extend {
            id: id(v),
            duration_secs: secs,
            reason: reason.map(str::to_owned),
        },
        t(at),
    )
}

#[test]
fn accounts_named_like_actors_see_no_other_rows() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "ops", Some(60), None, t(0)));
    // Rows by "policy" (granted) and by the daemon's timer (expired).
    assert_eq!(e.engine.expire_due(t(60)).unwrap(), 1);
    let rows = |who: &super::Peer| match e.engine.handle(
        who,
        Request::Audit {
            since: None,
            limit: None,
        },
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
        Request::Review {
            id: id(&v),
            comment: None,
        },
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
        Request::Review {
            id: id(&v),
            comment: None,
        },
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
        Request::Login {
            user: "nobody".into(),
            service: "sshd".into(),
            rhost: None,
            tty: None,
            request_role: None,
            reason: None,
        },
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
    // Nor can the ended window be extended back to life.
    let (code, msg) = err(extend(&e, &nobody, &v, 300, None, 75));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(msg.contains("ended"), "{msg}");
    assert!(!events(&e).contains(&"extended".to_owned()));
    // The timer catches up.
    assert_eq!(e.engine.expire_due(t(76)).unwrap(), 1);
    assert_eq!(login(&e, 77), LoginVerdict::Deny);
}
