//! One connection to the daemon, with answers checked for the expected kind.

use std::path::Path;
use std::time::Duration;

use elevated_proto::{AuditEntry, Client, GrantId, RequestView, Response, RoleOffer, Timeouts};

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

    /// Sends one request; a [`Response::Error`] becomes a [`Failure`].
    pub fn call(&mut self, request: elevated_proto::Request) -> Result<Response, Failure> {
        let answer = self.client.call(request).map_err(|e| Failure::client(&e))?;
        check(answer)
    }

    /// Sends a request answered with one request view.
    pub fn call_view(&mut self, request: elevated_proto::Request) -> Result<RequestView, Failure> {
        match self.call(request)? {
            Response::Request { request } => Ok(request),
            other => Err(unexpected(&other)),
        }
    }

    /// Sends a request answered with a list of request views.
    pub fn call_views(
        &mut self,
        request: elevated_proto::Request,
    ) -> Result<Vec<RequestView>, Failure> {
        match self.call(request)? {
            Response::Requests { requests } => Ok(requests),
            other => Err(unexpected(&other)),
        }
    }

    /// The roles offered here: the host name and the offers.
    pub fn roles(&mut self) -> Result<(String, Vec<RoleOffer>), Failure> {
        match self.call(elevated_proto::Request::Roles {})? {
            Response::Roles { host, roles } => Ok((host, roles)),
            other => Err(unexpected(&other)),
        }
    }

    /// Audit rows.
    pub fn audit(
        &mut self,
        since: Option<String>,
        limit: Option<u32>,
    ) -> Result<Vec<AuditEntry>, Failure> {
        match self.call(elevated_proto::Request::Audit { since, limit })? {
            Response::Audit { rows } => Ok(rows),
            other => Err(unexpected(&other)),
        }
    }

    /// Waits up to [`WAIT_SLICE`] for `id` to leave `pending`.
    pub fn wait(&mut self, id: &GrantId) -> Result<RequestView, Failure> {
        let request = elevated_proto::Request::Wait {
            id: id.clone(),
            timeout_ms: u64::try_from(WAIT_SLICE.as_millis()).unwrap_or(u64::MAX),
        };
        let answer = self
            .client
            .call_with_read_timeout(request, WAIT_READ)
            .map_err(|e| {
                let mut f = Failure::client(&e);
                f.message = format!(
                    "{}; request {id} may still be pending (see `elevate show {id}`)",
                    f.message
                );
                f
            })?;
        match check(answer)? {
            Response::Request { request } => Ok(request),
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
    let kind = match answer {
        Response::Pong { .. } => "pong",
        Response::Roles { .. } => "roles",
        Response::Request { .. } => "request",
        Response::Requests { .. } => "requests",
        Response::Audit { .. } => "audit",
        Response::AuditVerify { .. } => "audit_verify",
        Response::Error { .. } => "error",
    };
    Failure::protocol(format!(
        "elevated sent an unexpected answer ({kind}); are client and daemon the same version?"
    ))
}

/// Reads the id of a view the daemon sent.
pub fn view_id(view: &RequestView) -> Result<GrantId, Failure> {
    GrantId::parse(&view.id)
        .map_err(|e| Failure::protocol(format!("elevated sent an invalid request id: {e}")))
}
