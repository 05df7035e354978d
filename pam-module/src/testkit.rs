//! Test doubles: a scripted PAM handle that fails if an expected message
//! was not shown, and a fake daemon serving canned answers on a real Unix
//! socket.

use std::collections::VecDeque;
use std::io::Write;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use elevated_proto::{
    read_frame, write_frame, ClientMessage, LoginVerdict, Request, RequestState, RequestView,
    Response, ServerMessage, WaitFor, PROTOCOL_VERSION,
};

use crate::core::{LogLevel, PamEnv};
use crate::options::Options;

/// What the user is expected to see or be asked, in order.
#[derive(Debug)]
pub enum Event {
    /// An info message containing the text.
    Info(&'static str),
    /// An error message containing the text.
    Error(&'static str),
    /// A prompt containing the text (with echo), answered with the value.
    Prompt(&'static str, Option<&'static str>),
}

/// A PAM handle driven by a script.
pub struct ScriptEnv {
    pub user: Option<String>,
    pub root: bool,
    pub groups: Vec<String>,
    pub conversation: bool,
    pub script: VecDeque<Event>,
    pub logs: Vec<(LogLevel, String)>,
}

impl ScriptEnv {
    pub fn new(user: &str, script: Vec<Event>) -> Self {
        Self {
            user: Some(user.to_owned()),
            root: false,
            groups: Vec::new(),
            conversation: true,
            script: script.into(),
            logs: Vec::new(),
        }
    }

    pub fn logged(&self, level: LogLevel, text: &str) -> bool {
        self.logs
            .iter()
            .any(|(l, t)| *l == level && t.contains(text))
    }

    fn next(&mut self, kind: &str, text: &str) -> Event {
        match self.script.pop_front() {
            Some(e) => e,
            None => panic!("unexpected {kind} {text:?}: the script is done"),
        }
    }
}

impl Drop for ScriptEnv {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert!(self.script.is_empty(), "never happened: {:?}", self.script);
        }
    }
}

impl PamEnv for ScriptEnv {
    fn user(&mut self) -> Option<String> {
        self.user.clone()
    }
    fn service(&self) -> Option<String> {
        Some("sshd".into())
    }
    fn rhost(&self) -> Option<String> {
        Some("192.0.2.7".into())
    }
    fn tty(&self) -> Option<String> {
        None
    }
    fn prompt(&mut self, text: &str, echo: bool) -> Option<String> {
        if !self.conversation {
            return None;
        }
        match self.next("prompt", text) {
            Event::Prompt(want, answer) if text.contains(want) && echo => answer.map(Into::into),
            other => panic!("prompt {text:?} (echo {echo}), expected {other:?}"),
        }
    }
    fn info(&mut self, text: &str) {
        if self.conversation {
            match self.next("info", text) {
                Event::Info(want) if text.contains(want) => {}
                other => panic!("info {text:?}, expected {other:?}"),
            }
        }
    }
    fn error(&mut self, text: &str) {
        if self.conversation {
            match self.next("error", text) {
                Event::Error(want) if text.contains(want) => {}
                other => panic!("error {text:?}, expected {other:?}"),
            }
        }
    }
    fn is_root(&self, _: &str) -> bool {
        self.root
    }
    fn in_any_group(&self, _: &str, groups: &[String]) -> bool {
        self.groups.iter().any(|g| groups.contains(g))
    }
    fn log(&mut self, level: LogLevel, text: &str) {
        self.logs.push((level, text.to_owned()));
    }
}

/// One canned behaviour of the fake daemon, used for one request.
pub enum Step {
    /// Answer with this.
    Answer(Response),
    /// Answer every `Wait` with this view after holding it for the time the
    /// `Wait` asked; the next request that is not a `Wait` goes on to the
    /// next step.
    Hold(RequestView),
    /// Write these bytes instead of a frame, then hang up.
    Garbage(Vec<u8>),
    /// Answer in another protocol version.
    OtherVersion,
    /// Never answer (the connection stays open).
    Silent,
    /// Send this answer one byte at a time, this long apart, then hang up
    /// (or stop as soon as the client has).
    Drip(Response, Duration),
}

/// A daemon on a temporary socket that plays a script of [`Step`]s.
pub struct FakeDaemon {
    _dir: tempfile::TempDir,
    pub socket: PathBuf,
    /// Every request received, in order.
    pub seen: Arc<Mutex<Vec<Request>>>,
    /// Connections accepted so far.
    pub connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl FakeDaemon {
    pub fn new(steps: Vec<Step>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("elevated.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        listener.set_nonblocking(true).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let (s, st, c) = (seen.clone(), stop.clone(), connections.clone());
        std::thread::spawn(move || serve(&listener, steps.into(), &s, &st, &c));
        Self {
            _dir: dir,
            socket,
            seen,
            connections,
            stop,
        }
    }

    /// Options pointing at this daemon, with a short timeout.
    pub fn options(&self) -> Options {
        Options {
            socket: self.socket.clone(),
            timeout: Duration::from_millis(500),
            ..Options::default()
        }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for FakeDaemon {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(
    listener: &UnixListener,
    mut steps: VecDeque<Step>,
    seen: &Mutex<Vec<Request>>,
    stop: &AtomicBool,
    connections: &AtomicUsize,
) {
    let mut held = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let mut stream = match listener.accept() {
            Ok((s, _)) => {
                connections.fetch_add(1, Ordering::SeqCst);
                s
            }
            Err(_) => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        if let Some(keep) = connection(&mut stream, &mut steps, seen) {
            held.push(keep);
        }
    }
}

/// Serves one connection; returns it if it must stay open unanswered.
fn connection(
    stream: &mut UnixStream,
    steps: &mut VecDeque<Step>,
    seen: &Mutex<Vec<Request>>,
) -> Option<UnixStream> {
    loop {
        let Ok(msg) = read_frame::<_, ClientMessage>(stream) else {
            return None;
        };
        seen.lock().unwrap().push(msg.request.clone());
        let reply = |stream: &mut UnixStream, response: Response, version: u32| {
            let _ = write_frame(stream, &ServerMessage { version, response });
        };
        let is_wait = matches!(msg.request, Request::Wait { .. });
        // A Hold step answers Waits; any other request moves past it.
        if !is_wait && matches!(steps.front(), Some(Step::Hold(_))) {
            steps.pop_front();
        }
        if let (Some(Step::Hold(view)), Request::Wait(WaitFor { timeout_ms, .. })) =
            (steps.front(), &msg.request)
        {
            std::thread::sleep(Duration::from_millis(*timeout_ms));
            let request = view.clone();
            reply(stream, Response::Request { request }, PROTOCOL_VERSION);
            continue;
        }
        match steps.pop_front() {
            Some(Step::Answer(r)) => reply(stream, r, PROTOCOL_VERSION),
            Some(Step::OtherVersion) => reply(stream, login(LoginVerdict::Allow, "ok"), 99),
            Some(Step::Garbage(bytes)) => {
                let _ = stream.write_all(&bytes);
                return None;
            }
            Some(Step::Silent) => return stream.try_clone().ok(),
            Some(Step::Drip(response, every)) => {
                let msg = ServerMessage {
                    version: PROTOCOL_VERSION,
                    response,
                };
                for b in elevated_proto::frame::encode(&msg).unwrap() {
                    std::thread::sleep(every);
                    if stream.write_all(&[b]).is_err() {
                        break;
                    }
                }
                return None;
            }
            Some(Step::Hold(_)) | None => return None,
        }
    }
}

/// A `Login` answer without a request.
pub fn login(verdict: LoginVerdict, message: &str) -> Response {
    Response::Login {
        verdict,
        message: message.to_owned(),
        request: None,
    }
}

/// A `Login` answer about a pending request.
pub fn pending(view: RequestView) -> Response {
    Response::Login {
        verdict: LoginVerdict::Pending,
        message: format!("request {} is waiting for approval", view.id),
        request: Some(view),
    }
}

/// A request view of role `login` in `state`.
pub fn view(id: &str, state: RequestState) -> RequestView {
    RequestView {
        id: id.to_owned(),
        state,
        role: "login".into(),
        user: "alice".into(),
        uid: 1000,
        host: "testhost".into(),
        reason: None,
        ticket: None,
        duration_secs: 3600,
        requested_at: "2026-01-01T00:00:00Z".into(),
        decided_at: None,
        starts_at: None,
        expires_at: None,
        ended_at: None,
        remaining_secs: None,
        rule: None,
        message: format!("{state} by the fake daemon"),
        approvals_needed: 1,
        sudo: None,
        approvals: Vec::new(),
        approvals_given: 0,
        approvers: Some("users bob".into()),
        pending_until: Some("2026-01-01T00:30:00Z".into()),
        command: None,
        break_glass: false,
        reviewed: None,
        extension_secs: None,
    }
}
