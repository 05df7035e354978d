//! One deadline per question: a daemon that answers a byte at a time,
//! each byte well within any per-read timeout, still cannot hold a login
//! past the module's `timeout=`.

use std::time::{Duration, Instant};

use elevated_proto::LoginVerdict;

use crate::account::NOT_ANSWERING;
use crate::core::{account, PamResult};
use crate::options::{FailMode, Options};
use crate::testutil::{login, Event, FakeDaemon, FakeOptions, ScriptEnv, Step};

/// An "allow" dripped at one byte per 50 ms: about 4 s in all, against a
/// timeout of 400 ms.
fn dripping_allow() -> FakeDaemon {
    FakeDaemon::new(vec![Step::Drip(
        login(LoginVerdict::Allow, "grant abcd2345 is active"),
        Duration::from_millis(50),
    )])
}

fn options(d: &FakeDaemon, fail: FailMode) -> Options {
    Options {
        timeout: Duration::from_millis(400),
        fail,
        ..d.options()
    }
}

#[test]
fn a_dripped_answer_fails_closed_within_the_timeout() {
    let d = dripping_allow();
    let mut env = ScriptEnv::new("alice", vec![Event::Error(NOT_ANSWERING)]);
    let start = Instant::now();
    let result = account(&mut env, &options(&d, FailMode::Closed), false);
    let took = start.elapsed();
    assert_eq!(result, PamResult::PermDenied, "after {took:?}");
    assert!(took < Duration::from_millis(800), "{took:?}");
}

#[test]
fn a_dripped_answer_fails_open_within_the_timeout_when_told() {
    let d = dripping_allow();
    let mut env = ScriptEnv::new("alice", vec![]);
    let start = Instant::now();
    let result = account(&mut env, &options(&d, FailMode::Open), false);
    let took = start.elapsed();
    assert_eq!(result, PamResult::Success);
    assert!(took < Duration::from_millis(800), "{took:?}");
}
