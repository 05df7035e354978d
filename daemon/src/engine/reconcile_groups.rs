//! Reconciling group memberships with their journal: taking back what no
//! active grant owes, restoring what an active grant owes and the host
//! lost — but only to the account the grant was made for.
#![forbid(unsafe_code)]

use crate::audit::event::AuditEvent;
use elevated_proto::{GroupName, UserName};
use serde_json::json;

use super::holder::Holder;
use super::reconcile::Pass;
use super::{Engine, EngineError, State};
use crate::store::{audit, memberships, RequestRow};

impl Engine {
    /// At start: stored requests whose state is none of the contract's
    /// names. No query by state finds them, so no pass would ever report
    /// them; logged and audited here (their drop-ins, owned by no active
    /// grant, are removed by reconciliation like any stray file).
    ///
    /// # Errors
    /// When the store cannot be queried.
    pub fn report_unknown_states(&self, now: jiff::Timestamp) -> Result<usize, EngineError> {
        let now_ms = now.as_millisecond();
        let mut pass = Pass::default();
        let mut st = self.lock();
        let bad = crate::store::requests::in_unknown_state(st.store.conn())?;
        for b in &bad {
            self.bad_row(&mut st, b, now_ms, &mut pass);
        }
        drop(st);
        self.after_commit(&pass.published);
        Ok(bad.len())
    }

    /// Memberships: journal rows of grants that are no longer active (a
    /// crash between `gpasswd` and the commit, or a failed removal) are
    /// taken back; a membership an active grant owes but the host lost is
    /// added again. Each grant's failure is its own.
    pub(super) fn reconcile_groups(
        &self,
        st: &mut State,
        active: &[RequestRow],
        now_ms: i64,
        pass: &mut Pass,
    ) {
        let open = match memberships::open(st.store.conn(), None) {
            Ok(o) => o,
            Err(e) => {
                self.failed(
                    st,
                    "reading the membership journal",
                    None,
                    &e.into(),
                    now_ms,
                    pass,
                );
                return;
            }
        };
        let mut stale: Vec<String> = open
            .iter()
            .filter(|m| !active.iter().any(|r| r.id.as_str() == m.request_id))
            .map(|m| m.request_id.clone())
            .collect();
        stale.dedup();
        for rid in stale {
            match super::groups::take_back(st, &rid, now_ms) {
                Ok(taken) => {
                    pass.report.groups_removed += taken.rows.len();
                    pass.published.extend(taken.rows);
                }
                Err(e) => {
                    self.failed(
                        st,
                        "taking back the groups of",
                        Some(&rid),
                        &e,
                        now_ms,
                        pass,
                    );
                }
            }
        }
        for m in open.iter().filter(|m| m.state == "added") {
            let Some(row) = active.iter().find(|r| r.id.as_str() == m.request_id) else {
                continue;
            };
            if let Err(e) = self.restore(st, row, m, now_ms, pass) {
                let what = format!("restoring {} in {} for", m.user, m.group);
                self.failed(st, &what, Some(&m.request_id), &e, now_ms, pass);
            }
        }
    }

    /// Adds back one membership an active grant owes, if the host lost it.
    /// Before anything is added, the name must still be the grant's uid
    /// and the group must still exist; if not, the membership ended with
    /// them: the journal row is closed and audited.
    fn restore(
        &self,
        st: &mut State,
        row: &RequestRow,
        m: &memberships::Membership,
        now_ms: i64,
        pass: &mut Pass,
    ) -> Result<(), EngineError> {
        let (Ok(user), Ok(group)) = (UserName::parse(&m.user), GroupName::parse(&m.group)) else {
            return Ok(());
        };
        if st.groups.is_member(&user, &group)? {
            return Ok(());
        }
        let gone = if st.groups.entry(&group)?.is_none() {
            Some(json!({"user": m.user, "group": m.group, "group_exists": false}))
        } else {
            match (st.accounts)(&m.user, row.uid)? {
                Holder::Same => None,
                other => {
                    let mut d = other.detail(&m.user, row.uid);
                    if let Some(o) = d.as_object_mut() {
                        o.insert("group".into(), json!(m.group));
                    }
                    Some(d)
                }
            }
        };
        if let Some(detail) = gone {
            tracing::warn!(
                "grant {}: membership of {} in {} not restored: {detail}",
                m.request_id,
                m.user,
                m.group
            );
            let rid = m.request_id.clone();
            let a = st.store.tx(|tx| {
                memberships::close(tx, &rid, &m.group)?;
                audit::append(
                    tx,
                    now_ms,
                    AuditEvent::GroupEnded,
                    "daemon",
                    Some(&rid),
                    &detail,
                )
            })?;
            pass.published.push(a);
            return Ok(());
        }
        st.groups.add(&user, &group)?;
        let detail = json!({"user": m.user, "group": m.group});
        let rid = m.request_id.clone();
        let a = st.store.tx(|tx| {
            audit::append(
                tx,
                now_ms,
                AuditEvent::ReconcileGroupRestored,
                "daemon",
                Some(&rid),
                &detail,
            )
        })?;
        pass.published.push(a);
        pass.report.groups_restored += 1;
        Ok(())
    }
}
