//! Test doubles: a scripted PAM handle that fails if an expected message
//! was not shown, and the workspace's fake daemon (tests/kit) with this
//! module's options pointing at it.

use std::collections::VecDeque;
use std::time::Duration;

use elevated_proto::{LoginVerdict, RequestState, RequestView, Response};
pub use elevated_testkit::fake_daemon::{FakeDaemon, Step};
use elevated_testkit::samples;

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

/// Options pointing at a fake daemon.
pub trait FakeOptions {
    /// Options pointing at this daemon, with a short timeout.
    fn options(&self) -> Options;
}

impl FakeOptions for FakeDaemon {
    fn options(&self) -> Options {
        Options {
            socket: self.socket.clone(),
            timeout: Duration::from_millis(500),
            ..Options::default()
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

/// A request view of alice's for role `login` in `state`, not started.
pub fn view(id: &str, state: RequestState) -> RequestView {
    RequestView {
        host: "testhost".into(),
        duration_secs: 3600,
        requested_at: "2026-01-01T00:00:00Z".into(),
        decided_at: None,
        starts_at: None,
        expires_at: None,
        message: format!("{state} by the fake daemon"),
        approvals_needed: 1,
        approvers: Some("users bob".into()),
        pending_until: Some("2026-01-01T00:30:00Z".into()),
        ..samples::view(id, "login", state)
    }
}
