//! D-Bus end to end: a private dbus-daemon, a fake logind on it, the daemon
//! publishing org.elevated.Elevated1, rules on session facts, and signals.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use elevated_tests::daemon::text;
use elevated_tests::{require_root, Daemon, TestUser};
use futures_util::StreamExt;
use zbus::zvariant::OwnedObjectPath;

/// One row of ListPending/ListOpen.
type Row = (String, String, String, String, String, String, u32, u32);

struct BusDaemon(Child);

impl Drop for BusDaemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn private_bus(dir: &Path) -> (BusDaemon, String) {
    let sock = dir.join("bus.sock");
    let conf = dir.join("bus.conf");
    std::fs::write(
        &conf,
        format!(
            "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n \
             \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n<busconfig>\n\
             <type>system</type>\n<listen>unix:path={}</listen>\n<auth>EXTERNAL</auth>\n\
             <policy context=\"default\"><allow user=\"*\"/><allow own=\"*\"/>\
             <allow send_destination=\"*\"/><allow receive_sender=\"*\"/></policy>\n</busconfig>\n",
            sock.display()
        ),
    )
    .unwrap();
    let child = Command::new("dbus-daemon")
        .arg(format!("--config-file={}", conf.display()))
        .args(["--nofork", "--nopidfile"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !sock.exists() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    (BusDaemon(child), format!("unix:path={}", sock.display()))
}

struct Manager;

#[zbus::interface(name = "org.freedesktop.login1.Manager")]
impl Manager {
    // logind's own spelling; anything else is `UnknownMethod` on a real
    // system (tests/tests/container_*.rs ask the real logind).
    #[zbus(name = "GetSessionByPID")]
    fn get_session_by_pid(&self, _pid: u32) -> OwnedObjectPath {
        OwnedObjectPath::try_from("/org/freedesktop/login1/session/fake").unwrap()
    }
}

struct Session {
    remote: Arc<AtomicBool>,
    owner: Arc<AtomicU32>,
}

#[zbus::interface(name = "org.freedesktop.login1.Session")]
impl Session {
    #[zbus(property)]
    fn remote(&self) -> bool {
        self.remote.load(Ordering::SeqCst)
    }
    #[zbus(property)]
    fn remote_host(&self) -> String {
        "192.0.2.7".into()
    }
    #[zbus(property, name = "TTY")]
    fn tty(&self) -> String {
        "pts/7".into()
    }
    #[zbus(property)]
    fn service(&self) -> String {
        "sshd".into()
    }
    #[zbus(property)]
    fn user(&self) -> (u32, OwnedObjectPath) {
        let uid = self.owner.load(Ordering::SeqCst);
        let path = format!("/org/freedesktop/login1/user/_{uid}");
        (uid, OwnedObjectPath::try_from(path).unwrap())
    }
}

const POLICY: &str =
    "[roles.ops]\nsudo = { commands = [\"/usr/bin/id\"] }\n\n[[rules]]\nrole = \"ops\"\n\
                      context = { session = [\"remote\"] }\n";

fn request(d: &Daemon) -> (Option<i32>, serde_json::Value) {
    let out = d.elevate(None, &["--json", "request", "ops", "--for", "1m"]);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {:?}", text(&out)));
    (out.status.code(), v)
}

#[test]
fn session_facts_from_logind_decide_and_signals_arrive() {
    require_root();
    let _ = TestUser::new("d", &[]);
    let mut d = Daemon::new("");
    d.policy("10-ops.toml", POLICY);
    let (_bus, address) = private_bus(d.dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _in_rt = rt.enter();
    let remote = Arc::new(AtomicBool::new(true));
    // The requester here is root (uid 0): the session is theirs.
    let owner = Arc::new(AtomicU32::new(0));
    let _logind = rt
        .block_on(async {
            zbus::connection::Builder::address(address.as_str())?
                .name("org.freedesktop.login1")?
                .serve_at("/org/freedesktop/login1", Manager)?
                .serve_at(
                    "/org/freedesktop/login1/session/fake",
                    Session {
                        remote: remote.clone(),
                        owner: owner.clone(),
                    },
                )?
                .build()
                .await
        })
        .unwrap();
    let watcher: zbus::Connection = rt
        .block_on(
            zbus::connection::Builder::address(address.as_str())
                .unwrap()
                .build(),
        )
        .unwrap();
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface("org.elevated.Elevated1")
        .unwrap()
        .build();
    let mut signals = rt
        .block_on(zbus::MessageStream::for_match_rule(
            rule,
            &watcher,
            Some(64),
        ))
        .unwrap();

    d.start_with(&[], &[("DBUS_SYSTEM_BUS_ADDRESS", address.as_str())]);
    // Wait until the daemon owns its name (start-up never waits for the bus).
    let dbus = rt.block_on(zbus::fdo::DBusProxy::new(&watcher)).unwrap();
    let start = Instant::now();
    while !rt
        .block_on(dbus.name_has_owner("org.elevated.Elevated1".try_into().unwrap()))
        .unwrap()
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let (code, v) = request(&d);
    assert_eq!(code, Some(0), "remote session must match: {v}");
    let id = v["id"].as_str().unwrap().to_owned();

    let mut names = Vec::new();
    rt.block_on(async {
        while names.len() < 3 {
            let msg = tokio::time::timeout(Duration::from_secs(10), signals.next())
                .await
                .expect("signals did not arrive")
                .unwrap()
                .unwrap();
            let header = msg.header();
            let member = header.member().unwrap().to_string();
            let body: (String,) = match member.as_str() {
                "GrantActivated" | "RequestDecided" => {
                    let (id, _): (String, String) = msg.body().deserialize().unwrap();
                    (id,)
                }
                _ => {
                    let (id, _, _): (String, String, String) = msg.body().deserialize().unwrap();
                    (id,)
                }
            };
            assert_eq!(body.0, id);
            names.push(member);
        }
    });
    assert_eq!(
        names,
        ["RequestCreated", "RequestDecided", "GrantActivated"]
    );

    // The read-only method answers.
    let open: Vec<Row> = rt
        .block_on(watcher.call_method(
            Some("org.elevated.Elevated1"),
            "/org/elevated/Elevated1",
            Some("org.elevated.Elevated1"),
            "ListOpen",
            &(),
        ))
        .unwrap()
        .body()
        .deserialize()
        .unwrap();
    assert_eq!(open[0].0, id);
    assert_eq!(open[0].3, "active");

    // A remote session that belongs to someone else (the pid seen at
    // connect time now another user's): its facts are not the caller's,
    // so the rule does not match.
    owner.store(4242, Ordering::SeqCst);
    let (code, v) = request(&d);
    assert_eq!(code, Some(1), "another user's session decided: {v}");
    assert!(v["message"].as_str().unwrap().contains("session"), "{v}");
    owner.store(0, Ordering::SeqCst);

    // The same requester, now in a local session: the rule does not match.
    remote.store(false, Ordering::SeqCst);
    let (code, v) = request(&d);
    assert_eq!(code, Some(1), "{v}");
    assert!(v["message"].as_str().unwrap().contains("session"), "{v}");
}

#[test]
fn without_a_bus_the_daemon_starts_and_context_rules_deny() {
    require_root();
    let mut d = Daemon::new("");
    d.policy("10-ops.toml", POLICY);
    let missing = format!("unix:path={}", d.dir.path().join("no-bus.sock").display());
    d.start_with(&[], &[("DBUS_SYSTEM_BUS_ADDRESS", missing.as_str())]);
    let (code, v) = request(&d);
    assert_eq!(code, Some(1), "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("session fact"),
        "{v}"
    );
    // Policy without context still works.
    d.policy(
        "20-plain.toml",
        "[roles.plain]\nsudo = { commands = [\"/usr/bin/id\"] }\n\n[[rules]]\nrole = \"plain\"\n",
    );
    d.signal("HUP");
    std::thread::sleep(Duration::from_millis(300));
    let out = d.elevate(None, &["request", "plain", "--for", "1m"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
}
