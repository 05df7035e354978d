//! Nobody can stall the daemon: one user's many heavy reads (`audit`,
//! `audit --verify`, `list`) over a big store neither hold up root's PAM
//! questions nor run side by side without bound.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Child, Stdio};

use elevated_proto::{AuditQuery, ListFilter, Request};
use elevated_tests::bigstore::grow_audit;
use elevated_tests::daemon::text;
use elevated_tests::pam::PamService;
use elevated_tests::{as_user, require_root, Daemon, TestUser};

const ONE_CONNECTION: &str = env!("CARGO_BIN_EXE_elvt-one-connection");

/// Rows in the audit log: a verification hashes them all.
const AUDIT_ROWS: u64 = 100_000;

/// Clients of the one user: with the `elevate` calls below, nearly the
/// most one user may hold (`max_connections_per_user` = 32). One slot is
/// left spare: a finished `elevate`'s slot is given back when the daemon
/// notices the close, which the next one must not race.
const HAMMERS: usize = 30;

/// How often the user's own `audit --verify` is tried while the others
/// run; any one try meeting a verification in progress is enough.
const TRIES: usize = 40;

/// Processes that each keep one connection as `user` and send `audit`,
/// `audit --verify` and `list` over it, round after round, until killed.
struct Hammers(Vec<Child>);

impl Hammers {
    fn start(d: &Daemon, user: &TestUser) -> Self {
        let round = [
            Request::AuditVerify {},
            Request::Audit(AuditQuery {
                since: None,
                limit: Some(10_000),
            }),
            Request::List(ListFilter {
                pending: false,
                all: true,
                unreviewed: false,
            }),
        ];
        let mut script = tempfile::NamedTempFile::new().unwrap();
        for _ in 0..2_000 {
            for r in &round {
                writeln!(script, "{}", serde_json::to_string(r).unwrap()).unwrap();
            }
        }
        let script = script.into_temp_path();
        let children = (0..HAMMERS)
            .map(|_| {
                as_user(user, ONE_CONNECTION, &[])
                    .env("ELEVATE_SOCKET", &d.socket)
                    .stdin(std::fs::File::open(&script).unwrap())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        Self(children)
    }
}

impl Drop for Hammers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn a_users_read_flood_neither_delays_root_logins_nor_runs_two_verifications() {
    require_root();
    let alice = TestUser::new("a", &[]);
    let hog = TestUser::new("hog", &[]);
    let mut d = Daemon::new("[login]\nrequire_grant = true\n");
    d.policy(
        "10-shell.toml",
        &format!(
            "[roles.shell]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\nlogin = true\n\n\
             [[rules]]\nrole = \"shell\"\nwho = {{ users = [\"{}\"] }}\n",
            alice.name
        ),
    );
    d.start();
    grow_audit(&mut d.db(), AUDIT_ROWS);
    let r = d.elevate(
        Some(&alice),
        &["request", "shell", "--for", "1h", "--reason", "on call"],
    );
    assert_eq!(r.status.code(), Some(0), "{:?}", text(&r));
    // fail=closed (the default): a login question not answered in time
    // locks alice out although she holds a login grant.
    let pam = PamService::new(&format!("socket={} timeout=5", d.socket.display()));

    let hammers = Hammers::start(&d, &hog);
    // A second verification by the same user while one runs is refused
    // with a clear `limit` error, not queued behind it.
    let mut refused = None;
    for _ in 0..TRIES {
        let out = d.elevate(Some(&hog), &["audit", "--verify"]);
        let (stdout, stderr) = text(&out);
        if stderr.contains("already running") {
            refused = Some((out.status.code(), stderr));
            break;
        }
        assert!(
            stdout.contains("audit chain intact"),
            "{:?} {stdout:?} {stderr:?}",
            out.status.code()
        );
    }
    let (code, msg) = refused.expect("no verification of the user's ever met another one");
    assert_eq!(code, Some(1), "{msg}");
    assert!(msg.contains("one at a time per user"), "{msg}");

    // Root's PAM questions are answered meanwhile, within the module's
    // timeout: the holder of a login grant gets in, the user without one
    // is told why not (never "not answering").
    for _ in 0..3 {
        let (ok, out, _) = pam.account(&alice.name, "");
        assert!(ok, "a login grant did not open the login: {out}");
        let (ok, out, _) = pam.account(&hog.name, "");
        assert!(!ok, "{out}");
        assert!(out.contains("needs an active grant"), "{out}");
    }
    drop(hammers);
}
