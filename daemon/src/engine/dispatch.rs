//! One request in, one response out: which engine operation answers it.
#![forbid(unsafe_code)]

use elevated_proto::{Request, Response, Verdict};
use jiff::Timestamp;

use super::{peer, Engine, EngineError, Outcome, Peer, Reauth};

impl Engine {
    /// Handles one request from `peer` at time `now`, by a way that cannot
    /// re-authenticate (tests): a rule that asks for it refuses.
    #[cfg(test)]
    pub fn handle(&self, peer: &Peer, req: Request, now: Timestamp) -> Response {
        match self.handle_with(peer, req, Reauth::NotTried, now) {
            Outcome::Done(r) => r,
            Outcome::NeedsReauth => Response::from(EngineError::Forbidden(
                crate::server::REAUTH_ONLY_BY_CLIENT.into(),
            )),
        }
    }

    /// Handles one request from `peer` at time `now`, telling where
    /// re-authentication stands; [`Outcome::NeedsReauth`] when the server
    /// must run it first.
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
            Request::Ping {} => Ok(self.pong()),
            Request::Roles {} => self.roles(peer, now),
            Request::Request(r) => return self.request(peer, r, reauth, now),
            Request::Status {} => self.status(peer, now),
            Request::List(f) => self.list(peer, f.pending, f.all, f.unreviewed, now),
            Request::Show { id } => self.show(peer, &id, now),
            // The server holds a `Wait` open; the engine answers its end.
            Request::Wait(w) => self.show(peer, &w.id, now),
            Request::Cancel { id } => self.cancel(peer, &id, now),
            Request::Revoke { id } => self.revoke(peer, &id, now),
            Request::Audit(q) => self.audit(peer, q.since.as_deref(), q.limit),
            Request::AuditVerify {} => self.verify(peer),
            Request::AuditChain { after } => self.chain(peer, after),
            Request::Approve(d) => {
                self.decide_on(peer, &d.id, Verdict::Approve, d.comment, d.signature, now)
            }
            Request::Deny(d) => {
                self.decide_on(peer, &d.id, Verdict::Deny, d.comment, d.signature, now)
            }
            Request::DecisionText(q) => self.decision_text_for(peer, &q.id, q.decision),
            Request::Extend(x) => {
                return self.extend(peer, &x.id, x.duration_secs, x.reason, reauth, now)
            }
            Request::Review(r) => self.review(peer, &r.id, r.comment, now),
            Request::Login(q) => self.login(peer, q, now),
            Request::Session(s) => self.session(peer, s, now),
            Request::Answer { .. } => Err(EngineError::BadRequest(
                "an answer was sent, but nothing asked a question".into(),
            )),
        };
        done.map(Outcome::Done)
    }

    /// The answer to `ping`: this build and the host name it uses.
    fn pong(&self) -> Response {
        Response::Pong {
            daemon_version: env!("CARGO_PKG_VERSION").to_owned(),
            host: self.config().host.name.clone(),
        }
    }
}
