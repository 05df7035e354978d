//! A full state directory: one user's refusals cannot fill it, and a grant
//! is taken away on time (revocation and expiry) even when nothing can be
//! written. The state directory is a small tmpfs, filled with one file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use elevated_proto::{ErrorCode, NewRequest, Request, RequestState, Response, RoleName};
use elevated_testkit::output::json;
use elevated_testkit::poll::wait_until;
use elevated_tests::daemon::text;
use elevated_tests::{as_user, bin, require_root, Daemon, TestGroup, TestUser};

/// A tmpfs mounted over a daemon's state directory, unmounted on drop
/// (lazily: the daemon may still hold its database open).
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    fn over_state(d: &Daemon, size: &str) -> Self {
        let path = d.dir.path().join("state");
        fs::create_dir_all(&path).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={size},mode=0700,uid=0,gid=0"))
            .arg("elvt-state")
            .arg(&path)
            .status()
            .unwrap();
        assert!(st.success(), "mount tmpfs on {}", path.display());
        Self { path }
    }

    /// Fills the filesystem to its last byte with one file.
    fn fill(&self) -> PathBuf {
        let p = self.path.join("filler");
        let mut f = fs::File::create(&p).unwrap();
        for chunk in [1 << 20, 4096, 1] {
            let buf = vec![0u8; chunk];
            while f.write_all(&buf).is_ok() {}
        }
        p
    }

    /// Bytes the files in it take.
    fn used(&self) -> u64 {
        fs::read_dir(&self.path)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().blocks() * 512)
            .sum()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

fn sudo_l(user: &TestUser) -> String {
    text(&as_user(user, "sudo", &["-n", "-l"]).output().unwrap()).0
}

fn member(user: &TestUser, group: &TestGroup) -> bool {
    let out = Command::new("id")
        .args(["-nG", &user.name])
        .output()
        .unwrap();
    text(&out).0.split_whitespace().any(|g| g == group.name)
}

fn audited(d: &Daemon, id: &str, event: &str) -> bool {
    let v = json(&d.elevate(None, &["--json", "audit"]));
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["event"].as_str() == Some(event) && r["request"].as_str() == Some(id))
}

/// A daemon on a small tmpfs whose role `grp` gives `group` and a sudo
/// rule for sleep to `user`, without approval.
fn granting(user: &TestUser, group: &TestGroup) -> (Daemon, Tmpfs) {
    let mut d = Daemon::new("").with_real_sudo();
    d.policy(
        "10-g.toml",
        &format!(
            "[roles.grp]\ngroups = [\"{g}\"]\nsudo = {{ commands = [\"/usr/bin/sleep\"] }}\n\n\
             [[rules]]\nrole = \"grp\"\nwho = {{ users = [\"{u}\"] }}\n",
            g = group.name,
            u = user.name,
        ),
    );
    let fs = Tmpfs::over_state(&d, "16m");
    d.start();
    (d, fs)
}

fn granted(d: &Daemon, user: &TestUser, group: &TestGroup, secs: &str) -> String {
    let out = d.elevate(Some(user), &["--json", "request", "grp", "--for", secs]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let v = json(&out);
    assert_eq!(v["state"], "active", "{v}");
    assert!(member(user, group));
    assert!(sudo_l(user).contains("/usr/bin/sleep"));
    v["id"].as_str().unwrap().to_owned()
}

#[test]
fn revoke_on_a_full_state_directory_takes_the_rights_away_and_says_so() {
    require_root();
    let group = TestGroup::new("fd");
    let user = TestUser::new("fd", &[]);
    let (mut d, fs) = granting(&user, &group);
    let id = granted(&d, &user, &group, "10m");
    let filler = fs.fill();

    let out = d.elevate(None, &["revoke", &id]);
    let (stdout, stderr) = text(&out);
    eprintln!("revoke on a full disk: {:?} {stdout} {stderr}", out.status);
    assert!(
        !sudo_l(&user).contains("/usr/bin/sleep"),
        "{stdout} {stderr}"
    );
    assert!(!member(&user, &group), "{stdout} {stderr}");
    assert!(
        !stderr.contains("internal error in the daemon's state database"),
        "{stderr}"
    );
    if out.status.success() {
        // A success must be true: the store says so.
        assert!(audited(&d, &id, "revoked"), "{stdout}");
    } else {
        assert!(
            stderr.contains("taken away on this host") && stderr.contains("retries"),
            "{stderr}"
        );
        assert!(!audited(&d, &id, "revoked"));
        // A restart while the end waits does not give the rights back.
        d.kill();
        d.start();
        assert!(!sudo_l(&user).contains("/usr/bin/sleep"));
        assert!(!member(&user, &group));
    }

    // Once there is room, the end is recorded (and audited) on its own.
    fs::remove_file(filler).unwrap();
    wait_until(
        "the revocation to be recorded",
        Duration::from_secs(30),
        || audited(&d, &id, "revoked"),
    );
    let v = json(&d.elevate(None, &["--json", "show", &id]));
    assert_eq!(v["state"], "revoked", "{v}");
    assert!(!member(&user, &group));
    assert!(d.dropins().is_empty(), "{:?}", d.dropins());
}

#[test]
fn expiry_on_a_full_state_directory_takes_the_rights_away() {
    require_root();
    let group = TestGroup::new("fe");
    let user = TestUser::new("fe", &[]);
    let (d, fs) = granting(&user, &group);
    let id = granted(&d, &user, &group, "3s");
    let filler = fs.fill();

    wait_until(
        "the group to be taken back",
        Duration::from_secs(30),
        || !member(&user, &group),
    );
    assert!(!sudo_l(&user).contains("/usr/bin/sleep"));
    assert!(d.dropins().is_empty(), "{:?}", d.dropins());
    assert!(!audited(&d, &id, "expired"));

    fs::remove_file(filler).unwrap();
    wait_until("the expiry to be recorded", Duration::from_secs(30), || {
        audited(&d, &id, "expired")
    });
    assert!(!member(&user, &group));
    let v = json(&d.elevate(None, &["--json", "show", &id]));
    assert_eq!(v["state"], "expired", "{v}");
}

/// A word of `n` bytes the command checks accept.
fn word(i: usize, n: usize) -> String {
    let mut w = format!("/x{i}-");
    while w.len() < n {
        w.push('a');
    }
    w
}

#[test]
fn two_thousand_maximal_refusals_add_at_most_three_mib() {
    require_root();
    let user = TestUser::new("fr", &[]);
    let mut d = Daemon::new("");
    d.policy(
        "10-r.toml",
        "[roles.real]\nsudo = { commands = [\"/usr/bin/true\"] }\n",
    );
    // Large enough that the flood, unbounded, would show; small enough not
    // to matter to the host.
    let fs = Tmpfs::over_state(&d, "64m");
    d.start();
    let before = fs.used();

    let mut client = as_user(&user, bin("elvt-one-connection").to_str().unwrap(), &[]);
    let mut child = client
        .env("ELEVATE_SOCKET", &d.socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for i in 0..2000 {
            // Half as large as a frame lets through, half as large as the
            // command checks let through; unknown roles of the longest name.
            let command = if i % 2 == 0 {
                (0..33).map(|j| word(j, 1900)).collect()
            } else {
                (0..33).map(|j| word(j, 124)).collect()
            };
            let role = format!("r{i:04}{}", "z".repeat(59));
            let req = Request::Request(NewRequest {
                role: RoleName::parse(&role).unwrap(),
                duration_secs: Some(60),
                command: Some(command),
                reason: Some("why".repeat(341)),
                ticket: Some("T".repeat(128)),
            });
            let line = serde_json::to_string(&req).unwrap();
            if writeln!(stdin, "{line}").is_err() {
                break;
            }
        }
    });
    let mut answers = 0;
    let mut recorded = 0;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let r: Response = serde_json::from_str(&line.unwrap()).unwrap();
        match r {
            Response::Request { request } => {
                assert_eq!(request.state, RequestState::Denied);
                recorded += 1;
            }
            Response::Error { code, message } => assert!(
                matches!(
                    code,
                    ErrorCode::BadRequest | ErrorCode::Forbidden | ErrorCode::Limit
                ),
                "{code:?}: {message}"
            ),
            other => panic!("{other:?}"),
        }
        answers += 1;
    }
    writer.join().unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(answers, 2000);
    let added = fs.used().saturating_sub(before);
    eprintln!("2000 refusals: {recorded} recorded one by one, {added} bytes added");
    assert!(added <= 3 << 20, "{added} bytes added by 2000 refusals");
    // The daemon is still serving, and still refuses what it should.
    let out = d.elevate(Some(&user), &["request", "real", "--for", "1m"]);
    assert!(!out.status.success(), "{:?}", text(&out));
}
