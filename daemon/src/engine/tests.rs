//! The state machine's main paths: grants, windows, approvals,
//! extensions, break-glass and actions (helpers in [`super::testkit`]).

use elevated_proto::{
    DecisionTextQuery, ErrorCode, ExtendBy, ListFilter, NewRequest, Request, RequestState,
    Response, ReviewNote, RoleName,
};

use super::testkit::*;
use super::Peer;
use crate::store::audit;

#[test]
fn grant_then_expire_exactly_at_the_end() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "ops", Some(90), Some("x"), t(0)));
    assert_eq!(v.state, RequestState::Active);
    assert_eq!(v.duration_secs, 90);
    assert!(file(&e, &v).exists());
    let text = std::fs::read_to_string(file(&e, &v)).unwrap();
    assert!(text.contains("ferris ALL = (root) NOTAFTER="), "{text}");
    assert_eq!(e.engine.next_deadline(), Some(t(90).as_millisecond()));

    assert_eq!(e.engine.expire_due(t(89)).unwrap(), 0);
    assert!(file(&e, &v).exists());
    assert_eq!(e.engine.expire_due(t(90)).unwrap(), 1);
    assert!(!file(&e, &v).exists());
    let after = view(
        e.engine
            .handle(&ferris, Request::Show { id: id(&v) }, t(91)),
    );
    assert_eq!(after.state, RequestState::Expired);
    assert_eq!(events(&e), ["requested", "granted", "expired"]);
    assert!(e.engine.next_deadline().is_none());
    let st = e.engine.lock();
    assert_eq!(audit::verify(st.store.conn()).unwrap().first_bad, None);
}

#[test]
fn a_uid_nss_does_not_know_may_look_but_not_act() {
    let e = env();
    let ghost = Peer::new(4_000_000_321, Some(1));
    // Looking needs only the uid: nothing of theirs exists.
    match e.engine.handle(&ghost, Request::Status {}, t(0)) {
        Response::Requests { requests, .. } => assert!(requests.is_empty()),
        other => panic!("{other:?}"),
    }
    // Acting needs a name, for the policy and the audit trail.
    let (code, msg) = err(ask(&e, &ghost, "ops", Some(60), None, t(0)));
    assert_eq!(code, ErrorCode::Forbidden);
    assert!(msg.starts_with("who are you?"), "{msg}");
    assert!(events(&e).is_empty(), "nothing recorded for nobody");
}

#[test]
fn durations_clamp_and_zero_is_refused() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "ops", Some(10 * 3600), None, t(0)));
    assert_eq!(v.duration_secs, 3600, "clamped to the role's max");
    let v = view(ask(&e, &ferris_no(1), "ops", None, None, t(0)));
    assert_eq!(v.duration_secs, 600, "the role's default");
    let (code, msg) = err(ask(&e, &ferris, "ops", Some(0), None, t(0)));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(msg.contains("one second"), "{msg}");
}

#[test]
fn refused_requests_are_recorded_and_write_nothing() {
    let e = env();
    let mallory = peer("mallory", 666);
    let v = view(ask(&e, &mallory, "ops", Some(60), None, t(0)));
    assert_eq!(v.state, RequestState::Denied);
    assert!(!file(&e, &v).exists());
    assert_eq!(events(&e), ["requested", "denied"]);
}

#[test]
fn requester_text_is_bounded_and_checked() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let (code, msg) = err(ask(
        &e,
        &ferris,
        "ops",
        Some(60),
        Some(&"x".repeat(2000)),
        t(0),
    ));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(msg.contains("limit is 1024"), "{msg}");
    let (_, msg) = err(ask(&e, &ferris, "ops", Some(60), Some("a\u{1b}[2Jb"), t(0)));
    assert!(msg.contains("control character"), "{msg}");
    let (_, msg) = err(ask(&e, &ferris, "needs-reason", Some(60), None, t(0)));
    assert!(msg.contains("requires a reason"), "{msg}");
    let v = view(ask(
        &e,
        &ferris,
        "needs-reason",
        Some(60),
        Some("line\nline"),
        t(0),
    ));
    assert_eq!(v.state, RequestState::Active);
}

#[test]
fn pending_requests_are_bounded_cancellable_and_time_out() {
    let e = env();
    let ferris = peer("ferris", 4242);
    gated_roles(&e, 5);
    let first = view(ask(&e, &ferris, "gated", Some(60), None, t(0)));
    assert_eq!(first.state, RequestState::Pending);
    assert_eq!(first.approvals_needed, 1);
    for i in 1..5 {
        let role = format!("gated-{i}");
        assert_eq!(
            view(ask(&e, &ferris, &role, Some(60), None, t(0))).state,
            RequestState::Pending
        );
    }
    let (code, _) = err(ask(&e, &ferris, "gated-5", Some(60), None, t(0)));
    assert_eq!(code, ErrorCode::Limit);

    // Someone else cannot cancel it, or even see it.
    let (code, _) = err(e.engine.handle(
        &peer("mallory", 666),
        Request::Cancel { id: id(&first) },
        t(1),
    ));
    assert_eq!(code, ErrorCode::NotFound);
    let c = view(
        e.engine
            .handle(&ferris, Request::Cancel { id: id(&first) }, t(1)),
    );
    assert_eq!(c.state, RequestState::Cancelled);
    let (code, msg) = err(e
        .engine
        .handle(&ferris, Request::Cancel { id: id(&first) }, t(2)));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(msg.contains("cancelled"), "{msg}");

    // The default pending_ttl is one hour.
    assert_eq!(e.engine.expire_due(t(3599)).unwrap(), 0);
    assert_eq!(e.engine.expire_due(t(3600)).unwrap(), 4);
    let st = e.engine.lock();
    let pending = crate::store::requests::pending_count(st.store.conn(), 4242).unwrap();
    assert_eq!(pending, 0);
}

#[test]
fn revoke_by_holder_or_root_only() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "ops", Some(600), None, t(0)));
    let (code, _) =
        err(e
            .engine
            .handle(&peer("mallory", 666), Request::Revoke { id: id(&v) }, t(1)));
    assert_eq!(code, ErrorCode::NotFound);
    assert!(file(&e, &v).exists());
    let r = view(
        e.engine
            .handle(&peer("root", 0), Request::Revoke { id: id(&v) }, t(2)),
    );
    assert_eq!(r.state, RequestState::Revoked);
    assert!(!file(&e, &v).exists());
    assert!(r.message.contains("revoked by root"));
    let (code, _) = err(e
        .engine
        .handle(&ferris, Request::Revoke { id: id(&v) }, t(3)));
    assert_eq!(code, ErrorCode::BadRequest);
}

#[test]
fn reconcile_repairs_the_host() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let keep = view(ask(&e, &ferris, "ops", Some(600), None, t(0)));
    let edited = view(ask(&e, &ferris_no(1), "ops", Some(600), None, t(0)));
    let late = view(ask(&e, &ferris_no(2), "ops", Some(60), None, t(0)));
    let dir = e.dir.path().join("sudoers.d");
    std::fs::remove_file(file(&e, &keep)).unwrap();
    std::fs::write(file(&e, &edited), "ferris ALL=(ALL) NOPASSWD: ALL\n").unwrap();
    std::fs::write(dir.join("elevated_zzzz2345"), "# stray\n").unwrap();
    std::fs::write(dir.join("elevated_abcd2345.tmp"), "# half-written\n").unwrap();
    std::fs::write(dir.join("other-admin-file"), "# not ours\n").unwrap();

    let report = e.engine.reconcile(t(120)).unwrap();
    assert_eq!(report.expired, 1);
    let mut rewritten = report.rewritten.clone();
    rewritten.sort();
    let mut want = vec![keep.id.clone(), edited.id.clone()];
    want.sort();
    assert_eq!(rewritten, want);
    assert_eq!(
        report.removed,
        ["elevated_abcd2345.tmp", "elevated_zzzz2345"]
    );
    assert!(file(&e, &keep).exists());
    assert!(!std::fs::read_to_string(file(&e, &edited))
        .unwrap()
        .contains("(ALL)"));
    assert!(!file(&e, &late).exists());
    assert!(dir.join("other-admin-file").exists());
    // A second pass finds nothing to do.
    assert_eq!(e.engine.reconcile(t(121)).unwrap(), Default::default());
}

#[test]
fn a_grant_visudo_rejects_is_not_granted() {
    let e = env_with("/bin/false");
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "ops", Some(60), None, t(0)));
    assert_eq!(v.state, RequestState::Denied);
    assert!(v.message.contains("could not be applied"), "{}", v.message);
    assert!(std::fs::read_dir(e.dir.path().join("sudoers.d"))
        .unwrap()
        .next()
        .is_none());
    assert_eq!(events(&e), ["requested", "grant_failed"]);
}

#[test]
fn two_approvers_activate_and_the_window_starts_at_activation() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "two", Some(600), None, t(0)));
    assert_eq!(v.state, RequestState::Pending, "{}", v.message);
    assert_eq!(v.approvals_needed, 2);
    assert!(v.approvers.as_deref().unwrap().contains("group leads"));
    assert!(!file(&e, &v).exists());

    // Nobody approves their own request, even though ferris is listed.
    let (code, msg) = err(approve(&e, &ferris, &v, t(1)));
    assert_eq!(code, ErrorCode::Forbidden);
    assert!(msg.contains("their own"), "{msg}");
    // Not an approver.
    let (code, _) = err(approve(&e, &peer("mallory", 666), &v, t(1)));
    assert_eq!(code, ErrorCode::NotFound);
    // Root is not an approver unless listed.
    let (code, msg) = err(approve(&e, &peer("root", 0), &v, t(1)));
    assert_eq!(code, ErrorCode::Forbidden, "{msg}");

    let boss = peer("boss", 100);
    let one = view(approve(&e, &boss, &v, t(10)));
    assert_eq!(one.state, RequestState::Pending);
    assert_eq!(one.approvals_given, 1);
    // The same person counts once.
    let (code, msg) = err(approve(&e, &boss, &v, t(11)));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(msg.contains("counts once"), "{msg}");
    // A group member completes it; the window starts now, not at the request.
    let lead = peer_in("carol", 101, &["leads"]);
    let done = view(approve(&e, &lead, &v, t(100)));
    assert_eq!(done.state, RequestState::Active);
    assert_eq!(done.approvals_given, 2);
    assert_eq!(done.starts_at.as_deref(), Some(t(100).to_string().as_str()));
    assert_eq!(
        done.expires_at.as_deref(),
        Some(t(700).to_string().as_str())
    );
    assert!(file(&e, &v).exists());
    let ev = events(&e);
    assert_eq!(
        ev,
        ["requested", "pending", "approval", "approval", "granted"]
    );
}

#[test]
fn one_denial_closes_and_late_approvals_are_refused() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "two", Some(600), None, t(0)));
    let d = view(deny(&e, &peer("boss", 100), &v, Some("no"), t(5)));
    assert_eq!(d.state, RequestState::Denied);
    assert!(d.message.contains("denied by boss"));
    assert!(!file(&e, &v).exists());
    let (code, _) = err(approve(&e, &peer_in("carol", 101, &["leads"]), &v, t(6)));
    assert_eq!(code, ErrorCode::BadRequest);

    // A request whose wait ended can no longer be approved.
    let p = view(ask(&e, &ferris, "gated", Some(60), None, t(0)));
    assert_eq!(e.engine.expire_due(t(3600)).unwrap(), 1);
    let (code, msg) = err(approve(&e, &peer("boss", 100), &p, t(3601)));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(msg.contains("timed_out"), "{msg}");
}

#[test]
fn approvers_see_what_they_can_decide() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "gated", Some(60), Some("deploy"), t(0)));
    let list = |who: &Peer| match e.engine.handle(
        who,
        Request::List(ListFilter {
            pending: true,
            all: false,
            unreviewed: false,
        }),
        t(1),
    ) {
        Response::Requests { requests, .. } => {
            requests.into_iter().map(|r| r.id).collect::<Vec<_>>()
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(list(&peer("boss", 100)), vec![v.id.clone()]);
    assert_eq!(list(&ferris), vec![v.id.clone()]);
    assert!(list(&peer("mallory", 666)).is_empty());
    let text = match e.engine.handle(
        &peer("boss", 100),
        Request::DecisionText(DecisionTextQuery {
            id: id(&v),
            decision: elevated_proto::Verdict::Approve,
        }),
        t(1),
    ) {
        Response::Text { text } => text,
        other => panic!("{other:?}"),
    };
    for want in [
        "decision: approve",
        &format!("request: {}", v.id),
        "host: testhost",
        "requester: ferris (uid 4242)",
        "role: gated",
        "duration: 60s",
        "run-as: root\ncommands: [\"/usr/bin/id\"]\nnopasswd: yes\ngroups: -\nlogin: no\n",
        "valid-until: ",
    ] {
        assert!(text.contains(want), "{want} missing in {text}");
    }
}

#[test]
fn extension_moves_notafter_only_when_granted() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "ops", Some(600), None, t(0)));
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
    assert_eq!(x.state, RequestState::Active);
    assert_eq!(x.expires_at.as_deref(), Some(t(900).to_string().as_str()));
    let after = std::fs::read_to_string(file(&e, &v)).unwrap();
    assert_ne!(before, after);
    assert!(after.contains("NOTAFTER="));
    // The old end passes; the grant lives on until the new one.
    assert_eq!(e.engine.expire_due(t(600)).unwrap(), 0);
    assert!(file(&e, &v).exists());
    assert_eq!(e.engine.expire_due(t(900)).unwrap(), 1);
    assert!(!file(&e, &v).exists());
    // Capped: at most the role's max from now.
    let w = view(ask(&e, &ferris, "ops", Some(3000), None, t(1000)));
    let y = view(e.engine.handle(
        &ferris,
        Request::Extend(ExtendBy {
            id: id(&w),
            duration_secs: 3000,
            reason: None,
        }),
        t(1000),
    ));
    assert_eq!(y.expires_at.as_deref(), Some(t(4600).to_string().as_str()));
}

#[test]
fn extension_needing_approval_waits_and_can_be_denied() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "gated", Some(600), None, t(0)));
    let v = view(approve(&e, &peer("boss", 100), &v, t(10)));
    assert_eq!(v.state, RequestState::Active);
    let end = v.expires_at.clone();
    let x = view(e.engine.handle(
        &ferris,
        Request::Extend(ExtendBy {
            id: id(&v),
            duration_secs: 300,
            reason: Some("more".into()),
        }),
        t(100),
    ));
    assert_eq!(x.extension_secs, Some(300));
    assert_eq!(x.expires_at, end, "NOTAFTER moves only when granted");
    let d = view(deny(&e, &peer("boss", 100), &v, None, t(110)));
    assert_eq!(d.state, RequestState::Active);
    assert_eq!(d.extension_secs, None);
    assert_eq!(d.expires_at, end);
    // Ask again, approved this time.
    let _ = e.engine.handle(
        &ferris,
        Request::Extend(ExtendBy {
            id: id(&v),
            duration_secs: 300,
            reason: None,
        }),
        t(120),
    );
    let ok = view(approve(&e, &peer("boss", 100), &v, t(130)));
    assert_eq!(ok.extension_secs, None);
    assert_eq!(ok.expires_at.as_deref(), Some(t(910).to_string().as_str()));
}

#[test]
fn break_glass_grants_at_once_and_is_reviewed() {
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
    assert_eq!(v.state, RequestState::Active);
    assert!(v.break_glass);
    assert!(file(&e, &v).exists());
    let unreviewed = |who: &Peer| match e.engine.handle(
        who,
        Request::List(ListFilter {
            pending: false,
            all: false,
            unreviewed: true,
        }),
        t(1),
    ) {
        Response::Requests { requests, .. } => requests.len(),
        other => panic!("{other:?}"),
    };
    assert_eq!(unreviewed(&peer("boss", 100)), 1);
    let review = |who: &Peer| {
        e.engine.handle(
            who,
            Request::Review(ReviewNote {
                id: id(&v),
                comment: None,
            }),
            t(2),
        )
    };
    let (code, _) = err(review(&ferris));
    assert_eq!(code, ErrorCode::Forbidden);
    let r = view(review(&peer("boss", 100)));
    assert!(r.reviewed.unwrap().starts_with("boss at "));
    assert_eq!(unreviewed(&peer("boss", 100)), 0);
    assert!(events(&e).contains(&"break_glass".to_owned()));
    assert!(events(&e).contains(&"reviewed".to_owned()));
}

#[test]
fn just_in_time_actions_grant_exactly_one_command_line() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let action = |argv: &[&str]| {
        e.engine.handle(
            &ferris,
            Request::Request(NewRequest {
                role: RoleName::parse("ops").unwrap(),
                duration_secs: Some(3000),
                command: Some(argv.iter().map(|s| (*s).to_owned()).collect()),
                reason: None,
                ticket: None,
            }),
            t(0),
        )
    };
    let v = view(action(&["/usr/bin/systemctl", "restart", "nginx"]));
    assert_eq!(v.state, RequestState::Active);
    assert_eq!(
        v.duration_secs, 300,
        "an action's window is the role's action_duration"
    );
    let text = std::fs::read_to_string(file(&e, &v)).unwrap();
    assert!(
        text.contains("NOPASSWD: /usr/bin/systemctl restart nginx\n"),
        "{text}"
    );
    let (code, _) = err(action(&["/usr/bin/rm", "-rf", "/"]));
    assert_eq!(code, ErrorCode::Forbidden);
    let (code, msg) = err(action(&["/usr/bin/systemctl", "restart", "a b*"]));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(msg.contains("exactly its command line"), "{msg}");
    let (code, _) = err(action(&["/usr/bin/systemctl", "x\nferris ALL=(ALL) ALL"]));
    assert_eq!(code, ErrorCode::BadRequest);
}
