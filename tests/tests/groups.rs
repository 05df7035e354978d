//! Group grants with the real gpasswd, id and getent; processes that outlive
//! a grant; reconciliation after a crash.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use elevated_tests::daemon::text;
use elevated_tests::{as_user, require_root, Daemon, TestGroup, TestUser};

fn json(out: &Output) -> serde_json::Value {
    let (stdout, stderr) = text(out);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout:?} {stderr:?}"))
}

fn groups_of(user: &TestUser) -> String {
    text(
        &Command::new("id")
            .args(["-nG", &user.name])
            .output()
            .unwrap(),
    )
    .0
}

fn member(user: &TestUser, group: &TestGroup) -> bool {
    groups_of(user).split_whitespace().any(|g| g == group.name)
}

fn getent(group: &TestGroup) -> String {
    text(
        &Command::new("getent")
            .args(["group", &group.name])
            .output()
            .unwrap(),
    )
    .0
}

fn daemon(user: &TestUser, group: &TestGroup, on_expiry: &str) -> Daemon {
    let mut d = Daemon::new("").with_real_sudo();
    d.policy(
        "10-g.toml",
        &format!(
            "[roles.grp]\ngroups = [\"{g}\"]\nsudo = {{ commands = [\"/usr/bin/sleep\"] }}\n\
             on_expiry = \"{on_expiry}\"\n{grace}\n\n[[rules]]\nrole = \"grp\"\nwho = {{ users = [\"{u}\"] }}\n",
            g = group.name,
            u = user.name,
            grace = if on_expiry == "terminate" { "terminate_grace = \"1s\"" } else { "" },
        ),
    );
    d.start();
    d
}

fn request(d: &Daemon, user: &TestUser, secs: &str) -> serde_json::Value {
    let out = d.elevate(Some(user), &["--json", "request", "grp", "--for", secs]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    json(&out)
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn audit_events(d: &Daemon) -> Vec<String> {
    let v = json(&d.elevate(None, &["--json", "audit"]));
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event"].as_str().unwrap().to_owned())
        .collect()
}

fn gone(child: &mut Child) -> bool {
    child.try_wait().unwrap().is_some()
}

#[test]
fn membership_lasts_the_window_and_a_prior_one_survives() {
    require_root();
    let granted = TestGroup::new("gg");
    let had = TestGroup::new("gh");
    let user = TestUser::new("g", &[&had]);
    let mut d = Daemon::new("");
    d.policy(
        "10-g.toml",
        &format!(
            "[roles.grp]\ngroups = [\"{a}\", \"{b}\"]\n\n[[rules]]\nrole = \"grp\"\nwho = {{ users = [\"{u}\"] }}\n",
            a = granted.name,
            b = had.name,
            u = user.name
        ),
    );
    d.start();
    assert!(!member(&user, &granted));
    let v = request(&d, &user, "2s");
    assert!(member(&user, &granted), "{}", groups_of(&user));
    assert!(getent(&granted).contains(&user.name));
    let end: jiff::Timestamp = v["expires_at"].as_str().unwrap().parse().unwrap();
    wait_until("the membership to go", Duration::from_secs(10), || {
        !member(&user, &granted)
    });
    let lag = (jiff::Timestamp::now() - end)
        .total(jiff::Unit::Millisecond)
        .unwrap();
    assert!(lag < 1500.0, "membership removed {lag} ms after the end");
    assert!(!getent(&granted).contains(&user.name));
    assert!(
        member(&user, &had),
        "a membership the user already had must survive"
    );
    let events = audit_events(&d);
    assert!(
        events.contains(&"group_added".to_owned()) && events.contains(&"group_removed".to_owned()),
        "{events:?}"
    );
}

#[test]
fn terminate_ends_processes_holding_the_group_and_sudo_sessions() {
    require_root();
    let group = TestGroup::new("gt");
    let user = TestUser::new("t", &[]);
    let d = daemon(&user, &group, "terminate");
    let _v = request(&d, &user, "3s");
    // A long-running process that picked up the group (login shell style).
    let mut holder = as_user(&user, "sleep", &["60"]).spawn().unwrap();
    // A command started through the grant's sudo rule, outliving the rule.
    let mut via_sudo = as_user(&user, "sudo", &["-n", "/usr/bin/sleep", "61"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !gone(&mut holder) && !gone(&mut via_sudo),
        "both must run during the window"
    );
    wait_until("the processes to be ended", Duration::from_secs(15), || {
        gone(&mut holder) && gone(&mut via_sudo)
    });
    wait_until("the audit row", Duration::from_secs(5), || {
        audit_events(&d).contains(&"processes_ended".to_owned())
    });
    let v = json(&d.elevate(None, &["--json", "audit"]));
    let ended = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["event"] == "processes_ended")
        .unwrap();
    let text = ended["detail"].to_string();
    assert!(text.contains(&holder.id().to_string()), "{text}");
}

#[test]
fn warn_leaves_processes_alone_and_audits_them() {
    require_root();
    let group = TestGroup::new("gw");
    let user = TestUser::new("w", &[]);
    let d = daemon(&user, &group, "warn");
    let _v = request(&d, &user, "2s");
    let mut holder = as_user(&user, "sleep", &["30"]).spawn().unwrap();
    wait_until("the audit row", Duration::from_secs(10), || {
        audit_events(&d).contains(&"processes_outlived".to_owned())
    });
    assert!(!gone(&mut holder), "warn must not signal anything");
    assert!(!member(&user, &group));
    let _ = holder.kill();
    let _ = holder.wait();
}

#[test]
fn after_a_crash_reconciliation_takes_back_only_what_ended() {
    require_root();
    let short = TestGroup::new("gs");
    let long = TestGroup::new("gl");
    let user = TestUser::new("k", &[]);
    let mut d = Daemon::new("");
    d.policy(
        "10-g.toml",
        &format!(
            "[roles.short]\ngroups = [\"{s}\"]\n\n[roles.long]\ngroups = [\"{l}\"]\n\n\
             [[rules]]\nrole = \"short\"\nwho = {{ users = [\"{u}\"] }}\n\n[[rules]]\nrole = \"long\"\nwho = {{ users = [\"{u}\"] }}\n",
            s = short.name,
            l = long.name,
            u = user.name
        ),
    );
    d.start();
    assert_eq!(
        d.elevate(Some(&user), &["request", "short", "--for", "2s"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        d.elevate(Some(&user), &["request", "long", "--for", "10m"])
            .status
            .code(),
        Some(0)
    );
    assert!(member(&user, &short) && member(&user, &long));
    d.kill();
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        member(&user, &short),
        "nobody removed it while the daemon was down"
    );
    d.start();
    assert!(
        !member(&user, &short),
        "reconciliation must remove the ended grant's membership"
    );
    assert!(
        member(&user, &long),
        "the active grant's membership must stay"
    );
    // A membership an active grant owes but the host lost comes back.
    let out = Command::new("gpasswd")
        .args(["-d", &user.name, &long.name])
        .output()
        .unwrap();
    assert!(out.status.success());
    d.signal("HUP");
    d.stop();
    d.start();
    assert!(member(&user, &long), "{}", groups_of(&user));
}

#[test]
fn a_login_grant_that_ends_ends_the_sessions_it_allowed() {
    require_root();
    let user = TestUser::new("s", &[]);
    let mut d = Daemon::new("[login]\nrequire_grant = true\n");
    d.policy(
        "10-login.toml",
        &format!(
            "[roles.shell]\nlogin = true\non_expiry = \"terminate\"\nterminate_grace = \"1s\"\n\n\
             [[rules]]\nrole = \"shell\"\nwho = {{ users = [\"{}\"] }}\n",
            user.name
        ),
    );
    d.start();
    // Started before the grant: not a session it allowed. Process start
    // times are known to a second (`btime`), so the sweep gives a second of
    // slack, and windows start on a whole second: more than two seconds
    // apart, "before" is unambiguous.
    let mut before = as_user(&user, "sleep", &["30"]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    let out = d.elevate(Some(&user), &["--json", "request", "shell", "--for", "3s"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    std::thread::sleep(Duration::from_millis(1200));
    // A "login session" opened under the grant.
    let mut session = as_user(&user, "sleep", &["30"]).spawn().unwrap();
    wait_until("the session to be ended", Duration::from_secs(15), || {
        gone(&mut session)
    });
    assert!(
        !gone(&mut before),
        "a process from before the window must be left alone"
    );
    let _ = before.kill();
    let _ = before.wait();
    wait_until("the audit row", Duration::from_secs(5), || {
        audit_events(&d).contains(&"processes_ended".to_owned())
    });
}

/// `elevated revoke-all` (what removing the package runs, with the daemon
/// stopped) ends every grant and takes back the membership, which carries
/// no expiry of its own; a pending request is cancelled.
#[test]
fn revoke_all_takes_back_memberships_while_the_daemon_is_down() {
    require_root();
    let granted = TestGroup::new("ga");
    let user = TestUser::new("ga", &[]);
    let approver = TestUser::new("gb", &[]);
    let mut d = Daemon::new("");
    d.policy(
        "10-g.toml",
        &format!(
            "[roles.grp]\ngroups = [\"{g}\"]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\n\n\
             [roles.later]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\n\n\
             [[rules]]\nrole = \"grp\"\nwho = {{ users = [\"{u}\"] }}\n\n\
             [[rules]]\nrole = \"later\"\nwho = {{ users = [\"{u}\"] }}\n\
             approval = {{ count = 1, approvers = {{ users = [\"{a}\"] }} }}\n",
            g = granted.name,
            u = user.name,
            a = approver.name,
        ),
    );
    d.start();
    let grant = request(&d, &user, "1h");
    let out = d.elevate(
        Some(&user),
        &["--json", "request", "later", "--no-wait", "--reason", "x"],
    );
    assert_eq!(out.status.code(), Some(3), "{:?}", text(&out));
    let pending = json(&out);
    assert!(member(&user, &granted));
    assert_eq!(d.dropins().len(), 1);
    d.stop();

    let out = d.elevated_cmd(&["revoke-all", "--reason", "package removed"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 grant(s) revoked"), "{stdout}");
    assert!(
        stdout.contains("1 pending request(s) cancelled"),
        "{stdout}"
    );
    assert!(!member(&user, &granted), "{}", groups_of(&user));
    assert!(d.dropins().is_empty(), "{:?}", d.dropins());

    d.start();
    let show =
        |id: &serde_json::Value| json(&d.elevate(None, &["--json", "show", id.as_str().unwrap()]));
    assert_eq!(show(&grant["id"])["state"], "revoked");
    assert_eq!(show(&pending["id"])["state"], "cancelled");
    let events = audit_events(&d);
    assert!(events.contains(&"revoked".to_owned()), "{events:?}");
    assert!(events.contains(&"group_removed".to_owned()), "{events:?}");
}

/// The user is granted the same group again while the ended grant's sweep
/// waits out its grace period: the process that ignored SIGTERM now holds
/// what a live grant gives, so it is spared, not killed (and the audit row
/// says so).
#[test]
fn a_regrant_during_the_grace_period_spares_the_new_holder() {
    require_root();
    let group = TestGroup::new("gr");
    let user = TestUser::new("r", &[]);
    let mut d = Daemon::new("");
    d.policy(
        "10-g.toml",
        &format!(
            "[roles.grp]\ngroups = [\"{g}\"]\non_expiry = \"terminate\"\nterminate_grace = \"4s\"\n\n\
             [[rules]]\nrole = \"grp\"\nwho = {{ users = [\"{u}\"] }}\n",
            g = group.name,
            u = user.name,
        ),
    );
    d.start();
    let _first = request(&d, &user, "2s");
    let mut holder = as_user(&user, "sh", &["-c", "trap '' TERM; sleep 30; :"])
        .spawn()
        .unwrap();
    wait_until("the first window to end", Duration::from_secs(10), || {
        !member(&user, &group)
    });
    // Inside the grace period: the same group again.
    let _second = request(&d, &user, "1m");
    assert!(member(&user, &group));
    wait_until("the sweep's audit row", Duration::from_secs(15), || {
        audit_events(&d).contains(&"processes_ended".to_owned())
    });
    let v = json(&d.elevate(None, &["--json", "audit"]));
    let row = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["event"] == "processes_ended")
        .unwrap()
        .to_string();
    assert!(row.contains("spared"), "{row}");
    assert!(
        !gone(&mut holder),
        "a process holding a group granted again was killed"
    );
    let _ = Command::new("pkill")
        .args(["-KILL", "-u", &user.name])
        .status();
    let _ = holder.wait();
}

/// A login grant that ends does not end sessions while another login grant
/// of the same user still allows them.
#[test]
fn a_login_sweep_spares_sessions_another_login_grant_allows() {
    require_root();
    let user = TestUser::new("l", &[]);
    let mut d = Daemon::new("[login]\nrequire_grant = true\n");
    d.policy(
        "10-login.toml",
        &format!(
            "[roles.shell]\nlogin = true\non_expiry = \"terminate\"\nterminate_grace = \"1s\"\n\n\
             [roles.shell2]\nlogin = true\n\n\
             [[rules]]\nrole = \"shell\"\nwho = {{ users = [\"{u}\"] }}\n\n\
             [[rules]]\nrole = \"shell2\"\nwho = {{ users = [\"{u}\"] }}\n",
            u = user.name
        ),
    );
    d.start();
    let out = d.elevate(Some(&user), &["--json", "request", "shell", "--for", "3s"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let out = d.elevate(
        Some(&user),
        &["--json", "request", "shell2", "--for", "10m"],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    std::thread::sleep(Duration::from_millis(1200));
    let mut session = as_user(&user, "sleep", &["30"]).spawn().unwrap();
    assert_eq!(json(&out)["state"], "active");
    // Past the first window and its grace.
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        !gone(&mut session),
        "a session another login grant allows was ended"
    );
    assert!(!audit_events(&d).contains(&"processes_ended".to_owned()));
    let _ = session.kill();
    let _ = session.wait();
}

/// During the window the user copies a binary, `chgrp`s it to the granted
/// group and sets the set-gid bit: after the window the bit is gone (and
/// audited), so the copy no longer runs with the group. A set-gid
/// directory loses the bit too; a file of another group keeps it.
#[test]
fn a_setgid_file_made_during_the_window_loses_the_group_after_it() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    require_root();
    let group = TestGroup::new("gx");
    let user = TestUser::new("x", &[]);
    let mut d = Daemon::new("");
    d.policy(
        "10-g.toml",
        &format!(
            "[roles.grp]\ngroups = [\"{g}\"]\n\n[[rules]]\nrole = \"grp\"\nwho = {{ users = [\"{u}\"] }}\n",
            g = group.name,
            u = user.name,
        ),
    );
    d.start();
    // The user's own directory under the scanned root (a home directory).
    let home = d.dir.path().join("home").join(&user.name);
    std::fs::create_dir(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    let chown = Command::new("chown")
        .args([&user.name, home.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(chown.success());
    let _v = request(&d, &user, "3s");
    let (file, dir) = (home.join("myid"), home.join("shared"));
    let script = format!(
        "cp /usr/bin/id {f} && chgrp {g} {f} && chmod 2755 {f} && \
         mkdir {dd} && chgrp {g} {dd} && chmod 2775 {dd} && \
         cp /usr/bin/id {f}2 && chmod 2755 {f}2",
        f = file.display(),
        dd = dir.display(),
        g = group.name
    );
    let out = as_user(&user, "sh", &["-c", &script]).output().unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().mode() & 0o7777;
    assert_eq!(
        mode(&file),
        0o2755,
        "the user could make it during the window"
    );
    wait_until("the bit to be cleared", Duration::from_secs(15), || {
        mode(&file) & 0o2000 == 0
    });
    assert_eq!(mode(&file), 0o755);
    assert_eq!(mode(&dir), 0o775, "a set-gid directory loses the bit too");
    assert_eq!(
        mode(&home.join("myid2")),
        0o2755,
        "a set-gid file of the user's own group is not the grant's"
    );
    assert!(!member(&user, &group));
    // Run by the user, the copy no longer carries the group.
    let out = as_user(&user, file.to_str().unwrap(), &["-G"])
        .output()
        .unwrap();
    let gids = text(&out).0;
    assert!(
        !gids.split_whitespace().any(|g| g == group.gid.to_string()),
        "still runs with the group: {gids}"
    );
    wait_until("the audit rows", Duration::from_secs(5), || {
        audit_events(&d)
            .iter()
            .filter(|e| *e == "setgid_neutralised")
            .count()
            == 2
    });
}
