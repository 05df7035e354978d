//! `elevated check-config`, `elevated explain`, built-in defaults, syslog.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use elevated_proto::{Client, Request, Response, Timeouts};
use elevated_tests::daemon::text;
use elevated_tests::{bin, require_root, Daemon, TestGroup, TestUser};

const GOOD: &str =
    "[roles.ops]\nsudo = { commands = [\"/usr/bin/id\"] }\n\n[[rules]]\nrole = \"ops\"\n";

#[test]
fn check_config_accepts_a_good_policy() {
    require_root();
    let d = Daemon::new("");
    d.policy("10-ops.toml", GOOD);
    let out = d.elevated_cmd(&["check-config"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("1 roles, 1 rules"), "{stdout}");
}

#[test]
fn check_config_rejects_sudoers_metacharacters_with_file_and_line() {
    require_root();
    let cases: &[(&str, &str, u32)] = &[
        ("role name with comma", "[roles.\"ops,admin\"]\nsudo = { commands = [\"/usr/bin/id\"] }\n", 1),
        ("role ALL", "\n[roles.ALL]\nsudo = { commands = [\"/usr/bin/id\"] }\n", 2),
        ("user with colon", "[roles.ops]\nsudo = { commands = [\"/usr/bin/id\"] }\n\n[[rules]]\nrole = \"ops\"\nwho = { users = [\"a:b\"] }\n", 6),
        ("user with equals", "[roles.ops]\nsudo = { commands = [\"/usr/bin/id\"] }\n[[rules]]\nrole = \"ops\"\nwho = { users = [\"x=y\"] }\n", 5),
        ("group with backslash", "[roles.ops]\nsudo = { commands = [\"/usr/bin/id\"] }\n[[rules]]\nrole = \"ops\"\nwho = { groups = [\"a\\\\b\"] }\n", 5),
        ("group with bang", "[roles.ops]\nsudo = { commands = [\"/usr/bin/id\"] }\n[[rules]]\nrole = \"ops\"\nwho = { groups = [\"!root\"] }\n", 5),
        ("user with hash", "[roles.ops]\nsudo = { commands = [\"/usr/bin/id\"] }\n[[rules]]\nrole = \"ops\"\nwho = { users = [\"#0\"] }\n", 5),
        ("user with space", "[roles.ops]\nsudo = { commands = [\"/usr/bin/id\"] }\n[[rules]]\nrole = \"ops\"\nwho = { users = [\"a b\"] }\n", 5),
        ("user with newline", "[roles.ops]\nsudo = { commands = [\"/usr/bin/id\"] }\n[[rules]]\nrole = \"ops\"\nwho = { users = [\"a\\nb\"] }\n", 5),
        ("runas ALL", "[roles.ops]\ndescription = \"x\"\nsudo = { runas = \"ALL\", commands = [\"/usr/bin/id\"] }\n", 3),
        ("relative command", "[roles.ops]\nsudo = { commands = [\"id\"] }\n", 2),
        ("command with comma", "[roles.ops]\nsudo = { commands = [\"/usr/bin/id, ALL\"] }\n", 2),
        ("unknown key", "[roles.ops]\nsudo = { commands = [\"/usr/bin/id\"] }\nsudoo = 1\n", 3),
        ("unknown role", "[roles.ops]\nsudo = { commands = [\"/usr/bin/id\"] }\n\n[[rules]]\nrole = \"opz\"\n", 5),
        ("bad duration", "[roles.ops]\nsudo = { commands = [\"/usr/bin/id\"] }\nmax_duration = \"forever\"\n", 3),
    ];
    let d = Daemon::new("");
    for (what, policy, line) in cases {
        for f in std::fs::read_dir(&d.policy_dir).unwrap() {
            std::fs::remove_file(f.unwrap().path()).unwrap();
        }
        d.policy("20-bad.toml", policy);
        let out = d.elevated_cmd(&["check-config"]);
        let (stdout, stderr) = text(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{what}: accepted\n{stdout}{stderr}"
        );
        let want = format!("20-bad.toml:{line}:");
        assert!(
            stderr.contains(&want),
            "{what}: expected {want} in:\n{stderr}"
        );
    }
}

#[test]
fn check_config_reports_errors_from_every_file() {
    require_root();
    let d = Daemon::new("");
    d.policy("10-a.toml", "[roles.a]\nsudo = { commands = [\"rel\"] }\n");
    d.policy(
        "20-b.toml",
        "[roles.b]\nsudo = { commands = [\"/usr/bin/id\"] }\ngroups = [\"ALL\"]\n",
    );
    let out = d.elevated_cmd(&["check-config"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("10-a.toml:2:"), "{stderr}");
    assert!(stderr.contains("20-b.toml:3:"), "{stderr}");
}

/// Like `visudo -c`: every problem of every file in one run, each as
/// `file:line: message`, whatever kind the first one is.
#[test]
fn check_config_reports_every_problem_of_a_file_in_one_run() {
    require_root();
    let d = Daemon::new("[limits]\nframe_tmeout = \"5s\"\n");
    d.policy(
        "10-a.toml",
        "[roles.a]\nsudoers = 1\nsudo = { runas = \"a:b\", commands = [\n  \"id\",\n  \"/bin/\",\n] }\n\
         max_duration = \"forever\"\n\n[[rules]]\nrole = \"a\"\nwho = { user = [\"x\"] }\neffect = \"permit\"\n",
    );
    d.policy(
        "20-b.toml",
        "[roles.b]\nlogin = \"yes\"\ngroups = [\"docker\"]\n",
    );
    let out = d.elevated_cmd(&["check-config"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let a = d.policy_dir.join("10-a.toml").display().to_string();
    let b = d.policy_dir.join("20-b.toml").display().to_string();
    let settings = d.config.display().to_string();
    let want = [
        format!("{settings}:"), // the unknown [limits] key
        format!("{a}:2: unknown field `sudoers`"),
        format!("{a}:3: sudo.runas: user name \"a:b\""),
        format!("{a}:4: sudo.commands: \"id\" is neither ALL nor an absolute path"),
        format!("{a}:5: sudo.commands: command path \"/bin/\" ends in '/'"),
        format!("{a}:7: max_duration: \"forever\" is not a duration"),
        format!("{a}:11: unknown field `user`"),
        format!("{a}:12: effect: \"permit\" is neither \"allow\" nor \"deny\""),
        format!("{b}:2: invalid type: string \"yes\", expected a boolean"),
        format!("{b}:3: groups: docker is a privileged group"),
    ];
    let lines: Vec<&str> = stderr.lines().collect();
    for w in &want {
        assert!(
            lines.iter().any(|l| l.starts_with(w.as_str())),
            "want {w:?} in:\n{stderr}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("unknown field `frame_tmeout`")),
        "{stderr}"
    );
    assert_eq!(lines.len(), want.len() + 1, "{stderr}");
    assert_eq!(
        lines.last().copied(),
        Some("elevated: the configuration has 10 errors"),
        "check-config changes nothing, so it does not say so: {stderr}"
    );
}

/// A directory the settings name that does not exist loads as empty:
/// check-config passes but says so (a mistyped `policy_dir` would
/// otherwise look like a policy that refuses everyone).
#[test]
fn check_config_warns_about_missing_directories() {
    require_root();
    let d = Daemon::new("");
    let p = d.dir.path();
    let settings = std::fs::read_to_string(&d.config)
        .unwrap()
        .replace("/policy.d\"", "/policy.d-typo\"")
        .replace("/users.d\"", "/users.d-typo\"");
    d.file("elevated.toml", &settings, 0o644);
    let out = d.elevated_cmd(&["check-config"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("0 roles, 0 rules"), "{stdout}");
    for w in [
        format!(
            "elevated: warning: [daemon] policy_dir {}/policy.d-typo does not exist: \
             the policy is empty and every request is refused",
            p.display()
        ),
        format!(
            "elevated: warning: [daemon] users_dir {}/users.d-typo does not exist: \
             no user has attributes or signing principals",
            p.display()
        ),
    ] {
        assert!(stderr.lines().any(|l| l == w), "want {w:?} in:\n{stderr}");
    }
    // The directories exist: no warning.
    let d = Daemon::new("");
    d.policy("10-ops.toml", GOOD);
    let out = d.elevated_cmd(&["check-config"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}

/// A command hook that is missing or cannot be executed would never run:
/// every notification would be lost while the daemon looks healthy.
#[test]
fn check_config_refuses_a_hook_that_is_missing_or_not_executable() {
    require_root();
    let hooks = tempfile::Builder::new().prefix("elvt-").tempdir().unwrap();
    std::fs::set_permissions(hooks.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let hook = hooks.path().join("page");
    let d = Daemon::new(&format!(
        "[[notify.command]]\ncommand = \"{}\"\n",
        hook.display()
    ));
    d.policy("10-ops.toml", GOOD);
    let check = || {
        let out = d.elevated_cmd(&["check-config"]);
        let (stdout, stderr) = text(&out);
        (out.status.code(), format!("{stdout}{stderr}"))
    };
    let (code, out) = check();
    assert_eq!(code, Some(1), "{out}");
    let missing = format!(
        "{}: [[notify.command]] 1 does not exist; install it or remove the hook",
        hook.display()
    );
    assert!(
        out.lines().any(|l| l == missing),
        "want {missing:?} in:\n{out}"
    );
    std::fs::write(&hook, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, out) = check();
    assert_eq!(code, Some(1), "{out}");
    let not_exec = format!(
        "{0}: [[notify.command]] 1 is not executable, so it would never run; run: chmod 0755 {0}",
        hook.display()
    );
    assert!(
        out.lines().any(|l| l == not_exec),
        "want {not_exec:?} in:\n{out}"
    );
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, out) = check();
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn the_daemon_refuses_to_start_on_a_bad_policy() {
    require_root();
    let d = Daemon::new("");
    d.policy(
        "10-bad.toml",
        "[roles.ops]\nsudo = { commands = [\"id\"] }\n",
    );
    let out = Command::new(bin("elevated"))
        .arg("--config")
        .arg(&d.config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("10-bad.toml:2:"), "{:?}", text(&out));
}

#[test]
fn explain_names_the_deciding_rule() {
    require_root();
    let g = TestGroup::new("dba");
    let member = TestUser::new("m", &[&g]);
    let other = TestUser::new("x", &[]);
    let d = Daemon::new("");
    d.policy(
        "10-db.toml",
        &format!(
            "[roles.db]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\nmax_duration = \"1h\"\n\n\
             [[rules]]\nrole = \"db\"\nwho = {{ groups = [\"{}\"] }}\n\
             when = {{ days = [\"mon-fri\"], hours = \"08:00-18:00\", tz = \"UTC\" }}\n",
            g.name
        ),
    );
    let at_work = "2026-11-24T10:00:00Z"; // a Tuesday
    let out = d.elevated_cmd(&[
        "explain",
        "--user",
        &member.name,
        "--role",
        "db",
        "--at",
        at_work,
        "--for",
        "3h",
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("decision: allow"), "{stdout}");
    assert!(stdout.contains("10-db.toml rule 1 (line 5)"), "{stdout}");
    assert!(stdout.contains("1h"), "clamped to max: {stdout}");
    let weekend = "2026-11-28T10:00:00Z"; // a Saturday
    let out = d.elevated_cmd(&[
        "explain",
        "--user",
        &member.name,
        "--role",
        "db",
        "--at",
        weekend,
    ]);
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    assert!(text(&out).0.contains("decision: deny"));
    let out = d.elevated_cmd(&[
        "explain",
        "--user",
        &other.name,
        "--role",
        "db",
        "--at",
        at_work,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).0.contains(&g.name), "{:?}", text(&out));
    assert!(!d.socket.exists(), "explain must not start anything");
}

#[test]
fn audit_rows_reach_syslog_as_authpriv() {
    require_root();
    let mut d = Daemon::new("");
    d.policy("10-ops.toml", GOOD);
    let log = UnixDatagram::bind(d.dir.path().join("syslog.sock")).unwrap();
    log.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    d.start();
    let out = d.elevate(
        None,
        &["request", "ops", "--for", "1m", "--reason", "line1\nline2"],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = log.recv(&mut buf) {
        let m = String::from_utf8_lossy(&buf[..n]).into_owned();
        let done = m.contains("event=granted");
        seen.push(m);
        if done {
            break;
        }
    }
    let requested = seen.iter().find(|m| m.contains("event=requested")).unwrap();
    assert!(requested.starts_with("<86>"), "authpriv.info: {requested}");
    assert!(requested.contains("elevated["), "{requested}");
    assert!(
        requested.contains("line1\\nline2"),
        "newline escaped: {requested}"
    );
    assert!(seen.iter().any(|m| m.contains("event=granted")), "{seen:?}");
}

#[test]
fn daemon_starts_on_builtin_defaults() {
    require_root();
    let default_socket = Path::new(elevated_proto::DEFAULT_SOCKET);
    if Path::new("/etc/elevated/elevated.toml").exists() || default_socket.exists() {
        panic!("this test needs a host without an installed elevated (found /etc/elevated/elevated.toml or a socket)");
    }
    let created_state = !Path::new("/var/lib/elevated").exists();
    let mut child = Command::new(bin("elevated")).spawn().unwrap();
    let mut pong = false;
    for _ in 0..200 {
        if let Ok(mut c) = Client::connect(default_socket, Timeouts::default()) {
            pong = matches!(c.call(Request::Ping {}), Ok(Response::Pong { .. }));
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let status = child.wait().unwrap();
    if created_state {
        let _ = std::fs::remove_dir_all("/var/lib/elevated");
    }
    assert!(pong, "no answer on {}", default_socket.display());
    assert!(status.success(), "SIGTERM should stop it cleanly: {status}");
    assert!(!default_socket.exists(), "socket left behind");
}

#[test]
fn sighup_reloads_policy_and_keeps_the_old_one_on_errors() {
    require_root();
    let mut d = Daemon::new("");
    d.policy("10-ops.toml", GOOD);
    d.start();
    let ask = |d: &Daemon| {
        d.elevate(None, &["--json", "request", "db", "--for", "1m"])
            .status
            .code()
    };
    assert_eq!(ask(&d), Some(1), "db is not defined yet");
    d.policy(
        "20-db.toml",
        "[roles.db]\nsudo = { commands = [\"/usr/bin/id\"] }\n\n[[rules]]\nrole = \"db\"\n",
    );
    d.signal("HUP");
    let mut granted = false;
    for _ in 0..100 {
        if ask(&d) == Some(0) {
            granted = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(granted, "policy not reloaded:\n{}", d.log_text());
    // A broken file: the reload is refused and the policy in force stays.
    d.policy(
        "30-broken.toml",
        "[roles.x]\nsudo = { commands = [\"rel\"] }\n",
    );
    d.signal("HUP");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !d.log_text().contains("not reloaded") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        d.log_text().contains("30-broken.toml:2:"),
        "{}",
        d.log_text()
    );
    assert_eq!(ask(&d), Some(0));
    assert!(d.running());
}
