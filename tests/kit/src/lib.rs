//! Test support for the whole workspace, in one place (see
//! docs/testing.md for where tests live):
//!
//! - throw-away users and groups for tests that change the host (run as
//!   root), used by the daemon's root unit tests and the end-to-end tests:
//!   everything is named `elvt<pid><n><tag>` (`scripts/clean-test-leftovers`
//!   removes whatever a killed run left) and removed by `Drop`, also when a
//!   test fails;
//! - [`fake_daemon`]: a scripted daemon for the client's and the PAM
//!   module's tests;
//! - [`samples`]: sample daemon answers;
//! - [`poll`]: waiting for a condition, bounded;
//! - [`output`]: what a finished program printed.
//!
//! Only tests use it (a dev-dependency, or the end-to-end test crate): it
//! never reaches the shipped programs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub mod fake_daemon;
pub mod output;
pub mod poll;
pub mod samples;

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
        "this test creates users and drives the real sudo: run it as root (scripts/test)"
    );
}

/// A unique name with the test prefix: `elvt<pid36><n><tag>` (short enough
/// for user and group names with a short tag).
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

/// The fields of `getent DB KEY`.
pub fn getent(db: &str, key: &str) -> Vec<String> {
    let out = Command::new("getent").args([db, key]).output().unwrap();
    assert!(out.status.success(), "getent {db} {key}: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .split(':')
        .map(str::to_owned)
        .collect()
}

/// A group that exists for the test's lifetime.
#[derive(Debug)]
pub struct TestGroup {
    pub name: String,
    pub gid: u32,
}

impl TestGroup {
    pub fn new(tag: &str) -> Self {
        let name = unique(tag);
        let out = shadow("groupadd", &[&name]);
        assert!(out.status.success(), "groupadd {name}: {out:?}");
        let gid = getent("group", &name)[2].parse().unwrap();
        Self { name, gid }
    }

    pub fn group_name(&self) -> elevated_proto::GroupName {
        elevated_proto::GroupName::parse(&self.name).unwrap()
    }
}

impl Drop for TestGroup {
    fn drop(&mut self) {
        let _ = shadow("groupdel", &[&self.name]);
    }
}

/// A user (own primary group, no home, `/bin/sh`) that exists for the
/// test's lifetime.
#[derive(Debug)]
pub struct TestUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

impl TestUser {
    /// Creates the user, also a member of `groups`.
    pub fn new(tag: &str, groups: &[&TestGroup]) -> Self {
        let name = unique(tag);
        let joined = groups
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let mut args = vec!["-M", "-s", "/bin/sh", "-U"];
        if !joined.is_empty() {
            args.extend(["-G", &joined]);
        }
        args.push(&name);
        let out = shadow("useradd", &args);
        assert!(out.status.success(), "useradd {name}: {out:?}");
        let pw = getent("passwd", &name);
        Self {
            uid: pw[2].parse().unwrap(),
            gid: pw[3].parse().unwrap(),
            name,
        }
    }

    pub fn user_name(&self) -> elevated_proto::UserName {
        elevated_proto::UserName::parse(&self.name).unwrap()
    }

    /// `id -nG USER`: the groups a new login of the user would get.
    pub fn id_groups(&self) -> Vec<String> {
        let out = Command::new("id")
            .args(["-nG", &self.name])
            .output()
            .unwrap();
        assert!(out.status.success(), "id {}: {out:?}", self.name);
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    /// Starts `args` as the user with the given supplementary gids and the
    /// extra environment variables (nothing else in the environment).
    pub fn spawn(&self, gids: &[u32], env: &[(&str, &str)], args: &[&str]) -> Spawned {
        let groups = if gids.is_empty() {
            "--clear-groups".to_owned()
        } else {
            let list: Vec<String> = gids.iter().map(u32::to_string).collect();
            format!("--groups={}", list.join(","))
        };
        Command::new("setpriv")
            .args([
                &format!("--reuid={}", self.uid),
                &format!("--regid={}", self.gid),
                &groups,
                "--",
            ])
            .args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .spawn()
            .map(Spawned)
            .unwrap()
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _ = shadow("userdel", &["-f", &self.name]);
    }
}

/// A child process, killed and reaped when dropped (a failing test leaves
/// nothing running).
#[derive(Debug)]
pub struct Spawned(pub Child);

impl Spawned {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Waits up to `limit` for the exit; the wait status, if it exited.
    pub fn wait_for(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(st) = self.0.try_wait().unwrap() {
                return Some(st);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
