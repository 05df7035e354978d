//! `elevated explain` as an administrator types it: the times `elevate
//! audit --since` takes, only the session facts rules can name, the time
//! it decided at (never "now" for another time), and an exit status that
//! tells a refusal from a question it could not answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Output;

use elevated_tests::daemon::text;
use elevated_tests::{require_root, Daemon, TestUser};

/// Role `db` for `user` on weekdays, 08:00 to 18:00 UTC.
fn daemon(user: &TestUser) -> Daemon {
    let d = Daemon::new("");
    d.policy(
        "10-db.toml",
        &format!(
            "[roles.db]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\n\n\
             [[rules]]\nrole = \"db\"\nwho = {{ users = [\"{}\"] }}\n\
             when = {{ days = [\"mon-fri\"], hours = \"08:00-18:00\", tz = \"UTC\" }}\n",
            user.name
        ),
    );
    d
}

fn explain(d: &Daemon, user: &TestUser, more: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec!["explain", "--user", &user.name, "--role", "db"];
    args.extend_from_slice(more);
    let out: Output = d.elevated_cmd(&args);
    let (stdout, stderr) = text(&out);
    (out.status.code(), stdout, stderr)
}

fn line<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no {key} in {stdout}"))
}

#[test]
fn the_time_decided_at_is_said_and_never_called_now() {
    require_root();
    let alice = TestUser::new("a", &[]);
    let d = daemon(&alice);
    // A Saturday: denied, and the refusal names the time, not "now".
    let (code, stdout, stderr) = explain(&d, &alice, &["--at", "2026-11-28 10:00:00"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert_eq!(line(&stdout, "at:"), "at:       2026-11-28T10:00:00Z");
    let why = line(&stdout, "why:");
    assert!(why.contains(" at 2026-11-28T10:00:00Z: "), "{why}");
    assert!(!why.contains(" now"), "{why}");
    // Without --at: now, to the second.
    let (_, stdout, _) = explain(&d, &alice, &[]);
    let at = line(&stdout, "at:");
    assert!(at.ends_with("Z (now)") && !at.contains('.'), "{at}");
    // A duration means that long ago, as for `elevate audit --since`.
    let (code, stdout, stderr) = explain(&d, &alice, &["--at", "1day"]);
    assert!(matches!(code, Some(0 | 1)), "{stdout}{stderr}");
    let at = line(&stdout, "at:");
    assert!(!at.contains("now") && !at.contains('.'), "{at}");
    let (code, _, stderr) = explain(&d, &alice, &["--at", "last tuesday"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("RFC 3339") && stderr.contains("2h"),
        "{stderr}"
    );
}

#[test]
fn unknown_session_facts_are_refused() {
    require_root();
    let alice = TestUser::new("a", &[]);
    let d = daemon(&alice);
    let weekday = ["--at", "2026-11-24T10:00:00Z"];
    let with = |fact: &str| {
        let mut args = weekday.to_vec();
        args.extend_from_slice(&["--context", fact]);
        explain(&d, &alice, &args)
    };
    let (code, stdout, stderr) = with("sesion=remote");
    assert_eq!(code, Some(2), "{stdout}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("unknown fact \"sesion\"; known: session, service, tty, rhost"),
        "{stderr}"
    );
    let (code, stdout, stderr) = with("session=remote");
    assert_eq!(code, Some(0), "{stdout}{stderr}");
}

#[test]
fn a_configuration_that_does_not_load_is_not_a_refusal() {
    require_root();
    let alice = TestUser::new("a", &[]);
    let d = daemon(&alice);
    d.policy("20-bad.toml", "[roles.x]\nsudo = 3\n");
    let (code, stdout, stderr) = explain(&d, &alice, &[]);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("20-bad.toml"), "{stderr}");
}
