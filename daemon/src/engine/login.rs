//! Login access for the PAM module: may a user log in here now, and the
//! audit of the sessions such logins open.

use crate::audit::event::AuditEvent;
use elevated_proto::{LoginVerdict, RequestState, Response, SessionEvent, UserName};
use jiff::Timestamp;
use serde_json::json;

use super::request::{NewRequest, Reauth};
use super::{ms, Engine, EngineError, Outcome, Peer};
use crate::policy::{decide, Decision};
use crate::store::{requests, RequestRow};
use crate::sys::users;

/// What the PAM module says about the login: the wire's own struct.
pub use elevated_proto::LoginQuery;

/// The account with its groups, or a refusal saying why NSS could not
/// list them (a refusal, not an error: `fail=open` must not open on it).
fn with_groups(entry: users::Entry) -> Result<users::Account, Box<Response>> {
    entry.with_groups().map_err(|e| {
        Box::new(answer(
            LoginVerdict::Deny,
            format!("cannot decide the login: {e}"),
            None,
        ))
    })
}

fn answer(
    verdict: LoginVerdict,
    message: String,
    request: Option<elevated_proto::RequestView>,
) -> Response {
    Response::Login {
        verdict,
        message,
        request,
    }
}

impl Engine {
    /// The user's active grant that counts as login access at `now_ms`, if
    /// any. A window that has ended counts for nothing even while the
    /// timer, late, has not yet marked it expired; nor does one taken
    /// away whose end waits to be recorded.
    /// Read outside the engine lock (a committed state, like every read):
    /// a login refused for want of a grant, and a session without one,
    /// then wait for no transition at all. Only a candidate is checked
    /// against the ends not yet recorded, which the engine keeps under its
    /// lock (an allowed login takes it anyway to write its audit row).
    fn login_grant(&self, uid: u32, now_ms: i64) -> Result<Option<RequestRow>, EngineError> {
        let candidates: Vec<RequestRow> = self.read(|conn| {
            Ok(requests::open_of(conn, uid)?
                .into_iter()
                .filter(|r| r.grant.login && r.in_window(now_ms))
                .collect())
        })?;
        if candidates.is_empty() {
            return Ok(None);
        }
        let st = self.lock();
        Ok(candidates
            .into_iter()
            .find(|r| !super::unrecorded::pending(&st, &r.id)))
    }

    /// Audits a use of a grant (a login it allowed, a session opened or
    /// closed; `grant` is its id, if there is one). Written before the
    /// answer like every audit row, but without waiting for the disk: it
    /// records an observation, not a transition, and sits on the path of
    /// every login (see [`crate::store::Store::tx_unsynced`]).
    fn audit_use(
        &self,
        grant: Option<&str>,
        event: AuditEvent,
        actor: &str,
        detail: &serde_json::Value,
        now_ms: i64,
    ) -> Result<(), EngineError> {
        let mut st = self.lock();
        let row = st.store.tx_unsynced(|tx| {
            crate::store::audit::append(tx, now_ms, event, actor, grant, detail)
        })?;
        drop(st);
        self.after_commit(&[row]);
        Ok(())
    }

    pub(super) fn login(
        &self,
        peer: &Peer,
        q: LoginQuery,
        now: Timestamp,
    ) -> Result<Response, EngineError> {
        // Only the PAM module, running as root inside sshd/login, asks.
        if !peer.is_root() {
            return Err(EngineError::Forbidden(
                "only root (the PAM module) may ask about logins".into(),
            ));
        }
        let cfg = self.config();
        let login = &cfg.settings.login;
        let deny = |m: String| Ok(answer(LoginVerdict::Deny, m, None));
        if UserName::parse(&q.user).is_err() {
            return deny(format!("{:?} is not a user name elevated accepts", q.user));
        }
        if !login.require_grant {
            return Ok(answer(
                LoginVerdict::Allow,
                "this host does not require a grant to log in".into(),
                None,
            ));
        }
        // The passwd entry alone first: most logins are decided without
        // the user's groups (only `exempt_groups` and filing a request
        // need them), and listing them walks every group source.
        let Ok(entry) = users::entry_by_name(&q.user) else {
            return deny(format!("no user {} on this host", q.user));
        };
        // Root is never locked out.
        if entry.uid() == 0 {
            return Ok(answer(
                LoginVerdict::Allow,
                "root is always exempt".into(),
                None,
            ));
        }
        if login
            .exempt_users
            .iter()
            .any(|u| u.as_str() == entry.name())
        {
            return Ok(answer(
                LoginVerdict::Allow,
                format!("{} is exempt", entry.name()),
                None,
            ));
        }
        let uid = entry.uid();
        let mut account = None;
        if !login.exempt_groups.is_empty() {
            let a = match with_groups(entry.clone()) {
                Ok(a) => a,
                Err(refusal) => return Ok(*refusal),
            };
            if let Some(g) = login
                .exempt_groups
                .iter()
                .find(|g| a.groups.contains(g.as_str()))
            {
                return Ok(answer(
                    LoginVerdict::Allow,
                    format!("members of {g} are exempt"),
                    None,
                ));
            }
            account = Some(a);
        }
        let now_ms = ms(now);
        let detail =
            json!({"user": entry.name(), "service": q.service, "rhost": q.rhost, "tty": q.tty});
        if let Some(g) = self.login_grant(uid, now_ms)? {
            let mut d = detail.clone();
            d["grant"] = json!(g.id.as_str());
            self.audit_use(
                Some(g.id.as_str()),
                AuditEvent::LoginAllowed,
                "pam",
                &d,
                now_ms,
            )?;
            let st = self.lock();
            let view = self.view_of(&st, &g, now_ms)?;
            return Ok(answer(
                LoginVerdict::Allow,
                format!("allowed by grant {} of role {}", g.id, g.role),
                Some(view),
            ));
        }
        let account = match account {
            Some(a) => a,
            None => match with_groups(entry) {
                Ok(a) => a,
                Err(refusal) => return Ok(*refusal),
            },
        };
        // The login's own facts, as PAM reports them: a request filed here
        // is decided on them.
        let mut context = std::collections::BTreeMap::new();
        context.insert("service".to_owned(), vec![q.service.clone()]);
        if let Some(t) = &q.tty {
            context.insert("tty".to_owned(), vec![t.clone()]);
        }
        if let Some(h) = &q.rhost {
            context.insert("rhost".to_owned(), vec![h.clone()]);
        }
        let as_user = Peer::known(account.clone(), None, context);
        let Some(role) = q.request_role else {
            // Only the login roles this user could ask for now: naming one
            // that policy refuses them sends them to a request that fails.
            let subject = self.subject(&as_user)?;
            let roles: Vec<String> = cfg
                .policy
                .roles
                .values()
                .filter(|r| r.login)
                .filter(|r| {
                    let d = decide(&cfg.policy, &subject, &cfg.host, &r.name, None, now);
                    matches!(d, Decision::Allow(_))
                })
                .map(|r| r.name.to_string())
                .collect();
            let name = &account.name;
            return deny(if roles.is_empty() {
                format!(
                    "{name} needs an active grant of a login role to log in here, and there is \
                     none {name} may request"
                )
            } else {
                format!(
                    "{name} needs an active grant of a login role ({}) to log in here; ask with \
                     `elevate request ROLE`",
                    roles.join(", ")
                )
            });
        };
        if !cfg.policy.roles.get(&role).is_some_and(|r| r.login) {
            return deny(format!("role {role} does not grant login access"));
        }
        // One pending request per user and role: a second login attempt
        // waits on the first request instead of filing another.
        let existing = {
            let st = self.lock();
            requests::open_of(st.store.conn(), account.uid)?
                .into_iter()
                .find(|r| r.state == RequestState::Pending && r.role == role.as_str())
        };
        if let Some(p) = existing {
            let st = self.lock();
            let view = self.view_of(&st, &p, now_ms)?;
            return Ok(answer(
                LoginVerdict::Pending,
                format!("request {} is waiting for approval", p.id),
                Some(view),
            ));
        }
        let filed = self.request(
            &as_user,
            NewRequest {
                role,
                duration_secs: None,
                command: None,
                reason: q.reason,
                ticket: None,
            },
            Reauth::NotTried,
            now,
        );
        let view = match filed {
            Ok(Outcome::Done(Response::Request { request })) => request,
            Ok(Outcome::Done(other)) => return Ok(other),
            Ok(Outcome::NeedsReauth) => {
                return deny(
                    "this role needs re-authentication; request it with `elevate request`".into(),
                )
            }
            Err(e) => return deny(e.to_string()),
        };
        let verdict = match view.state {
            RequestState::Active => LoginVerdict::Allow,
            RequestState::Pending => LoginVerdict::Pending,
            _ => LoginVerdict::Deny,
        };
        Ok(answer(verdict, view.message.clone(), Some(view)))
    }

    /// Audits a session opened or closed under a login.
    pub(super) fn session(
        &self,
        peer: &Peer,
        s: SessionEvent,
        now: Timestamp,
    ) -> Result<Response, EngineError> {
        let SessionEvent {
            user,
            service,
            open,
            rhost,
            tty,
        } = s;
        let user = user.as_str();
        if !peer.is_root() {
            return Err(EngineError::Forbidden(
                "only root (the PAM module) may report sessions".into(),
            ));
        }
        let event = if open {
            AuditEvent::SessionOpen
        } else {
            AuditEvent::SessionClose
        };
        let grant = match users::entry_by_name(user) {
            Ok(e) => self.login_grant(e.uid(), ms(now))?,
            Err(_) => None,
        };
        let detail = json!({"user": user, "service": service, "rhost": rhost, "tty": tty,
                            "grant": grant.as_ref().map(|g| g.id.to_string())});
        let rid = grant.as_ref().map(|g| g.id.as_str());
        self.audit_use(rid, event, user, &detail, ms(now))?;
        Ok(Response::Login {
            verdict: LoginVerdict::Allow,
            message: format!("{event} recorded"),
            request: None,
        })
    }
}
