//! Helpers for the group-grant tests: membership as `id` and `getent` see
//! it, requests and audit events through the real client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::process::{Child, Command};

use elevated_testkit::output::{json, text};

use crate::{Daemon, TestGroup, TestUser};

pub fn groups_of(user: &TestUser) -> String {
    text(
        &Command::new("id")
            .args(["-nG", &user.name])
            .output()
            .unwrap(),
    )
    .0
}

pub fn member(user: &TestUser, group: &TestGroup) -> bool {
    groups_of(user).split_whitespace().any(|g| g == group.name)
}

pub fn getent(group: &TestGroup) -> String {
    text(
        &Command::new("getent")
            .args(["group", &group.name])
            .output()
            .unwrap(),
    )
    .0
}

pub fn daemon(user: &TestUser, group: &TestGroup, on_expiry: &str) -> Daemon {
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

pub fn request(d: &Daemon, user: &TestUser, secs: &str) -> serde_json::Value {
    let out = d.elevate(Some(user), &["--json", "request", "grp", "--for", secs]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    json(&out)
}

pub fn audit_events(d: &Daemon) -> Vec<String> {
    let v = json(&d.elevate(None, &["--json", "audit"]));
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event"].as_str().unwrap().to_owned())
        .collect()
}

pub fn gone(child: &mut Child) -> bool {
    child.try_wait().unwrap().is_some()
}
