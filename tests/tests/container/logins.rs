//! Real logins: logind's session facts for a loopback ssh login and a
//! console (`login`) session, and pam_elevate.so in the real sshd account
//! stack enabled through the shipped pam-auth-update profile.

use std::time::{Duration, Instant};

use elevated_tests::container::Machine;

use super::support::{elevate, machine, main_pid, wait};

const REMOTE_ONLY: &str = r#"
[roles.ops]
sudo = { commands = ["/usr/bin/id"] }

[[rules]]
role = "ops"
who = { users = ["alice"] }
context = { session = ["remote"] }
"#;

const LOGIN_ROLE: &str = r#"
[roles.shell]
description = "Log in to this host"
login = true

[[rules]]
role = "shell"
who = { users = ["alice"] }
"#;

/// Gives root's ssh key to `user` (and root) and makes sure sshd runs.
fn ssh_keys(m: &Machine, users: &[&str]) {
    m.ok("ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519 </dev/null 2>/dev/null || \
          { mkdir -p -m 700 /root/.ssh && ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519; }");
    m.ok("cp /root/.ssh/id_ed25519.pub /root/.ssh/authorized_keys");
    for u in users {
        m.ok(&format!(
            "install -d -m 700 -o {u} -g {u} ~{u}/.ssh && \
             install -m 600 -o {u} -g {u} /root/.ssh/id_ed25519.pub ~{u}/.ssh/authorized_keys"
        ));
    }
    wait(
        m,
        "systemctl is-active -q ssh.service",
        Duration::from_secs(10),
        "sshd is not running",
    );
}

/// `ssh user@127.0.0.1 COMMAND` from root's key, inside the container.
fn ssh(m: &Machine, user: &str, command: &str) -> std::process::Output {
    m.sh(&format!(
        "ssh -i /root/.ssh/id_ed25519 -o BatchMode=yes -o StrictHostKeyChecking=no \
         -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR {user}@127.0.0.1 '{command}'"
    ))
}

/// Runs `command` in a console session of `user` (`login -f` on a pty, as
/// getty would after a password: logind records service `login`, a tty and
/// no remote host); returns what it printed and its status.
fn console(m: &Machine, user: &str, command: &str) -> (i32, String) {
    m.ok(&format!(
        "cp ~{user}/.profile /tmp/profile.{user} 2>/dev/null || true; \
         printf '%s > /tmp/console.out 2>&1; echo $? > /tmp/console.rc; exit 0\\n' '{command}' >> ~{user}/.profile"
    ));
    m.ok(&format!(
        "timeout 30 script -qec 'login -f {user}' /dev/null </dev/null >/dev/null; \
         cp /tmp/profile.{user} ~{user}/.profile 2>/dev/null || true"
    ));
    let rc = m.ok("cat /tmp/console.rc").trim().parse().unwrap();
    (rc, m.ok("cat /tmp/console.out"))
}

#[test]
fn logind_tells_a_remote_session_from_a_console_one() {
    let m = machine(&["alice"], REMOTE_ONLY);
    ssh_keys(&m, &["alice"]);

    let out = ssh(&m, "alice", "elevate request ops --for 1m");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "request over ssh (a remote session): {text}"
    );
    assert!(text.contains("active"), "{text}");

    let (rc, text) = console(&m, "alice", "elevate request ops --for 1m");
    assert_eq!(rc, 1, "a console session is not remote: {text}");

    // What the daemon heard from logind is what explain decides on.
    let remote = m.sh("elevated explain --user alice --role ops --context session=remote");
    assert!(
        remote.status.success(),
        "{}",
        String::from_utf8_lossy(&remote.stdout)
    );
    let local = m.sh("elevated explain --user alice --role ops --context session=local");
    assert!(
        !local.status.success(),
        "{}",
        String::from_utf8_lossy(&local.stdout)
    );
    let journal = m.journal("elevated.service");
    assert!(
        !journal.contains("UnknownMethod"),
        "the daemon asked logind for a method it does not have:\n{journal}"
    );
}

#[test]
fn pam_module_gates_ssh_logins_under_the_real_sshd() {
    let m = machine(&["alice"], LOGIN_ROLE);
    // The host requires a login grant (the shipped settings do not).
    m.ok("sed -i 's/^\\[login\\]$/[login]\\nrequire_grant = true/' /etc/elevated/elevated.toml");
    m.ok("elevated check-config >/dev/null && grep -qx 'require_grant = true' /etc/elevated/elevated.toml");
    ssh_keys(&m, &["alice"]);
    m.ok("pam-auth-update --enable elevate");
    let stack = m.ok("cat /etc/pam.d/common-account");
    assert!(
        stack.contains("pam_elevate.so"),
        "profile not enabled:\n{stack}"
    );

    // No login grant: refused. Root: always.
    assert!(
        !ssh(&m, "alice", "true").status.success(),
        "alice without a grant"
    );
    assert!(ssh(&m, "root", "true").status.success(), "root");

    // A login grant, requested without a login (runuser): ssh works.
    let (code, out, err) = elevate(&m, "alice", "request shell --for 5m");
    assert_eq!(code, 0, "{out}{err}");
    let out = ssh(&m, "alice", "id -un");
    assert!(out.status.success(), "alice with a login grant: {out:?}");

    // A hung daemon behind a listening socket: gated logins fail within the
    // module's timeout (timeout=5 in the profile), root still gets in.
    let pid = main_pid(&m);
    m.ok(&format!("kill -STOP {pid}"));
    let start = Instant::now();
    let out = ssh(&m, "alice", "true");
    let took = start.elapsed();
    eprintln!("gated ssh login with a hung daemon failed after {took:.1?}");
    assert!(!out.status.success(), "a login the daemon cannot confirm");
    assert!(
        took < Duration::from_secs(5 + 5),
        "the module waited {took:?}"
    );
    // Root's account check never asks the daemon; the session phase
    // still tries to record the login, for at most timeout=.
    let start = Instant::now();
    assert!(
        ssh(&m, "root", "true").status.success(),
        "root with a hung daemon"
    );
    let took = start.elapsed();
    eprintln!("root's ssh login with a hung daemon took {took:.1?}");
    assert!(took < Duration::from_secs(5 + 5), "root waited {took:?}");
    m.ok(&format!("kill -CONT {pid}"));
}
