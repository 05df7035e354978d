//! External commands under a time limit: a `visudo` or `gpasswd` that
//! hangs is killed after `[daemon] command_timeout`, the grant it was for
//! fails cleanly or its removal is retried, and every other grant still
//! ends on time meanwhile. The wrappers below run the real programs unless
//! told to hang.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use elevated_proto::{Request, Response};
use elevated_testkit::output::json;
use elevated_testkit::poll::wait_until;
use elevated_tests::daemon::text;
use elevated_tests::{as_user, require_root, Daemon, TestGroup, TestUser};

/// A wrapper around a real program that, while its flag file exists,
/// records its pid and that of a child, then waits for that child forever.
struct Hang {
    flag: PathBuf,
    pids: PathBuf,
}

impl Hang {
    fn new(d: &Daemon, name: &str, real: &str) -> (Self, PathBuf) {
        let dir = d.dir.path();
        let hang = Self {
            flag: dir.join(format!("{name}.hang")),
            pids: dir.join(format!("{name}.pids")),
        };
        d.file(
            name,
            &format!(
                "#!/bin/sh\nif [ -e {flag} ]; then\n  echo $$ >> {pids}\n  sleep 120 &\n  \
                 echo $! >> {pids}\n  wait\nfi\nexec {real} \"$@\"\n",
                flag = hang.flag.display(),
                pids = hang.pids.display(),
            ),
            0o755,
        );
        (hang, dir.join(name))
    }

    fn start(&self) {
        std::fs::write(&self.flag, "").unwrap();
    }

    fn stop(&self) {
        let _ = std::fs::remove_file(&self.flag);
    }

    /// The pids recorded so far (two per run).
    fn pids(&self) -> Vec<String> {
        std::fs::read_to_string(&self.pids)
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Hang {
    fn drop(&mut self) {
        self.stop();
        // Whatever the daemon failed to kill (the code before the time
        // limit) must not outlive the test.
        for pid in self.pids() {
            let _ = Command::new("kill")
                .args(["-9", &pid])
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

/// Whether `pid` is gone (or a zombie waiting for its new parent).
fn dead(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'))
    })
}

/// A daemon whose `[daemon]` section gets `extra` first.
fn daemon_with(d: &Daemon, extra: &str) {
    let cfg = std::fs::read_to_string(&d.config).unwrap().replacen(
        "[daemon]\n",
        &format!("[daemon]\n{extra}"),
        1,
    );
    d.file("elevated.toml", &cfg, 0o644);
}

fn request(d: &Daemon, user: &TestUser, role: &str, secs: &str) -> serde_json::Value {
    json(&d.elevate(Some(user), &["--json", "request", role, "--for", secs]))
}

fn members(group: &TestGroup) -> String {
    text(
        &Command::new("getent")
            .args(["group", &group.name])
            .output()
            .unwrap(),
    )
    .0
}

fn member(user: &TestUser, group: &TestGroup) -> bool {
    members(group)
        .trim()
        .rsplit(':')
        .next()
        .is_some_and(|m| m.split(',').any(|m| m == user.name))
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

fn pong(d: &Daemon) -> bool {
    matches!(d.client().call(Request::Ping {}), Ok(Response::Pong { .. }))
}

fn sudo_l(user: &TestUser) -> String {
    text(&as_user(user, "sudo", &["-n", "-l"]).output().unwrap()).0
}

#[test]
fn a_hung_visudo_fails_the_grant_cleanly_and_the_daemon_keeps_serving() {
    require_root();
    let user = TestUser::new("tv", &[]);
    let mut d = Daemon::new("").with_real_sudo();
    let (hang, visudo) = Hang::new(&d, "visudo", "/usr/sbin/visudo");
    daemon_with(
        &d,
        &format!(
            "visudo = \"{}\"\ncommand_timeout = \"1s\"\n",
            visudo.display()
        ),
    );
    d.policy(
        "10-s.toml",
        &format!(
            "[roles.ops]\nsudo = {{ commands = [\"/usr/bin/true\"] }}\n\n\
             [[rules]]\nrole = \"ops\"\nwho = {{ users = [\"{}\"] }}\n",
            user.name
        ),
    );
    d.start();

    hang.start();
    let v = request(&d, &user, "ops", "10m");
    assert_eq!(v["state"], "denied", "{v}");
    let message = v["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("{} did not finish within 1s", visudo.display())),
        "{message}"
    );
    assert_eq!(d.dropins(), Vec::<String>::new(), "a drop-in was left");
    let pids = hang.pids();
    assert_eq!(pids.len(), 2, "{pids:?}");
    for pid in &pids {
        assert!(dead(pid), "{pid} of the hung visudo still runs");
    }
    assert!(pong(&d));
    assert!(audit_events(&d).contains(&"grant_failed".to_owned()));
    assert!(!sudo_l(&user).contains("/usr/bin/true"));

    // The same request with the real visudo answering, once the back-off
    // after the overstay has passed (within it, visudo is not started and
    // the grant is refused at once).
    hang.stop();
    let mut v = serde_json::Value::Null;
    wait_until(
        "a grant with the real visudo",
        Duration::from_secs(30),
        || {
            v = request(&d, &user, "ops", "10m");
            let message = v["message"].as_str().unwrap_or_default();
            assert!(
                v["state"] == "active" || message.contains("was not started"),
                "{v}"
            );
            v["state"] == "active"
        },
    );
    assert_eq!(d.dropins().len(), 1);
    assert!(sudo_l(&user).contains("/usr/bin/true"), "{}", sudo_l(&user));
}

fn group_daemon(user: &TestUser, group: &TestGroup) -> (Daemon, Hang) {
    let mut d = Daemon::new("");
    let (hang, gpasswd) = Hang::new(&d, "gpasswd", "/usr/bin/gpasswd");
    daemon_with(
        &d,
        &format!(
            "gpasswd = \"{}\"\ncommand_timeout = \"1s\"\nreconcile_interval = \"1s\"\n",
            gpasswd.display()
        ),
    );
    d.policy(
        "10-g.toml",
        &format!(
            "[roles.grp]\ngroups = [\"{g}\"]\n\n[roles.ops]\nsudo = {{ commands = [\"/usr/bin/true\"] }}\n\n\
             [[rules]]\nrole = \"grp\"\nwho = {{ users = [\"{u}\"] }}\n\n\
             [[rules]]\nrole = \"ops\"\nwho = {{ users = [\"{u}\"] }}\n",
            g = group.name,
            u = user.name,
        ),
    );
    d.start();
    (d, hang)
}

#[test]
fn a_revocation_whose_gpasswd_hangs_is_retried_until_the_membership_is_gone() {
    require_root();
    let group = TestGroup::new("tg");
    let user = TestUser::new("tg", &[]);
    let (d, hang) = group_daemon(&user, &group);
    let v = request(&d, &user, "grp", "10m");
    assert_eq!(v["state"], "active", "{v}");
    assert!(member(&user, &group), "{}", members(&group));

    hang.start();
    let id = v["id"].as_str().unwrap();
    let out = d.elevate(Some(&user), &["--json", "revoke", id]);
    assert_eq!(json(&out)["state"], "revoked", "{:?}", text(&out));
    // gpasswd -d was killed: the membership is still there, still owed.
    assert!(member(&user, &group), "{}", members(&group));
    assert!(pong(&d));
    // Reconciliation tries again (and is cut off again) while it hangs.
    wait_until("a second gpasswd run", Duration::from_secs(30), || {
        hang.pids().len() >= 4
    });
    assert!(member(&user, &group), "{}", members(&group));
    assert!(!audit_events(&d).contains(&"group_removed".to_owned()));

    hang.stop();
    // gpasswd runs before the removal is recorded: wait for both.
    wait_until(
        "the membership to be taken back and recorded",
        Duration::from_secs(30),
        || !member(&user, &group) && audit_events(&d).contains(&"group_removed".to_owned()),
    );
    let pids = hang.pids();
    for pid in &pids {
        wait_until(
            "the hung gpasswd runs to be gone",
            Duration::from_secs(10),
            || dead(pid),
        );
    }
}

#[test]
fn other_grants_still_end_while_a_gpasswd_hangs() {
    require_root();
    let group = TestGroup::new("te");
    let user = TestUser::new("te", &[]);
    let (d, hang) = group_daemon(&user, &group);
    let groups = request(&d, &user, "grp", "2s");
    assert_eq!(groups["state"], "active", "{groups}");
    let sudo = request(&d, &user, "ops", "4s");
    assert_eq!(sudo["state"], "active", "{sudo}");
    assert_eq!(d.dropins().len(), 1);

    // From now on every gpasswd hangs: the group grant's end cannot take
    // the membership back, again and again.
    hang.start();
    wait_until("the first hung gpasswd", Duration::from_secs(30), || {
        !hang.pids().is_empty()
    });
    let id = sudo["id"].as_str().unwrap();
    wait_until("the sudo grant to expire", Duration::from_secs(30), || {
        json(&d.elevate(None, &["--json", "show", id]))["state"] == "expired"
    });
    // Recorded before the file goes; `show` does not wait for the rest.
    wait_until(
        "the sudo rule's drop-in to go",
        Duration::from_secs(10),
        || d.dropins().is_empty(),
    );
    // gpasswd still hangs: the membership is still owed, not forgotten.
    assert!(member(&user, &group), "{}", members(&group));
    hang.stop();
    wait_until(
        "the membership to be taken back",
        Duration::from_secs(30),
        || !member(&user, &group),
    );
}
