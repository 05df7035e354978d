//! One request in, one response out: which engine operation answers it.
#![forbid(unsafe_code)]

use elevated_proto::{Request, Response, Verdict};
use jiff::Timestamp;

use super::request::NewRequest;
use super::{login, peer, Engine, EngineError, Outcome, Peer, Reauth};

impl Engine {
    /// Handles one request from `peer` at time `now`, by a way that cannot
    /// re-authenticate (D-Bus, tests): a rule that asks for it refuses.
    pub fn handle(&self, peer: &Peer, req: Request, now: Timestamp) -> Response {
        match self.handle_with(peer, req, Reauth::NotTried, now) {
            Outcome::Done(r) => r,
            Outcome::NeedsReauth => Response::from(EngineError::Forbidden(
                crate::server::REAUTH_ONLY_BY_CLIENT.into(),
            )),
        }
    }

    /// Like [`Engine::handle`], telling where re-authentication stands;
    /// [`Outcome::NeedsReauth`] when the server must run it first.
    pub fn handle_with(
        &self,
        peer: &Peer,
        req: Request,
        reauth: Reauth,
        now: Timestamp,
    ) -> Outcome {
        match self.answer(peer, req, reauth, now) {
            Ok(outcome) => outcome,
            Err(e) => Outcome::Done(Response::from(e)),
        }
    }

    fn answer(
        &self,
        peer: &Peer,
        req: Request,
        reauth: Reauth,
        now: Timestamp,
    ) -> Result<Outcome, EngineError> {
        // An operation that names the caller (policy subject, approver,
        // audit actor) looks the account up here, before it takes the
        // engine lock: NSS may be slow (LDAP) and must not stall everyone.
        if peer::names_caller(&req) {
            peer.account()?;
        }
        let done = match req {
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
            } => {
                return self.request(
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
                )
            }
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
            } => return self.extend(peer, &id, duration_secs, reason, reauth, now),
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
        done.map(Outcome::Done)
    }
}
