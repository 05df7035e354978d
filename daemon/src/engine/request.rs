//! A new request: validate, decide, then deny, leave pending, or grant.

use crate::audit::event::AuditEvent;
use std::sync::MutexGuard;
use std::time::Duration;

use elevated_proto::{RequestState, Response, UserName};
use jiff::Timestamp;
use serde_json::json;

use super::command::{check_command, check_command_line, grant_of};
use super::reauth_limit;
pub(super) use super::text::check_text;
use super::view::new_id;
use super::{ms, Engine, EngineError, Outcome, Peer, State};
use crate::grant::sudoers::SudoRule;
use crate::grant::GrantSpec;
use crate::policy::{decide, Decision};
use crate::store::{audit, requests, RequestRow, StoreError};
use crate::times::{duration_ms, secs_ms};

/// What the requester asked for: the wire's own struct.
pub use elevated_proto::NewRequest;

/// Where re-authentication stands for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reauth {
    /// Not run (the server runs it when the engine asks).
    NotTried,
    /// PAM accepted the requester.
    Passed,
    /// PAM refused; the text says why.
    Failed(String),
}

impl Engine {
    pub(super) fn request(
        &self,
        peer: &Peer,
        req: NewRequest,
        reauth: Reauth,
        now: Timestamp,
    ) -> Result<Outcome, EngineError> {
        let cfg = self.config();
        let max_text = cfg.settings.limits.max_text;
        let reason = check_text("reason", req.reason, max_text)?;
        let ticket = check_text("ticket", req.ticket, max_text.min(128))?;
        if req.duration_secs == Some(0) {
            return Err(EngineError::BadRequest(
                "duration must be at least one second".into(),
            ));
        }
        // Checked for every role, known or not: a refusal is recorded too,
        // so nothing unbounded may reach the store whatever the role.
        if let Some(argv) = &req.command {
            check_command_line(argv)?;
        }
        // The name goes into a sudoers rule: it must pass the same
        // validation as policy names.
        let user = UserName::parse(peer.name()?).map_err(|e| {
            EngineError::Forbidden(format!("your account name cannot be used in sudoers: {e}"))
        })?;
        let subject = self.subject(peer)?;
        let role_def = cfg.policy.roles.get(&req.role);
        let action = match (&req.command, role_def) {
            (Some(argv), Some(r)) => Some(check_command(r, argv)?),
            _ => None,
        };
        if let Some(r) = role_def {
            super::conflict::refuse_empty(r, req.command.as_ref())?;
        }
        let mut requested = req.duration_secs.map(Duration::from_secs);
        if let (Some(_), Some(r)) = (&action, role_def) {
            requested = Some(requested.map_or(r.action_duration, |d| d.min(r.action_duration)));
        }
        let decision = decide(&cfg.policy, &subject, &cfg.host, &req.role, requested, now);
        let now_ms = ms(now);
        let mut row = RequestRow {
            id: new_id()?,
            uid: peer.uid,
            user: user.to_string(),
            role: req.role.to_string(),
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
            approval: Default::default(),
            command: req.command.clone(),
            break_glass: false,
            reviewed_by: None,
            reviewed_at: None,
            round: 0,
            ext_secs: None,
            ext_until: None,
            warned: false,
            context: subject.context.clone(),
        };
        let requested_detail = json!({
            "role": req.role.as_str(), "uid": peer.uid, "pid": peer.pid,
            "duration_secs": req.duration_secs, "reason": row.reason, "ticket": row.ticket,
            "command": req.command,
        });
        let allowed = match decision {
            Decision::Deny(d) => {
                row.rule = d.rule;
                row.message = d.message;
                self.refusal_fate(&row, &cfg.settings.limits, now_ms)?;
                return self
                    .record(
                        row,
                        requested_detail,
                        &[(AuditEvent::Denied, json!({}))],
                        now_ms,
                    )
                    .map(Outcome::Done);
            }
            Decision::Allow(a) => a,
        };
        let Some(role_def) = role_def else {
            return Err(EngineError::NotFound(format!("no role named {}", req.role)));
        };
        row.rule = Some(allowed.rule.clone());
        row.duration_secs = allowed.duration.as_secs();
        row.approvals_needed = allowed.approval.count;
        row.approval = allowed.approval.clone();
        row.grant = grant_of(role_def, action)?;
        row.message = allowed.message();
        if allowed.approval.reason && row.reason.is_none() {
            return Err(EngineError::BadRequest(format!(
                "{} requires a reason; give one with --reason",
                allowed.rule
            )));
        }
        if allowed.approval.reauth || role_def.reauth {
            // Bounded before PAM runs and again once it has: attempts that
            // raced past the bound learn nothing from their outcome.
            let standing = self.reauth_check(peer.uid, None, now_ms);
            match reauth {
                Reauth::NotTried => {
                    standing?;
                    // Checked under the lock where the request is stored;
                    // here too, so that nobody re-authenticates for a
                    // request refused anyway. Only here: a read for every
                    // request would open read connections beyond the
                    // pool's under load.
                    self.read(|conn| super::conflict::refuse_duplicate(conn, &row, now_ms))?;
                    return Ok(Outcome::NeedsReauth);
                }
                Reauth::Failed(why) => {
                    row.message = format!("re-authentication failed: {why}");
                    let detail = json!({"service": "elevate", "error": why});
                    let mut events = vec![(reauth_limit::FAILED, detail)];
                    let lock = standing.as_ref().ok().cloned().flatten();
                    if let Some(l) = lock {
                        row.message.push_str(&format!(
                            "; too many failures, no further attempt before {}",
                            l["until"].as_str().unwrap_or("the window ends")
                        ));
                        events.push((reauth_limit::LOCKED, l));
                    }
                    self.admit(&row, &cfg.settings.limits, now_ms)?;
                    let recorded = self.record(row, requested_detail, &events, now_ms)?;
                    standing?;
                    return Ok(Outcome::Done(recorded));
                }
                Reauth::Passed => {
                    standing?;
                }
            }
        }
        let reauth_row = (reauth == Reauth::Passed)
            .then(|| (AuditEvent::Reauthenticated, json!({"service": "elevate"})));

        if allowed.approval.count > 0 {
            // Counted and inserted under one lock, so that concurrent
            // requests cannot pass the limit together.
            let st = self.lock();
            super::conflict::refuse_duplicate(st.store.conn(), &row, now_ms)?;
            let limit = cfg.settings.limits.max_pending_per_user;
            if requests::pending_count(st.store.conn(), peer.uid)? >= limit {
                return Err(EngineError::Limit(format!(
                    "you already have {limit} pending requests; cancel one first"
                )));
            }
            // Counted only once past the pending limit; a summary it ends
            // is written once the lock is released.
            let (admitted, ended) = self.admit_deferred(&row, &cfg.settings.limits, now_ms);
            if let Err(e) = admitted {
                drop(st);
                self.write_summaries(ended, now_ms);
                return Err(e);
            }
            let ttl = allowed
                .approval
                .timeout
                .unwrap_or(cfg.settings.requests.pending_ttl);
            row.state = RequestState::Pending;
            row.decided_at = None;
            row.pending_until = Some(now_ms + duration_ms(ttl));
            let events: Vec<_> = reauth_row
                .into_iter()
                .chain([(AuditEvent::Pending, json!({}))])
                .collect();
            let recorded = self.record_locked(st, row, requested_detail, &events, now_ms);
            self.write_summaries(ended, now_ms);
            return recorded.map(Outcome::Done);
        }

        row.break_glass = allowed.approval.break_glass;
        if !allowed.clamped {
            row.message = allowed.message();
        }
        self.admit(&row, &cfg.settings.limits, now_ms)?;
        let mut st = self.lock();
        super::conflict::refuse_duplicate(st.store.conn(), &row, now_ms)?;
        // Host first, then the store, under one lock: a crash in between
        // leaves a drop-in (and journalled memberships) without an active
        // grant, which reconciliation removes at start; and no
        // reconciliation may run in between (it would take them away from
        // a grant about to be committed).
        if let Err(e) = activate(&mut st, &mut row, now_ms) {
            drop(st);
            tracing::error!("grant {} for {}: {e}", row.id, row.user);
            row.state = RequestState::Denied;
            row.starts_at = None;
            row.expires_at = None;
            row.message = format!("allowed, but the grant could not be applied: {e}");
            return self
                .record(
                    row,
                    requested_detail,
                    &[(AuditEvent::GrantFailed, json!({}))],
                    now_ms,
                )
                .map(Outcome::Done);
        }
        let id = row.id.clone();
        let mut events: Vec<_> = reauth_row.into_iter().collect();
        events.push((AuditEvent::Granted, json!({})));
        if row.break_glass {
            events.push((AuditEvent::BreakGlass, json!({"review": "required"})));
        }
        let result = self.record_locked(st, row, requested_detail, &events, now_ms);
        if result.is_err() {
            // Memberships stay journalled: reconciliation takes them back.
            let _ = self.lock().sudoers.remove(&id);
        }
        result.map(Outcome::Done)
    }

    /// Inserts the request with its `requested` audit row and one row per
    /// event (each carrying the decision) in one transaction, schedules its
    /// deadlines, then publishes.
    fn record(
        &self,
        row: RequestRow,
        requested: serde_json::Value,
        events: &[(AuditEvent, serde_json::Value)],
        now_ms: i64,
    ) -> Result<Response, EngineError> {
        self.record_locked(self.lock(), row, requested, events, now_ms)
    }

    /// [`Self::record`] under a lock the caller already holds (and gives up).
    fn record_locked(
        &self,
        mut st: MutexGuard<'_, State>,
        row: RequestRow,
        requested: serde_json::Value,
        events: &[(AuditEvent, serde_json::Value)],
        now_ms: i64,
    ) -> Result<Response, EngineError> {
        let id = row.id.to_string();
        let decision = decision_detail(&row);
        let actor = row.user.clone();
        let rows = st.store.tx(|tx| {
            requests::insert(tx, &row)?;
            let mut out = vec![audit::append(
                tx,
                now_ms,
                AuditEvent::Requested,
                &actor,
                Some(&id),
                &requested,
            )?];
            for (event, extra) in events {
                let mut detail = decision.clone();
                if let (Some(d), Some(e)) = (detail.as_object_mut(), extra.as_object()) {
                    d.extend(e.clone());
                }
                out.push(audit::append(
                    tx,
                    now_ms,
                    *event,
                    "policy",
                    Some(&id),
                    &detail,
                )?);
            }
            if row.state == RequestState::Active {
                out.extend(super::groups::confirm_groups(tx, &id, "policy", now_ms)?);
            }
            Ok::<_, StoreError>(out)
        })?;
        self.schedule(&mut st, &row);
        let view = self.view_of(&st, &row, now_ms)?;
        drop(st);
        self.after_commit(&rows);
        self.notify_row(&row, now_ms);
        Ok(Response::Request { request: view })
    }
}

/// The audit detail of a decision.
pub(super) fn decision_detail(row: &RequestRow) -> serde_json::Value {
    json!({
        "state": row.state.as_str(), "rule": row.rule, "message": row.message,
        "starts_at": row.starts_at, "expires_at": row.expires_at,
        "duration_secs": row.duration_secs, "approvals_needed": row.approvals_needed,
        "sudo": row.grant.sudo_view(), "command": row.command,
    })
}

/// Opens the window now (on a whole second, so that NOTAFTER and the timer
/// agree) and writes the drop-in. The caller commits the row.
pub(super) fn activate(
    st: &mut State,
    row: &mut RequestRow,
    now_ms: i64,
) -> Result<(), EngineError> {
    let start = now_ms - now_ms.rem_euclid(1000);
    let end = start + secs_ms(row.duration_secs);
    row.state = RequestState::Active;
    row.decided_at = Some(now_ms);
    row.pending_until = None;
    row.starts_at = Some(start);
    row.expires_at = Some(end);
    install(st, row)?;
    if let Err(e) = super::groups::add_groups(st, row) {
        let _ = st.sudoers.remove(&row.id);
        return Err(e);
    }
    Ok(())
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
        .map_err(|e| EngineError::Internal(format!("stored user name: {e}")))?;
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
