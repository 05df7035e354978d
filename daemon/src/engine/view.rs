//! Read-only operations and conversions to wire types.

use elevated_proto::{
    ApprovalView, GrantId, RequestState, RequestView, Response, RoleOffer, Verdict,
};
use jiff::Timestamp;

use super::{ms, Engine, EngineError, Peer, State};
use crate::grant::GrantSpec;
use crate::policy::{decide, Decision, Subject};
use crate::store::approvals::{self, ApprovalRow};
use crate::store::{requests, RequestRow};

/// Alphabet of generated ids: lower-case letters and digits without the
/// look-alikes `0 o 1 l i`, so ids survive being read aloud or retyped.
const ID_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A fresh random request id of 8 characters (about 40 bits).
pub fn new_id() -> Result<GrantId, EngineError> {
    let mut raw = [0u8; 8];
    getrandom::getrandom(&mut raw)
        .map_err(|e| EngineError::Internal(format!("no randomness available: {e}")))?;
    let id: String = raw
        .iter()
        .map(|b| char::from(ID_ALPHABET[usize::from(*b) % ID_ALPHABET.len()]))
        .collect();
    GrantId::parse(&id).map_err(|e| EngineError::Internal(format!("a new id: {e}")))
}

pub(super) use crate::times::rfc3339;

/// Who may approve, in words: `user bob; groups dba-leads, ops-leads;
/// principal carol@corp`. How many must is said beside it (`approvals
/// 1/2`), so not here.
pub(super) fn describe_approvers(a: &crate::policy::Approvers) -> String {
    let mut parts = Vec::new();
    let mut add = |one: &str, many: &str, names: Vec<String>| {
        match names.len() {
            0 => {}
            1 => parts.push(format!("{one} {}", names.join(", "))),
            _ => parts.push(format!("{many} {}", names.join(", "))),
        };
    };
    add(
        "user",
        "users",
        a.users.iter().map(ToString::to_string).collect(),
    );
    add(
        "group",
        "groups",
        a.groups.iter().map(ToString::to_string).collect(),
    );
    add("principal", "principals", a.principals.clone());
    let attrs = a
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}={}", v.join("|")))
        .collect();
    add("attribute", "attributes", attrs);
    if parts.is_empty() {
        "root".to_owned()
    } else {
        parts.join("; ")
    }
}

/// The wire view of a row and its approvals.
pub(super) fn view(r: &RequestRow, approvals: &[ApprovalRow], now_ms: i64) -> RequestView {
    let remaining_secs = match (r.state, r.expires_at) {
        (RequestState::Active, Some(end)) if end > now_ms => {
            Some(u64::try_from((end - now_ms + 999) / 1000).unwrap_or(0))
        }
        _ => None,
    };
    // A window that has ended is shown as expired even before the timer
    // (late) has marked it so: nobody — `elevate run`, a script reading
    // `status --json` — may take it for a grant still in force.
    let lapsed = r.state == RequestState::Active && !r.in_window(now_ms);
    let (state, ended_at) = if lapsed {
        (RequestState::Expired, r.expires_at)
    } else {
        (r.state, r.ended_at)
    };
    let deciding = r.state == RequestState::Pending || r.ext_secs.is_some();
    let given = approvals
        .iter()
        .filter(|a| a.round == r.round && a.verdict == Verdict::Approve)
        .count();
    RequestView {
        id: r.id.to_string(),
        state,
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
        ended_at: ended_at.map(rfc3339),
        remaining_secs,
        rule: r.rule.clone(),
        message: r.message.clone(),
        approvals_needed: r.approval.count,
        sudo: r.grant.sudo_view(),
        approvals: approvals
            .iter()
            .map(|a| ApprovalView {
                approver: a.approver.clone(),
                verdict: a.verdict,
                comment: a.comment.clone(),
                key: a.key.clone(),
                at: rfc3339(a.at),
                round: a.round,
            })
            .collect(),
        approvals_given: u32::try_from(given).unwrap_or(u32::MAX),
        approvers: (deciding || r.break_glass).then(|| describe_approvers(&r.approval.approvers)),
        pending_until: if r.state == RequestState::Pending {
            r.pending_until.map(rfc3339)
        } else {
            r.ext_until.map(rfc3339)
        },
        command: r.command.clone(),
        break_glass: r.break_glass,
        reviewed: match (&r.reviewed_by, r.reviewed_at) {
            (Some(by), Some(at)) => Some(format!("{by} at {}", rfc3339(at))),
            _ => None,
        },
        extension_secs: r.ext_secs,
    }
}

/// The view of a row with its approvals as `conn` sees them.
pub(super) fn view_in(
    conn: &rusqlite::Connection,
    row: &RequestRow,
    now_ms: i64,
) -> Result<RequestView, EngineError> {
    let decisions = approvals::of(conn, row.id.as_str())?;
    Ok(view(row, &decisions, now_ms))
}

impl Engine {
    pub(super) fn subject(&self, peer: &Peer) -> Result<Subject, EngineError> {
        // NSS before the lock: a slow directory must not stall everyone.
        let account = peer.account()?;
        Ok(Subject {
            user: account.name.clone(),
            uid: peer.uid,
            groups: account.groups.clone(),
            attributes: self.config().attributes_of(&account.name),
            context: peer.context().clone(),
        })
    }

    pub(super) fn roles(&self, peer: &Peer, now: Timestamp) -> Result<Response, EngineError> {
        let subject = self.subject(peer)?;
        // Policy only, no store: the configuration in use, without the lock.
        let cfg = &self.config();
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
                    reason: d.message(),
                    default_duration_secs: role.default_duration.as_secs(),
                    max_duration_secs: role.max_duration.min(cfg.host.max_duration).as_secs(),
                    sudo: spec.sudo_view(),
                    groups: role.groups.iter().map(ToString::to_string).collect(),
                    actions: role
                        .actions
                        .iter()
                        .map(|c| crate::grant::GrantCommand::from(c).display())
                        .collect(),
                    action_duration_secs: (!role.actions.is_empty())
                        .then_some(role.action_duration.as_secs()),
                    actions_only: super::conflict::actions_only(role),
                }
            })
            .collect();
        Ok(Response::Roles {
            host: cfg.host.name.clone(),
            roles,
        })
    }

    /// The view of a row, with its approvals.
    pub(super) fn view_of(
        &self,
        st: &State,
        row: &RequestRow,
        now_ms: i64,
    ) -> Result<RequestView, EngineError> {
        view_in(st.store.conn(), row, now_ms)
    }

    /// A request visible to `peer`: their own, any for root, and those
    /// `peer` may approve or review. Others are reported as not found so
    /// ids cannot be probed.
    pub(super) fn visible(&self, peer: &Peer, id: &GrantId) -> Result<RequestRow, EngineError> {
        let row = {
            let st = self.lock();
            requests::get(st.store.conn(), id)?
        };
        self.visible_row(peer, id, row)
    }

    /// `row` (request `id` as read) if `peer` may see it; see [`Engine::visible`].
    fn visible_row(
        &self,
        peer: &Peer,
        id: &GrantId,
        row: Option<RequestRow>,
    ) -> Result<RequestRow, EngineError> {
        match row {
            Some(r) if peer.is_root() || r.uid == peer.uid || self.is_approver_of(peer, &r) => {
                Ok(r)
            }
            _ => Err(EngineError::NotFound(format!(
                "no request {id} visible to you"
            ))),
        }
    }

    pub(super) fn show(
        &self,
        peer: &Peer,
        id: &GrantId,
        now: Timestamp,
    ) -> Result<Response, EngineError> {
        // The row and its approvals from one read transaction, unlocked.
        self.read(|conn| {
            let r = self.visible_row(peer, id, requests::get(conn, id)?)?;
            Ok(Response::Request {
                request: view_in(conn, &r, ms(now))?,
            })
        })
    }
}

/// The row as stored now, read under the caller's lock, provided it is
/// still in the state, window, extension and approval round `seen` was
/// read in. Transitions are decided on a row read before the lock is taken
/// (policy, signatures and NSS are consulted without holding it); if
/// another one committed meanwhile (an approval, a cancellation, the
/// timer), writing the old row back would undo it or revive a request
/// that already ended.
pub(super) fn still_as_seen(st: &State, seen: &RequestRow) -> Result<RequestRow, EngineError> {
    let now = requests::get(st.store.conn(), &seen.id)?
        .ok_or_else(|| EngineError::NotFound(format!("no request {}", seen.id)))?;
    let same = now.state == seen.state
        && now.starts_at == seen.starts_at
        && now.expires_at == seen.expires_at
        && now.ext_secs == seen.ext_secs
        && now.ext_until == seen.ext_until
        && now.round == seen.round
        && now.reviewed_at == seen.reviewed_at;
    if same {
        Ok(now)
    } else {
        Err(EngineError::BadRequest(format!(
            "request {} changed while this was being decided (it is {} now); look at it again",
            seen.id, now.state
        )))
    }
}
