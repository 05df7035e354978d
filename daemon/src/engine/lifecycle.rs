//! Transitions after the decision: cancel, revoke, withdrawing an
//! extension, ending a grant, and the timer's schedule.

use crate::audit::event::AuditEvent;
use elevated_proto::{GrantId, RequestState, Response};
use jiff::Timestamp;
use serde_json::json;

use super::{ms, update_audited, Engine, EngineError, Peer, State};
use crate::store::{audit, requests, AuditRow, RequestRow};
use crate::times::duration_ms;

/// When the expiry warning of an active grant is due, if it has one:
/// `before` its end, for windows longer than that.
pub(super) fn warn_at(row: &RequestRow, before: std::time::Duration) -> Option<i64> {
    let before = duration_ms(before);
    match (row.starts_at, row.expires_at) {
        (Some(s), Some(e)) if before > 0 && e - before > s => Some(e - before),
        _ => None,
    }
}

impl Engine {
    /// Moves `row` to a final `state`, commits it with one audit row (whose
    /// event is the state's name), then removes its drop-in. See
    /// [`Engine::finish_all`].
    pub(super) fn finish(
        &self,
        st: &mut State,
        row: RequestRow,
        state: RequestState,
        actor: &str,
        detail: serde_json::Value,
        now_ms: i64,
    ) -> Result<(RequestRow, Vec<AuditRow>), EngineError> {
        let (mut ended, rows) = self.finish_all(st, &[(row, detail)], state, actor, now_ms)?;
        let row = ended
            .pop()
            .ok_or_else(|| EngineError::Internal("a grant ended, but nothing was ended".into()))?;
        Ok((row, rows))
    }

    /// Moves every row to a final `state` in one transaction (one audit row
    /// each, whose event is the state's name), then removes their drop-ins
    /// and takes their groups back. Store first: a crash before the
    /// removal leaves a file without an active grant (reconciliation
    /// removes it; NOTAFTER already bounds it), never an ended grant that
    /// looks active. One commit for many: windows ending in the same
    /// second wait for one fsync, not one each.
    ///
    /// If the commit fails, the grants are taken away on the host all the
    /// same and the commit is retried (see [`super::unrecorded`]); the
    /// error says so.
    pub(super) fn finish_all(
        &self,
        st: &mut State,
        ending: &[(RequestRow, serde_json::Value)],
        state: RequestState,
        actor: &str,
        now_ms: i64,
    ) -> Result<(Vec<RequestRow>, Vec<AuditRow>), EngineError> {
        let mut ended = Vec::with_capacity(ending.len());
        let mut was_active = Vec::with_capacity(ending.len());
        for (row, detail) in ending {
            let mut row = row.clone();
            was_active.push(row.state == RequestState::Active);
            row.state = state;
            row.ended_at = Some(now_ms);
            row.ext_secs = None;
            row.ext_until = None;
            if row.decided_at.is_none() {
                row.decided_at = Some(now_ms);
            }
            ended.push((row, detail));
        }
        let event = AuditEvent::ending_in(state).ok_or_else(|| {
            EngineError::Internal(format!(
                "{} is not a state a request ends in",
                state.as_str()
            ))
        })?;
        let committed = st.store.tx(|tx| {
            let mut out = Vec::with_capacity(ended.len());
            for (row, detail) in &ended {
                let rid = row.id.to_string();
                requests::update(tx, row)?;
                out.push(audit::append(tx, now_ms, event, actor, Some(&rid), detail)?);
            }
            Ok::<_, crate::store::StoreError>(out)
        });
        let mut rows = match committed {
            Ok(rows) => rows,
            Err(e) => {
                let ending: Vec<_> = ended
                    .iter()
                    .zip(&was_active)
                    .map(|((row, detail), was)| (row.clone(), *detail, *was))
                    .collect();
                return Err(self.end_unrecorded(st, &ending, state, actor, now_ms, e));
            }
        };
        for (row, _) in &ended {
            self.forget_end(st, &row.id);
        }
        let ids: std::collections::HashSet<&GrantId> = ended.iter().map(|(r, _)| &r.id).collect();
        st.deadlines.retain(|(_, d)| !ids.contains(d));
        drop(ids);
        let ended_active: Vec<&RequestRow> = ended
            .iter()
            .zip(was_active)
            .filter_map(|((row, _), was_active)| was_active.then_some(row))
            .collect();
        // Every drop-in first: they are plain file removals, while each
        // group below may wait for a gpasswd up to its timeout, and sudo
        // rights must not outlive their window behind someone's groups.
        for row in &ended_active {
            // A window that ended: NOTAFTER already refuses the rule, so
            // the removal need not wait for the disk (see remove_expired).
            let removed = if state == RequestState::Expired {
                st.sudoers.remove_expired(&row.id)
            } else {
                st.sudoers.remove(&row.id)
            };
            if let Err(e) = removed {
                // The store already says ended; the next reconciliation
                // retries the removal and NOTAFTER bounds the file meanwhile.
                tracing::error!("removing the drop-in of {}: {e}", row.id);
            }
        }
        for row in ended_active {
            match super::groups::take_back(st, row.id.as_str(), now_ms) {
                Ok(taken) => {
                    rows.extend(taken.rows);
                    if let Some(target) = super::groups::sweep_target(row, taken.gids) {
                        self.sweep(row, target);
                    }
                }
                // The journal still lists them: reconciliation retries.
                Err(e) => tracing::error!("taking back the groups of {}: {e}", row.id),
            }
        }
        Ok((ended.into_iter().map(|(r, _)| r).collect(), rows))
    }

    fn modify(
        &self,
        peer: &Peer,
        id: &GrantId,
        from: RequestState,
        to: RequestState,
        verb: &str,
        now: Timestamp,
    ) -> Result<Response, EngineError> {
        self.visible(peer, id)?;
        let now_ms = ms(now);
        self.between_read_and_lock();
        // NSS before the lock (see `Peer::account`).
        let me = peer.name()?;
        let mut st = self.lock();
        // Read again under the lock: the timer or another client may have
        // ended it since.
        let mut row = requests::get(st.store.conn(), id)?
            .ok_or_else(|| EngineError::NotFound(format!("no request {id} visible to you")))?;
        if row.state != from {
            return Err(EngineError::BadRequest(format!(
                "request {id} is {}, so it cannot be {verb}",
                row.state
            )));
        }
        row.message = format!("{verb} by {}", me);
        let detail = json!({"uid": peer.uid, "pid": peer.pid});
        let (row, rows) = self.finish(&mut st, row, to, me, detail, now_ms)?;
        let view = self.view_of(&st, &row, now_ms)?;
        drop(st);
        self.after_commit(&rows);
        Ok(Response::Request { request: view })
    }

    /// The requester (or root) withdraws a pending request.
    pub(super) fn cancel(
        &self,
        peer: &Peer,
        id: &GrantId,
        now: Timestamp,
    ) -> Result<Response, EngineError> {
        let row = self.visible(peer, id)?;
        if row.state == RequestState::Active && row.ext_secs.is_some() {
            return self.withdraw_extension(peer, row, now);
        }
        if row.state == RequestState::Active {
            return Err(EngineError::BadRequest(format!(
                "request {id} is active, so it cannot be cancelled; end the grant with \
                 `elevate revoke {id}`"
            )));
        }
        // Withdrawing is the requester's choice. An approver who may see
        // the request denies it instead: a denial is recorded as theirs and
        // counts against `deny_count`, a cancellation would sidestep both.
        if row.uid != peer.uid && !peer.is_root() {
            return Err(EngineError::Forbidden(format!(
                "only {} (or root) can cancel request {id}; an approver denies it with \
                 `elevate deny {id}`",
                row.user
            )));
        }
        self.modify(
            peer,
            id,
            RequestState::Pending,
            RequestState::Cancelled,
            "cancelled",
            now,
        )
    }

    /// `cancel` on an active grant with a pending extension withdraws the
    /// extension; the grant keeps its current end.
    fn withdraw_extension(
        &self,
        peer: &Peer,
        seen: RequestRow,
        now: Timestamp,
    ) -> Result<Response, EngineError> {
        if seen.uid != peer.uid && !peer.is_root() {
            return Err(EngineError::Forbidden(format!(
                "only {} can withdraw the extension of request {}",
                seen.user, seen.id
            )));
        }
        let now_ms = ms(now);
        self.between_read_and_lock();
        let me = peer.name()?;
        let mut st = self.lock();
        let mut row = super::view::still_as_seen(&st, &seen)?;
        let detail = json!({"ext_secs": row.ext_secs, "uid": peer.uid});
        row.ext_secs = None;
        row.ext_until = None;
        row.message = format!("extension withdrawn by {}", me);
        let rows = update_audited(
            &mut st,
            &row,
            AuditEvent::ExtensionCancelled,
            me,
            &detail,
            now_ms,
        )?;
        st.deadlines.retain(|(_, d)| d != &row.id);
        self.schedule(&mut st, &row);
        let view = self.view_of(&st, &row, now_ms)?;
        drop(st);
        self.after_commit(&rows);
        Ok(Response::Request { request: view })
    }

    /// The holder (or root) ends an active grant now.
    pub(super) fn revoke(
        &self,
        peer: &Peer,
        id: &GrantId,
        now: Timestamp,
    ) -> Result<Response, EngineError> {
        let row = self.visible(peer, id)?;
        if row.state == RequestState::Pending {
            // Nothing is granted yet: the requester withdraws it, an
            // approver refuses it.
            let instead = if row.uid == peer.uid || peer.is_root() {
                format!("withdraw it with `elevate cancel {id}`")
            } else {
                format!("refuse it with `elevate deny {id}`")
            };
            return Err(EngineError::BadRequest(format!(
                "request {id} is pending, so there is no grant to revoke; {instead}"
            )));
        }
        self.modify(
            peer,
            id,
            RequestState::Active,
            RequestState::Revoked,
            "revoked",
            now,
        )
    }

    /// Puts every future deadline of `row` into the timer's set: the end of
    /// a pending request's wait, an active grant's end, its pending
    /// extension's deadline and its expiry warning.
    pub(super) fn schedule(&self, st: &mut State, row: &RequestRow) {
        // The timer may be asleep until a later deadline (or none): wake it
        // to re-plan. A stored permit covers a timer not waiting right now.
        self.deadlines_changed.notify_one();
        let id = row.id.clone();
        match row.state {
            RequestState::Pending => {
                if let Some(u) = row.pending_until {
                    st.deadlines.insert((u, id));
                }
            }
            RequestState::Active => {
                if let Some(e) = row.expires_at {
                    st.deadlines.insert((e, id.clone()));
                }
                if let Some(u) = row.ext_until {
                    st.deadlines.insert((u, id.clone()));
                }
                if !row.warned {
                    if let Some(w) = warn_at(row, self.config().settings.requests.warn_before) {
                        st.deadlines.insert((w, id));
                    }
                }
            }
            _ => {}
        }
    }
}
