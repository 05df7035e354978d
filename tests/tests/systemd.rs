//! What systemd relies on: socket activation, readiness and watchdog
//! notifications, and the capabilities the daemon keeps.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use elevated_proto::{Client, Request, Response, Timeouts};
use elevated_tests::daemon::text;
use elevated_tests::{as_user, require_root, Daemon, TestUser};

const POLICY: &str =
    "[roles.ops]\nsudo = { commands = [\"/usr/bin/id\"] }\n\n[[rules]]\nrole = \"ops\"\n";

#[test]
fn serves_on_a_socket_passed_by_systemd() {
    require_root();
    let mut d = Daemon::new("");
    d.policy("10-ops.toml", POLICY);
    let activated = d.dir.path().join("activated.sock");
    let own = d.socket.clone();
    d.socket = activated.clone();
    d.start_with(
        &["systemd-socket-activate", "-l", activated.to_str().unwrap()],
        &[],
    );
    // It answers on the passed socket and did not bind its own.
    let mut c = Client::connect(&activated, Timeouts::default()).unwrap();
    assert!(matches!(
        c.call(Request::Ping {}).unwrap(),
        Response::Pong { .. }
    ));
    assert!(!own.exists(), "bound its own socket despite activation");
    assert!(d.log_text().contains("(from systemd)"), "{}", d.log_text());
    let out = d.elevate(None, &["request", "ops", "--for", "1m"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    d.stop();
    assert!(
        activated.exists(),
        "the socket belongs to systemd and must stay"
    );
}

#[test]
fn tells_systemd_it_is_ready_and_alive() {
    require_root();
    let mut d = Daemon::new("");
    let path = d.dir.path().join("notify.sock");
    let rx = UnixDatagram::bind(&path).unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    d.start_with(
        &[],
        &[
            ("NOTIFY_SOCKET", path.to_str().unwrap()),
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    let mut seen = Vec::new();
    let mut buf = [0u8; 512];
    while seen
        .iter()
        .filter(|m: &&String| m.contains("WATCHDOG=1"))
        .count()
        < 2
    {
        let n = rx.recv(&mut buf).expect("notifications stopped");
        seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(seen[0].starts_with("READY=1"), "{seen:?}");
    d.stop();
    let n = rx.recv(&mut buf).unwrap();
    let mut last = String::from_utf8_lossy(&buf[..n]).into_owned();
    while last.contains("WATCHDOG") {
        let n = rx.recv(&mut buf).unwrap();
        last = String::from_utf8_lossy(&buf[..n]).into_owned();
    }
    assert_eq!(last, "STOPPING=1");
}

#[test]
fn programs_the_daemon_runs_inherit_none_of_systemds_variables() {
    require_root();
    let mut d = Daemon::new("");
    d.policy("10-ops.toml", POLICY);
    // A visudo that writes down the environment it was given.
    let seen = d.dir.path().join("visudo.env");
    let visudo = d.dir.path().join("visudo");
    d.file(
        "visudo",
        &format!(
            "#!/bin/sh\nenv > {}\nexec /usr/sbin/visudo \"$@\"\n",
            seen.display()
        ),
        0o755,
    );
    let cfg = std::fs::read_to_string(&d.config).unwrap().replacen(
        "[daemon]\n",
        &format!("[daemon]\nvisudo = \"{}\"\n", visudo.display()),
        1,
    );
    d.file("elevated.toml", &cfg, 0o644);
    let path = d.dir.path().join("notify.sock");
    let _rx = UnixDatagram::bind(&path).unwrap();
    d.start_with(
        &[],
        &[
            ("NOTIFY_SOCKET", path.to_str().unwrap()),
            ("WATCHDOG_USEC", "60000000"),
        ],
    );
    let out = d.elevate(None, &["request", "ops", "--for", "1m"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let env = std::fs::read_to_string(&seen).unwrap();
    assert!(env.lines().any(|l| l.starts_with("PATH=")), "{env}");
    for var in ["NOTIFY_SOCKET", "WATCHDOG_USEC"] {
        assert!(
            !env.lines().any(|l| l.starts_with(&format!("{var}="))),
            "visudo was given {var}:\n{env}"
        );
    }
}

/// Bit numbers of the capabilities the daemon documents keeping.
const KEPT: &[u32] = &[
    0,  // CAP_CHOWN
    2,  // CAP_DAC_READ_SEARCH
    3,  // CAP_FOWNER
    5,  // CAP_KILL
    19, // CAP_SYS_PTRACE
    29, // CAP_AUDIT_WRITE
];

fn cap_line(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(key)).unwrap();
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

#[test]
fn keeps_exactly_the_documented_capabilities_and_still_grants() {
    require_root();
    let user = TestUser::new("c", &[]);
    let mut d = Daemon::new("").with_real_sudo();
    d.policy(
        "10-ops.toml",
        &format!("[roles.ops]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\n\n[[rules]]\nrole = \"ops\"\nwho = {{ users = [\"{}\"] }}\n", user.name),
    );
    d.start();
    let want: u64 = KEPT.iter().map(|b| 1u64 << b).sum();
    let pid = d.pid();
    assert_eq!(cap_line(pid, "CapEff:"), want, "effective");
    assert_eq!(cap_line(pid, "CapPrm:"), want, "permitted");
    assert_eq!(cap_line(pid, "CapBnd:"), want, "bounding");
    assert_eq!(cap_line(pid, "CapInh:"), 0, "inheritable");
    assert_eq!(cap_line(pid, "CapAmb:"), 0, "ambient");
    assert!(d.log_text().contains("capabilities kept:"));
    // A grant and a revocation still work with only these.
    let out = d.elevate(Some(&user), &["--json", "request", "ops", "--for", "1m"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(as_user(&user, "sudo", &["-n", "/usr/bin/id"])
        .output()
        .unwrap()
        .status
        .success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let out = d.elevate(Some(&user), &["revoke", v["id"].as_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(d.dropins().is_empty());
    assert!(!as_user(&user, "sudo", &["-n", "/usr/bin/id"])
        .output()
        .unwrap()
        .status
        .success());
}
