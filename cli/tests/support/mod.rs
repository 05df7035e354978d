//! The workspace's fake daemon (tests/kit) with `elevate` run against it,
//! this client's sample answers, and a fake `sudo`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Each test file uses its own part of this.
#![allow(dead_code)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use elevated_proto::{ErrorCode, GrantId, Request, RequestState, RequestView, Response, RoleOffer};
pub use elevated_testkit::fake_daemon::{answer, FakeDaemon, Step};
pub use elevated_testkit::output::{lossy as text, status};
use elevated_testkit::samples;
pub use elevated_testkit::samples::sudo;

/// A fake daemon, and `elevate` pointed at it.
pub struct Fake {
    daemon: FakeDaemon,
    pub socket: PathBuf,
}

impl Fake {
    pub fn start(script: Vec<Step>) -> Self {
        let daemon = FakeDaemon::new(script);
        let socket = daemon.socket.clone();
        Self { daemon, socket }
    }

    pub fn seen(&self) -> Vec<Request> {
        self.daemon.requests()
    }

    /// Runs `elevate --socket SOCKET ARGS...`.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = elevate();
        cmd.arg("--socket").arg(&self.socket).args(args);
        cmd.output().unwrap()
    }

    /// Runs `elevate --socket SOCKET ARGS...` with `input` on its stdin.
    pub fn run_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self.spawn(args, Stdio::piped());
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Starts `elevate --socket SOCKET ARGS...` with stdout and stderr
    /// captured.
    pub fn spawn(&self, args: &[&str], stdin: Stdio) -> Child {
        let mut cmd = elevate();
        cmd.arg("--socket")
            .arg(&self.socket)
            .args(args)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.spawn().unwrap()
    }

    /// Waits until the daemon has seen `n` requests.
    pub fn wait_seen(&self, n: usize) {
        self.daemon.wait_requests(n);
    }
}

pub fn elevate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_elevate"));
    cmd.env_remove("ELEVATE_SOCKET");
    cmd
}

pub fn one(view: RequestView) -> Step {
    answer(Response::Request { request: view })
}

pub fn error(code: ErrorCode, message: &str) -> Step {
    answer(Response::Error {
        code,
        message: message.into(),
    })
}

/// Request k3f9x2ma of alice's for `role` on db1, for INC-42: pending
/// two approvals, or active until 2099.
pub fn view(state: RequestState, role: &str) -> RequestView {
    let active = state == RequestState::Active;
    RequestView {
        reason: Some("INC-42".into()),
        requested_at: "2025-01-31T10:00:00Z".into(),
        decided_at: None,
        expires_at: active.then(|| "2099-01-31T10:30:00Z".into()),
        remaining_secs: active.then_some(1800),
        rule: Some("10-db.toml rule 1 (line 12)".into()),
        message: match state {
            RequestState::Denied => "outside working hours".into(),
            RequestState::Pending => "waiting for 2 approvals".into(),
            _ => "approved automatically".into(),
        },
        approvals_needed: if active { 0 } else { 2 },
        sudo: Some(sudo("postgres", &["/usr/bin/psql"])),
        approvers: (!active).then(|| "2 of group dba-leads".into()),
        pending_until: (!active).then(|| "2099-01-31T10:30:00Z".into()),
        ..samples::view("k3f9x2ma", role, state)
    }
}

pub fn offer(role: &str, commands: &[&str]) -> RoleOffer {
    RoleOffer {
        description: String::new(),
        ..samples::offer(role, true, Some(sudo("root", commands)))
    }
}

/// A grant id.
pub fn id(s: &str) -> GrantId {
    GrantId::parse(s).unwrap()
}

/// A directory holding a fake `sudo` that prints its arguments and exits 7,
/// and a program `tool` to run.
pub fn fake_bin(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    for (name, body) in [
        ("sudo", "#!/bin/sh\nprintf '%s\\n' \"$*\"\nexit 7\n"),
        ("tool", "#!/bin/sh\nexit 0\n"),
    ] {
        let p = bin.join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

pub fn run_with(fake: &Fake, bin: &Path, args: &[&str]) -> Output {
    elevate()
        .env("PATH", bin)
        .arg("--socket")
        .arg(&fake.socket)
        .args(args)
        .output()
        .unwrap()
}
