//! One request in, one response out: which engine operation answers it.
#![forbid(unsafe_code)]

use elevated_proto::{Request, Response, Verdict};
use jiff::Timestamp;

use super::request::NewRequest;
use super::{login, peer, Engine, EngineError, Peer, Reauth};

impl Engine {
    /// Handles one request from `peer` at time `now` (the server goes
    /// through [`Engine::handle_with`]).
    #[cfg(test)]
    pub fn handle(&self, peer: &Peer, req: Request, now: Timestamp) -> Response {
        self.handle_with(peer, req, Reauth::NotTried, now)
            .unwrap_or_else(EngineError::into_response)
    }

    /// Handles one request from `peer` at time `now`, telling where
    /// re-authentication stands; returns [`EngineError::NeedsReauth`] when
    /// the server must run it first, and other errors as responses.
    pub fn handle_with(
        &self,
        peer: &Peer,
        req: Request,
        reauth: Reauth,
        now: Timestamp,
    ) -> Result<Response, EngineError> {
        // An operation that names the caller (policy subject, approver,
        // audit actor) looks the account up here, before it takes the
        // engine lock: NSS may be slow (LDAP) and must not stall everyone.
        if peer::names_caller(&req) {
            if let Err(e) = peer.account() {
                return Ok(e.into_response());
            }
        }
        let result = match req {
            Request::Ping {} => Ok(Response::Pong {
                daemon_version: env!("CARGO_PKG_VERSION").to_owned(),
                host: self.config().host.name.clone(),
            }),
            Request::Roles {} => self.roles(peer, now),
            Request::Request {
                role,
                duration_secs,
                command,
                reason,
                ticket,
            } => self.request(
                peer,
                NewRequest {
                    role,
                    duration_secs,
                    command,
                    reason,
                    ticket,
                },
                reauth,
                now,
            ),
            Request::Status {} => self.status(peer, now),
            Request::List {
                pending,
                all,
                unreviewed,
            } => self.list(peer, pending, all, unreviewed, now),
            Request::Show { id } | Request::Wait { id, .. } => self.show(peer, &id, now),
            Request::Cancel { id } => self.cancel(peer, &id, now),
            Request::Revoke { id } => self.revoke(peer, &id, now),
            Request::Audit { since, limit } => self.audit(peer, since.as_deref(), limit),
            Request::AuditVerify {} => self.verify(peer),
            Request::AuditChain { after } => self.chain(peer, after),
            Request::Approve {
                id,
                comment,
                signature,
            } => self.decide_on(peer, &id, Verdict::Approve, comment, signature, now),
            Request::Deny {
                id,
                comment,
                signature,
            } => self.decide_on(peer, &id, Verdict::Deny, comment, signature, now),
            Request::DecisionText { id, decision } => self.decision_text_for(peer, &id, decision),
            Request::Extend {
                id,
                duration_secs,
                reason,
            } => self.extend(peer, &id, duration_secs, reason, reauth, now),
            Request::Review { id, comment } => self.review(peer, &id, comment, now),
            Request::Login {
                user,
                service,
                rhost,
                tty,
                request_role,
                reason,
            } => self.login(
                peer,
                login::LoginQuery {
                    user,
                    service,
                    rhost,
                    tty,
                    request_role,
                    reason,
                },
                now,
            ),
            Request::Session {
                user,
                service,
                open,
                rhost,
                tty,
            } => self.session(
                peer,
                login::LoginQuery {
                    user,
                    service,
                    rhost,
                    tty,
                    request_role: None,
                    reason: None,
                },
                open,
                now,
            ),
            Request::Answer { .. } => Err(EngineError::BadRequest(
                "an answer was sent, but nothing asked a question".into(),
            )),
        };
        match result {
            Err(EngineError::NeedsReauth) => Err(EngineError::NeedsReauth),
            other => Ok(other.unwrap_or_else(EngineError::into_response)),
        }
    }
}
