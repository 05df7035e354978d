use super::*;

use std::path::Path;

/// Whether `pid` is gone (or only a zombie waiting for its new parent).
fn dead(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state follows the command name in parentheses.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
    }
}

/// Whether `pid` is gone within a few seconds: SIGKILL takes effect when
/// the process is next scheduled, which on a loaded machine is not at once.
fn dies(pid: &str) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !dead(pid) {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn sh(script: &str) -> Command {
    let mut c = Command::new("/bin/sh");
    c.arg("-c").arg(script);
    c
}

#[test]
fn a_finished_child_gives_its_status_and_output() {
    let limits = Limits {
        stdin: Some(b"to stdout\n".to_vec()),
        capture_stdout: true,
        ..Limits::timeout(Duration::from_secs(10))
    };
    let done = run(&mut sh("cat; echo complaint >&2; exit 3"), &limits).unwrap();
    assert_eq!(done.status.code(), Some(3));
    assert_eq!(done.stdout, "to stdout\n");
    assert_eq!(done.stderr.trim(), "complaint");
}

#[test]
fn a_hung_child_and_everything_it_started_are_killed_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    // The shell starts a grandchild that holds the error pipe open, then
    // waits for it: killing the shell alone would leave both running.
    let script = format!(
        "echo starting >&2; sleep 300 & echo $! > {}; wait",
        pidfile.display()
    );
    // Long enough for the shell to have started under a loaded test run.
    let err = run(&mut sh(&script), &Limits::timeout(Duration::from_secs(2))).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, RunError::TimedOut { .. }), "{err:?}");
    assert!(msg.contains("/bin/sh did not finish within 2s"), "{msg}");
    assert!(msg.contains("starting"), "{msg}");
    let grandchild = std::fs::read_to_string(&pidfile).unwrap();
    assert!(dies(grandchild.trim()), "sleep {grandchild} still runs");
}

#[test]
fn a_child_that_ignores_sigterm_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let script = format!(
        "trap '' TERM; echo $$ > {}; while :; do :; done",
        pidfile.display()
    );
    // Long enough for the shell to have written its pid under load.
    let err = run(&mut sh(&script), &Limits::timeout(Duration::from_secs(1))).unwrap_err();
    assert!(matches!(err, RunError::TimedOut { .. }), "{err:?}");
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    assert!(dies(pid.trim()), "sh {pid} still runs");
}

#[test]
fn a_stop_request_kills_the_child() {
    let stop = || true;
    let limits = Limits {
        stop: Some(&stop),
        ..Limits::timeout(Duration::from_secs(300))
    };
    let err = run(&mut sh("sleep 300"), &limits).unwrap_err();
    assert!(matches!(err, RunError::Stopped { .. }), "{err:?}");
}

#[test]
fn a_missing_program_is_named() {
    let err = run(
        &mut Command::new(Path::new("/nonexistent/visudo")),
        &Limits::timeout(Duration::from_secs(1)),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot start /nonexistent/visudo"),
        "{err}"
    );
}

#[test]
fn after_an_overstay_the_program_waits_one_timeout_before_it_runs_again() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let script = format!("echo run >> {}; sleep 300", runs.display());
    let backoff = Backoff::default();
    let limits = Limits::timeout(Duration::from_millis(300));
    let first = backoff.run(&mut sh(&script), &limits).unwrap_err();
    assert!(matches!(first, RunError::TimedOut { .. }), "{first:?}");
    let second = backoff.run(&mut sh(&script), &limits).unwrap_err();
    assert!(matches!(second, RunError::Skipped { .. }), "{second:?}");
    assert!(
        second.to_string().starts_with("/bin/sh was not started"),
        "{second}"
    );
    assert_eq!(std::fs::read_to_string(&runs).unwrap().lines().count(), 1);
    // Once the back-off has passed it is tried again; a clone shares it.
    std::thread::sleep(Duration::from_millis(350));
    let done = backoff.clone().run(&mut sh("exit 0"), &limits).unwrap();
    assert!(done.status.success());
}
