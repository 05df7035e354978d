//! One connection to the daemon, with answers checked for the expected kind
//! and re-authentication prompts answered on the way.

use std::path::Path;
use std::time::Duration;

use elevated_proto::{
    AuditEntry, AuditLink, AuditQuery, Client, ClientError, DecisionTextQuery, GrantId, Request,
    RequestView, Response, RoleOffer, Timeouts, Verdict, WaitFor,
};

use crate::converse::{self, Terminal, MAX_PROMPTS};
use crate::exit::Failure;

/// How long one `wait` call asks the daemon to hold the answer.
pub const WAIT_SLICE: Duration = Duration::from_secs(20);
/// Read timeout for a `wait` call: the slice plus room for a slow daemon.
const WAIT_READ: Duration = Duration::from_secs(30);

/// A connection to the daemon.
#[derive(Debug)]
pub struct Daemon {
    client: Client,
}

impl Daemon {
    /// Connects to the socket at `path`. Any failure is "unreachable".
    pub fn connect(path: &Path) -> Result<Self, Failure> {
        let client =
            Client::connect(path, Timeouts::default()).map_err(|e| Failure::connect(&e))?;
        Ok(Self { client })
    }

    /// Sends one request; a [`Response::Error`] becomes a [`Failure`]. A
    /// re-authentication conversation is carried out first if the daemon
    /// starts one.
    pub fn call(&mut self, request: Request) -> Result<Response, Failure> {
        self.exchange(request, None, Failure::client)
    }

    /// Sends `request` (with a longer read timeout when given), answers any
    /// prompts, and checks the final answer. `lost` describes a broken
    /// exchange.
    fn exchange(
        &mut self,
        request: Request,
        read: Option<Duration>,
        lost: impl Fn(&ClientError) -> Failure,
    ) -> Result<Response, Failure> {
        let mut answer = self.send(request, read).map_err(|e| lost(&e))?;
        let mut prompts = 0;
        while let Response::Prompt { style, text } = answer {
            prompts += 1;
            if prompts > MAX_PROMPTS {
                return Err(Failure::protocol(format!(
                    "elevated asked more than {MAX_PROMPTS} questions in a row; giving up"
                )));
            }
            let reply = converse::reply(style, &text, &mut Terminal)?;
            answer = self
                .send(Request::Answer { text: reply }, None)
                .map_err(|e| lost(&e))?;
        }
        check(answer)
    }

    fn send(&mut self, request: Request, read: Option<Duration>) -> Result<Response, ClientError> {
        match read {
            Some(r) => self.client.call_with_read_timeout(request, r),
            None => self.client.call(request),
        }
    }

    /// Sends a request answered with one request view.
    pub fn call_view(&mut self, request: Request) -> Result<RequestView, Failure> {
        match self.call(request)? {
            Response::Request { request } => Ok(request),
            other => Err(unexpected(&other)),
        }
    }

    /// Sends a request answered with a list of request views.
    pub fn call_views(&mut self, request: Request) -> Result<Vec<RequestView>, Failure> {
        Ok(self.call_list(request)?.0)
    }

    /// Like [`Daemon::call_views`], also telling whether the daemon left
    /// older entries out (more than one answer carries).
    pub fn call_list(&mut self, request: Request) -> Result<(Vec<RequestView>, bool), Failure> {
        match self.call(request)? {
            Response::Requests {
                requests,
                truncated,
            } => Ok((requests, truncated)),
            other => Err(unexpected(&other)),
        }
    }

    /// The roles offered here: the host name and the offers.
    pub fn roles(&mut self) -> Result<(String, Vec<RoleOffer>), Failure> {
        match self.call(Request::Roles {})? {
            Response::Roles { host, roles } => Ok((host, roles)),
            other => Err(unexpected(&other)),
        }
    }

    /// Audit rows, and whether older matching rows were left out (more
    /// than one answer carries).
    pub fn audit(
        &mut self,
        since: Option<String>,
        limit: Option<u32>,
    ) -> Result<(Vec<AuditEntry>, bool), Failure> {
        match self.call(Request::Audit(AuditQuery { since, limit }))? {
            Response::Audit { rows, truncated } => Ok((rows, truncated)),
            other => Err(unexpected(&other)),
        }
    }

    /// One page of the audit chain's (sequence, hash) pairs after `after`,
    /// and whether more follow.
    pub fn audit_chain(&mut self, after: u64) -> Result<(Vec<AuditLink>, bool), Failure> {
        match self.call(Request::AuditChain { after })? {
            Response::AuditChain { links, more } => Ok((links, more)),
            other => Err(unexpected(&other)),
        }
    }

    /// Waits up to [`WAIT_SLICE`] for `id` to leave `pending` (or for its
    /// pending extension to be decided).
    pub fn wait(&mut self, id: &GrantId) -> Result<RequestView, Failure> {
        let request = Request::Wait(WaitFor {
            id: id.clone(),
            timeout_ms: u64::try_from(WAIT_SLICE.as_millis()).unwrap_or(u64::MAX),
        });
        let lost = |e: &ClientError| {
            let mut f = Failure::client(e);
            f.message = format!(
                "{}; request {id} may still be pending (see `elevate show {id}`)",
                f.message
            );
            f
        };
        match self.exchange(request, Some(WAIT_READ), lost)? {
            Response::Request { request } => Ok(request),
            other => Err(unexpected(&other)),
        }
    }

    /// The exact text a remote approver signs for `decision` on `id`.
    pub fn decision_text(&mut self, id: &GrantId, decision: Verdict) -> Result<String, Failure> {
        match self.call(Request::DecisionText(DecisionTextQuery {
            id: id.clone(),
            decision,
        }))? {
            Response::Text { text } => Ok(text),
            other => Err(unexpected(&other)),
        }
    }
}

/// Turns an error answer into a failure.
fn check(answer: Response) -> Result<Response, Failure> {
    match answer {
        Response::Error { code, message } => Err(Failure::daemon(code, message)),
        other => Ok(other),
    }
}

/// An answer of the wrong kind.
pub fn unexpected(answer: &Response) -> Failure {
    Failure::protocol(format!(
        "elevated sent an unexpected answer ({}); are client and daemon the same version?",
        answer.kind()
    ))
}

/// Reads the id of a view the daemon sent.
pub fn view_id(view: &RequestView) -> Result<GrantId, Failure> {
    GrantId::parse(&view.id)
        .map_err(|e| Failure::protocol(format!("elevated sent an invalid request id: {e}")))
}
