//! The installed units under a real systemd: socket activation, the
//! service's status and exposure, a grant through the sandboxed service,
//! reload, the watchdog and restart.

use std::time::{Duration, Instant};

use elevated_tests::packages::{exposure_in, MAX_EXPOSURE};

use super::support::{elevate, id_of, machine, main_pid, prop, wait, write_policy};

const POLICY: &str = r#"
[roles.ops]
description = "Run id as root"
sudo = { commands = ["/usr/bin/id"] }

[[rules]]
role = "ops"
who = { users = ["alice"] }
"#;

/// The capabilities `CapabilityBoundingSet=` in systemd/elevated.service
/// names, as the kernel's bit mask: CHOWN 0, DAC_READ_SEARCH 2, FOWNER 3,
/// KILL 5, SYS_PTRACE 19, AUDIT_WRITE 29.
const BOUNDING: u64 = 1 << 0 | 1 << 2 | 1 << 3 | 1 << 5 | 1 << 19 | 1 << 29;

#[test]
fn install_activates_on_first_use_and_grants_through_the_sandbox() {
    let m = machine(&["alice"], POLICY);
    // dpkg -i enabled and started the socket, not the service.
    assert_eq!(
        m.ok("systemctl is-enabled elevated.socket").trim(),
        "enabled"
    );
    assert_eq!(m.ok("systemctl is-active elevated.socket").trim(), "active");
    assert_eq!(
        prop(&m, "ActiveState"),
        "inactive",
        "service before first use"
    );

    // The first client starts the service through the socket.
    let (code, out, err) = elevate(&m, "alice", "roles");
    assert_eq!(code, 0, "elevate roles: {out}{err}");
    assert!(out.contains("ops"), "roles: {out}");
    assert_eq!(prop(&m, "ActiveState"), "active");
    assert_eq!(
        prop(&m, "StatusText"),
        "serving on /run/elevated/elevated.sock"
    );

    // The online security analysis of the running unit.
    let report = m.ok("systemd-analyze security --no-pager elevated.service");
    let figure = exposure_in(&report);
    eprintln!("systemd-analyze security (online): exposure {figure}");
    assert!(figure <= MAX_EXPOSURE, "exposure {figure} > {MAX_EXPOSURE}");

    // The sandbox as the kernel sees it.
    let pid = main_pid(&m);
    let status = m.ok(&format!("cat /proc/{pid}/status"));
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
            .trim()
            .to_owned()
    };
    let mask = |name: &str| u64::from_str_radix(&field(name), 16).unwrap();
    assert_eq!(mask("CapBnd:"), BOUNDING, "bounding set");
    assert_eq!(
        mask("CapEff:") & !BOUNDING,
        0,
        "effective beyond the bounding set"
    );
    assert_eq!(field("NoNewPrivs:"), "1");
    assert_eq!(field("Seccomp:"), "2", "a seccomp filter");
    let probe = m.sh(&format!(
        "nsenter -t {pid} -m -- touch /usr/lib/elevated-probe"
    ));
    let err = String::from_utf8_lossy(&probe.stderr);
    assert!(
        !probe.status.success() && err.contains("Read-only file system"),
        "/usr must be read-only in the daemon's mount namespace: {err}"
    );

    // A grant through the sandboxed service: visudo runs inside the
    // sandbox, the container's sudo honours the drop-in, expiry removes it.
    let (code, out, err) = elevate(
        &m,
        "alice",
        "--json request ops --for 4s --reason container",
    );
    assert_eq!(code, 0, "request: {out}{err}");
    let id = id_of(&out);
    let dropin = format!("/etc/sudoers.d/elevated_{id}");
    m.ok(&format!("test -f {dropin} && visudo -cf {dropin}"));
    let sudo = m.as_user("alice", "sudo -n /usr/bin/id -u");
    assert_eq!(
        String::from_utf8_lossy(&sudo.stdout).trim(),
        "0",
        "sudo under the grant"
    );
    let start = Instant::now();
    wait(
        &m,
        &format!("! test -e {dropin}"),
        Duration::from_secs(15),
        "the drop-in outlived the window",
    );
    eprintln!("drop-in removed {:.1?} after the check", start.elapsed());
    assert!(!m
        .as_user("alice", "sudo -n /usr/bin/id -u")
        .status
        .success());
    let (_, show, _) = elevate(&m, "alice", &format!("--json show {id}"));
    assert!(
        show.contains("\"expired\""),
        "state after the window: {show}"
    );
}

#[test]
fn reload_applies_a_valid_policy_and_keeps_the_old_one_on_error() {
    let m = machine(&["alice"], POLICY);
    let (code, ..) = elevate(&m, "alice", "roles");
    assert_eq!(code, 0);
    // systemd's own log of the notifications it receives.
    m.ok("systemd-analyze log-level debug");
    let pid = main_pid(&m);

    write_policy(&m, &format!("{POLICY}\n[roles.audit]\nsudo = {{ commands = [\"/usr/bin/true\"] }}\n\n[[rules]]\nrole = \"audit\"\nwho = {{ users = [\"alice\"] }}\n"));
    m.ok("systemctl reload elevated.service");
    // `systemctl reload` returned only after READY=1: the new role is
    // there at once, without waiting.
    let (_, roles, _) = elevate(&m, "alice", "roles");
    assert!(roles.contains("audit"), "after reload: {roles}");
    assert_eq!(main_pid(&m), pid, "reload does not restart");
    let pid1_log = m.ok("journalctl _PID=1 --no-pager -o cat");
    let reloading = pid1_log
        .find(&format!("from PID {pid} (RELOADING=1"))
        .unwrap_or_else(|| panic!("no RELOADING=1 from {pid} in systemd's log"));
    assert!(
        pid1_log[reloading..].contains(&format!("from PID {pid} (READY=1")),
        "READY=1 after RELOADING=1"
    );

    write_policy(&m, "[roles.audit\nbroken = \n");
    let out = m.sh("systemctl reload elevated.service");
    assert!(out.status.success(), "reload with a broken policy");
    assert_eq!(prop(&m, "ActiveState"), "active");
    let (_, roles, _) = elevate(&m, "alice", "roles");
    assert!(roles.contains("audit"), "the old policy stays: {roles}");
    let journal = m.journal("elevated.service");
    assert!(
        journal.contains("50-test.toml:1"),
        "the journal names the file and line:\n{journal}"
    );
}

#[test]
fn the_watchdog_restarts_a_stopped_daemon_and_a_restart_keeps_grants() {
    let m = machine(&["alice"], POLICY);
    let (code, out, err) = elevate(&m, "alice", "--json request ops --for 10m");
    assert_eq!(code, 0, "{out}{err}");
    let id = id_of(&out);
    let dropin = format!("/etc/sudoers.d/elevated_{id}");

    // A planned restart keeps the grant; reconciliation leaves the host
    // matching the store.
    let before = main_pid(&m);
    m.ok("systemctl restart elevated.service");
    assert_ne!(main_pid(&m), before);
    m.ok(&format!("test -f {dropin} && visudo -c"));
    let (_, status, _) = elevate(&m, "alice", "status");
    assert!(status.contains(&id), "status after restart: {status}");
    assert!(m
        .as_user("alice", "sudo -n /usr/bin/id -u")
        .status
        .success());

    // A hung daemon (SIGSTOP: no watchdog pings) is killed and restarted
    // within WatchdogSec (30s) plus RestartSec (2s).
    let watchdog: u64 = prop(&m, "WatchdogUSec")
        .trim_end_matches('s')
        .parse::<u64>()
        .unwrap_or(30);
    let hung = main_pid(&m);
    m.ok(&format!("kill -STOP {hung}"));
    let start = Instant::now();
    let limit = Duration::from_secs(watchdog + 2 + 10);
    wait(
        &m,
        &format!(
            "pid=$(systemctl show elevated.service -p MainPID --value); \
             [ \"$pid\" != 0 ] && [ \"$pid\" != {hung} ] && systemctl is-active -q elevated.service"
        ),
        limit,
        "the watchdog did not restart the stopped daemon",
    );
    eprintln!("watchdog restart {:.1?} after SIGSTOP", start.elapsed());
    assert!(m.journal("elevated.service").contains("Watchdog timeout"));
    m.ok(&format!("test -f {dropin} && visudo -c"));
    let (_, status, _) = elevate(&m, "alice", "status");
    assert!(status.contains(&id), "status after the watchdog: {status}");
}
