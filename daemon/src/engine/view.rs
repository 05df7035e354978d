//! Read-only operations and conversions to wire types.

use elevated_proto::{AuditEntry, GrantId, RequestState, RequestView, Response, RoleOffer};
use jiff::Timestamp;

use super::{ms, Engine, EngineError, Peer};
use crate::grant::GrantSpec;
use crate::policy::{decide, Decision, Subject};
use crate::store::{audit, requests, RequestRow};

/// Alphabet of generated ids: lower-case letters and digits without the
/// look-alikes `0 o 1 l i`, so ids survive being read aloud or retyped.
const ID_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A fresh random request id of 8 characters (about 40 bits).
pub fn new_id() -> Result<GrantId, EngineError> {
    let mut raw = [0u8; 8];
    getrandom::getrandom(&mut raw)
        .map_err(|e| EngineError::Forbidden(format!("no randomness available: {e}")))?;
    let id: String = raw
        .iter()
        .map(|b| char::from(ID_ALPHABET[usize::from(*b) % ID_ALPHABET.len()]))
        .collect();
    GrantId::parse(&id).map_err(|e| EngineError::BadRequest(e.to_string()))
}

pub(super) fn rfc3339(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| ms.to_string())
}

pub(super) fn view(r: &RequestRow, now_ms: i64) -> RequestView {
    let remaining_secs = match (r.state, r.expires_at) {
        (RequestState::Active, Some(end)) if end > now_ms => {
            Some(u64::try_from((end - now_ms + 999) / 1000).unwrap_or(0))
        }
        (RequestState::Active, Some(_)) => Some(0),
        _ => None,
    };
    RequestView {
        id: r.id.to_string(),
        state: r.state,
        role: r.role.clone(),
        user: r.user.clone(),
        uid: r.uid,
        host: r.host.clone(),
        reason: r.reason.clone(),
        ticket: r.ticket.clone(),
        duration_secs: r.duration_secs,
        requested_at: rfc3339(r.requested_at),
        decided_at: r.decided_at.map(rfc3339),
        starts_at: r.starts_at.map(rfc3339),
        expires_at: r.expires_at.map(rfc3339),
        ended_at: r.ended_at.map(rfc3339),
        remaining_secs,
        rule: r.rule.clone(),
        message: r.message.clone(),
        approvals_needed: r.approvals_needed,
        sudo: r.grant.sudo_view(),
    }
}

impl Engine {
    pub(super) fn subject(&self, peer: &Peer) -> Subject {
        let st = self.lock();
        Subject {
            user: peer.account.name.clone(),
            uid: peer.uid,
            groups: peer.account.groups.clone(),
            attributes: st.cfg.attributes_of(&peer.account.name),
        }
    }

    pub(super) fn roles(&self, peer: &Peer, now: Timestamp) -> Response {
        let subject = self.subject(peer);
        let st = self.lock();
        let cfg = &st.cfg;
        let roles = cfg
            .policy
            .roles
            .values()
            .map(|role| {
                let d = decide(&cfg.policy, &subject, &cfg.host, &role.name, None, now);
                let (allowed, approvals, rule) = match &d {
                    Decision::Allow(a) => (true, a.approval.count, Some(a.rule.clone())),
                    Decision::Deny(x) => (false, 0, x.rule.clone()),
                };
                let spec = GrantSpec::from_role(role);
                RoleOffer {
                    role: role.name.to_string(),
                    description: role.description.clone(),
                    allowed,
                    approvals,
                    rule,
                    reason: d.message().to_owned(),
                    default_duration_secs: role.default_duration.as_secs(),
                    max_duration_secs: role.max_duration.min(cfg.host.max_duration).as_secs(),
                    sudo: spec.sudo_view(),
                    groups: role.groups.iter().map(ToString::to_string).collect(),
                }
            })
            .collect();
        Response::Roles {
            host: cfg.host.name.clone(),
            roles,
        }
    }

    /// A request visible to `peer`: their own, or any for root. Others'
    /// requests are reported as not found so ids cannot be probed.
    pub(super) fn visible(&self, peer: &Peer, id: &GrantId) -> Result<RequestRow, EngineError> {
        let st = self.lock();
        match requests::get(st.store.conn(), id)? {
            Some(r) if peer.is_root() || r.uid == peer.uid => Ok(r),
            _ => Err(EngineError::NotFound(format!("no request {id} of yours"))),
        }
    }

    pub(super) fn show(
        &self,
        peer: &Peer,
        id: &GrantId,
        now: Timestamp,
    ) -> Result<Response, EngineError> {
        let r = self.visible(peer, id)?;
        Ok(Response::Request {
            request: view(&r, ms(now)),
        })
    }

    pub(super) fn status(&self, peer: &Peer, now: Timestamp) -> Result<Response, EngineError> {
        let st = self.lock();
        let rows = requests::open_of(st.store.conn(), peer.uid)?;
        Ok(Response::Requests {
            requests: rows.iter().map(|r| view(r, ms(now))).collect(),
        })
    }

    pub(super) fn list(
        &self,
        peer: &Peer,
        pending: bool,
        all: bool,
        now: Timestamp,
    ) -> Result<Response, EngineError> {
        let st = self.lock();
        let uid = (!peer.is_root()).then_some(peer.uid);
        let rows = requests::list(st.store.conn(), uid, pending, all, 500)?;
        Ok(Response::Requests {
            requests: rows.iter().map(|r| view(r, ms(now))).collect(),
        })
    }

    pub(super) fn audit(
        &self,
        peer: &Peer,
        since: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Response, EngineError> {
        let since_ms = match since {
            Some(s) => Some(
                s.parse::<Timestamp>()
                    .map_err(|e| {
                        EngineError::BadRequest(format!(
                            "--since {s:?} is not an RFC 3339 time: {e}"
                        ))
                    })?
                    .as_millisecond(),
            ),
            None => None,
        };
        let visible_to = (!peer.is_root()).then_some((peer.account.name.as_str(), peer.uid));
        let st = self.lock();
        let rows = audit::list(
            st.store.conn(),
            since_ms,
            limit.unwrap_or(1000).min(10_000),
            visible_to,
        )?;
        let rows = rows
            .into_iter()
            .map(|r| AuditEntry {
                seq: u64::try_from(r.seq).unwrap_or(0),
                at: rfc3339(r.at),
                event: r.event,
                actor: r.actor,
                request: r.request_id,
                detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
                hash: r.hash,
            })
            .collect();
        Ok(Response::Audit { rows })
    }

    pub(super) fn verify(&self) -> Result<Response, EngineError> {
        let st = self.lock();
        let v = audit::verify(st.store.conn())?;
        Ok(match v.first_bad {
            None => Response::AuditVerify {
                ok: true,
                rows: v.rows,
                first_bad: None,
                message: format!("audit chain intact: {} rows verified", v.rows),
            },
            Some((seq, why)) => Response::AuditVerify {
                ok: false,
                rows: v.rows,
                first_bad: u64::try_from(seq).ok(),
                message: format!("audit chain broken at row {seq}: {why}"),
            },
        })
    }
}
