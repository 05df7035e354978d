//! Transitions after the decision: cancel, revoke, expiry, pending timeout,
//! and reconciliation of the host with the store.

use elevated_proto::{GrantId, RequestState, Response};
use jiff::Timestamp;
use serde_json::json;

use super::request::{expected_text, install};
use super::view::view;
use super::{ms, Engine, EngineError, Peer, State};
use crate::store::{audit, requests, AuditRow, RequestRow, StoreError};

/// What one reconciliation pass changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct ReconcileReport {
    /// Grants found past their end and expired.
    pub expired: usize,
    /// Pending requests found past their deadline.
    pub timed_out: usize,
    /// `elevated_*` files without an active grant, removed.
    pub removed: Vec<String>,
    /// Active grants whose drop-in was missing or altered, re-written.
    pub rewritten: Vec<String>,
}

impl Engine {
    /// Moves `row` to a final `state`, commits it with one audit row (whose
    /// event is the state's name), then
    /// removes its drop-in. Store first: a crash before the removal leaves a
    /// file without an active grant (reconciliation removes it; NOTAFTER
    /// already bounds it), never an ended grant that looks active.
    fn finish(
        &self,
        st: &mut State,
        mut row: RequestRow,
        state: RequestState,
        actor: &str,
        detail: serde_json::Value,
        now_ms: i64,
    ) -> Result<(RequestRow, Vec<AuditRow>), EngineError> {
        let was_active = row.state == RequestState::Active;
        row.state = state;
        row.ended_at = Some(now_ms);
        if row.decided_at.is_none() {
            row.decided_at = Some(now_ms);
        }
        let id = row.id.to_string();
        let rows = st.store.tx(|tx| {
            requests::update(tx, &row)?;
            let a = audit::append(tx, now_ms, state.as_str(), actor, Some(&id), &detail)?;
            Ok::<_, StoreError>(vec![a])
        })?;
        st.deadlines.retain(|(_, d)| d != &row.id);
        if was_active {
            if let Err(e) = st.sudoers.remove(&row.id) {
                // The store already says ended; the next reconciliation
                // retries the removal and NOTAFTER bounds the file meanwhile.
                tracing::error!("removing the drop-in of {}: {e}", row.id);
            }
        }
        Ok((row, rows))
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
        let row = self.visible(peer, id)?;
        if row.state != from {
            return Err(EngineError::BadRequest(format!(
                "request {id} is {}, so it cannot be {verb}",
                row.state
            )));
        }
        let now_ms = ms(now);
        let mut st = self.lock();
        let mut row = row;
        row.message = format!("{verb} by {}", peer.account.name);
        let detail = json!({"uid": peer.uid, "pid": peer.pid});
        let (row, rows) = self.finish(&mut st, row, to, &peer.account.name, detail, now_ms)?;
        drop(st);
        self.after_commit(&rows);
        Ok(Response::Request {
            request: view(&row, now_ms),
        })
    }

    /// The requester (or root) withdraws a pending request.
    pub(super) fn cancel(
        &self,
        peer: &Peer,
        id: &GrantId,
        now: Timestamp,
    ) -> Result<Response, EngineError> {
        self.modify(
            peer,
            id,
            RequestState::Pending,
            RequestState::Cancelled,
            "cancelled",
            now,
        )
    }

    /// The holder (or root) ends an active grant now.
    pub(super) fn revoke(
        &self,
        peer: &Peer,
        id: &GrantId,
        now: Timestamp,
    ) -> Result<Response, EngineError> {
        self.modify(
            peer,
            id,
            RequestState::Active,
            RequestState::Revoked,
            "revoked",
            now,
        )
    }

    /// Ends everything whose deadline has passed: grants expire, pending
    /// requests time out. Called by the timer at each deadline.
    pub fn expire_due(&self, now: Timestamp) -> Result<usize, EngineError> {
        let now_ms = ms(now);
        let mut st = self.lock();
        let due: Vec<GrantId> = st
            .deadlines
            .iter()
            .take_while(|(t, _)| *t <= now_ms)
            .map(|(_, id)| id.clone())
            .collect();
        let mut published = Vec::new();
        let mut n = 0;
        for id in due {
            st.deadlines.retain(|(_, d)| d != &id);
            let Some(row) = requests::get(st.store.conn(), &id)? else {
                continue;
            };
            if let Some(rows) = self.end_if_due(&mut st, row, now_ms)? {
                published.extend(rows);
                n += 1;
            }
        }
        drop(st);
        self.after_commit(&published);
        Ok(n)
    }

    fn end_if_due(
        &self,
        st: &mut State,
        mut row: RequestRow,
        now_ms: i64,
    ) -> Result<Option<Vec<AuditRow>>, EngineError> {
        match (row.state, row.expires_at, row.pending_until) {
            (RequestState::Active, Some(end), _) if end <= now_ms => {
                row.message = format!("window ended at {}", super::view::rfc3339(end));
                let detail = json!({"expires_at": end, "late_ms": now_ms - end});
                let (_, rows) =
                    self.finish(st, row, RequestState::Expired, "daemon", detail, now_ms)?;
                Ok(Some(rows))
            }
            (RequestState::Pending, _, Some(until)) if until <= now_ms => {
                row.message = "nobody decided in time".into();
                let detail = json!({"pending_until": until});
                let (_, rows) =
                    self.finish(st, row, RequestState::TimedOut, "daemon", detail, now_ms)?;
                Ok(Some(rows))
            }
            _ => Ok(None),
        }
    }

    /// Makes the host agree with the store: ends what is past due, removes
    /// `elevated_*` files that no active grant owns, re-writes drop-ins of
    /// active grants that are missing or were altered. Rebuilds the
    /// in-memory deadlines. Run at start and periodically.
    pub fn reconcile(&self, now: Timestamp) -> Result<ReconcileReport, EngineError> {
        let now_ms = ms(now);
        let mut report = ReconcileReport::default();
        let mut published = Vec::new();
        let mut st = self.lock();
        st.deadlines.clear();
        for row in requests::in_state(st.store.conn(), RequestState::Pending)? {
            let id = row.id.clone();
            let until = row.pending_until.unwrap_or(now_ms);
            match self.end_if_due(&mut st, row, now_ms)? {
                Some(rows) => {
                    published.extend(rows);
                    report.timed_out += 1;
                }
                None => {
                    st.deadlines.insert((until, id));
                }
            }
        }
        let mut active = Vec::new();
        for row in requests::in_state(st.store.conn(), RequestState::Active)? {
            let (id, end) = (row.id.clone(), row.expires_at.unwrap_or(now_ms));
            match self.end_if_due(&mut st, row.clone(), now_ms)? {
                Some(rows) => {
                    published.extend(rows);
                    report.expired += 1;
                }
                None => {
                    st.deadlines.insert((end, id));
                    active.push(row);
                }
            }
        }
        // Files first compared against what the active grants need.
        for row in &active {
            let Some(want) = expected_text(row) else {
                continue;
            };
            let path = st.sudoers.path_of(&row.id);
            let have = std::fs::read_to_string(&path).ok();
            if have.as_deref() != Some(want.as_str()) {
                install(&st, row)?;
                let detail = json!({"file": path.display().to_string(),
                                    "was": if have.is_some() { "altered" } else { "missing" }});
                let id = row.id.to_string();
                let a = st.store.tx(|tx| {
                    audit::append(
                        tx,
                        now_ms,
                        "reconcile_rewrote",
                        "daemon",
                        Some(&id),
                        &detail,
                    )
                })?;
                published.push(a);
                report.rewritten.push(id);
            }
        }
        for file in st.sudoers.list()? {
            let owned = file
                .id
                .as_ref()
                .is_some_and(|id| active.iter().any(|r| &r.id == id && r.grant.sudo.is_some()));
            if owned {
                continue;
            }
            if st.sudoers.remove_name(&file.name)? {
                let detail = json!({"file": file.name});
                let rid = file.id.as_ref().map(ToString::to_string);
                let a = st.store.tx(|tx| {
                    audit::append(
                        tx,
                        now_ms,
                        "reconcile_removed",
                        "daemon",
                        rid.as_deref(),
                        &detail,
                    )
                })?;
                published.push(a);
                report.removed.push(file.name);
            }
        }
        drop(st);
        self.after_commit(&published);
        Ok(report)
    }
}
