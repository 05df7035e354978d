//! Users, groups and commands run as them.

use std::process::Command;

pub use elevated_testkit::{require_root, unique, TestGroup, TestUser};

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
