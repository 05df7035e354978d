//! Reconciliation: making the host agree with the store, at start and
//! periodically.
#![forbid(unsafe_code)]

use elevated_proto::RequestState;
use jiff::Timestamp;
use serde_json::json;

use super::request::{expected_text, install};
use super::{ms, Engine, EngineError, State};
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
    /// Changes to the host that failed this time (a drop-in, a
    /// membership), each with why: the next pass tries them again.
    pub failed: Vec<String>,
}

/// Notes a failure to change the host in `report` so the pass goes on
/// with everything else (a hung gpasswd for one grant must not keep the
/// others' memberships or files from being put right); any other error
/// (the store) ends the pass.
fn host_failure(
    report: &mut ReconcileReport,
    what: impl std::fmt::Display,
    result: Result<(), EngineError>,
) -> Result<(), EngineError> {
    match result {
        Err(EngineError::Grant(e)) => {
            report.failed.push(format!("{what}: {e}"));
            Ok(())
        }
        other => other,
    }
}

impl Engine {
    /// Makes the host agree with the store: ends what is past due, removes
    /// `elevated_*` files that no active grant owns, re-writes drop-ins of
    /// active grants that are missing or were altered. Rebuilds the
    /// in-memory deadlines. Run at start and periodically.
    pub fn reconcile(&self, now: Timestamp) -> Result<ReconcileReport, EngineError> {
        let now_ms = ms(now);
        self.flush_summaries(now_ms);
        let mut report = ReconcileReport::default();
        let mut published = Vec::new();
        let mut st = self.lock();
        st.deadlines.clear();
        for row in requests::in_state(st.store.conn(), RequestState::Pending)? {
            match self.end_if_due(&mut st, row.clone(), now_ms) {
                Ok(Some(rows)) => {
                    published.extend(rows);
                    report.timed_out += 1;
                }
                Ok(None) => self.schedule(&mut st, &row),
                // Left pending and due: the timer tries again.
                Err(e) => {
                    report.failed.push(format!("ending {}: {e}", row.id));
                    self.schedule(&mut st, &row);
                }
            }
        }
        let mut active = Vec::new();
        for row in requests::in_state(st.store.conn(), RequestState::Active)? {
            let id = row.id.clone();
            // Taken away on the host, its end not yet recorded: recorded
            // now, or left out of what the host must give back.
            match self.retry_unrecorded(&mut st, &row, now_ms) {
                Some(Ok((_, rows))) => {
                    published.extend(rows);
                    continue;
                }
                Some(Err(e)) => {
                    report
                        .failed
                        .push(format!("recording the end of {id}: {e}"));
                    continue;
                }
                None => {}
            }
            // A failure ends nothing else: the pass goes on (a grant whose
            // end could not be committed was taken away and is retried).
            match self.end_if_due(&mut st, row, now_ms) {
                Ok(Some(rows)) => published.extend(rows),
                Ok(None) => {}
                Err(e) => report.failed.push(format!("ending {id}: {e}")),
            }
            if super::unrecorded::pending(&st, &id) {
                continue;
            }
            match requests::get(st.store.conn(), &id)? {
                Some(r) if r.state == RequestState::Active => {
                    self.schedule(&mut st, &r);
                    active.push(r);
                }
                _ => report.expired += 1,
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
                let installed = install(&st, row);
                if installed.is_err() {
                    let what = format!("re-writing the drop-in of {}", row.id);
                    host_failure(&mut report, what, installed)?;
                    continue;
                }
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
                });
                match a {
                    Ok(a) => published.push(a),
                    Err(e) => report.failed.push(format!("auditing {detail}: {e}")),
                }
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
            let removed = match st.sudoers.remove_name(&file.name) {
                Ok(removed) => removed,
                Err(e) => {
                    let what = format!("removing {}", file.name);
                    host_failure(&mut report, what, Err(e.into()))?;
                    continue;
                }
            };
            if removed {
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
                });
                // The file is gone either way; a full store must not stop
                // the pass from taking back the rest.
                match a {
                    Ok(a) => published.push(a),
                    Err(e) => report.failed.push(format!("auditing {detail}: {e}")),
                }
                report.removed.push(file.name);
            }
        }
        let groups = self.reconcile_groups(&mut st, &active, now_ms, &mut report, &mut published);
        drop(st);
        // What was committed is published even when something failed.
        self.after_commit(&published);
        groups.map(|()| report)
    }

    /// Memberships: journal rows of grants that are no longer active (a
    /// crash between `gpasswd` and the commit, or a failed removal) are
    /// taken back; a membership an active grant owes but the host lost is
    /// added again.
    fn reconcile_groups(
        &self,
        st: &mut State,
        active: &[RequestRow],
        now_ms: i64,
        report: &mut ReconcileReport,
        published: &mut Vec<AuditRow>,
    ) -> Result<(), EngineError> {
        let open = crate::store::memberships::open(st.store.conn(), None)?;
        let mut stale: Vec<String> = open
            .iter()
            .filter(|m| !active.iter().any(|r| r.id.as_str() == m.request_id))
            .map(|m| m.request_id.clone())
            .collect();
        stale.dedup();
        for rid in stale {
            match super::groups::take_back(st, &rid, now_ms) {
                Ok(taken) => {
                    report.groups_removed += taken.rows.len();
                    published.extend(taken.rows);
                }
                // Whatever failed (gpasswd, or recording the removal), the
                // journal still lists what is owed: the next pass retries.
                Err(e) => report
                    .failed
                    .push(format!("taking back the groups of {rid}: {e}")),
            }
        }
        for m in open
            .iter()
            .filter(|m| m.state == "added" && active.iter().any(|r| r.id.as_str() == m.request_id))
        {
            let (Ok(user), Ok(group)) = (
                elevated_proto::UserName::parse(&m.user),
                elevated_proto::GroupName::parse(&m.group),
            ) else {
                continue;
            };
            if st.groups.is_member(&user, &group)? {
                continue;
            }
            if let Err(e) = st.groups.add(&user, &group) {
                let what = format!("adding {user} to {group} again for {}", m.request_id);
                host_failure(report, what, Err(e.into()))?;
                continue;
            }
            let detail = json!({"user": m.user, "group": m.group});
            let rid = m.request_id.clone();
            let row = st.store.tx(|tx| {
                audit::append(
                    tx,
                    now_ms,
                    "reconcile_group_restored",
                    "daemon",
                    Some(&rid),
                    &detail,
                )
            })?;
            published.push(row);
            report.groups_restored += 1;
        }
        Ok(())
    }
}
