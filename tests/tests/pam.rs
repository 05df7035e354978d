//! `pam_elevate.so` loaded by the real libpam through `pamtester`, against
//! a real daemon and against fake ones that answer garbage or nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use elevated_testkit::output::joined;
use elevated_tests::daemon::text;
use elevated_tests::pam::{wait_bounded, PamService};
use elevated_tests::{require_root, Daemon, TestGroup, TestUser};

const NOT_ANSWERING: &str = "elevated is not answering; login denied";

/// A daemon requiring login grants, with role `shell` (login = true)
/// granted to `alice` automatically, or after one approval by `approver`.
fn daemon(alice: &TestUser, approver: Option<&TestUser>, extra: &str) -> Daemon {
    let mut d = Daemon::new(&format!("[login]\nrequire_grant = true\n{extra}"));
    let approval = match approver {
        Some(b) => format!(
            "approval = {{ count = 1, approvers = {{ users = [\"{}\"] }}, reason = true }}\n",
            b.name
        ),
        None => String::new(),
    };
    d.policy(
        "10-shell.toml",
        &format!(
            "[roles.shell]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\nlogin = true\n\n\
             [[rules]]\nrole = \"shell\"\nwho = {{ users = [\"{}\"] }}\n{approval}",
            alice.name
        ),
    );
    d.start();
    d
}

fn service(d: &Daemon, args: &str) -> PamService {
    PamService::new(&format!("socket={} {args}", d.socket.display()))
}

#[test]
fn a_login_grant_opens_logins_until_it_expires() {
    require_root();
    let alice = TestUser::new("a", &[]);
    let d = daemon(&alice, None, "");
    let pam = service(&d, "timeout=3");

    let (ok, out, _) = pam.account(&alice.name, "");
    assert!(!ok, "allowed without a grant: {out}");
    assert!(
        out.contains("needs an active grant of a login role (shell)"),
        "{out}"
    );

    let r = d.elevate(
        Some(&alice),
        &["--json", "request", "shell", "--for", "2s", "--reason", "r"],
    );
    assert_eq!(r.status.code(), Some(0), "{:?}", text(&r));
    let (ok, out, _) = pam.account(&alice.name, "");
    assert!(ok, "denied with a grant: {out}");

    let start = Instant::now();
    loop {
        let (ok, out, _) = pam.account(&alice.name, "");
        if !ok {
            assert!(out.contains("needs an active grant"), "{out}");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "never expired");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn the_denial_names_only_login_roles_the_user_may_request() {
    require_root();
    let alice = TestUser::new("a", &[]);
    let bob = TestUser::new("b", &[]);
    let mut d = Daemon::new("[login]\nrequire_grant = true\n");
    // Two login roles; alice may request `shell` only, bob neither.
    d.policy(
        "10-login.toml",
        &format!(
            "[roles.shell]\nlogin = true\n\n[roles.zconsole]\nlogin = true\n\n\
             [[rules]]\nrole = \"shell\"\nwho = {{ users = [\"{}\"] }}\n",
            alice.name
        ),
    );
    d.start();
    let pam = service(&d, "timeout=3");
    let (ok, out, _) = pam.account(&alice.name, "");
    assert!(!ok, "allowed without a grant: {out}");
    assert!(
        out.contains("needs an active grant of a login role (shell) to log in here"),
        "{out}"
    );
    let (ok, out, _) = pam.account(&bob.name, "");
    assert!(!ok, "allowed without a grant: {out}");
    assert!(
        out.contains(&format!(
            "needs an active grant of a login role to log in here, and there is none {} may \
             request",
            bob.name
        )),
        "{out}"
    );
}

#[test]
fn root_and_exempt_groups_pass() {
    require_root();
    let exempt = TestGroup::new("ex");
    let alice = TestUser::new("a", &[]);
    let carol = TestUser::new("c", &[&exempt]);
    let d = daemon(
        &alice,
        None,
        &format!("exempt_groups = [\"{}\"]\n", exempt.name),
    );
    let pam = service(&d, "timeout=3");
    let (ok, out, _) = pam.account("root", "");
    assert!(ok, "root denied: {out}");
    let (ok, out, _) = pam.account(&carol.name, "");
    assert!(ok, "exempt member denied: {out}");
    let (ok, _, _) = pam.account(&alice.name, "");
    assert!(!ok);
}

#[test]
fn a_stopped_daemon_fails_closed_within_the_timeout_or_open_when_told() {
    require_root();
    let breakglass = TestGroup::new("bg");
    let alice = TestUser::new("a", &[]);
    let carol = TestUser::new("c", &[&breakglass]);
    let mut d = daemon(&alice, None, "");
    let r = d.elevate(Some(&alice), &["request", "shell", "--for", "10m"]);
    assert_eq!(r.status.code(), Some(0), "{:?}", text(&r));
    d.stop();

    let closed = service(&d, &format!("timeout=2 exempt_groups={}", breakglass.name));
    let (ok, out, took) = closed.account(&alice.name, "");
    assert!(!ok, "allowed with the daemon down: {out}");
    assert!(out.contains(NOT_ANSWERING), "{out}");
    assert!(took < Duration::from_secs(4), "{took:?}");
    // Root and the locally exempt group are never locked out.
    let (ok, out, _) = closed.account("root", "");
    assert!(ok, "root locked out: {out}");
    let (ok, out, _) = closed.account(&carol.name, "");
    assert!(ok, "break-glass member locked out: {out}");

    let open = service(&d, "timeout=2 fail=open");
    let (ok, out, _) = open.account(&alice.name, "");
    assert!(ok, "fail=open denied: {out}");
}

/// A listening socket for a fake daemon, in a directory of its own.
fn fake_socket() -> (tempfile::TempDir, PathBuf, UnixListener) {
    let dir = tempfile::Builder::new()
        .prefix("elvt-fake")
        .tempdir()
        .unwrap();
    let path = dir.path().join("fake.sock");
    let listener = UnixListener::bind(&path).unwrap();
    (dir, path, listener)
}

/// A fake daemon on a socket of its own: `garbage` answers every
/// connection with junk and hangs up; otherwise it accepts and never
/// answers.
fn fake(garbage: bool) -> (tempfile::TempDir, PathBuf) {
    let (dir, path, listener) = fake_socket();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            if garbage {
                let mut buf = [0u8; 256];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"\x00\x00\x00\x09not json!");
            } else {
                held.push(s);
            }
        }
    });
    (dir, path)
}

#[test]
fn garbage_or_silence_does_not_hang_the_login() {
    require_root();
    let alice = TestUser::new("a", &[]);
    for garbage in [true, false] {
        let (_dir, sock) = fake(garbage);
        let pam = PamService::new(&format!("socket={} timeout=2", sock.display()));
        let (ok, out, took) = pam.account(&alice.name, "");
        assert!(!ok, "allowed (garbage={garbage}): {out}");
        assert!(out.contains(NOT_ANSWERING), "{out}");
        assert!(took < Duration::from_secs(4), "garbage={garbage}: {took:?}");
        // Sessions are never failed by the daemon, and do not hang either.
        let (o, took) = pam.run(&alice.name, &["open_session", "close_session"], "");
        assert!(o.status.success(), "{}", joined(&o));
        assert!(took < Duration::from_secs(7), "{took:?}");
    }
}

#[test]
fn sessions_are_audited() {
    require_root();
    let alice = TestUser::new("a", &[]);
    let d = daemon(&alice, None, "");
    let r = d.elevate(Some(&alice), &["request", "shell", "--for", "10m"]);
    assert_eq!(r.status.code(), Some(0), "{:?}", text(&r));
    let pam = service(&d, "timeout=3");
    let (o, _) = pam.run(
        &alice.name,
        &["acct_mgmt", "open_session", "close_session"],
        "",
    );
    assert!(o.status.success(), "{}", joined(&o));
    let audit = d.elevate(None, &["--json", "audit"]);
    let v: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap();
    let events: Vec<&str> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    for e in ["login_allowed", "session_open", "session_close"] {
        assert!(events.contains(&e), "{e} missing from {events:?}");
    }
}

/// The id of the only pending request, waiting for it to appear.
fn pending_id(d: &Daemon) -> String {
    for _ in 0..300 {
        let out = d.elevate(None, &["--json", "list", "--pending"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if let Some(first) = v["requests"].as_array().and_then(|a| a.first()) {
            return first["id"].as_str().unwrap().to_owned();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no request appeared:\n{}", d.log_text());
}

#[test]
fn a_request_filed_at_login_is_denied_while_nobody_approves() {
    require_root();
    let alice = TestUser::new("a", &[]);
    let bob = TestUser::new("b", &[]);
    let d = daemon(&alice, Some(&bob), "");
    // Durations with units, as pam_elevate(8) writes them.
    let pam = service(&d, "timeout=3s wait=3s request=shell");
    let (ok, out, took) = pam.account(&alice.name, "restore the backup\n");
    assert!(!ok, "allowed while pending: {out}");
    assert!(out.contains("Reason for this login"), "{out}");
    assert!(out.contains("waiting for approval by"), "{out}");
    assert!(out.contains(&bob.name), "approvers not named: {out}");
    assert!(out.contains("still waiting for approval"), "{out}");
    assert!(took >= Duration::from_secs(3), "{took:?}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    let id = pending_id(&d);
    let show = d.elevate(None, &["--json", "show", &id]);
    let v: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(v["reason"], "restore the backup");
    assert_eq!(v["user"], alice.name.as_str());
}

#[test]
fn a_request_filed_at_login_is_allowed_when_approved_during_the_wait() {
    require_root();
    let alice = TestUser::new("a", &[]);
    let bob = TestUser::new("b", &[]);
    let d = daemon(&alice, Some(&bob), "");
    let pam = service(&d, "timeout=3 wait=1m request=shell");
    let start = Instant::now();
    let mut child = pam.spawn(&alice.name, &["acct_mgmt"], "on call\n");
    let id = pending_id(&d);
    let r = d.elevate(Some(&bob), &["approve", &id]);
    assert_eq!(r.status.code(), Some(0), "{:?}", text(&r));
    let out = wait_bounded(&mut child, Duration::from_secs(90));
    let all = joined(&out);
    assert!(out.status.success(), "denied after approval: {all}");
    assert!(all.contains(&format!("Request {id}")), "{all}");
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
}

/// A fake daemon that answers one question per connection and hangs up:
/// a login with a pending request of `user`'s, a wait with that request
/// still pending. The module waits in steps on one connection, so its
/// second step writes to a socket the daemon has closed.
fn hangs_up_after_one_answer(user: &TestUser) -> (tempfile::TempDir, PathBuf) {
    use elevated_proto::frame::{encode, read_frame};
    use elevated_proto::{ClientMessage, LoginVerdict, Request, Response, ServerMessage};
    let (dir, path, listener) = fake_socket();
    let view: elevated_proto::RequestView = serde_json::from_value(serde_json::json!({
        "id": "k3f9x2ma", "state": "pending", "role": "shell", "user": user.name,
        "uid": user.uid, "host": "testhost", "duration_secs": 600,
        "requested_at": "2026-11-25T00:00:00Z", "message": "waiting for approval",
        "approvals_needed": 1,
    }))
    .unwrap();
    let frame = |response| {
        encode(&ServerMessage {
            version: elevated_proto::PROTOCOL_VERSION,
            response,
        })
        .unwrap()
    };
    let login = frame(Response::Login {
        verdict: LoginVerdict::Pending,
        message: "request k3f9x2ma is waiting for approval".into(),
        request: Some(view.clone()),
    });
    let waited = frame(Response::Request { request: view });
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            let answer = match read_frame::<_, ClientMessage>(&mut s) {
                Ok(m) if matches!(m.request, Request::Wait { .. }) => &waited,
                Ok(_) => &login,
                Err(_) => continue,
            };
            let _ = s.write_all(answer);
            // Dropped: closed before the module's next call.
        }
    });
    (dir, path)
}

#[test]
fn a_daemon_hanging_up_mid_login_is_a_refusal_not_a_sigpipe() {
    use std::os::unix::process::ExitStatusExt;
    require_root();
    let alice = TestUser::new("a", &[]);
    let (_dir, sock) = hangs_up_after_one_answer(&alice);
    let pam = PamService::new(&format!(
        "socket={} timeout=3 wait=2 request=shell",
        sock.display()
    ));
    // pamtester, like login or su, leaves SIGPIPE at its default: a write
    // to the closed socket must fail with EPIPE (Rust's UnixStream sends
    // with MSG_NOSIGNAL), not kill the login process.
    let (out, took) = pam.run(&alice.name, &["acct_mgmt"], "fix the disk\n");
    let text = joined(&out);
    assert_eq!(
        out.status.signal(),
        None,
        "pamtester killed by a signal: {text}"
    );
    assert!(!out.status.success(), "allowed: {text}");
    assert!(text.contains("k3f9x2ma"), "{text}");
    assert!(took < Duration::from_secs(8), "{took:?}");
}

/// A fake daemon that reads each question and answers "allow" one byte a
/// second: every byte well within any per-read timeout, the whole answer
/// (about 70 bytes) over a minute.
fn drips_an_allow() -> (tempfile::TempDir, PathBuf) {
    use elevated_proto::frame::{encode, read_frame};
    use elevated_proto::{ClientMessage, LoginVerdict, Response, ServerMessage};
    let (dir, path, listener) = fake_socket();
    let answer = encode(&ServerMessage {
        version: elevated_proto::PROTOCOL_VERSION,
        response: Response::Login {
            verdict: LoginVerdict::Allow,
            message: "grant abcd2345 is active".into(),
            request: None,
        },
    })
    .unwrap();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            let answer = answer.clone();
            std::thread::spawn(move || {
                if read_frame::<_, ClientMessage>(&mut s).is_err() {
                    return;
                }
                for b in answer {
                    std::thread::sleep(Duration::from_secs(1));
                    if s.write_all(&[b]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (dir, path)
}

#[test]
fn an_answer_dripped_a_byte_a_second_is_cut_off_at_the_timeout() {
    require_root();
    let alice = TestUser::new("a", &[]);
    let (_dir, sock) = drips_an_allow();
    let closed = PamService::new(&format!("socket={} timeout=3", sock.display()));
    let (ok, out, took) = closed.account(&alice.name, "");
    assert!(!ok, "allowed after {took:?}: {out}");
    assert!(out.contains(NOT_ANSWERING), "{out}");
    assert!(took < Duration::from_secs(6), "{took:?}");

    let open = PamService::new(&format!("socket={} timeout=3 fail=open", sock.display()));
    let (ok, out, took) = open.account(&alice.name, "");
    assert!(ok, "fail=open denied: {out}");
    assert!(took < Duration::from_secs(6), "{took:?}");
}
