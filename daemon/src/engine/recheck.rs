//! Approving never bypasses policy: the decision is taken again for the
//! requester at the moment a request or an extension would become active,
//! and for every request still awaiting a decision when the policy is
//! reloaded.
//!
//! The requester at activation is not the socket peer (the approver is):
//! their account is looked up afresh by uid, and must still carry the name
//! the request was made under. Their session facts are those recorded with
//! the request (the session it came from; there may be none by now).
#![forbid(unsafe_code)]

use crate::audit::event::AuditEvent;
use std::collections::BTreeMap;
use std::time::Duration;

use elevated_proto::{RequestState, RoleName, Verdict};
use jiff::Timestamp;
use serde_json::json;

use super::command::{check_command, grant_of};
use super::request::decision_detail;
use super::{ms, update_audited, Engine, State};
use crate::config::Loaded;
use crate::policy::{decide, Allowed, Decision, Subject};
use crate::store::{requests, AuditRow, RequestRow};
use crate::sys::users::{self, Account};

/// How the engine looks a uid up in the user database: NSS in the
/// daemon, a fixed table in tests. May be slow: never called under the
/// engine's lock.
pub(super) type Directory = dyn Fn(u32) -> Result<Account, String> + Send + Sync;

/// The daemon's [`Directory`]: NSS.
pub(super) fn nss() -> Box<Directory> {
    Box::new(|uid| users::by_uid(uid).map_err(|e| e.to_string()))
}

/// The requester of a request as the user database describes them now, or
/// why they cannot be granted anything.
pub(super) type Requester = Result<Account, String>;

impl Engine {
    /// Looks the requester of `row` up afresh (NSS: call without the lock).
    pub(super) fn requester_now(&self, row: &RequestRow) -> Requester {
        same_person(row, (self.directory)(row.uid))
    }

    /// Re-decides every request and extension awaiting a decision under
    /// the configuration now in force (just reloaded) and closes those it
    /// no longer allows, as `denied` with the reason "policy changed".
    /// `seen` are the rows read, and `requesters` the accounts looked up,
    /// before the lock was taken.
    pub(super) fn close_disallowed(
        &self,
        mut st: std::sync::MutexGuard<'_, State>,
        seen: Vec<(RequestRow, Requester)>,
        now: Timestamp,
    ) {
        let now_ms = ms(now);
        let cfg = self.config();
        let mut ending = Vec::new();
        let mut refused_ext = Vec::new();
        for (seen, requester) in seen {
            // Changed since it was read: whatever changed it decided on its
            // own, and activation re-checks anyway.
            let Ok(mut row) = super::view::still_as_seen(&st, &seen) else {
                continue;
            };
            let Err(why) = still_allowed(&cfg, &requester, &row, now) else {
                continue;
            };
            if row.state == RequestState::Pending {
                row.message = format!("policy changed: {why}");
                let detail = json!({"reason": "policy changed", "message": why});
                ending.push((row, detail));
            } else {
                refused_ext.push((row, why));
            }
        }
        let mut rows: Vec<AuditRow> = Vec::new();
        let mut closed = Vec::new();
        if !ending.is_empty() {
            match self.finish_all(&mut st, &ending, RequestState::Denied, "policy", now_ms) {
                Ok((ended, audit)) => {
                    rows.extend(audit);
                    closed.extend(ended);
                }
                Err(e) => tracing::error!("closing requests the new policy refuses: {e}"),
            }
        }
        for (mut row, why) in refused_ext {
            let detail = json!({"reason": "policy changed", "message": why,
                                "ext_secs": row.ext_secs});
            row.ext_secs = None;
            row.ext_until = None;
            row.message = format!("extension denied: policy changed: {why}");
            match update_audited(
                &mut st,
                &row,
                AuditEvent::ExtensionDenied,
                "policy",
                &detail,
                now_ms,
            ) {
                Ok(audit) => {
                    rows.extend(audit);
                    st.deadlines.retain(|(_, d)| d != &row.id);
                    self.schedule(&mut st, &row);
                    closed.push(row);
                }
                Err(e) => tracing::error!("refusing the extension of {}: {e}", row.id),
            }
        }
        let given: Vec<u32> = closed
            .iter()
            .map(|r| super::notify::given(st.store.conn(), r))
            .collect();
        drop(st);
        self.after_commit(&rows);
        for (row, given) in closed.iter().zip(given) {
            tracing::info!("{} closed: {}", row.id, row.message);
            let why = Some("policy changed");
            self.notify_decision(row, Verdict::Deny, "policy", why, given, now_ms);
        }
    }
}

/// The rows awaiting a decision (pending requests, active grants with a
/// pending extension), read for a re-check.
pub(super) fn awaiting(st: &State) -> Vec<RequestRow> {
    let pending = requests::in_state(st.store.conn(), RequestState::Pending);
    let active = requests::in_state(st.store.conn(), RequestState::Active);
    match (pending, active) {
        (Ok(mut p), Ok(a)) => {
            p.extend(a.into_iter().filter(|r| r.ext_secs.is_some()));
            p
        }
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!("reading the requests awaiting a decision: {e}");
            Vec::new()
        }
    }
}

/// Policy as configured in `cfg` decided again for the requester of `row`
/// at `now`: for a pending request its window, for a pending extension
/// its length. `Err` says why it would not be granted now: the deciding
/// rule and reason, or which of the rights stored with the request (the
/// ones the approver saw and the grant applies) the role no longer gives.
pub(super) fn still_allowed(
    cfg: &Loaded,
    requester: &Requester,
    row: &RequestRow,
    now: Timestamp,
) -> Result<Allowed, String> {
    let account = requester.as_ref().map_err(Clone::clone)?;
    let role = RoleName::parse(&row.role).map_err(|e| format!("stored role name: {e}"))?;
    let subject = Subject {
        user: account.name.clone(),
        uid: account.uid,
        groups: account.groups.clone(),
        attributes: cfg.attributes_of(&account.name),
        context: row.context.clone(),
    };
    let secs = match row.ext_secs {
        Some(ext) if row.state == RequestState::Active => ext,
        _ => row.duration_secs,
    };
    let requested = Some(Duration::from_secs(secs));
    let allowed = match decide(&cfg.policy, &subject, &cfg.host, &role, requested, now) {
        Decision::Deny(d) => return Err(d.message),
        Decision::Allow(a) => a,
    };
    let Some(def) = cfg.policy.roles.get(&role) else {
        return Err(format!("role {role} is no longer defined"));
    };
    let action = match &row.command {
        Some(argv) => Some(check_command(def, argv).map_err(|e| e.to_string())?),
        None => None,
    };
    let given = grant_of(def, action).map_err(|e| e.to_string())?;
    super::rights::still_given(&given, &row.grant)?;
    Ok(allowed)
}

/// Closes `row` because policy, re-checked at activation, no longer allows
/// it: a pending request becomes `denied`, a pending extension is dropped
/// (the grant keeps its current end). Returns the audit event and detail.
pub(super) fn refuse(
    row: &mut RequestRow,
    extension: bool,
    why: &str,
    now_ms: i64,
) -> (AuditEvent, serde_json::Value) {
    if extension {
        let detail = json!({"by": "policy", "message": why, "ext_secs": row.ext_secs});
        row.ext_secs = None;
        row.ext_until = None;
        row.message = format!("extension refused: policy no longer allows it: {why}");
        return (AuditEvent::ExtensionDenied, detail);
    }
    row.state = RequestState::Denied;
    row.decided_at = Some(now_ms);
    row.ended_at = Some(now_ms);
    row.pending_until = None;
    row.message = format!("denied: policy no longer allows it: {why}");
    let mut detail = decision_detail(row);
    if let Some(d) = detail.as_object_mut() {
        d.insert("by".into(), "policy".into());
    }
    (AuditEvent::Denied, detail)
}

/// `found` (the account of `row.uid` now) as the requester of `row`.
fn same_person(row: &RequestRow, found: Result<Account, String>) -> Requester {
    let account = found.map_err(|e| format!("the requester's account cannot be looked up: {e}"))?;
    // A uid recycled for someone else is not the person who asked.
    if account.name != row.user {
        return Err(format!(
            "uid {} now belongs to {}, not to {} who asked",
            row.uid, account.name, row.user
        ));
    }
    Ok(account)
}

impl Engine {
    /// The requesters of `rows`, one lookup per uid (NSS: call without
    /// the lock).
    pub(super) fn requesters_now(&self, rows: Vec<RequestRow>) -> Vec<(RequestRow, Requester)> {
        let mut found: BTreeMap<u32, Result<Account, String>> = BTreeMap::new();
        rows.into_iter()
            .map(|row| {
                let account = found
                    .entry(row.uid)
                    .or_insert_with(|| (self.directory)(row.uid))
                    .clone();
                let who = same_person(&row, account);
                (row, who)
            })
            .collect()
    }
}
