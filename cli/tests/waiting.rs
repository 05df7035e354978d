//! Waiting and talking back against the scripted fake daemon: extensions,
//! the re-authentication conversation, Ctrl-C while waiting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::{Command, Stdio};

use elevated_proto::{
    ErrorCode, ExtendBy, PromptStyle, Request, RequestState, RequestView, Response,
};
use serde_json::Value;
use support::*;

fn active_until(end: &str) -> RequestView {
    let mut v = view(RequestState::Active, "db-admin");
    v.expires_at = Some(end.into());
    v
}

fn extension_pending() -> RequestView {
    let mut v = active_until("2099-01-31T10:30:00Z");
    v.extension_secs = Some(1800);
    v.approvals_needed = 1;
    v
}

#[test]
fn extension_granted_at_once_exits_0() {
    let fake = Fake::start(vec![
        one(active_until("2099-01-31T10:30:00Z")),
        one(active_until("2099-01-31T11:00:00Z")),
    ]);
    let out = fake.run(&["extend", "k3f9x2ma", "--for", "30m", "--reason", "not done"]);
    assert_eq!(status(&out), 0, "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("2099-01-31T11:00:00Z"));
    assert_eq!(
        fake.seen(),
        [
            Request::Show { id: id("k3f9x2ma") },
            Request::Extend(ExtendBy {
                id: id("k3f9x2ma"),
                duration_secs: 1800,
                reason: Some("not done".into()),
            })
        ]
    );
}

#[test]
fn extension_pending_exits_3_without_waiting() {
    let fake = Fake::start(vec![
        one(active_until("2099-01-31T10:30:00Z")),
        one(extension_pending()),
    ]);
    let out = fake.run(&["--json", "extend", "k3f9x2ma", "--for", "30m", "--no-wait"]);
    assert_eq!(status(&out), 3);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["extension_secs"], 1800);
    assert!(text(&out.stderr).contains("pending approval"));
    assert_eq!(fake.seen().len(), 2);
}

#[test]
fn extension_waited_for_then_granted_exits_0() {
    let fake = Fake::start(vec![
        one(active_until("2099-01-31T10:30:00Z")),
        one(extension_pending()),
        one(active_until("2099-01-31T11:00:00Z")),
    ]);
    let out = fake.run(&["extend", "k3f9x2ma", "--for", "30m"]);
    assert_eq!(status(&out), 0, "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("extension +30m pending, approvals 0/1"));
    assert!(matches!(fake.seen()[2], Request::Wait { .. }));
}

#[test]
fn extension_refused_exits_1() {
    let fake = Fake::start(vec![
        one(active_until("2099-01-31T10:30:00Z")),
        one(active_until("2099-01-31T10:30:00Z")),
        one(active_until("2099-01-31T10:30:00Z")),
        error(ErrorCode::Forbidden, "no rule allows extending db-admin"),
    ]);
    let out = fake.run(&["extend", "k3f9x2ma", "--for", "30m"]);
    assert_eq!(status(&out), 1);
    assert!(
        text(&out.stderr).contains("was refused"),
        "{}",
        text(&out.stderr)
    );
    let out = fake.run(&["extend", "k3f9x2ma", "--for", "30m"]);
    assert_eq!(status(&out), 1);
    assert!(text(&out.stderr).contains("no rule allows"));
}

#[test]
fn reauthentication_prompts_are_answered_on_the_same_connection() {
    let fake = Fake::start(vec![
        answer(Response::Prompt {
            style: PromptStyle::Secret,
            text: "Password: ".into(),
        }),
        answer(Response::Prompt {
            style: PromptStyle::Info,
            text: "Touch your security key".into(),
        }),
        one(view(RequestState::Active, "db-admin")),
    ]);
    let out = fake.run_stdin(&["request", "db-admin"], b"hunter2\nmore input\n");
    assert_eq!(status(&out), 0, "{}", text(&out.stderr));
    let seen = fake.seen();
    assert!(matches!(seen[0], Request::Request { .. }), "{seen:?}");
    assert_eq!(
        seen[1..],
        [
            Request::Answer {
                text: Some("hunter2".into())
            },
            Request::Answer { text: None },
        ]
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!stdout.contains("hunter2") && !stderr.contains("hunter2"));
    assert!(stderr.contains("elevate: Password: "), "{stderr}");
    assert!(
        stderr.contains("elevate: Touch your security key"),
        "{stderr}"
    );
    assert!(stdout.starts_with("k3f9x2ma active: db-admin"), "{stdout}");
}

#[test]
fn no_answer_gives_up_and_long_answers_exit_2() {
    let prompt = || {
        answer(Response::Prompt {
            style: PromptStyle::Secret,
            text: "Password:".into(),
        })
    };
    let fake = Fake::start(vec![
        prompt(),
        error(ErrorCode::Forbidden, "re-authentication failed"),
        prompt(),
    ]);
    let out = fake.run_stdin(&["request", "db-admin"], b"");
    assert_eq!(status(&out), 1);
    assert_eq!(fake.seen()[1], Request::Answer { text: None });
    let mut long = vec![b'p'; 1025];
    long.push(b'\n');
    let out = fake.run_stdin(&["request", "db-admin"], &long);
    assert_eq!(status(&out), 2);
    assert!(text(&out.stderr).contains("at most 1024 bytes"));
    assert_eq!(fake.seen().len(), 3);
}

#[test]
fn ctrl_c_without_a_terminal_leaves_the_request_pending() {
    let fake = Fake::start(vec![
        one(view(RequestState::Pending, "db-admin")),
        Step::Silent,
    ]);
    let child = fake.spawn(&["request", "db-admin"], Stdio::null());
    fake.wait_seen(2);
    assert!(matches!(fake.seen()[1], Request::Wait { .. }));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(status(&out), 3, "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("k3f9x2ma pending: db-admin"));
    assert!(text(&out.stderr).contains("elevate show k3f9x2ma"));
    assert!(!fake
        .seen()
        .iter()
        .any(|r| matches!(r, Request::Cancel { .. })));
}
