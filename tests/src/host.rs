//! Users, groups and commands run as them.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Fails the test clearly when not run as root.
pub fn require_root() {
    let uid = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        .unwrap();
    assert_eq!(
        uid, "0",
        "end-to-end tests create users and drive the real sudo: run them as root (scripts/test)"
    );
}

/// A unique name with the test prefix: `elvt<pid36><n><tag>`.
pub fn unique(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("elvt{}{n}{tag}", radix36(std::process::id()))
}

fn radix36(mut v: u32) -> String {
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut s = Vec::new();
    loop {
        s.push(digits[(v % 36) as usize]);
        v /= 36;
        if v == 0 {
            break;
        }
    }
    s.reverse();
    String::from_utf8(s).unwrap()
}

/// Runs a shadow-utils command, retrying while another test holds the lock
/// on /etc/passwd or /etc/group.
fn shadow(cmd: &str, args: &[&str]) -> Output {
    for _ in 0..100 {
        let out = Command::new(cmd).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.success() || !(err.contains("lock") || err.contains("try again")) {
            return out;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{cmd} {args:?}: /etc/passwd stayed locked");
}

/// A user that exists for the test's lifetime.
#[derive(Debug)]
pub struct TestUser {
    pub name: String,
    pub uid: u32,
}

impl TestUser {
    /// Creates a user (no home, no login shell) in the given groups.
    pub fn new(tag: &str, groups: &[&TestGroup]) -> Self {
        let name = unique(tag);
        let mut args = vec!["-M", "-s", "/bin/sh", "-U"];
        let list: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
        let joined = list.join(",");
        if !list.is_empty() {
            args.push("-G");
            args.push(&joined);
        }
        args.push(&name);
        let out = shadow("useradd", &args);
        assert!(out.status.success(), "useradd {name}: {out:?}");
        let id = Command::new("id").args(["-u", &name]).output().unwrap();
        let uid = String::from_utf8_lossy(&id.stdout).trim().parse().unwrap();
        Self { name, uid }
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _ = shadow("userdel", &["-f", &self.name]);
    }
}

/// A group that exists for the test's lifetime.
#[derive(Debug)]
pub struct TestGroup {
    pub name: String,
}

impl TestGroup {
    pub fn new(tag: &str) -> Self {
        let name = unique(tag);
        let out = shadow("groupadd", &[&name]);
        assert!(out.status.success(), "groupadd {name}: {out:?}");
        Self { name }
    }
}

impl Drop for TestGroup {
    fn drop(&mut self) {
        let _ = shadow("groupdel", &[&self.name]);
    }
}

/// A command that runs `program args` as `user` (real and effective uid,
/// primary and supplementary groups), with a minimal environment.
pub fn as_user(user: &TestUser, program: &str, args: &[&str]) -> Command {
    let mut c = Command::new("setpriv");
    c.args([
        "--reuid",
        &user.name,
        "--regid",
        &user.name,
        "--init-groups",
        "--",
        program,
    ])
    .args(args)
    .env_clear()
    .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
    .env("USER", &user.name)
    .env("HOME", "/");
    c
}
