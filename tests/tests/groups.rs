//! Group grants with the real gpasswd, id and getent; processes that outlive
//! a grant; reconciliation after a crash.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Stdio};
use std::time::Duration;

use elevated_testkit::output::json;
use elevated_testkit::poll::wait_until;
use elevated_tests::daemon::text;
use elevated_tests::groups::{audit_events, daemon, getent, gone, groups_of, member, request};
use elevated_tests::{as_user, require_root, Daemon, TestGroup, TestUser};

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
    // gpasswd runs before the removal is recorded, and reads do not wait
    // for the rest of a transition.
    wait_until("the removal to be recorded", Duration::from_secs(5), || {
        let events = audit_events(&d);
        events.contains(&"group_added".to_owned()) && events.contains(&"group_removed".to_owned())
    });
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

/// A daemon reconciling every second whose role `grp` gives `group` and
/// a sudo rule; `user` holds it for ten minutes. Returns the grant's id.
fn holding(user: &TestUser, group: &TestGroup) -> (Daemon, String) {
    let mut d = Daemon::new("");
    let cfg = std::fs::read_to_string(&d.config).unwrap().replacen(
        "[daemon]\n",
        "[daemon]\nreconcile_interval = \"1s\"\n",
        1,
    );
    d.file("elevated.toml", &cfg, 0o644);
    d.policy(
        "10-g.toml",
        &format!(
            "[roles.grp]\ngroups = [\"{g}\"]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\n\n\
             [[rules]]\nrole = \"grp\"\nwho = {{ users = [\"{u}\"] }}\n",
            g = group.name,
            u = user.name
        ),
    );
    d.start();
    let id = request(&d, user, "10m")["id"].as_str().unwrap().to_owned();
    assert!(member(user, group) && d.dropins().len() == 1);
    (d, id)
}

fn shadow(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(out.status.success(), "{cmd} {args:?}: {out:?}");
}

/// Waits for reconciliation to end the grant, then checks what every
/// account change must leave: the grant revoked and saying why, no
/// drop-in, the journal row closed and audited.
fn ended_with_the_account(d: &Daemon, id: &str, account: &str) {
    wait_until("the grant to end", Duration::from_secs(20), || {
        json(&d.elevate(None, &["--json", "show", id]))["state"] == "revoked"
    });
    let v = json(&d.elevate(None, &["--json", "show", id]));
    assert!(v["message"].as_str().unwrap().contains("uid"), "{v}");
    // The end is committed before the host is changed, and `show` does not
    // wait for the rest of the transition: wait for the file and the
    // journal.
    let open = || -> i64 {
        d.db()
            .query_row(
                "SELECT count(*) FROM memberships WHERE state != 'removed'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    wait_until(
        "the drop-in and the journal row",
        Duration::from_secs(10),
        || d.dropins().is_empty() && open() == 0,
    );
    assert_eq!(open(), 0, "the journal row must be closed");
    let audit = json(&d.elevate(None, &["--json", "audit"]));
    let closed = audit["rows"].as_array().unwrap().iter().any(|r| {
        r["event"] == "group_removed" && r["request"] == id && r["detail"]["account"] == account
    });
    assert!(
        closed,
        "no group_removed row with account {account}: {audit}"
    );
}

/// `userdel` of a user holding a group grant: gpasswd now refuses the
/// name, which used to fail every reconciliation and every restart for
/// the rest of the window. The grant ends with the account.
#[test]
fn a_deleted_holder_ends_the_grant_and_the_daemon_keeps_going() {
    require_root();
    let group = TestGroup::new("gd");
    let user = TestUser::new("gd", &[]);
    let (mut d, id) = holding(&user, &group);
    shadow("userdel", &[&user.name]);
    ended_with_the_account(&d, &id, "gone");
    d.stop();
    d.start();
    let out = d.elevate(None, &["--json", "status"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(!d.log_text().contains("does not exist"), "{}", d.log_text());
}

/// The name given to a new account (`userdel`, then `useradd` with another
/// uid): nothing of the old grant may reach the new account — no
/// membership restored, no sudo rule left under the name.
#[test]
fn a_name_given_to_another_account_gets_nothing_of_the_old_grant() {
    require_root();
    let group = TestGroup::new("gr");
    let user = TestUser::new("gr", &[]);
    let (d, id) = holding(&user, &group);
    shadow("userdel", &[&user.name]);
    let uid = (user.uid + 7919..)
        .find(|u| {
            !Command::new("getent")
                .args(["passwd", &u.to_string()])
                .status()
                .unwrap()
                .success()
        })
        .unwrap();
    shadow(
        "useradd",
        &[
            "-M",
            "-U",
            "-s",
            "/bin/sh",
            "-u",
            &uid.to_string(),
            &user.name,
        ],
    );
    ended_with_the_account(&d, &id, "other");
    assert!(!member(&user, &group), "{}", groups_of(&user));
    assert!(!getent(&group).contains(&user.name));
}

/// `groupdel` of a group a grant holds: gpasswd refuses it, which used to
/// fail every pass. The membership ends with the group; the grant keeps
/// the rest of what it gives. (A restart would now refuse the policy,
/// which names a group that does not exist: that is the configuration
/// check's job, as with `check-config`.)
#[test]
fn a_deleted_group_ends_the_membership_and_the_daemon_keeps_going() {
    require_root();
    let group = TestGroup::new("gx");
    let user = TestUser::new("gx", &[]);
    let (d, id) = holding(&user, &group);
    shadow("groupdel", &[&group.name]);
    wait_until("the membership to end", Duration::from_secs(20), || {
        audit_events(&d).contains(&"group_ended".to_owned())
    });
    let closed: i64 = d
        .db()
        .query_row(
            "SELECT count(*) FROM memberships WHERE state = 'removed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(closed, 1);
    let v = json(&d.elevate(None, &["--json", "show", &id]));
    assert_eq!(v["state"], "active", "{v}");
    assert_eq!(d.dropins().len(), 1);
}
