//! `dpkg -P` with grants active leaves nothing of the package behind.

use super::support::{elevate, id_of, machine};

const POLICY: &str = r#"
[roles.ops]
sudo = { commands = ["/usr/bin/id"] }
groups = ["elvtops"]

[[rules]]
role = "ops"
who = { users = ["alice"] }
"#;

#[test]
fn purge_with_active_grants_leaves_nothing_behind() {
    let m = machine(&["alice"], "");
    m.ok("groupadd elvtops");
    super::support::write_policy(&m, POLICY);
    let (code, out, err) = elevate(&m, "alice", "--json request ops --for 10m");
    assert_eq!(code, 0, "{out}{err}");
    let id = id_of(&out);
    m.ok(&format!("test -f /etc/sudoers.d/elevated_{id}"));
    assert!(m
        .ok("id -nG alice")
        .split_whitespace()
        .any(|g| g == "elvtops"));

    let log = m.ok("dpkg -P elevated 2>&1");
    eprintln!("dpkg -P:\n{log}");
    assert!(
        m.ok("ls /etc/sudoers.d")
            .lines()
            .all(|f| !f.starts_with("elevated_")),
        "a drop-in survived the purge"
    );
    assert!(
        !m.ok("id -nG alice")
            .split_whitespace()
            .any(|g| g == "elvtops"),
        "the membership the daemon added survived the purge"
    );
    m.ok("visudo -c");
    for path in [
        "/var/lib/elevated",
        "/etc/elevated",
        "/run/elevated/elevated.sock",
        "/lib/systemd/system/elevated.service",
        "/lib/systemd/system/elevated.socket",
        "/usr/sbin/elevated",
    ] {
        m.ok(&format!(
            "! test -e {path} || {{ echo {path} left; exit 1; }}"
        ));
    }
    let units = m.ok("systemctl list-units --all --no-legend 'elevated*'");
    assert!(units.trim().is_empty(), "units left: {units}");
    assert!(m
        .ok("dpkg -l elevated 2>&1 || true")
        .lines()
        .all(|l| !l.starts_with("ii")));
}
