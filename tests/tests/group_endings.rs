//! How group grants end: everything taken back at package removal
//! (`revoke-all`), sweeps that spare what a live grant gives again, and
//! set-gid files made with the group during the window.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::Duration;

use elevated_testkit::output::json;
use elevated_testkit::poll::wait_until;
use elevated_tests::daemon::text;
use elevated_tests::groups::{audit_events, gone, groups_of, member, request};
use elevated_tests::{as_user, require_root, Daemon, TestGroup, TestUser};

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
    // The holder notes the SIGTERM in a file and carries on.
    let home = d.dir.path().join("home").join(&user.name);
    std::fs::create_dir(&home).unwrap();
    let chown = Command::new("chown")
        .args([&user.name, home.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(chown.success());
    let marker = home.join("got-term");
    let script = format!(
        "trap 'touch {m}' TERM; while :; do sleep 1; done",
        m = marker.display()
    );
    let _first = request(&d, &user, "2s");
    let mut holder = as_user(&user, "sh", &["-c", &script]).spawn().unwrap();
    // The sweep has sent SIGTERM: the grace period runs.
    wait_until("the holder to get SIGTERM", Duration::from_secs(15), || {
        marker.exists()
    });
    assert!(!member(&user, &group));
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
