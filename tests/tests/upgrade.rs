//! A state database written by release 0.1.0, served by this daemon: the
//! stored audit rows (their event names and details are hashed into the
//! chain) still verify, and the requests in it are listed and shown.
//! The fixture is `daemon/tests/fixtures/state-0.1.0.db` (see
//! daemon/src/engine/upgrade_tests.rs for what it holds).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::PermissionsExt;

use elevated_testkit::output::json;
use elevated_tests::daemon::text;
use elevated_tests::{require_root, Daemon};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../daemon/tests/fixtures/state-0.1.0.db"
);

#[test]
fn a_database_of_the_previous_release_verifies_and_is_served() {
    require_root();
    let mut d = Daemon::new("");
    let state = d.dir.path().join("state");
    fs::create_dir(&state).unwrap();
    fs::set_permissions(&state, fs::Permissions::from_mode(0o700)).unwrap();
    fs::copy(FIXTURE, state.join("elevated.db")).unwrap();
    d.start();

    let out = d.elevate(None, &["audit", "--verify"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("34 rows verified"), "{stdout}");

    let all = json(&d.elevate(None, &["--json", "list", "--all"]));
    let rows = all["requests"].as_array().unwrap();
    let mut states: Vec<&str> = rows.iter().map(|r| r["state"].as_str().unwrap()).collect();
    states.sort_unstable();
    assert_eq!(
        states,
        [
            "cancelled",
            "denied",
            "denied",
            "expired",
            "expired",
            "revoked",
            "timed_out"
        ]
    );
    for r in rows {
        let id = r["id"].as_str().unwrap();
        let shown = json(&d.elevate(None, &["--json", "show", id]));
        assert_eq!(shown["state"], r["state"], "{shown}");
    }
    let audit = json(&d.elevate(None, &["--json", "audit", "--limit", "100"]));
    let events: Vec<&str> = audit["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    assert_eq!(events.len(), 34, "{events:?}");
    assert_eq!(events.first(), Some(&"requested"));
    assert_eq!(events.last(), Some(&"expired"));
}
