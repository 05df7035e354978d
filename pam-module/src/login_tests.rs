//! The core against a scripted handle and a fake daemon: every result.

use std::time::{Duration, Instant};

use elevated_proto::{
    LoginQuery, LoginVerdict, Request, RequestState, Response, SessionEvent, WaitFor,
};

use crate::account::NOT_ANSWERING;
use crate::core::{account, session, LogLevel, PamResult};
use crate::options::{FailMode, Options};
use crate::testutil::{login, pending, view, Event, FakeDaemon, FakeOptions, ScriptEnv, Step};

fn nowhere() -> Options {
    Options {
        socket: "/nonexistent/elevated.sock".into(),
        timeout: Duration::from_millis(500),
        ..Options::default()
    }
}

fn role(o: &mut Options) {
    o.request = Some(elevated_proto::RoleName::parse("login").unwrap());
}

/// The `request_role` and `reason` of a `Login` request.
fn login_fields(r: &Request) -> (Option<String>, Option<String>) {
    match r {
        Request::Login(LoginQuery {
            request_role,
            reason,
            ..
        }) => (request_role.as_ref().map(|r| r.to_string()), reason.clone()),
        other => panic!("not a login: {other:?}"),
    }
}

#[test]
fn allow_is_success_and_carries_the_pam_items() {
    let d = FakeDaemon::new(vec![Step::Answer(login(LoginVerdict::Allow, "grant g1"))]);
    let mut env = ScriptEnv::new("alice", vec![]);
    assert_eq!(account(&mut env, &d.options(), false), PamResult::Success);
    let seen = d.requests();
    assert_eq!(seen.len(), 1);
    match &seen[0] {
        Request::Login(LoginQuery {
            user,
            service,
            rhost,
            tty,
            request_role,
            reason,
        }) => {
            assert_eq!((user.as_str(), service.as_str()), ("alice", "sshd"));
            assert_eq!(rhost.as_deref(), Some("192.0.2.7"));
            assert!(tty.is_none() && request_role.is_none() && reason.is_none());
        }
        other => panic!("{other:?}"),
    }
    assert!(env.logged(LogLevel::Info, "grant g1"));
}

#[test]
fn deny_shows_the_daemons_message() {
    let msg = "alice needs an active grant of a login role (ops) to log in here";
    let d = FakeDaemon::new(vec![Step::Answer(login(LoginVerdict::Deny, msg))]);
    let mut env = ScriptEnv::new("alice", vec![Event::Error("needs an active grant")]);
    assert_eq!(
        account(&mut env, &d.options(), false),
        PamResult::PermDenied
    );
}

#[test]
fn silent_flag_shows_nothing() {
    let d = FakeDaemon::new(vec![Step::Answer(login(LoginVerdict::Deny, "no"))]);
    let mut env = ScriptEnv::new("alice", vec![]);
    assert_eq!(account(&mut env, &d.options(), true), PamResult::PermDenied);
}

#[test]
fn root_passes_without_asking() {
    let d = FakeDaemon::new(vec![Step::Answer(login(LoginVerdict::Deny, "no"))]);
    let mut env = ScriptEnv::new("root", vec![]);
    env.root = true;
    assert_eq!(account(&mut env, &d.options(), false), PamResult::Success);
    std::thread::sleep(Duration::from_millis(50));
    assert!(d.requests().is_empty());
    // Also with the daemon gone and failing closed.
    assert_eq!(account(&mut env, &nowhere(), false), PamResult::Success);
}

#[test]
fn no_user_is_user_unknown() {
    let mut env = ScriptEnv::new("x", vec![]);
    env.user = None;
    assert_eq!(account(&mut env, &nowhere(), false), PamResult::UserUnknown);
    assert_eq!(session(&mut env, &nowhere(), true), PamResult::Ignore);
}

#[test]
fn unreachable_fails_closed() {
    let mut env = ScriptEnv::new("alice", vec![Event::Error(NOT_ANSWERING)]);
    let start = Instant::now();
    assert_eq!(account(&mut env, &nowhere(), false), PamResult::PermDenied);
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(env.logged(LogLevel::Warning, "no answer from elevated about alice"));
}

#[test]
fn unreachable_fails_open_when_told() {
    let mut env = ScriptEnv::new("alice", vec![]);
    let opts = Options {
        fail: FailMode::Open,
        ..nowhere()
    };
    assert_eq!(account(&mut env, &opts, false), PamResult::Success);
    assert!(env.logged(LogLevel::Notice, "fail=open"));
}

#[test]
fn exempt_group_passes_when_unreachable_only() {
    let opts = Options {
        exempt_groups: vec!["wheel".into(), "breakglass".into()],
        ..nowhere()
    };
    let mut member = ScriptEnv::new("carol", vec![]);
    member.groups = vec!["breakglass".into()];
    assert_eq!(account(&mut member, &opts, false), PamResult::Success);
    assert!(member.logged(LogLevel::Notice, "exempt group"));

    let mut other = ScriptEnv::new("dave", vec![Event::Error(NOT_ANSWERING)]);
    other.groups = vec!["users".into()];
    assert_eq!(account(&mut other, &opts, false), PamResult::PermDenied);

    // When the daemon answers, its word stands.
    let d = FakeDaemon::new(vec![Step::Answer(login(LoginVerdict::Deny, "not exempt"))]);
    let opts = Options {
        exempt_groups: vec!["breakglass".into()],
        ..d.options()
    };
    let mut member = ScriptEnv::new("carol", vec![Event::Error("not exempt")]);
    member.groups = vec!["breakglass".into()];
    assert_eq!(account(&mut member, &opts, false), PamResult::PermDenied);
}

#[test]
fn garbage_and_unexpected_answers_fail_closed() {
    let cases = vec![
        Step::Garbage(b"\x00\x00\x00\x05hello".to_vec()),
        Step::Garbage(b"\xff\xff\xff\xff".to_vec()),
        Step::Garbage(Vec::new()),
        Step::OtherVersion,
        Step::Answer(Response::Pong {
            daemon_version: "0".into(),
            host: "h".into(),
        }),
        Step::Answer(Response::Error {
            code: elevated_proto::ErrorCode::Forbidden,
            message: "only root".into(),
        }),
    ];
    for step in cases {
        let d = FakeDaemon::new(vec![step]);
        let mut env = ScriptEnv::new("alice", vec![Event::Error(NOT_ANSWERING)]);
        let start = Instant::now();
        assert_eq!(
            account(&mut env, &d.options(), false),
            PamResult::PermDenied
        );
        assert!(start.elapsed() < Duration::from_secs(2));
        // And open when told.
        let d2 = FakeDaemon::new(vec![Step::Garbage(b"junk".to_vec())]);
        let opts = Options {
            fail: FailMode::Open,
            ..d2.options()
        };
        let mut env = ScriptEnv::new("alice", vec![]);
        assert_eq!(account(&mut env, &opts, false), PamResult::Success);
    }
}

#[test]
fn a_daemon_that_never_answers_is_bounded_by_the_timeout() {
    let d = FakeDaemon::new(vec![Step::Silent]);
    let opts = Options {
        timeout: Duration::from_millis(300),
        ..d.options()
    };
    let mut env = ScriptEnv::new("alice", vec![Event::Error(NOT_ANSWERING)]);
    let start = Instant::now();
    assert_eq!(account(&mut env, &opts, false), PamResult::PermDenied);
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(250), "{took:?}");
    assert!(took < Duration::from_millis(900), "{took:?}");
}

#[test]
fn request_asks_a_reason_and_pending_then_approved_is_success() {
    let id = "abcd2345";
    let d = FakeDaemon::new(vec![
        Step::Answer(login(LoginVerdict::Deny, "needs a grant")),
        Step::Answer(pending(view(id, RequestState::Pending))),
        Step::Answer(Response::Request {
            request: view(id, RequestState::Pending),
        }),
        Step::Answer(Response::Request {
            request: view(id, RequestState::Active),
        }),
        Step::Answer(login(LoginVerdict::Allow, "allowed by grant")),
    ]);
    let mut opts = d.options();
    role(&mut opts);
    opts.wait = Duration::from_secs(10);
    let mut env = ScriptEnv::new(
        "alice",
        vec![
            Event::Prompt("Reason for this login", Some("  INC-7 disk full \n")),
            Event::Info("Request abcd2345 for role login is waiting for approval by users bob"),
            Event::Info("Waiting up to 10 seconds"),
        ],
    );
    assert_eq!(account(&mut env, &opts, false), PamResult::Success);
    let seen = d.requests();
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(login_fields(&seen[0]), (None, None));
    assert_eq!(
        login_fields(&seen[1]),
        (Some("login".into()), Some("INC-7 disk full".into()))
    );
    assert!(
        matches!(&seen[2], Request::Wait(WaitFor { id: i, timeout_ms }) if i.as_str() == id && *timeout_ms <= 2000)
    );
    // The last question files nothing new.
    assert_eq!(login_fields(&seen[4]), (None, None));
    // No connection is kept open while the user types.
    assert_eq!(d.connections.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[test]
fn pending_until_the_wait_runs_out_is_denied_within_the_budget() {
    let id = "wxyz2345";
    let d = FakeDaemon::new(vec![
        Step::Answer(login(LoginVerdict::Deny, "needs a grant")),
        Step::Answer(pending(view(id, RequestState::Pending))),
        Step::Hold(view(id, RequestState::Pending)),
        Step::Answer(login(LoginVerdict::Deny, "needs a grant")),
    ]);
    let mut opts = d.options();
    role(&mut opts);
    opts.wait = Duration::from_secs(3);
    let mut env = ScriptEnv::new(
        "alice",
        vec![
            Event::Prompt("Reason", Some("because")),
            Event::Info("waiting for approval"),
            Event::Info("Waiting up to 3 seconds"),
            Event::Error("Request wxyz2345 is still waiting for approval"),
        ],
    );
    let start = Instant::now();
    assert_eq!(account(&mut env, &opts, false), PamResult::PermDenied);
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(2500), "{took:?}");
    assert!(
        took <= opts.wait + opts.timeout + Duration::from_millis(300),
        "{took:?}"
    );
    let waits = d
        .requests()
        .iter()
        .filter(|r| matches!(r, Request::Wait { .. }))
        .count();
    assert!(waits >= 2, "polled in short steps: {waits}");
}

#[test]
fn pending_and_denied_by_an_approver_says_so() {
    let id = "dddd2345";
    let d = FakeDaemon::new(vec![
        Step::Answer(pending(view(id, RequestState::Pending))),
        Step::Answer(Response::Request {
            request: view(id, RequestState::Denied),
        }),
        Step::Answer(login(LoginVerdict::Deny, "needs a grant")),
    ]);
    let mut opts = d.options();
    opts.wait = Duration::from_secs(5);
    let mut env = ScriptEnv::new(
        "alice",
        vec![
            Event::Info("waiting for approval"),
            Event::Info("Waiting up to 5 seconds"),
            Event::Error("Request dddd2345 is denied"),
        ],
    );
    assert_eq!(account(&mut env, &opts, false), PamResult::PermDenied);
}

#[test]
fn pending_without_wait_is_denied_at_once() {
    let id = "pppp2345";
    let d = FakeDaemon::new(vec![
        Step::Answer(login(LoginVerdict::Deny, "needs a grant")),
        Step::Answer(pending(view(id, RequestState::Pending))),
    ]);
    let mut opts = d.options();
    role(&mut opts);
    let mut env = ScriptEnv::new(
        "alice",
        vec![
            Event::Prompt("Reason", None),
            Event::Info("Request pppp2345 for role login is waiting"),
            Event::Error("log in again once it is approved"),
        ],
    );
    assert_eq!(account(&mut env, &opts, false), PamResult::PermDenied);
    assert_eq!(login_fields(&d.requests()[1]), (Some("login".into()), None));
}

#[test]
fn request_without_a_conversation_files_without_a_reason() {
    let d = FakeDaemon::new(vec![
        Step::Answer(login(LoginVerdict::Deny, "needs a grant")),
        Step::Answer(login(LoginVerdict::Deny, "a reason is required")),
    ]);
    let mut opts = d.options();
    role(&mut opts);
    let mut env = ScriptEnv::new("alice", vec![]);
    env.conversation = false;
    assert_eq!(account(&mut env, &opts, false), PamResult::PermDenied);
    assert_eq!(login_fields(&d.requests()[1]), (Some("login".into()), None));
    assert!(env.logged(LogLevel::Notice, "a reason is required"));
}

#[test]
fn request_approved_at_once_is_success() {
    let d = FakeDaemon::new(vec![
        Step::Answer(login(LoginVerdict::Deny, "needs a grant")),
        Step::Answer(login(LoginVerdict::Allow, "granted")),
    ]);
    let mut opts = d.options();
    role(&mut opts);
    let mut env = ScriptEnv::new("alice", vec![Event::Prompt("Reason", Some("x"))]);
    assert_eq!(account(&mut env, &opts, false), PamResult::Success);
}

#[test]
fn a_daemon_going_silent_during_the_wait_stays_within_the_budget() {
    let id = "ssss2345";
    let d = FakeDaemon::new(vec![
        Step::Answer(pending(view(id, RequestState::Pending))),
        Step::Silent,
    ]);
    let mut opts = d.options();
    opts.timeout = Duration::from_millis(400);
    opts.wait = Duration::from_secs(1);
    let mut env = ScriptEnv::new(
        "alice",
        vec![
            Event::Info("waiting for approval"),
            Event::Info("Waiting up to 1 second for"),
            Event::Error(NOT_ANSWERING),
        ],
    );
    let start = Instant::now();
    assert_eq!(account(&mut env, &opts, false), PamResult::PermDenied);
    let took = start.elapsed();
    assert!(
        took <= opts.wait + opts.timeout + Duration::from_millis(300),
        "{took:?}"
    );
}

#[test]
fn sessions_never_fail() {
    let d = FakeDaemon::new(vec![
        Step::Answer(login(LoginVerdict::Allow, "session_open recorded")),
        Step::Answer(login(LoginVerdict::Allow, "session_close recorded")),
    ]);
    let mut env = ScriptEnv::new("alice", vec![]);
    assert_eq!(session(&mut env, &d.options(), true), PamResult::Success);
    assert_eq!(session(&mut env, &d.options(), false), PamResult::Success);
    let seen = d.requests();
    assert!(
        matches!(&seen[0], Request::Session(SessionEvent { open: true, user, .. }) if user == "alice")
    );
    assert!(matches!(
        &seen[1],
        Request::Session(SessionEvent { open: false, .. })
    ));

    assert_eq!(session(&mut env, &nowhere(), true), PamResult::Ignore);
    let g = FakeDaemon::new(vec![Step::Garbage(b"junk".to_vec())]);
    assert_eq!(session(&mut env, &g.options(), true), PamResult::Ignore);
    let s = FakeDaemon::new(vec![Step::Silent]);
    let start = Instant::now();
    assert_eq!(session(&mut env, &s.options(), false), PamResult::Ignore);
    assert!(start.elapsed() < Duration::from_secs(1));
}
