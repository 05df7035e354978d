//! What a requester is told: a role held or asked for already, a role with
//! only actions, the command to use instead of the one tried, why it was
//! denied, a refused extension, and what approvers list and read.

use std::time::Duration;

use elevated_proto::{
    AuditQuery, DecisionTextQuery, ErrorCode, ListFilter, NewRequest, Request, RequestState,
    Response, RoleName, Verdict,
};

use super::testkit::{
    approve, ask, deny, env, err, events, extend, id, peer, role, rule, t, view, Env,
};
use crate::policy::Command;

fn action(e: &Env, who: &super::Peer, role: &str, argv: &[&str], at: i64) -> Response {
    e.engine.handle(
        who,
        Request::Request(NewRequest {
            role: RoleName::parse(role).unwrap(),
            duration_secs: None,
            command: Some(argv.iter().map(|a| (*a).to_owned()).collect()),
            reason: None,
            ticket: None,
        }),
        t(at),
    )
}

fn list(e: &Env, who: &super::Peer, pending: bool, all: bool) -> Vec<String> {
    match e.engine.handle(
        who,
        Request::List(ListFilter {
            pending,
            all,
            unreviewed: false,
        }),
        t(5),
    ) {
        Response::Requests { requests, .. } => requests.into_iter().map(|r| r.id).collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_role_held_or_asked_for_is_not_requested_twice() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let held = view(ask(&e, &ferris, "ops", Some(600), None, t(0)));
    assert_eq!(held.state, RequestState::Active);
    let (code, msg) = err(ask(&e, &ferris, "ops", Some(60), None, t(1)));
    assert_eq!(code, ErrorCode::Conflict);
    assert!(
        msg.contains(&format!("grant {} is active", held.id))
            && msg.contains(&format!("`elevate extend {} --for D`", held.id)),
        "{msg}"
    );
    // Just-in-time actions are one command run each: never a conflict.
    let once = view(action(
        &e,
        &ferris,
        "ops",
        &["/usr/bin/systemctl", "restart", "x"],
        2,
    ));
    assert_eq!(once.state, RequestState::Active);
    let again = view(action(
        &e,
        &ferris,
        "ops",
        &["/usr/bin/systemctl", "restart", "x"],
        2,
    ));
    assert_eq!(again.state, RequestState::Active);

    let pending = view(ask(&e, &ferris, "gated", Some(60), None, t(3)));
    assert_eq!(pending.state, RequestState::Pending);
    let (code, msg) = err(ask(&e, &ferris, "gated", Some(60), None, t(4)));
    assert_eq!(code, ErrorCode::Conflict);
    assert!(
        msg.contains(&format!("request {} is pending", pending.id))
            && msg.contains(&format!("`elevate show {}`", pending.id)),
        "{msg}"
    );
    // Nothing was recorded for the refused ones.
    let requested = events(&e).iter().filter(|ev| *ev == "requested").count();
    assert_eq!(requested, 4);

    // A window that has ended counts for nothing, even before the timer
    // has marked it expired.
    let next = view(ask(&e, &ferris, "ops", Some(60), None, t(600)));
    assert_eq!(next.state, RequestState::Active);
    assert_ne!(next.id, held.id);
}

#[test]
fn a_role_of_actions_only_is_run_not_requested() {
    let e = env();
    let mut cfg = (*e.engine.config()).clone();
    let mut restart = role("restart");
    restart.sudo = None;
    restart.actions = vec![Command::Path {
        path: "/usr/bin/systemctl".into(),
        args: None,
    }];
    restart.action_duration = Duration::from_secs(120);
    cfg.policy
        .roles
        .insert(RoleName::parse("restart").unwrap(), restart);
    cfg.policy.push_rule(rule("restart", 0, 9));
    e.engine.set_config(cfg);
    let ferris = peer("ferris", 4242);
    let (code, msg) = err(ask(&e, &ferris, "restart", None, None, t(0)));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(
        msg.contains("only just-in-time actions")
            && msg.contains("`elevate run --role restart -- COMMAND`"),
        "{msg}"
    );
    let once = view(action(
        &e,
        &ferris,
        "restart",
        &["/usr/bin/systemctl", "restart", "x"],
        1,
    ));
    assert_eq!(once.state, RequestState::Active);
    assert_eq!(once.duration_secs, 120);
    let Response::Roles { roles, .. } = e.engine.handle(&ferris, Request::Roles {}, t(2)) else {
        panic!("no roles")
    };
    let offer = roles.iter().find(|o| o.role == "restart").unwrap();
    assert!(offer.actions_only);
    assert_eq!(offer.action_duration_secs, Some(120));
    let ops = roles.iter().find(|o| o.role == "ops").unwrap();
    assert!(!ops.actions_only, "ops gives sudo rights too");
    assert_eq!(ops.action_duration_secs, Some(300));
}

#[test]
fn cancel_and_revoke_point_to_each_other() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let boss = peer("boss", 100);
    let active = view(ask(&e, &ferris, "ops", Some(600), None, t(0)));
    let (code, msg) = err(e
        .engine
        .handle(&ferris, Request::Cancel { id: id(&active) }, t(1)));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(
        msg.contains(&format!("`elevate revoke {}`", active.id)),
        "{msg}"
    );

    let pending = view(ask(&e, &ferris, "gated", Some(60), None, t(2)));
    let (code, msg) = err(e
        .engine
        .handle(&ferris, Request::Revoke { id: id(&pending) }, t(3)));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(
        msg.contains(&format!("`elevate cancel {}`", pending.id)),
        "{msg}"
    );
    let (code, msg) = err(e
        .engine
        .handle(&boss, Request::Revoke { id: id(&pending) }, t(3)));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(
        msg.contains(&format!("`elevate deny {}`", pending.id)),
        "{msg}"
    );
    // Neither changed anything.
    assert_eq!(
        view(
            e.engine
                .handle(&ferris, Request::Show { id: id(&pending) }, t(4))
        )
        .state,
        RequestState::Pending
    );
}

#[test]
fn the_requester_reads_why_it_was_denied() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "gated", Some(60), None, t(0)));
    let d = view(deny(
        &e,
        &peer("boss", 100),
        &v,
        Some("not during the freeze"),
        t(1),
    ));
    assert_eq!(d.state, RequestState::Denied);
    assert_eq!(d.message, "denied by boss: not during the freeze");
    let seen = view(e.engine.handle(&ferris, Request::Show { id: id(&v) }, t(2)));
    assert_eq!(seen.message, "denied by boss: not during the freeze");
}

#[test]
fn break_glass_is_called_break_glass() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(
        &e,
        &ferris,
        "glass",
        Some(600),
        Some("prod down"),
        t(0),
    ));
    assert!(v.break_glass);
    assert!(v.message.contains("break-glass"), "{}", v.message);
    assert!(!v.message.contains("automatic"), "{}", v.message);
}

#[test]
fn an_extension_refused_at_the_maximum_answers_with_the_grant() {
    let e = env();
    let ferris = peer("ferris", 4242);
    // The window already reaches the role's maximum (1h) from now.
    let v = view(ask(&e, &ferris, "ops", Some(3600), None, t(0)));
    let x = view(extend(&e, &ferris, &v, 600, None, 0));
    assert_eq!(x.state, RequestState::Active);
    assert_eq!(x.expires_at, v.expires_at, "unchanged");
    assert_eq!(x.extension_secs, None);
    assert!(
        x.message.starts_with("extension refused: ")
            && x.message
                .contains("already runs as long as role ops allows"),
        "{}",
        x.message
    );
    assert_eq!(events(&e).last().unwrap(), "extension_refused");
    // The grant keeps its own message.
    let seen = view(
        e.engine
            .handle(&ferris, Request::Show { id: id(&v) }, t(11)),
    );
    assert_eq!(seen.message, v.message);
}

#[test]
fn approvers_list_what_they_may_see_and_read_what_they_did() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let boss = peer("boss", 100);
    let mallory = peer("mallory", 666);
    let active = view(ask(&e, &ferris, "ops", Some(600), None, t(0)));
    let pending = view(ask(&e, &ferris, "gated", Some(60), None, t(1)));
    let mut open = list(&e, &boss, false, false);
    open.sort();
    let mut want = vec![active.id.clone(), pending.id.clone()];
    want.sort();
    assert_eq!(open, want, "the open requests of roles boss approves");
    assert!(list(&e, &mallory, false, false).is_empty());
    assert!(list(&e, &mallory, false, true).is_empty());

    let denied = view(deny(&e, &boss, &pending, None, t(2)));
    assert_eq!(denied.state, RequestState::Denied);
    assert_eq!(list(&e, &boss, false, false), vec![active.id.clone()]);
    assert_eq!(
        list(&e, &boss, false, true).len(),
        2,
        "--all: the denied one too"
    );

    // boss's decision is among the audit rows boss may read; mallory's
    // rows are none of these.
    let rows = |who: &super::Peer| match e.engine.handle(
        who,
        Request::Audit(AuditQuery {
            since: None,
            limit: None,
        }),
        t(3),
    ) {
        Response::Audit { rows, .. } => rows,
        other => panic!("{other:?}"),
    };
    let theirs = rows(&boss);
    assert!(
        theirs
            .iter()
            .any(|r| r.event == "denial" && r.request.as_deref() == Some(pending.id.as_str())),
        "{theirs:?}"
    );
    assert!(theirs.iter().all(|r| r.event == "denial"), "{theirs:?}");
    assert!(rows(&mallory).is_empty());
}

#[test]
fn a_withdrawn_extension_keeps_its_round() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let boss = peer("boss", 100);
    let v = view(ask(&e, &ferris, "gated", Some(600), None, t(0)));
    let v = view(approve(&e, &boss, &v, t(1)));
    assert_eq!(v.state, RequestState::Active);
    let text = |at: i64| match e.engine.handle(
        &boss,
        Request::DecisionText(DecisionTextQuery {
            id: id(&v),
            decision: Verdict::Approve,
        }),
        t(at),
    ) {
        Response::Text { text } => text,
        other => panic!("{other:?}"),
    };
    let x = view(extend(&e, &ferris, &v, 300, None, 10));
    assert_eq!(x.extension_secs, Some(300));
    let first = text(10);
    assert!(first.contains("round: 1\n"), "{first}");
    let w = view(
        e.engine
            .handle(&ferris, Request::Cancel { id: id(&v) }, t(11)),
    );
    assert_eq!(w.extension_secs, None);
    let _ = view(extend(&e, &ferris, &v, 300, None, 12));
    let second = text(12);
    // The same extension asked again is a new round: whatever was signed
    // or approved for the withdrawn one does not count for it.
    assert!(second.contains("round: 2\n"), "{second}");
    assert_ne!(first, second);
}
