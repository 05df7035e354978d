//! What the container tests share: a booted machine with the package
//! installed, users, policies, and waiting for the service.

use std::time::Duration;

use elevated_tests::container::{boot_with_package, install, Machine};
use elevated_tests::daemon::text;

/// A container with the package installed and `users` created (with home
/// directories), `policy` written to `/etc/elevated/policy.d/50-test.toml`.
pub fn machine(users: &[&str], policy: &str) -> Machine {
    let m = boot_with_package();
    install(&m);
    for u in users {
        m.ok(&format!("useradd -m -s /bin/sh {u}"));
    }
    write_policy(&m, policy);
    m
}

/// Writes the test policy (root-owned, 0644, like an administrator would).
pub fn write_policy(m: &Machine, policy: &str) {
    write_file(m, "/etc/elevated/policy.d/50-test.toml", policy);
}

/// Writes a root-owned 0644 file inside the container.
pub fn write_file(m: &Machine, path: &str, body: &str) {
    let out = m
        .command("sh")
        .arg("-c")
        .arg("umask 022; cat > \"$1\"")
        .arg("sh")
        .arg(path)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(body.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success(), "cannot write {path} in the container");
}

/// `elevate ARGS` run as `user` inside the container: (exit code, stdout,
/// stderr).
pub fn elevate(m: &Machine, user: &str, args: &str) -> (i32, String, String) {
    let out = m.as_user(user, &format!("elevate {args}"));
    let (o, e) = text(&out);
    (out.status.code().unwrap_or(-1), o, e)
}

/// The request id in `elevate --json` output.
pub fn id_of(json: &str) -> String {
    let v: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("not JSON ({e}): {json}"));
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {json}"))
        .to_owned()
}

/// `systemctl show elevated.service -p PROP --value`.
pub fn prop(m: &Machine, prop: &str) -> String {
    m.ok(&format!(
        "systemctl show elevated.service -p {prop} --value"
    ))
    .trim()
    .to_owned()
}

/// The service's main pid inside the container (0 when not running).
pub fn main_pid(m: &Machine) -> u32 {
    prop(m, "MainPID").parse().unwrap()
}

/// Waits until `script` succeeds inside, or fails the test with `what`.
pub fn wait(m: &Machine, script: &str, timeout: Duration, what: &str) {
    assert!(m.wait_for(script, timeout), "{what} (waited {timeout:?})");
}
