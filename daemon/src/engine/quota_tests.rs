//! What one uid can make the daemon write: command lines checked whatever
//! the role, refusals summarised past their bound, a `limit` error past
//! the rate.

use elevated_proto::{ErrorCode, NewRequest, Request, RequestState, Response, RoleName};

use super::testkit::{ask, configure, env, err, events, peer, t, view, Env};
use crate::store::audit;

fn ask_command(e: &Env, role: &str, command: Vec<String>, secs: i64) -> Response {
    e.engine.handle(
        &peer("ferris", 4242),
        Request::Request(NewRequest {
            role: RoleName::parse(role).unwrap(),
            duration_secs: Some(60),
            command: Some(command),
            reason: Some("r".repeat(1024)),
            ticket: None,
        }),
        t(secs),
    )
}

fn words(n: usize, len: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("/w{i}{}", "a".repeat(len.saturating_sub(4))))
        .collect()
}

#[test]
fn an_unknown_roles_command_is_checked_before_anything_is_recorded() {
    let e = env();
    for (command, why) in [
        (words(34, 8), "arguments"),
        (words(3, 2000), "bytes long"),
        (words(33, 200), "bytes long"),
        (
            vec!["/bin/sh".into(), "-c".into(), "id; id".into()],
            "letters",
        ),
        (Vec::new(), "empty"),
    ] {
        let (code, message) = err(ask_command(&e, "no-such-role", command, 0));
        assert_eq!(code, ErrorCode::BadRequest, "{message}");
        assert!(message.contains(why), "{message}");
    }
    assert!(events(&e).is_empty(), "{:?}", events(&e));
    // The largest line the checks let through is refused by policy, and
    // recorded as such.
    let v = view(ask_command(&e, "no-such-role", words(33, 124), 0));
    assert_eq!(v.state, RequestState::Denied);
}

#[test]
fn refusals_past_the_bound_are_summarised_in_one_audit_row() {
    let e = env();
    let bound = e.engine.config().settings.limits.refusals_per_minute;
    let mut recorded = 0;
    for i in 0..bound + 15 {
        match ask_command(&e, "no-such-role", words(2, 10), 0) {
            Response::Request { request } => {
                assert_eq!(request.state, RequestState::Denied);
                recorded += 1;
            }
            other => {
                let (code, message) = err(other);
                assert_eq!(code, ErrorCode::Forbidden, "{i}: {message}");
                assert!(message.contains("refusals_summarised"), "{message}");
            }
        }
    }
    assert_eq!(recorded, bound);
    let requested = events(&e).iter().filter(|e| *e == "requested").count();
    assert_eq!(requested, bound);
    assert!(!events(&e).contains(&"refusals_summarised".to_owned()));
    // Written once the minute is over, by reconciliation (or the next
    // refusal): one row with the count.
    let _ = e.engine.reconcile(t(61)).unwrap();
    let st = e.engine.lock();
    let rows = audit::list(st.store.conn(), None, 1000, None).unwrap();
    let summaries: Vec<_> = rows
        .iter()
        .filter(|r| r.event == "refusals_summarised")
        .collect();
    assert_eq!(summaries.len(), 1, "{summaries:?}");
    let detail: serde_json::Value = serde_json::from_str(&summaries[0].detail).unwrap();
    assert_eq!(detail["count"], 15, "{detail}");
    assert_eq!(detail["uid"], 4242, "{detail}");
    assert_eq!(summaries[0].actor, "ferris");
}

#[test]
fn past_the_rate_a_request_is_refused_with_a_limit_error_before_it_is_recorded() {
    let e = env();
    configure(&e, |cfg| cfg.settings.limits.requests_per_minute = 3);
    let ferris = peer("ferris", 4242);
    // Three roles: one account holds one grant of a role at a time.
    for (i, role) in (0..).zip(["ops", "needs-reason", "glass"]) {
        let v = view(ask(&e, &ferris, role, Some(60), Some("r"), t(i)));
        assert_eq!(v.state, RequestState::Active);
    }
    let before = events(&e).len();
    let (code, message) = err(ask(&e, &ferris, "gated", Some(60), None, t(10)));
    assert_eq!(code, ErrorCode::Limit, "{message}");
    assert!(message.contains("requests_per_minute"), "{message}");
    assert_eq!(events(&e).len(), before);
    // The next minute starts afresh.
    let v = view(ask(&e, &ferris, "gated", Some(60), None, t(61)));
    assert_eq!(v.state, RequestState::Pending);
}
