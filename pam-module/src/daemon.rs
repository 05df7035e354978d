//! Calls to the daemon under one overall deadline, so that a login never
//! waits longer than the module's budget, however the daemon behaves.
#![forbid(unsafe_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use elevated_proto::{
    Client, ClientError, LoginVerdict, Request, RequestView, Response, Timeouts, WaitFor,
};

/// Why the daemon gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Not reachable, or no answer in time.
    #[error("{0}")]
    Unreachable(String),
    /// Something that is not a valid answer: a broken frame, another
    /// protocol version, an error, or an answer to another question.
    #[error("unexpected answer: {0}")]
    Garbage(String),
    /// The time allowed for this login was used up.
    #[error("no time left to ask the daemon")]
    OutOfTime,
}

impl From<ClientError> for CallError {
    fn from(e: ClientError) -> Self {
        if e.is_unreachable() {
            Self::Unreachable(e.to_string())
        } else {
            Self::Garbage(e.to_string())
        }
    }
}

/// The daemon's answer to a `Login` question.
#[derive(Debug, Clone)]
pub struct LoginAnswer {
    /// Allow, deny or pending.
    pub verdict: LoginVerdict,
    /// Why, in words.
    pub message: String,
    /// The grant or pending request concerned.
    pub request: Option<RequestView>,
}

/// A point in time after which no call may still be running.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(Instant);

impl Deadline {
    /// `budget` from now.
    pub fn after(budget: Duration) -> Self {
        Self(Instant::now() + budget)
    }

    /// Time left, zero once passed.
    pub fn remaining(&self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    /// The instant itself.
    pub fn at(&self) -> Instant {
        self.0
    }

    /// Moves the deadline later by `d` (time the user spent typing does
    /// not count against the module's budget).
    pub fn extend(&mut self, d: Duration) {
        self.0 += d;
    }
}

/// One connection to the daemon, opened on first use and dropped after any
/// failure (a late answer must never be read as the next one's).
pub struct Daemon<'a> {
    socket: &'a Path,
    timeout: Duration,
    client: Option<Client>,
}

impl<'a> Daemon<'a> {
    /// A connection to `socket`; each call waits at most `timeout`.
    pub fn new(socket: &'a Path, timeout: Duration) -> Self {
        Self {
            socket,
            timeout,
            client: None,
        }
    }

    /// Closes the connection; the next call opens a new one. Used before
    /// waiting on the user, so the daemon's idle limit cannot close it
    /// under us.
    pub fn hang_up(&mut self) {
        self.client = None;
    }

    /// Sends `request` and reads the answer, waiting for it at most `read`
    /// (and never past `deadline`). That is one deadline for the whole
    /// question, connecting included: every read and write waits only for
    /// the time left, so a daemon (or anything on its socket) answering a
    /// byte at a time cannot stretch a login past it.
    pub fn call(
        &mut self,
        request: Request,
        read: Duration,
        deadline: &Deadline,
    ) -> Result<Response, CallError> {
        let left = deadline.remaining();
        if left.is_zero() {
            return Err(CallError::OutOfTime);
        }
        let by = Instant::now() + read.min(left);
        let mut client = match self.client.take() {
            Some(c) => c,
            None => {
                let limit = self
                    .timeout
                    .min(by.saturating_duration_since(Instant::now()));
                let t = Timeouts {
                    connect: limit,
                    read: limit,
                    write: limit,
                };
                Client::connect(self.socket, t)?
            }
        };
        if Instant::now() >= by {
            return Err(CallError::OutOfTime);
        }
        let answer = client.call_by(request, by)?;
        if let Response::Error { code, message } = &answer {
            return Err(CallError::Garbage(format!("{code:?}: {message}")));
        }
        self.client = Some(client);
        Ok(answer)
    }

    /// Asks a `Login` question with the normal timeout.
    pub fn login(
        &mut self,
        request: Request,
        deadline: &Deadline,
    ) -> Result<LoginAnswer, CallError> {
        match self.call(request, self.timeout, deadline) {
            Ok(Response::Login {
                verdict,
                message,
                request,
            }) => Ok(LoginAnswer {
                verdict,
                message,
                request,
            }),
            Ok(other) => {
                self.client = None;
                Err(CallError::Garbage(describe(&other)))
            }
            Err(e) => Err(e),
        }
    }

    /// Waits up to `step` for request `id` to leave `pending`; its view.
    pub fn wait(
        &mut self,
        id: &str,
        step: Duration,
        deadline: &Deadline,
    ) -> Result<RequestView, CallError> {
        let id = elevated_proto::GrantId::parse(id)
            .map_err(|e| CallError::Garbage(format!("request id {id:?}: {e}")))?;
        let timeout_ms = u64::try_from(step.as_millis()).unwrap_or(u64::MAX);
        // The daemon answers when the step ends; allow a little more.
        let read = step + self.timeout.min(Duration::from_secs(1));
        match self.call(Request::Wait(WaitFor { id, timeout_ms }), read, deadline) {
            Ok(Response::Request { request }) => Ok(request),
            Ok(other) => {
                self.client = None;
                Err(CallError::Garbage(describe(&other)))
            }
            Err(e) => Err(e),
        }
    }
}

/// The kind of a response, for log lines.
fn describe(r: &Response) -> String {
    format!("a {} answer where none was expected", r.kind())
}
