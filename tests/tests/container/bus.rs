//! The D-Bus interface on the container's real system bus, under the bus
//! policy the package installs.

use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use super::support::{elevate, machine, wait};

const POLICY: &str = r#"
[roles.ops]
sudo = { commands = ["/usr/bin/id"] }

[[rules]]
role = "ops"
who = { users = ["alice"] }
"#;

const CALL: &str = "busctl --system call org.elevated.Elevated1 /org/elevated/Elevated1 \
                    org.elevated.Elevated1 ListOpen";

#[test]
fn the_system_bus_serves_root_refuses_users_and_carries_signals() {
    let m = machine(&["alice"], POLICY);
    // Start the service (socket activation) and wait for its bus name.
    let (code, ..) = elevate(&m, "alice", "roles");
    assert_eq!(code, 0);
    wait(
        &m,
        "busctl --system status org.elevated.Elevated1 >/dev/null 2>&1",
        Duration::from_secs(10),
        "the daemon never took its name on the system bus",
    );

    // A monitor (root may eavesdrop) started before the transitions.
    let mut monitor = m
        .command("timeout")
        .args([
            "20",
            "busctl",
            "--system",
            "monitor",
            "org.elevated.Elevated1",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));

    let (code, out, err) = elevate(&m, "alice", "request ops --for 1m");
    assert_eq!(code, 0, "{out}{err}");

    let root = m.sh(CALL);
    let answer = String::from_utf8_lossy(&root.stdout).into_owned();
    assert!(root.status.success(), "root's ListOpen: {root:?}");
    assert!(answer.contains("ops"), "ListOpen lists the grant: {answer}");

    let user = m.as_user("alice", CALL);
    let err = String::from_utf8_lossy(&user.stderr).into_owned();
    assert!(!user.status.success(), "alice may not call ListOpen");
    assert!(
        err.contains("Access denied") || err.contains("AccessDenied"),
        "{err}"
    );

    // Give the signals time to arrive, then stop the monitor.
    std::thread::sleep(Duration::from_secs(1));
    let _ = m.sh("pkill -INT -f 'busctl --system monitor'");
    let mut seen = String::new();
    monitor
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut seen)
        .unwrap();
    let _ = monitor.wait();
    for signal in ["RequestCreated", "GrantActivated"] {
        assert!(
            seen.contains(&format!("Member={signal}")),
            "no {signal} signal:\n{seen}"
        );
    }
}
