//! Reconciliation: making the host agree with the store, at start and
//! periodically. One bad row, one grant whose drop-in cannot be written or
//! one membership gpasswd refuses is logged, audited once and retried at
//! the next pass; it never stops the others from being reconciled, nor
//! the daemon from starting (DESIGN.md, rule 8).
#![forbid(unsafe_code)]

use crate::audit::event::AuditEvent;
use std::collections::HashMap;

use elevated_proto::{GrantId, RequestState};
use jiff::Timestamp;
use serde_json::json;

use super::holder::Holder;
use super::request::{expected_text, install};
use super::{ms, Engine, EngineError, State};
use crate::grant::sudoers::Found;
use crate::store::{audit, requests, AuditRow, RequestRow};

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
    /// Group memberships taken back because no active grant owes them.
    pub groups_removed: usize,
    /// Memberships of active grants found missing and added again.
    pub groups_restored: usize,
    /// Grants revoked because their user name no longer names their uid.
    pub accounts_gone: usize,
    /// Stored requests that cannot be read (logged and audited).
    pub bad_rows: usize,
    /// Steps that failed this pass and are retried at the next one.
    pub failed: usize,
}

/// Problems remembered as audited before the memory is cleared.
const MAX_REPORTED: usize = 10_000;

/// One pass's bookkeeping.
#[derive(Default)]
pub(super) struct Pass {
    pub(super) report: ReconcileReport,
    pub(super) published: Vec<AuditRow>,
}

impl Engine {
    /// Makes the host agree with the store: ends what is past due, ends
    /// grants whose account is gone, removes `elevated_*` files that no
    /// active grant owns, re-writes drop-ins of active grants that are
    /// missing or were altered, takes back and restores memberships.
    /// Rebuilds the in-memory deadlines. Run at start and periodically.
    ///
    /// # Errors
    /// Only when the store cannot be queried at all; each failing row or
    /// step is logged, audited once, counted in `failed`, and retried.
    pub fn reconcile(&self, now: Timestamp) -> Result<ReconcileReport, EngineError> {
        let now_ms = ms(now);
        self.flush_summaries(now_ms);
        let changed = self.changed_accounts();
        let mut pass = Pass::default();
        let mut st = self.lock();
        st.deadlines.clear();
        let (pending, bad_pending) =
            requests::in_state_checked(st.store.conn(), RequestState::Pending)?;
        let (active_rows, bad_active) =
            requests::in_state_checked(st.store.conn(), RequestState::Active)?;
        for bad in bad_pending.iter().chain(&bad_active) {
            self.bad_row(&mut st, bad, now_ms, &mut pass);
        }
        for row in pending {
            match self.end_if_due(&mut st, row.clone(), now_ms) {
                Ok(Some(rows)) => {
                    pass.published.extend(rows);
                    pass.report.timed_out += 1;
                }
                Ok(None) => self.schedule(&mut st, &row),
                Err(e) => {
                    // Still due: the timer tries again.
                    self.schedule(&mut st, &row);
                    self.failed(
                        &mut st,
                        "ending",
                        Some(row.id.as_str()),
                        &e,
                        now_ms,
                        &mut pass,
                    );
                }
            }
        }
        let mut active = Vec::new();
        for row in active_rows {
            let id = row.id.clone();
            // Taken away on the host, its end not yet recorded: recorded
            // now, or left out of what the host must give back.
            match self.retry_unrecorded(&mut st, &row, now_ms) {
                Some(Ok((_, rows))) => {
                    pass.published.extend(rows);
                    continue;
                }
                Some(Err(e)) => {
                    let what = "recording the end";
                    self.failed(&mut st, what, Some(id.as_str()), &e, now_ms, &mut pass);
                    continue;
                }
                None => {}
            }
            let ended = match changed.get(&id) {
                Some(holder) => self.end_for_account(&mut st, row, *holder, now_ms),
                None => self.end_if_due(&mut st, row, now_ms),
            };
            match ended {
                Ok(rows) => pass.published.extend(rows.into_iter().flatten()),
                Err(e) => self.failed(&mut st, "ending", Some(id.as_str()), &e, now_ms, &mut pass),
            }
            // Ended on the host but not yet in the store: nothing of it is
            // put back (no drop-in, no membership).
            if super::unrecorded::pending(&st, &id) {
                continue;
            }
            match requests::get(st.store.conn(), &id) {
                Ok(Some(r)) if r.state == RequestState::Active => {
                    self.schedule(&mut st, &r);
                    active.push(r);
                }
                Ok(Some(r)) if r.state == RequestState::Revoked => pass.report.accounts_gone += 1,
                Ok(_) => pass.report.expired += 1,
                Err(e) => self.failed(
                    &mut st,
                    "reading",
                    Some(id.as_str()),
                    &e.into(),
                    now_ms,
                    &mut pass,
                ),
            }
        }
        self.reconcile_dropins(&mut st, &active, now_ms, &mut pass);
        self.reconcile_groups(&mut st, &active, now_ms, &mut pass);
        drop(st);
        self.after_commit(&pass.published);
        Ok(pass.report)
    }

    /// Active grants whose user name names nobody, or somebody else, now.
    /// Looked up before the engine's lock is taken, so that a slow NSS
    /// source never holds up other callers; a lookup that fails decides
    /// nothing (the next pass asks again).
    fn changed_accounts(&self) -> HashMap<GrantId, Holder> {
        let (rows, lookup) = {
            let st = self.lock();
            let rows =
                requests::in_state(st.store.conn(), RequestState::Active).unwrap_or_default();
            (rows, st.accounts)
        };
        let mut out = HashMap::new();
        for r in rows {
            match lookup(&r.user, r.uid) {
                Ok(Holder::Same) => {}
                Ok(h) => {
                    out.insert(r.id, h);
                }
                Err(e) => tracing::warn!("grant {} of {}: {e}; checked again later", r.id, r.user),
            }
        }
        out
    }

    /// Revokes an active grant whose account is gone or whose name now
    /// belongs to another account: its sudo rule and memberships name the
    /// user, and must never reach whoever holds the name next.
    fn end_for_account(
        &self,
        st: &mut State,
        mut row: RequestRow,
        holder: Holder,
        now_ms: i64,
    ) -> Result<Option<Vec<AuditRow>>, EngineError> {
        let why = holder.why(&row.user, row.uid);
        tracing::warn!("revoking grant {}: {why}", row.id);
        row.message = format!("revoked: {why}");
        let detail = holder.detail(&row.user, row.uid);
        let (_, rows) = self.finish(st, row, RequestState::Revoked, "daemon", detail, now_ms)?;
        Ok(Some(rows))
    }

    /// Drop-ins: re-written where an active grant's is missing or altered,
    /// removed where no active grant owns one.
    fn reconcile_dropins(
        &self,
        st: &mut State,
        active: &[RequestRow],
        now_ms: i64,
        pass: &mut Pass,
    ) {
        for row in active {
            let Some(want) = expected_text(row) else {
                continue;
            };
            let path = st.sudoers.path_of(&row.id);
            let was = match st.sudoers.holds(&row.id, &want) {
                Found::Matches => continue,
                Found::Missing => "missing",
                Found::Altered => "altered",
            };
            if let Err(e) = install(st, row) {
                self.failed(
                    st,
                    "re-writing the drop-in of",
                    Some(row.id.as_str()),
                    &e,
                    now_ms,
                    pass,
                );
                continue;
            }
            let detail = json!({"file": path.display().to_string(),
                                "was": was});
            let id = row.id.to_string();
            match st.store.tx(|tx| {
                audit::append(
                    tx,
                    now_ms,
                    AuditEvent::ReconcileRewrote,
                    "daemon",
                    Some(&id),
                    &detail,
                )
            }) {
                Ok(a) => pass.published.push(a),
                Err(e) => tracing::error!("auditing the re-written drop-in of {id}: {e}"),
            }
            pass.report.rewritten.push(id);
        }
        let files = match st.sudoers.list() {
            Ok(f) => f,
            Err(e) => {
                self.failed(st, "listing the drop-ins", None, &e.into(), now_ms, pass);
                return;
            }
        };
        for file in files {
            let owned = file
                .id
                .as_ref()
                .is_some_and(|id| active.iter().any(|r| &r.id == id && r.grant.sudo.is_some()));
            if owned {
                continue;
            }
            match st.sudoers.remove_name(&file.name) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    let what = format!("removing {}", file.name);
                    self.failed(st, &what, None, &e.into(), now_ms, pass);
                    continue;
                }
            }
            let detail = json!({"file": file.name});
            let rid = file.id.as_ref().map(ToString::to_string);
            match st.store.tx(|tx| {
                audit::append(
                    tx,
                    now_ms,
                    AuditEvent::ReconcileRemoved,
                    "daemon",
                    rid.as_deref(),
                    &detail,
                )
            }) {
                Ok(a) => pass.published.push(a),
                Err(e) => tracing::error!("auditing the removal of {}: {e}", file.name),
            }
            pass.report.removed.push(file.name);
        }
    }

    /// A stored request that cannot be read: logged every pass, audited
    /// once per run. Its drop-in, having no readable active grant, is
    /// removed like any stray file.
    pub(super) fn bad_row(
        &self,
        st: &mut State,
        bad: &requests::BadRow,
        now_ms: i64,
        pass: &mut Pass,
    ) {
        pass.report.bad_rows += 1;
        tracing::error!(
            "stored request {:?} cannot be read and is left out: {}; repair or delete the row",
            bad.id,
            bad.error
        );
        let key = format!("bad_row {} {}", bad.id, bad.error);
        let detail = json!({"id": bad.id, "error": bad.error.to_string()});
        self.audit_once(
            st,
            key,
            AuditEvent::ReconcileBadRow,
            None,
            &detail,
            now_ms,
            pass,
        );
    }

    /// A step that failed: logged every pass, audited once per run (the
    /// same failure every minute would bury the audit log), retried at
    /// the next pass.
    pub(super) fn failed(
        &self,
        st: &mut State,
        what: &str,
        rid: Option<&str>,
        e: &EngineError,
        now_ms: i64,
        pass: &mut Pass,
    ) {
        pass.report.failed += 1;
        let whom = rid.map(|r| format!(" {r}")).unwrap_or_default();
        tracing::error!("reconciliation: {what}{whom} failed: {e}; retrying at the next pass");
        let key = format!("failed {what}{whom}: {e}");
        let detail = json!({"step": what, "error": e.to_string()});
        self.audit_once(
            st,
            key,
            AuditEvent::ReconcileFailed,
            rid,
            &detail,
            now_ms,
            pass,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn audit_once(
        &self,
        st: &mut State,
        key: String,
        event: AuditEvent,
        rid: Option<&str>,
        detail: &serde_json::Value,
        now_ms: i64,
        pass: &mut Pass,
    ) {
        if st.reported.contains(&key) {
            return;
        }
        // Bounded: a flood of distinct failures is audited again, never
        // held in memory without end.
        if st.reported.len() >= MAX_REPORTED {
            st.reported.clear();
        }
        match st
            .store
            .tx(|tx| audit::append(tx, now_ms, event, "daemon", rid, detail))
        {
            Ok(a) => {
                pass.published.push(a);
                st.reported.insert(key);
            }
            Err(e) => tracing::error!("auditing {event}: {e}"),
        }
    }
}
