//! Just-in-time actions, extensions and break-glass, with the real sudo.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Stdio;
use std::time::{Duration, Instant};

use elevated_testkit::output::json;
use elevated_tests::daemon::text;
use elevated_tests::{as_user, bin, require_root, Daemon, TestUser};

fn sudo_l(user: &TestUser) -> String {
    text(&as_user(user, "sudo", &["-n", "-l"]).output().unwrap()).0
}

fn setup(user: &TestUser, approver: &TestUser) -> Daemon {
    let mut d = Daemon::new("").with_real_sudo();
    d.policy(
        "10-ops.toml",
        &format!(
            "[roles.ops]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\nmax_duration = \"1h\"\n\
             actions = [\"/usr/bin/sleep\"]\naction_duration = \"2m\"\n\n\
             [roles.glass]\nsudo = {{ commands = [\"/usr/bin/whoami\"] }}\n\n\
             [[rules]]\nrole = \"ops\"\nwho = {{ users = [\"{u}\"] }}\n\n\
             [[rules]]\nrole = \"glass\"\nwho = {{ users = [\"{u}\"] }}\n\
             approval = {{ count = 0, break_glass = true, approvers = {{ users = [\"{a}\"] }} }}\n",
            u = user.name,
            a = approver.name
        ),
    );
    d.start();
    d
}

#[test]
fn an_action_allows_exactly_its_command_line_and_is_gone_after_it() {
    require_root();
    let user = TestUser::new("j", &[]);
    let approver = TestUser::new("k", &[]);
    let d = setup(&user, &approver);
    let elevate = bin("elevate");
    let socket = d.socket.display().to_string();
    // `elevate run -- sleep 3`: an action of role ops, granted for exactly
    // "/usr/bin/sleep 3" while it runs.
    let runner = as_user(
        &user,
        elevate.to_str().unwrap(),
        &["--socket", &socket, "run", "--", "sleep", "3"],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let start = Instant::now();
    while d.dropins().is_empty() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(d.dropins().len(), 1);
    let listed = sudo_l(&user);
    assert!(listed.contains("/usr/bin/sleep 3"), "{listed}");
    let other = as_user(&user, "sudo", &["-n", "/usr/bin/sleep", "0"])
        .output()
        .unwrap();
    assert!(!other.status.success(), "other arguments must be refused");
    let out = runner.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(
        d.dropins().is_empty(),
        "the action's rule must be gone after the command"
    );
    let audit = json(&d.elevate(None, &["--json", "audit"]));
    let events: Vec<&str> = audit["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    assert!(events.contains(&"revoked"), "{events:?}");
}

#[test]
fn extend_moves_notafter_and_break_glass_is_reviewed() {
    require_root();
    let user = TestUser::new("e", &[]);
    let approver = TestUser::new("r", &[]);
    let d = setup(&user, &approver);
    let v = json(&d.elevate(Some(&user), &["--json", "request", "ops", "--for", "10m"]));
    let id = v["id"].as_str().unwrap().to_owned();
    let before = sudo_l(&user);
    let out = d.elevate(Some(&user), &["--json", "extend", &id, "--for", "20m"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let x = json(&out);
    let (s, e): (jiff::Timestamp, jiff::Timestamp) = (
        x["starts_at"].as_str().unwrap().parse().unwrap(),
        x["expires_at"].as_str().unwrap().parse().unwrap(),
    );
    assert_eq!((e - s).get_seconds(), 30 * 60);
    let after = sudo_l(&user);
    assert_ne!(before, after, "NOTAFTER must move");
    assert!(
        after.contains(&e.strftime("NOTAFTER=%Y%m%d%H%M%SZ").to_string()),
        "{after}"
    );
    // Someone else cannot extend it.
    assert_ne!(
        d.elevate(Some(&approver), &["extend", &id, "--for", "5m"])
            .status
            .code(),
        Some(0)
    );

    let g = json(&d.elevate(
        Some(&user),
        &[
            "--json",
            "request",
            "glass",
            "--for",
            "5m",
            "--reason",
            "prod down",
        ],
    ));
    assert_eq!(g["state"], "active");
    assert_eq!(g["break_glass"], true);
    let gid = g["id"].as_str().unwrap().to_owned();
    let list = json(&d.elevate(Some(&approver), &["--json", "list", "--unreviewed"]));
    assert_eq!(list["requests"][0]["id"], gid.as_str());
    assert_ne!(
        d.elevate(Some(&user), &["review", &gid]).status.code(),
        Some(0),
        "no self-review"
    );
    let out = d.elevate(Some(&approver), &["review", &gid, "--comment", "justified"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let list = json(&d.elevate(Some(&approver), &["--json", "list", "--unreviewed"]));
    assert!(list["requests"].as_array().unwrap().is_empty());
}
