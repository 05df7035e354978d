//! What `elevate` writes on stderr, whatever the failure: every line starts
//! with `elevate: ` (clap's usage and hint lines too); help and version go
//! to stdout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use elevated_proto::{RequestState, DEFAULT_SOCKET};
use support::*;

/// Asserts that `stderr` is not empty and every line has the prefix.
fn all_prefixed(stderr: &str) {
    assert!(!stderr.is_empty());
    for line in stderr.lines() {
        assert!(line.starts_with("elevate: "), "{line:?} in\n{stderr}");
    }
}

#[test]
fn usage_errors_prefix_every_line() {
    for args in [
        &["status", "--bogus"][..],
        &["request"],
        &[],
        &["--socket"],
        &["audit", "--limit", "10001"],
        &["request", "ops", "--for", "500ms"],
    ] {
        let out = elevate().args(args).output().unwrap();
        assert_eq!(status(&out), 2, "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        all_prefixed(&text(&out.stderr));
    }
    let out = elevate().args(["status", "--bogus"]).output().unwrap();
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("elevate: Usage: elevate status [OPTIONS]"),
        "{stderr}"
    );
    let out = elevate().output().unwrap();
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("elevate: a subcommand is required\n"),
        "{stderr}"
    );
}

#[test]
fn json_usage_errors_are_one_object_and_prefixed_lines() {
    for args in [&["--json", "status", "--bogus"][..], &["--json"]] {
        let out = elevate().args(args).output().unwrap();
        assert_eq!(status(&out), 2, "{args:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["error"]["code"], "usage", "{v}");
        all_prefixed(&text(&out.stderr));
    }
}

#[test]
fn help_and_version_go_to_stdout() {
    for args in [&["--help"][..], &["request", "--help"], &["--version"]] {
        let out = elevate().args(args).output().unwrap();
        assert_eq!(status(&out), 0, "{args:?}");
        assert!(!out.stdout.is_empty() && out.stderr.is_empty(), "{args:?}");
    }
}

#[test]
fn a_window_under_a_second_is_refused_before_the_daemon_is_asked() {
    let fake = Fake::start(vec![one(view(RequestState::Active, "db-admin"))]);
    for args in [
        &["request", "db-admin", "--for", "500ms"][..],
        &["extend", "k3f9x2ma", "--for", "0.5s"],
    ] {
        let out = fake.run(args);
        assert_eq!(status(&out), 2, "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("shorter than one second"), "{stderr}");
    }
    assert!(fake.seen().is_empty(), "{:?}", fake.seen());
}

#[test]
fn an_empty_socket_variable_means_the_default_socket() {
    let out = elevate()
        .env("ELEVATE_SOCKET", "")
        .arg("status")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    // Whether a daemon listens there is up to the host; the empty value
    // must not be taken for a path, nor refused.
    assert_ne!(status(&out), 2, "{stderr}");
    if status(&out) == 69 {
        assert!(stderr.contains(DEFAULT_SOCKET), "{stderr}");
    }
}
