//! Read-only operations and conversions to wire types.

use elevated_proto::{
    ApprovalView, GrantId, RequestState, RequestView, Response, RoleOffer, Verdict,
};
use jiff::Timestamp;

use super::budget::Budget;
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
        .map_err(|e| EngineError::Forbidden(format!("no randomness available: {e}")))?;
    let id: String = raw
        .iter()
        .map(|b| char::from(ID_ALPHABET[usize::from(*b) % ID_ALPHABET.len()]))
        .collect();
    GrantId::parse(&id).map_err(|e| EngineError::BadRequest(e.to_string()))
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
fn view_in(
    conn: &rusqlite::Connection,
    row: &RequestRow,
    now_ms: i64,
) -> Result<RequestView, EngineError> {
    let decisions = approvals::of(conn, row.id.as_str())?;
    Ok(view(row, &decisions, now_ms))
}

/// The views of `rows`, as many as one answer carries.
fn views(
    conn: &rusqlite::Connection,
    rows: &[RequestRow],
    now: Timestamp,
) -> Result<Response, EngineError> {
    let mut budget = Budget::frame();
    let mut requests = Vec::new();
    let mut truncated = false;
    for r in rows {
        let v = view_in(conn, r, ms(now))?;
        if !budget.take(&v) {
            truncated = true;
            break;
        }
        requests.push(v);
    }
    Ok(Response::Requests {
        requests,
        truncated,
    })
}

/// The newest requests (of `uid`, or everyone's; open ones unless `all`)
/// that one answer carries, read newest first until it is full: a long
/// history costs one answer's worth of work. A grant whose window has
/// ended while the timer has yet to record it is shown as expired when
/// `lapsed_too` (status), and left out of a list of open ones otherwise.
fn newest(
    conn: &rusqlite::Connection,
    uid: Option<u32>,
    all: bool,
    lapsed_too: bool,
    now: Timestamp,
) -> Result<Response, EngineError> {
    let (mut budget, mut out, mut failed) = (Budget::frame(), Vec::new(), None);
    let mut truncated = false;
    // One row more than a listing carries tells whether there are more.
    requests::list_while(conn, uid, false, all, LIST_MAX + 1, |r| {
        if out.len() == LIST_MAX as usize {
            truncated = true;
            return false;
        }
        // A window that has ended is no longer open, even while the timer
        // has yet to record it (`--all` shows it as expired).
        if !all && !lapsed_too && r.state == RequestState::Active && !r.in_window(ms(now)) {
            return true;
        }
        match view_in(conn, &r, ms(now)) {
            Ok(v) if budget.take(&v) => out.push(v),
            Ok(_) => {
                truncated = true;
                return false;
            }
            Err(e) => failed = Some(e),
        }
        failed.is_none()
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(Response::Requests {
            requests: out,
            truncated,
        }),
    }
}

/// Most requests one `list` answer carries (the newest).
const LIST_MAX: u32 = 500;

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

    pub(super) fn status(&self, peer: &Peer, now: Timestamp) -> Result<Response, EngineError> {
        // The caller's open requests, newest first, as `list` bounds them.
        self.read(|conn| newest(conn, Some(peer.uid), false, true, now))
    }

    /// `list`: root sees everything; others see their own requests and,
    /// with `pending`/`unreviewed`, what they may decide or review.
    pub(super) fn list(
        &self,
        peer: &Peer,
        pending: bool,
        all: bool,
        unreviewed: bool,
        now: Timestamp,
    ) -> Result<Response, EngineError> {
        if !pending && !unreviewed {
            let uid = (!peer.is_root()).then_some(peer.uid);
            return self.read(|conn| newest(conn, uid, all, false, now));
        }
        self.read(|conn| {
            let rows = if unreviewed {
                requests::unreviewed(conn)?
            } else {
                requests::awaiting_decision(conn)?
            };
            let rows: Vec<RequestRow> = rows
                .into_iter()
                .filter(|r| peer.is_root() || r.uid == peer.uid || self.is_approver_of(peer, r))
                .collect();
            views(conn, &rows, now)
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
