//! Ending everything at once: what removing the package does
//! (`elevated revoke-all`, run by the package's pre-removal script with the
//! daemon stopped). Group memberships carry no expiry of their own, so
//! without this a membership added by the daemon would outlive a package
//! that can no longer take it back.
#![forbid(unsafe_code)]

use elevated_proto::RequestState;
use jiff::Timestamp;
use serde_json::json;

use super::{ms, Engine, EngineError};
use crate::store::requests;

/// What [`Engine::revoke_all`] ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct TeardownReport {
    /// Active grants revoked.
    pub revoked: usize,
    /// Pending requests cancelled.
    pub cancelled: usize,
    /// Group memberships taken back by the final reconciliation (those no
    /// grant owned any more, e.g. left half-added by a crash).
    pub groups_removed: usize,
}

impl Engine {
    /// Revokes every active grant and cancels every pending request, as
    /// `actor` (recorded in each audit row) for `reason`, then reconciles so
    /// that every drop-in and every group membership the daemon added is
    /// gone. Each grant is recorded as revoked before its drop-in and
    /// groups are removed, like any revocation.
    ///
    /// # Errors
    /// When the store cannot be read or written; what was done before the
    /// error stays done.
    pub fn revoke_all(
        &self,
        actor: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<TeardownReport, EngineError> {
        let now_ms = ms(now);
        let mut report = TeardownReport::default();
        let mut published = Vec::new();
        {
            let mut st = self.lock();
            let detail = json!({"reason": reason});
            for (from, to) in [
                (RequestState::Active, RequestState::Revoked),
                (RequestState::Pending, RequestState::Cancelled),
            ] {
                let rows: Vec<_> = requests::in_state(st.store.conn(), from)?
                    .into_iter()
                    .map(|mut r| {
                        r.message = format!("{to} by {actor}: {reason}");
                        (r, detail.clone())
                    })
                    .collect();
                if rows.is_empty() {
                    continue;
                }
                let (ended, audit) = self.finish_all(&mut st, &rows, to, actor, now_ms)?;
                published.extend(audit);
                match to {
                    RequestState::Revoked => report.revoked += ended.len(),
                    _ => report.cancelled += ended.len(),
                }
            }
        }
        self.after_commit(&published);
        // Whatever the journal still lists (a membership a crash left
        // half-added) and every stray drop-in goes too.
        let rec = self.reconcile(now)?;
        report.groups_removed = rec.groups_removed;
        Ok(report)
    }
}
