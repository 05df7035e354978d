//! Re-authentication against real PAM stacks: pam_unix with a password set
//! by chpasswd, and TOTP with pam_oath and codes from oathtool.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use elevated_tests::daemon::text;
use elevated_tests::host::unique;
use elevated_tests::{as_user, bin, require_root, Daemon, TestUser};

/// A PAM service file in /etc/pam.d, removed on drop.
struct PamService {
    name: String,
}

impl PamService {
    fn new(body: &str) -> Self {
        let name = unique("pam");
        std::fs::write(format!("/etc/pam.d/{name}"), body).unwrap();
        Self { name }
    }
}

impl Drop for PamService {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(format!("/etc/pam.d/{}", self.name));
    }
}

fn daemon(service: &PamService, user: &TestUser) -> Daemon {
    daemon_with(service, user, "")
}

/// [`daemon`] with `extra` appended to elevated.toml.
fn daemon_with(service: &PamService, user: &TestUser, extra: &str) -> Daemon {
    let mut d = Daemon::new(extra);
    let cfg = std::fs::read_to_string(&d.config).unwrap().replacen(
        "[daemon]\n",
        &format!("[daemon]\nreauth_service = \"{}\"\n", service.name),
        1,
    );
    d.file("elevated.toml", &cfg, 0o644);
    d.policy(
        "10-ops.toml",
        &format!(
            "[roles.ops]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\n\n\
             [[rules]]\nrole = \"ops\"\nwho = {{ users = [\"{}\"] }}\napproval = {{ reauth = true }}\n",
            user.name
        ),
    );
    d.start();
    d
}

/// `elevate request ops` as `user`, answering the prompts from stdin.
fn request(d: &Daemon, user: &TestUser, answers: &str) -> Output {
    let elevate = bin("elevate");
    let socket = d.socket.display().to_string();
    let mut child = as_user(
        user,
        elevate.to_str().unwrap(),
        &[
            "--socket", &socket, "--json", "request", "ops", "--for", "1m",
        ],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answers.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn events(d: &Daemon) -> Vec<String> {
    let out = d.elevate(None, &["--json", "audit"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event"].as_str().unwrap().to_owned())
        .collect()
}

/// Gives `user` the password `correct-horse-9`.
fn set_password(user: &TestUser) {
    let mut chpasswd = Command::new("chpasswd")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(
        chpasswd.stdin.take().unwrap(),
        "{}:correct-horse-9",
        user.name
    )
    .unwrap();
    assert!(chpasswd.wait().unwrap().success());
}

#[test]
fn pam_unix_password() {
    require_root();
    let user = TestUser::new("p", &[]);
    set_password(&user);
    let svc = PamService::new("auth required pam_unix.so\naccount required pam_unix.so\n");
    let d = daemon(&svc, &user);

    let bad = request(&d, &user, "wrong-password\n");
    let (o, e) = text(&bad);
    assert_eq!(bad.status.code(), Some(1), "{o}{e}");
    assert!(
        !o.contains("wrong-password") && !e.contains("wrong-password"),
        "secret echoed"
    );
    assert!(d.dropins().is_empty());
    assert!(events(&d).contains(&"reauth_failed".to_owned()));

    let good = request(&d, &user, "correct-horse-9\n");
    let (o, e) = text(&good);
    assert_eq!(good.status.code(), Some(0), "{o}{e}");
    assert!(
        !o.contains("correct-horse") && !e.contains("correct-horse"),
        "secret echoed"
    );
    assert_eq!(d.dropins().len(), 1);
    assert!(events(&d).contains(&"reauthenticated".to_owned()));
    assert_eq!(
        d.elevate(None, &["audit", "--verify"]).status.code(),
        Some(0)
    );
}

#[test]
fn failed_passwords_lock_re_authentication_out() {
    require_root();
    let user = TestUser::new("x", &[]);
    set_password(&user);
    let svc = PamService::new("auth required pam_unix.so\naccount required pam_unix.so\n");
    let d = daemon_with(
        &svc,
        &user,
        "[limits]\nreauth_failures_per_user = 2\nreauth_failure_window = \"1h\"\n",
    );
    for guess in ["guess-one", "guess-two"] {
        let bad = request(&d, &user, &format!("{guess}\n"));
        assert_eq!(bad.status.code(), Some(1), "{:?}", text(&bad));
    }
    // The right password no longer helps: PAM is not even asked, so the
    // answer tells a guesser nothing.
    let locked = request(&d, &user, "correct-horse-9\n");
    let (o, e) = text(&locked);
    assert_eq!(locked.status.code(), Some(1), "{o}{e}");
    let v: serde_json::Value = serde_json::from_str(&o).unwrap();
    assert_eq!(v["error"]["code"], "limit", "{o}");
    assert!(!e.contains("Password"), "PAM was run: {e}");
    assert!(d.dropins().is_empty());
    let ev = events(&d);
    assert_eq!(
        ev.iter().filter(|e| *e == "reauth_failed").count(),
        2,
        "{ev:?}"
    );
    assert_eq!(
        ev.iter().filter(|e| *e == "reauth_locked").count(),
        1,
        "{ev:?}"
    );
}

#[test]
fn totp_with_pam_oath() {
    require_root();
    let user = TestUser::new("t", &[]);
    let secret = "3132333435363738393031323334353637383930";
    let dir = tempfile::tempdir().unwrap();
    let users_file = dir.path().join("users.oath");
    std::fs::write(
        &users_file,
        format!("HOTP/T30/6 {} - {secret}\n", user.name),
    )
    .unwrap();
    let svc = PamService::new(&format!(
        "auth required pam_oath.so usersfile={} window=5\naccount required pam_permit.so\n",
        users_file.display()
    ));
    let d = daemon(&svc, &user);

    let bad = request(&d, &user, "000000\n");
    assert_eq!(bad.status.code(), Some(1), "{:?}", text(&bad));
    assert!(d.dropins().is_empty());

    let code = Command::new("oathtool")
        .args(["--totp", secret])
        .output()
        .unwrap();
    assert!(code.status.success(), "{code:?}");
    let code = String::from_utf8(code.stdout).unwrap();
    let good = request(&d, &user, &code);
    assert_eq!(good.status.code(), Some(0), "{:?}", text(&good));
    assert_eq!(d.dropins().len(), 1);
}
