//! Request -> policy -> sudo drop-in -> expiry/revocation, against the real
//! sudo and visudo, with real users.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Output;
use std::time::{Duration, Instant};

use elevated_testkit::output::json;
use elevated_tests::daemon::text;
use elevated_tests::{as_user, require_root, Daemon, TestGroup, TestUser};

const COMMANDS: &str = r#"commands = ["/usr/bin/id", "/usr/bin/whoami", "/usr/bin/ls"]"#;

fn policy(group: &str) -> String {
    format!(
        "[roles.ops]\ndescription = \"Operations\"\nsudo = {{ {COMMANDS} }}\n\
         default_duration = \"10m\"\nmax_duration = \"1h\"\n\n\
         [[rules]]\nrole = \"ops\"\nwho = {{ groups = [\"{group}\"] }}\n"
    )
}

struct Setup {
    d: Daemon,
    user: TestUser,
    outsider: TestUser,
    _group: TestGroup,
}

fn setup() -> Setup {
    require_root();
    let group = TestGroup::new("ops");
    let user = TestUser::new("u", &[&group]);
    let outsider = TestUser::new("o", &[]);
    let mut d = Daemon::new("").with_real_sudo();
    d.policy("10-ops.toml", &policy(&group.name));
    d.start();
    Setup {
        d,
        user,
        outsider,
        _group: group,
    }
}

fn sudo(user: &TestUser, args: &[&str]) -> Output {
    let mut full = vec!["-n"];
    full.extend_from_slice(args);
    as_user(user, "sudo", &full).output().unwrap()
}

/// The rule lines of `sudo -n -l` (those after "may run the following").
fn sudo_rules(user: &TestUser) -> Vec<String> {
    let out = sudo(user, &["-l"]);
    let (stdout, _) = text(&out);
    stdout
        .lines()
        .skip_while(|l| !l.contains("may run the following commands"))
        .skip(1)
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

fn request(s: &Setup, user: &TestUser, args: &[&str]) -> (Output, serde_json::Value) {
    let mut full = vec!["--json", "request", "ops"];
    full.extend_from_slice(args);
    let out = s.d.elevate(Some(user), &full);
    let v = json(&out);
    (out, v)
}

fn ts(v: &serde_json::Value, key: &str) -> jiff::Timestamp {
    v[key].as_str().unwrap().parse().unwrap()
}

#[test]
fn allowed_request_grants_exactly_the_roles_commands() {
    let s = setup();
    assert!(
        sudo_rules(&s.user).is_empty(),
        "user must start without sudo rights"
    );
    let out = s.d.elevate(
        Some(&s.user),
        &["request", "ops", "--for", "2m", "--reason", "x"],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("active"), "{stdout}");

    let rules = sudo_rules(&s.user);
    assert_eq!(rules.len(), 1, "{rules:?}");
    let rule = &rules[0];
    assert!(rule.starts_with("(root) NOTAFTER="), "{rule}");
    assert!(
        rule.ends_with("NOPASSWD: /usr/bin/id, /usr/bin/whoami, /usr/bin/ls"),
        "{rule}"
    );

    let id = sudo(&s.user, &["/usr/bin/id", "-u"]);
    assert!(id.status.success(), "{id:?}");
    assert_eq!(text(&id).0.trim(), "0");
    let cat = sudo(&s.user, &["/usr/bin/cat", "/etc/shadow"]);
    assert!(!cat.status.success());
    assert_eq!(s.d.dropins().len(), 1);
    assert_eq!(
        std::process::Command::new("visudo")
            .arg("-c")
            .output()
            .unwrap()
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn refused_request_exits_1_with_the_reason_and_writes_nothing() {
    let s = setup();
    let out =
        s.d.elevate(Some(&s.outsider), &["request", "ops", "--for", "2m"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let all = format!("{stdout}{stderr}");
    assert!(all.contains("denied"), "{all}");
    assert!(
        all.contains(&s.outsider.name) || all.contains("group"),
        "{all}"
    );
    assert!(s.d.dropins().is_empty());
    assert!(sudo_rules(&s.outsider).is_empty());
    // Unknown role: refused the same way.
    let out = s.d.elevate(Some(&s.user), &["request", "nosuchrole"]);
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
}

#[test]
fn short_window_is_gone_within_a_second_of_its_end() {
    let s = setup();
    let (out, v) = request(&s, &s.user, &["--for", "2s"]);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["state"], "active");
    let end = ts(&v, "expires_at");
    let start = ts(&v, "starts_at");
    assert_eq!((end - start).get_seconds(), 2);
    assert!(sudo(&s.user, &["/usr/bin/whoami"]).status.success());
    let file =
        s.d.sudoers
            .join(format!("elevated_{}", v["id"].as_str().unwrap()));
    assert!(file.exists());
    // Poll until the file is gone; it must happen within 1 s of the end.
    let give_up = Instant::now() + Duration::from_secs(10);
    while file.exists() && Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(20));
    }
    let gone_at = jiff::Timestamp::now();
    assert!(!file.exists(), "drop-in still there 10 s later");
    let lag = (gone_at - end).total(jiff::Unit::Millisecond).unwrap();
    assert!(lag < 1000.0, "revocation lag {lag} ms");
    assert!(!sudo(&s.user, &["/usr/bin/whoami"]).status.success());
    let show = s.d.elevate(
        Some(&s.user),
        &["--json", "show", v["id"].as_str().unwrap()],
    );
    assert_eq!(json(&show)["state"], "expired");
}

#[test]
fn revoke_ends_a_grant_at_once_and_run_returns_the_commands_status() {
    let s = setup();
    // `run` requests the covering role itself, then execs sudo.
    let out =
        s.d.elevate(Some(&s.user), &["run", "--", "/usr/bin/id", "-u"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(stdout.trim().lines().last().unwrap(), "0");
    // Reuses the active grant: still exactly one.
    let out =
        s.d.elevate(Some(&s.user), &["run", "--", "ls", "/nonexistent-elvt"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "ls's own status: {:?}",
        text(&out)
    );
    assert_eq!(s.d.dropins().len(), 1);

    let status = json(&s.d.elevate(Some(&s.user), &["--json", "status"]));
    let id = status["requests"][0]["id"].as_str().unwrap().to_owned();
    // Someone else cannot revoke it.
    let out = s.d.elevate(Some(&s.outsider), &["revoke", &id]);
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(s.d.dropins().len(), 1);

    let out = s.d.elevate(Some(&s.user), &["revoke", &id]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(s.d.dropins().is_empty());
    assert!(!sudo(&s.user, &["/usr/bin/id"]).status.success());
    let show = json(&s.d.elevate(Some(&s.user), &["--json", "show", &id]));
    assert_eq!(show["state"], "revoked");
}

#[test]
fn notafter_holds_while_the_daemon_is_dead_and_restart_cleans_up() {
    let mut s = setup();
    let (out, v) = request(&s, &s.user, &["--for", "3s"]);
    assert_eq!(out.status.code(), Some(0), "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    let end = ts(&v, "expires_at");
    assert!(sudo(&s.user, &["/usr/bin/whoami"]).status.success());
    s.d.kill();
    // A stray drop-in the store knows nothing about.
    s.d.file("sudoers.d/elevated_zzzz2345", "# stray\n", 0o440);
    while jiff::Timestamp::now() < end + jiff::SignedDuration::from_millis(1200) {
        std::thread::sleep(Duration::from_millis(100));
    }
    // The daemon is down, the file is still there, and sudo refuses.
    assert!(s.d.sudoers.join(format!("elevated_{id}")).exists());
    let after = sudo(&s.user, &["/usr/bin/whoami"]);
    assert!(!after.status.success(), "NOTAFTER not honoured: {after:?}");

    s.d.start();
    assert!(s.d.dropins().is_empty(), "{:?}", s.d.dropins());
    let show = json(&s.d.elevate(Some(&s.user), &["--json", "show", &id]));
    assert_eq!(show["state"], "expired");
    let audit = json(&s.d.elevate(None, &["--json", "audit"]));
    let events: Vec<&str> = audit["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    assert!(events.contains(&"expired"), "{events:?}");
    assert!(events.contains(&"reconcile_removed"), "{events:?}");
    assert_eq!(
        s.d.elevate(None, &["audit", "--verify"]).status.code(),
        Some(0)
    );
}

#[test]
fn requester_text_never_reaches_sudoers() {
    let s = setup();
    let reason = "x\nALL ALL=(ALL) NOPASSWD: ALL\n#include /etc/shadow";
    let out = s.d.elevate(
        Some(&s.user),
        &[
            "request", "ops", "--for", "1m", "--reason", reason, "--ticket", "T=1,ALL",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let rules = sudo_rules(&s.user);
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert!(rules[0].ends_with("NOPASSWD: /usr/bin/id, /usr/bin/whoami, /usr/bin/ls"));
    assert!(!sudo(&s.user, &["/usr/bin/cat", "/etc/shadow"])
        .status
        .success());
    assert!(!sudo(&s.outsider, &["/usr/bin/id"]).status.success());
    for f in s.d.dropins() {
        let body = std::fs::read_to_string(s.d.sudoers.join(f)).unwrap();
        assert!(!body.contains("ALL=(ALL)"), "{body}");
        assert!(!body.contains("T=1"), "{body}");
    }
}

#[test]
fn audit_verify_detects_an_edited_row() {
    let s = setup();
    let (out, _) = request(&s, &s.user, &["--for", "1m", "--reason", "audit me"]);
    assert_eq!(out.status.code(), Some(0));
    let ok = s.d.elevate(None, &["audit", "--verify"]);
    assert_eq!(ok.status.code(), Some(0), "{:?}", text(&ok));
    let n: i64 =
        s.d.db()
            .query_row("SELECT count(*) FROM audit", [], |r| r.get(0))
            .unwrap();
    assert!(n >= 2);
    s.d.db()
        .execute(
            "UPDATE audit SET detail = replace(detail, 'audit me', 'nothing to see') WHERE seq = 1",
            [],
        )
        .unwrap();
    let bad = s.d.elevate(None, &["audit", "--verify"]);
    let (stdout, stderr) = text(&bad);
    assert_eq!(bad.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        format!("{stdout}{stderr}").contains("row 1"),
        "{stdout}{stderr}"
    );
    let v = json(&s.d.elevate(None, &["--json", "audit", "--verify"]));
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_bad"], 1);
}

/// Sends each request over one connection kept open by a process running
/// as `user`; returns each response.
struct OneConnection {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl OneConnection {
    fn open(d: &Daemon, user: &TestUser) -> Self {
        let helper = elevated_tests::bin("elvt-one-connection");
        let mut child = as_user(user, helper.to_str().unwrap(), &[])
            .env("ELEVATE_SOCKET", &d.socket)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
        Self {
            child,
            stdin,
            lines,
        }
    }

    fn call(&mut self, req: &elevated_proto::Request) -> elevated_proto::Response {
        use std::io::Write;
        writeln!(self.stdin, "{}", serde_json::to_string(req).unwrap()).unwrap();
        let line = self.lines.next().expect("the helper ended").unwrap();
        serde_json::from_str(&line).unwrap()
    }
}

impl Drop for OneConnection {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_connection_kept_open_does_not_keep_a_group_the_user_lost() {
    use elevated_proto::{NewRequest, Request, RequestState, Response, RoleName};
    let s = setup();
    let mut conn = OneConnection::open(&s.d, &s.user);
    let ops_allowed = |r: Response| match r {
        Response::Roles { roles, .. } => roles.iter().any(|o| o.role == "ops" && o.allowed),
        other => panic!("expected roles, got {other:?}"),
    };
    // The daemon has looked the user (a member of the group) up.
    assert!(ops_allowed(conn.call(&Request::Roles {})));

    let out = std::process::Command::new("gpasswd")
        .args(["-d", &s.user.name, &s._group.name])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    // The same connection: the next decision sees the group gone.
    let ask = Request::Request(NewRequest {
        role: RoleName::parse("ops").unwrap(),
        duration_secs: Some(60),
        command: None,
        reason: None,
        ticket: None,
    });
    match conn.call(&ask) {
        Response::Request { request } => {
            assert_eq!(request.state, RequestState::Denied, "{request:?}");
        }
        other => panic!("expected a request, got {other:?}"),
    }
    assert!(!ops_allowed(conn.call(&Request::Roles {})));
    assert!(s.d.dropins().is_empty());
    assert!(!sudo(&s.user, &["/usr/bin/id"]).status.success());
}
