//! A scripted fake daemon, sample answers, and a fake `sudo`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Each test file uses its own part of this.
#![allow(dead_code)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use elevated_proto::{
    read_frame, write_frame, ClientMessage, ErrorCode, GrantId, Request, RequestState, RequestView,
    Response, RoleOffer, ServerMessage, SudoView, PROTOCOL_VERSION,
};

/// One scripted answer.
pub enum Step {
    /// A well-formed answer.
    Answer(Box<Response>),
    /// Bytes written as they are, instead of a well-formed answer.
    Raw(Vec<u8>),
    /// No answer at all: the client is left waiting.
    Silent,
}

/// A fake daemon answering each request with the next step of its script.
pub struct Fake {
    _dir: tempfile::TempDir,
    pub socket: PathBuf,
    seen: Arc<Mutex<Vec<Request>>>,
}

impl Fake {
    pub fn start(script: Vec<Step>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("elevated.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut script = script.into_iter();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                while let Ok(msg) = read_frame::<_, ClientMessage>(&mut stream) {
                    assert_eq!(msg.version, PROTOCOL_VERSION);
                    log.lock().unwrap().push(msg.request);
                    match script.next() {
                        Some(Step::Answer(response)) => {
                            let m = ServerMessage {
                                version: PROTOCOL_VERSION,
                                response: *response,
                            };
                            write_frame(&mut stream, &m).unwrap();
                        }
                        Some(Step::Raw(bytes)) => stream.write_all(&bytes).unwrap(),
                        Some(Step::Silent) => {}
                        None => break,
                    }
                }
            }
        });
        Self {
            _dir: dir,
            socket,
            seen,
        }
    }

    pub fn seen(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
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
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while self.seen().len() < n {
            assert!(std::time::Instant::now() < deadline, "{:?}", self.seen());
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

pub fn elevate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_elevate"));
    cmd.env_remove("ELEVATE_SOCKET");
    cmd
}

pub fn answer(r: Response) -> Step {
    Step::Answer(Box::new(r))
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

pub fn sudo(runas: &str, commands: &[&str]) -> SudoView {
    SudoView {
        runas: runas.into(),
        commands: commands.iter().map(|c| (*c).to_owned()).collect(),
        nopasswd: true,
    }
}

pub fn view(state: RequestState, role: &str) -> RequestView {
    let active = state == RequestState::Active;
    RequestView {
        id: "k3f9x2ma".into(),
        state,
        role: role.into(),
        user: "alice".into(),
        uid: 1000,
        host: "db1".into(),
        reason: Some("INC-42".into()),
        ticket: None,
        duration_secs: 1800,
        requested_at: "2025-01-31T10:00:00Z".into(),
        decided_at: None,
        starts_at: active.then(|| "2025-01-31T10:00:00Z".into()),
        expires_at: active.then(|| "2099-01-31T10:30:00Z".into()),
        ended_at: None,
        remaining_secs: active.then_some(1800),
        rule: Some("10-db.toml rule 1 (line 12)".into()),
        message: match state {
            RequestState::Denied => "outside working hours".into(),
            RequestState::Pending => "waiting for 2 approvals".into(),
            _ => "approved automatically".into(),
        },
        approvals_needed: if active { 0 } else { 2 },
        sudo: Some(sudo("postgres", &["/usr/bin/psql"])),
        approvals: Vec::new(),
        approvals_given: 0,
        approvers: (!active).then(|| "2 of group dba-leads".into()),
        pending_until: (!active).then(|| "2099-01-31T10:30:00Z".into()),
        command: None,
        break_glass: false,
        reviewed: None,
        extension_secs: None,
    }
}

pub fn offer(role: &str, commands: &[&str]) -> RoleOffer {
    RoleOffer {
        role: role.into(),
        description: String::new(),
        allowed: true,
        approvals: 0,
        rule: None,
        reason: String::new(),
        default_duration_secs: 1800,
        max_duration_secs: 7200,
        sudo: Some(sudo("root", commands)),
        groups: Vec::new(),
        actions: Vec::new(),
        action_duration_secs: None,
        actions_only: false,
    }
}

/// A grant id.
pub fn id(s: &str) -> GrantId {
    GrantId::parse(s).unwrap()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn status(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
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
