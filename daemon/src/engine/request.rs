//! A new request: validate, decide, then deny, leave pending, or grant.

use std::time::Duration;

use elevated_proto::{RequestState, Response, RoleName, UserName};
use jiff::Timestamp;
use serde_json::json;

use super::view::{new_id, view};
use super::{ms, Engine, EngineError, Peer, State};
use crate::grant::sudoers::SudoRule;
use crate::grant::GrantSpec;
use crate::policy::{decide, Decision};
use crate::store::{audit, requests, RequestRow, StoreError};

/// Checks requester-typed text: bounded, and free of control characters
/// other than newline and tab (which are kept, and escaped wherever logged).
fn check_text(
    what: &str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>, EngineError> {
    let Some(v) = value else { return Ok(None) };
    if v.len() > max {
        return Err(EngineError::BadRequest(format!(
            "{what} is {} bytes long; the limit is {max}",
            v.len()
        )));
    }
    if let Some(c) = v
        .chars()
        .find(|c| c.is_control() && *c != '\n' && *c != '\t')
    {
        return Err(EngineError::BadRequest(format!(
            "{what} contains the control character {c:?}"
        )));
    }
    let trimmed = v.trim();
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

impl Engine {
    pub(super) fn request(
        &self,
        peer: &Peer,
        role: &RoleName,
        duration_secs: Option<u64>,
        reason: Option<String>,
        ticket: Option<String>,
        now: Timestamp,
    ) -> Result<Response, EngineError> {
        let max_text = self.lock().cfg.settings.limits.max_text;
        let reason = check_text("reason", reason, max_text)?;
        let ticket = check_text("ticket", ticket, max_text.min(128))?;
        if duration_secs == Some(0) {
            return Err(EngineError::BadRequest(
                "duration must be at least one second".into(),
            ));
        }
        // The name goes into a sudoers rule: it must pass the same
        // validation as policy names.
        let user = UserName::parse(&peer.account.name).map_err(|e| {
            EngineError::Forbidden(format!("your account name cannot be used in sudoers: {e}"))
        })?;
        let subject = self.subject(peer);
        let requested = duration_secs.map(Duration::from_secs);
        let now_ms = ms(now);

        let mut st = self.lock();
        let cfg = st.cfg.clone();
        let decision = decide(&cfg.policy, &subject, &cfg.host, role, requested, now);
        let mut row = RequestRow {
            id: new_id()?,
            uid: peer.uid,
            user: user.to_string(),
            role: role.to_string(),
            host: cfg.host.name.clone(),
            reason,
            ticket,
            duration_secs: requested.map_or(0, |d| d.as_secs()),
            state: RequestState::Denied,
            rule: None,
            message: String::new(),
            approvals_needed: 0,
            requested_at: now_ms,
            decided_at: Some(now_ms),
            starts_at: None,
            expires_at: None,
            ended_at: None,
            pending_until: None,
            grant: GrantSpec::default(),
        };
        let requested_detail = json!({
            "role": role.as_str(), "uid": peer.uid, "pid": peer.pid,
            "duration_secs": duration_secs, "reason": row.reason, "ticket": row.ticket,
        });
        let allowed = match decision {
            Decision::Deny(d) => {
                row.rule = d.rule;
                row.message = d.message;
                return self.record(&mut st, row, requested_detail, "denied", now_ms);
            }
            Decision::Allow(a) => a,
        };
        row.rule = Some(allowed.rule.clone());
        row.duration_secs = allowed.duration.as_secs();
        row.approvals_needed = allowed.approval.count;
        if allowed.approval.reason && row.reason.is_none() {
            return Err(EngineError::BadRequest(format!(
                "{} requires a reason; give one with --reason",
                allowed.rule
            )));
        }
        let Some(role_def) = cfg.policy.roles.get(role) else {
            return Err(EngineError::NotFound(format!("no role named {role}")));
        };
        row.grant = GrantSpec::from_role(role_def);

        if allowed.approval.count > 0 {
            let limit = cfg.settings.limits.max_pending_per_user;
            if requests::pending_count(st.store.conn(), peer.uid)? >= limit {
                return Err(EngineError::Limit(format!(
                    "you already have {limit} pending requests; cancel one first"
                )));
            }
            let ttl = allowed
                .approval
                .timeout
                .unwrap_or(cfg.settings.requests.pending_ttl);
            row.state = RequestState::Pending;
            row.decided_at = None;
            row.pending_until = Some(now_ms + duration_ms(ttl));
            row.message = allowed.message;
            let until = row.pending_until.unwrap_or(now_ms);
            let id = row.id.clone();
            let response = self.record(&mut st, row, requested_detail, "pending", now_ms)?;
            st.deadlines.insert((until, id));
            drop(st);
            self.deadlines_changed.notify_one();
            return Ok(response);
        }

        // Automatic approval: the window starts now, on a whole second so
        // that NOTAFTER (whole seconds) and the daemon's timer agree.
        let start = now_ms - now_ms.rem_euclid(1000);
        let end = start + duration_ms(allowed.duration);
        row.state = RequestState::Active;
        row.starts_at = Some(start);
        row.expires_at = Some(end);
        row.message = if allowed.clamped {
            allowed.message
        } else {
            format!(
                "{}; granted until {}",
                allowed.message,
                super::view::rfc3339(end)
            )
        };
        // Host first, then the store: a crash in between leaves a drop-in
        // without an active grant, which reconciliation removes at start.
        if let Err(e) = install(&st, &row) {
            tracing::error!("grant {} for {}: {e}", row.id, row.user);
            row.state = RequestState::Denied;
            row.starts_at = None;
            row.expires_at = None;
            row.message = format!("allowed, but the grant could not be applied: {e}");
            return self.record(&mut st, row, requested_detail, "grant_failed", now_ms);
        }
        let id = row.id.clone();
        let response = match self.record(&mut st, row, requested_detail, "granted", now_ms) {
            Ok(r) => r,
            Err(e) => {
                let _ = st.sudoers.remove(&id);
                return Err(e);
            }
        };
        st.deadlines.insert((end, id));
        drop(st);
        self.deadlines_changed.notify_one();
        Ok(response)
    }

    /// Inserts the request with its `requested` and decision audit rows in
    /// one transaction, then publishes them.
    fn record(
        &self,
        st: &mut State,
        row: RequestRow,
        requested: serde_json::Value,
        event: &str,
        now_ms: i64,
    ) -> Result<Response, EngineError> {
        let id = row.id.to_string();
        let decision = json!({
            "state": row.state.as_str(), "rule": row.rule, "message": row.message,
            "starts_at": row.starts_at, "expires_at": row.expires_at,
            "duration_secs": row.duration_secs,
            "sudo": row.grant.sudo_view(),
        });
        let actor = row.user.clone();
        let rows = st.store.tx(|tx| {
            requests::insert(tx, &row)?;
            let a = audit::append(tx, now_ms, "requested", &actor, Some(&id), &requested)?;
            let b = audit::append(tx, now_ms, event, "policy", Some(&id), &decision)?;
            Ok::<_, StoreError>(vec![a, b])
        })?;
        self.after_commit(&rows);
        Ok(Response::Request {
            request: view(&row, now_ms),
        })
    }
}

pub(super) fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

/// Calls `f` with the drop-in rule a row needs, if the row grants sudo
/// rights and has a window.
fn with_rule<T>(
    row: &RequestRow,
    f: impl FnOnce(&SudoRule<'_>) -> T,
) -> Result<Option<T>, EngineError> {
    let (Some(sudo), Some(start), Some(end)) = (&row.grant.sudo, row.starts_at, row.expires_at)
    else {
        return Ok(None);
    };
    let user = UserName::parse(&row.user)
        .map_err(|e| EngineError::Forbidden(format!("stored user name: {e}")))?;
    Ok(Some(f(&SudoRule {
        id: &row.id,
        role: &row.role,
        user: &user,
        sudo,
        starts_at: start,
        expires_at: end,
    })))
}

/// Writes a row's sudo drop-in (if the grant has sudo rights).
pub(super) fn install(st: &State, row: &RequestRow) -> Result<(), EngineError> {
    with_rule(row, |rule| st.sudoers.install(rule))?.transpose()?;
    Ok(())
}

/// What a row's drop-in should contain, for reconciliation to compare.
pub(super) fn expected_text(row: &RequestRow) -> Option<String> {
    with_rule(row, crate::grant::sudoers::render)
        .ok()
        .flatten()
        .and_then(Result::ok)
}
