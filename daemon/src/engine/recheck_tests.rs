//! Approval never bypasses policy: the decision re-checked at activation
//! and on reload, with the requester looked up afresh.

use elevated_proto::{
    DecisionTextQuery, ErrorCode, ExtendBy, GroupName, Request, RequestState, RoleName,
};

use super::testkit::{
    account, approve, ask, configure, env, err, events, file, id, peer, peer_in, role, rule, t,
    view, Env,
};
use crate::config::Loaded;
use crate::policy::{Command, Effect, Policy, Who};

/// The configuration in force, changed by `f`, as a reload at `now`.
fn reload(e: &Env, now: jiff::Timestamp, f: impl FnOnce(&mut Loaded)) {
    let mut cfg = (*e.engine.config()).clone();
    f(&mut cfg);
    e.engine.reload(cfg, now);
}

/// Role `gated` (one approval) for members of group `dba` only.
fn gated_for_dba(cfg: &mut Loaded) {
    let mut p = Policy::default();
    p.roles
        .insert(RoleName::parse("gated").unwrap(), role("gated"));
    let mut r = rule("gated", 1, 1);
    r.who = Some(Who {
        groups: Some(vec![GroupName::parse("dba").unwrap()]),
        ..Who::default()
    });
    p.push_rule(r);
    cfg.policy = p;
}

fn show(e: &Env, v: &elevated_proto::RequestView) -> elevated_proto::RequestView {
    view(
        e.engine
            .handle(&peer("root", 0), Request::Show { id: id(v) }, t(50)),
    )
}

#[test]
fn an_approval_after_the_requester_left_the_group_is_refused() {
    let e = env();
    configure(&e, gated_for_dba);
    e.accounts
        .lock()
        .unwrap()
        .insert(4242, account("ferris", 4242, &["dba"]));
    let ferris = peer_in("ferris", 4242, &["dba"]);
    let v = view(ask(&e, &ferris, "gated", Some(60), None, t(0)));
    assert_eq!(v.state, RequestState::Pending);

    // ferris leaves dba; the approver does not know.
    e.accounts
        .lock()
        .unwrap()
        .insert(4242, account("ferris", 4242, &[]));
    let (code, msg) = err(approve(&e, &peer("boss", 100), &v, t(10)));
    assert_eq!(code, ErrorCode::Forbidden, "{msg}");
    assert!(msg.contains("can no longer be granted"), "{msg}");
    assert!(msg.contains("10-t.toml"), "names the rule: {msg}");
    assert!(msg.contains("dba"), "says why: {msg}");
    let now = show(&e, &v);
    assert_eq!(now.state, RequestState::Denied);
    assert!(
        now.message.contains("policy no longer allows it"),
        "{}",
        now.message
    );
    assert!(!file(&e, &v).exists());
    assert!(events(&e).contains(&"denied".to_owned()));
}

#[test]
fn an_approval_for_a_uid_now_someone_else_is_refused() {
    let e = env();
    let v = view(ask(
        &e,
        &peer("ferris", 4242),
        "gated",
        Some(60),
        None,
        t(0),
    ));
    e.accounts
        .lock()
        .unwrap()
        .insert(4242, account("imposter", 4242, &[]));
    let (code, msg) = err(approve(&e, &peer("boss", 100), &v, t(10)));
    assert_eq!(code, ErrorCode::Forbidden, "{msg}");
    assert!(msg.contains("now belongs to imposter"), "{msg}");
    assert!(!file(&e, &v).exists());
}

#[test]
fn a_reload_adding_a_deny_rule_closes_pending_requests() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let gated = view(ask(&e, &ferris, "gated", Some(60), None, t(0)));
    let two = view(ask(&e, &ferris, "two", Some(60), None, t(0)));
    reload(&e, t(5), |cfg| {
        let mut deny = rule("gated", 0, 9);
        deny.effect = Effect::Deny;
        cfg.policy.push_rule(deny);
    });
    let closed = show(&e, &gated);
    assert_eq!(closed.state, RequestState::Denied);
    assert!(
        closed.message.starts_with("policy changed: "),
        "{}",
        closed.message
    );
    assert!(
        closed.message.contains("denied by 10-t.toml"),
        "{}",
        closed.message
    );
    // What the new policy still allows stays pending.
    assert_eq!(show(&e, &two).state, RequestState::Pending);
    let (code, _) = err(approve(&e, &peer("boss", 100), &gated, t(10)));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(!file(&e, &gated).exists());
}

#[test]
fn the_grant_never_exceeds_what_the_role_gives_at_activation() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "gated", Some(60), None, t(0)));
    let text = match e.engine.handle(
        &peer("boss", 100),
        Request::DecisionText(DecisionTextQuery {
            id: id(&v),
            decision: elevated_proto::Verdict::Approve,
        }),
        t(1),
    ) {
        elevated_proto::Response::Text { text } => text,
        other => panic!("{other:?}"),
    };
    assert!(text.contains("commands: [\"/usr/bin/id\"]"), "{text}");

    // The role narrows (without the reload's own check).
    let narrow = |cfg: &mut Loaded| {
        let gated = RoleName::parse("gated").unwrap();
        if let Some(sudo) = cfg
            .policy
            .roles
            .get_mut(&gated)
            .and_then(|r| r.sudo.as_mut())
        {
            sudo.commands = vec![Command::Path {
                path: "/usr/bin/whoami".into(),
                args: None,
            }];
        }
    };
    configure(&e, narrow);
    let (code, msg) = err(approve(&e, &peer("boss", 100), &v, t(10)));
    assert_eq!(code, ErrorCode::Forbidden, "{msg}");
    assert!(msg.contains("no longer gives /usr/bin/id"), "{msg}");
    assert!(!file(&e, &v).exists());

    // Through a reload the request is closed at once.
    let w = view(ask(&e, &ferris, "two", Some(60), None, t(20)));
    reload(&e, t(21), |cfg| {
        let two = RoleName::parse("two").unwrap();
        if let Some(r) = cfg.policy.roles.get_mut(&two) {
            r.sudo = None;
        }
    });
    let closed = show(&e, &w);
    assert_eq!(closed.state, RequestState::Denied);
    assert!(
        closed.message.contains("no longer gives sudo"),
        "{}",
        closed.message
    );
}

#[test]
fn an_extension_policy_no_longer_allows_is_dropped_and_the_grant_keeps_its_end() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let boss = peer("boss", 100);
    let v = view(ask(&e, &ferris, "gated", Some(600), None, t(0)));
    let v = view(approve(&e, &boss, &v, t(10)));
    assert_eq!(v.state, RequestState::Active);
    let end = v.expires_at.clone();
    let before = std::fs::read_to_string(file(&e, &v)).unwrap();
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

    // A deny rule arrives without the reload's own check.
    configure(&e, |cfg| {
        let mut deny = rule("gated", 0, 9);
        deny.effect = Effect::Deny;
        cfg.policy.push_rule(deny);
    });
    let (code, msg) = err(approve(&e, &boss, &v, t(110)));
    assert_eq!(code, ErrorCode::Forbidden, "{msg}");
    assert!(msg.contains("denied by 10-t.toml"), "{msg}");
    let now = show(&e, &v);
    assert_eq!(now.state, RequestState::Active);
    assert_eq!(now.extension_secs, None);
    assert_eq!(now.expires_at, end);
    assert_eq!(std::fs::read_to_string(file(&e, &v)).unwrap(), before);
    assert!(events(&e).contains(&"extension_denied".to_owned()));
}

#[test]
fn a_reload_drops_a_pending_extension_the_new_policy_refuses() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "gated", Some(600), None, t(0)));
    let v = view(approve(&e, &peer("boss", 100), &v, t(10)));
    let end = v.expires_at.clone();
    let _ = view(e.engine.handle(
        &ferris,
        Request::Extend(ExtendBy {
            id: id(&v),
            duration_secs: 300,
            reason: None,
        }),
        t(100),
    ));
    reload(&e, t(105), |cfg| {
        let mut deny = rule("gated", 0, 9);
        deny.effect = Effect::Deny;
        cfg.policy.push_rule(deny);
    });
    let now = show(&e, &v);
    assert_eq!(now.state, RequestState::Active, "the grant itself stays");
    assert_eq!(now.extension_secs, None);
    assert_eq!(now.expires_at, end);
    assert!(now.message.contains("policy changed"), "{}", now.message);
}
