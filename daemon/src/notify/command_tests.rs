//! Command hooks, with small shell scripts in a temporary directory.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::config::CommandSettings;
use super::testutil::{event, Logs};
use super::*;
use elevated_testkit::poll::eventually;

const WAIT: Duration = Duration::from_secs(5);

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn settings(
    command: PathBuf,
    args: Vec<String>,
    events: Vec<EventKind>,
    timeout: Duration,
) -> NotifySettings {
    NotifySettings {
        queue: 10,
        retries: 3,
        backoff: Duration::from_millis(50),
        webhook: Vec::new(),
        command: vec![CommandSettings {
            command,
            args,
            events,
            timeout,
        }],
    }
}

fn arg(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

#[test]
fn a_hook_reads_the_event_json_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("event.json");
    let env = dir.path().join("env");
    let hook = script(
        dir.path(),
        "hook",
        "cat > \"$1.tmp\"; echo \"$ELEVATED_EVENT $ELEVATED_ID $PWD $2\" > \"$3\"; mv \"$1.tmp\" \"$1\"",
    );
    let n = Notifier::new(&settings(
        hook,
        vec![arg(&out), "two words".into(), arg(&env)],
        EventKind::ALL.to_vec(),
        Duration::from_secs(5),
    ))
    .unwrap();
    n.send(&event(EventKind::BreakGlass));
    assert!(eventually(WAIT, || out.exists()), "hook did not run");
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["event"], "break_glass");
    assert_eq!(v["reason"], event(EventKind::BreakGlass).reason.unwrap());
    assert_eq!(
        fs::read_to_string(&env).unwrap(),
        "break_glass k3f9x2ma / two words\n"
    );
    assert!(n.shutdown());
}

#[test]
fn a_hook_runs_only_for_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let hook = script(dir.path(), "hook", "echo \"$ELEVATED_EVENT\" >> \"$1\"");
    let n = Notifier::new(&settings(
        hook,
        vec![arg(&log)],
        vec![EventKind::Denied, EventKind::BreakGlass],
        Duration::from_secs(5),
    ))
    .unwrap();
    for kind in EventKind::ALL {
        n.send(&event(kind));
    }
    assert!(n.shutdown_within(WAIT));
    assert_eq!(fs::read_to_string(&log).unwrap(), "denied\nbreak_glass\n");
}

#[test]
fn a_hanging_hook_is_killed_after_its_timeout() {
    let logs = Logs::default();
    let _g = logs.capture();
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let done = dir.path().join("done");
    // The shell and a child of it that ignores SIGTERM: the whole group goes.
    let hook = script(
        dir.path(),
        "hang",
        "trap '' TERM; sleep 30 & echo \"$$ $!\" > \"$1\"; wait; touch \"$2\"",
    );
    let n = Notifier::new(&settings(
        hook,
        vec![arg(&pids), arg(&done)],
        EventKind::ALL.to_vec(),
        Duration::from_millis(300),
    ))
    .unwrap();
    let start = Instant::now();
    n.send(&event(EventKind::Expired));
    assert!(start.elapsed() < Duration::from_millis(50));
    assert!(
        logs.wait_for("killed after its timeout of 300ms", WAIT),
        "{}",
        logs.text()
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    let text = fs::read_to_string(&pids).unwrap();
    for pid in text.split_whitespace() {
        let gone = eventually(WAIT, || {
            fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z'))
            })
        });
        assert!(gone, "process {pid} survived");
    }
    assert!(!done.exists());
    let text = logs.text();
    assert!(text.contains("command 1 ("), "{text}");
    assert!(text.contains("id=k3f9x2ma"), "{text}");
}

#[test]
fn a_failing_hook_is_logged_with_its_stderr() {
    let logs = Logs::default();
    let _g = logs.capture();
    let dir = tempfile::tempdir().unwrap();
    let hook = script(
        dir.path(),
        "fail",
        "echo 'no pager configured' >&2; head -c 100000 /dev/zero | tr '\\0' x >&2; exit 3",
    );
    let n = Notifier::new(&settings(
        hook,
        vec![],
        EventKind::ALL.to_vec(),
        Duration::from_secs(5),
    ))
    .unwrap();
    n.send(&event(EventKind::Denied));
    assert!(n.shutdown_within(WAIT));
    let text = logs.text();
    let line = text
        .lines()
        .find(|l| l.contains("notification hook"))
        .unwrap_or_else(|| panic!("not logged: {text}"));
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("exit status: 3"), "{line}");
    assert!(line.contains("stderr: no pager configured"), "{line}");
    assert!(
        line.len() < 3000,
        "stderr not bounded: {} bytes",
        line.len()
    );
}

#[test]
fn a_missing_or_writable_hook_is_refused_and_logged() {
    let logs = Logs::default();
    let _g = logs.capture();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let open = script(dir.path(), "open", "touch \"$1\"");
    fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
    let mut s = settings(
        open,
        vec![arg(&marker)],
        EventKind::ALL.to_vec(),
        Duration::from_secs(5),
    );
    s.command.push(CommandSettings {
        command: dir.path().join("missing"),
        args: vec![],
        events: EventKind::ALL.to_vec(),
        timeout: Duration::from_secs(5),
    });
    let n = Notifier::new(&s).unwrap();
    n.send(&event(EventKind::Approved));
    assert!(n.shutdown_within(WAIT));
    assert!(!marker.exists(), "a group-writable hook ran");
    let text = logs.text();
    assert!(
        text.contains("refusing to run") && text.contains("is writable by group or others"),
        "{text}"
    );
    assert!(text.contains("missing: does not exist"), "{text}");
}

#[test]
fn a_slow_hook_does_not_delay_send() {
    let dir = tempfile::tempdir().unwrap();
    let hook = script(dir.path(), "slow", "sleep 1");
    let n = Notifier::new(&settings(
        hook,
        vec![],
        EventKind::ALL.to_vec(),
        Duration::from_secs(5),
    ))
    .unwrap();
    let start = Instant::now();
    for _ in 0..20 {
        n.send(&event(EventKind::RequestCreated));
    }
    assert!(start.elapsed() < Duration::from_millis(50));
    // Queue of 10, one running: the rest are dropped.
    assert!(n.dropped() >= 9, "{}", n.dropped());
    // Shutdown kills the running hook instead of waiting a second per event.
    let start = Instant::now();
    n.shutdown_within(Duration::from_millis(100));
    assert!(
        start.elapsed() < Duration::from_millis(900),
        "{:?}",
        start.elapsed()
    );
}

/// The attack this guards against: a hook path whose last component was
/// swapped for a link to a shell, which then runs the event JSON on
/// standard input, requester's reason included, as root.
#[test]
fn a_symlinked_hook_or_one_in_a_writable_directory_never_runs() {
    let logs = Logs::default();
    let _g = logs.capture();
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let marker = dir.path().join("ran");
    let link = dir.path().join("hook");
    std::os::unix::fs::symlink("/bin/sh", &link).unwrap();
    let open_dir = dir.path().join("open");
    fs::create_dir(&open_dir).unwrap();
    let inner = script(&open_dir, "hook", &format!("touch {}", marker.display()));
    fs::set_permissions(&open_dir, fs::Permissions::from_mode(0o777)).unwrap();
    let mut s = settings(
        link,
        vec![],
        EventKind::ALL.to_vec(),
        Duration::from_secs(5),
    );
    s.command.push(CommandSettings {
        command: inner,
        args: vec![],
        events: EventKind::ALL.to_vec(),
        timeout: Duration::from_secs(5),
    });
    let n = Notifier::new(&s).unwrap();
    let mut e = event(EventKind::Approved);
    e.reason = Some(format!("$(touch {})", marker.display()));
    n.send(&e);
    assert!(n.shutdown_within(WAIT));
    assert!(!marker.exists(), "a refused hook ran");
    let text = logs.text();
    assert!(text.contains("is a symbolic link"), "{text}");
    assert!(
        text.contains(&format!(
            "{} is writable by group or others",
            open_dir.display()
        )),
        "{text}"
    );
}

#[test]
fn a_hook_runs_from_its_checked_file_with_its_own_name_as_argv0() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("argv0");
    let hook = script(
        dir.path(),
        "hook",
        "echo \"$0 $#\" > \"$1.tmp\"; mv \"$1.tmp\" \"$1\"",
    );
    let n = Notifier::new(&settings(
        hook.clone(),
        vec![arg(&out)],
        EventKind::ALL.to_vec(),
        Duration::from_secs(5),
    ))
    .unwrap();
    n.send(&event(EventKind::Approved));
    assert!(eventually(WAIT, || out.exists()), "hook did not run");
    assert!(n.shutdown());
    // The shell reads the script through /dev/fd/N (the checked
    // descriptor), so $0 is that name; one argument came through.
    let text = fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("/dev/fd/"), "{text}");
    assert!(text.ends_with(" 1\n"), "{text}");
}
