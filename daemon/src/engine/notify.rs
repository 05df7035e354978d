//! Turning transitions into notification events. Delivery is the
//! notifier's job: it only enqueues, so nothing here can delay a decision.

use elevated_proto::{RequestState, Verdict};

use super::approve::decision_text;
use super::view::{describe_approvers, rfc3339};
use super::Engine;
use std::sync::Arc;

use rusqlite::Connection;

use crate::notify::{Event, EventKind, Notifier};
use crate::store::{approvals, RequestRow};

impl Engine {
    fn notifier(&self) -> Arc<Notifier> {
        self.notifier
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The event about `row`, with `given` approvals in its round, at
    /// `now_ms`.
    #[allow(clippy::too_many_arguments)]
    fn event(
        &self,
        kind: EventKind,
        row: &RequestRow,
        by: Option<&str>,
        comment: Option<&str>,
        given: u32,
        now_ms: i64,
    ) -> Event {
        let deciding = row.state == RequestState::Pending || row.ext_secs.is_some();
        Event {
            kind,
            id: row.id.to_string(),
            host: row.host.clone(),
            user: row.user.clone(),
            role: row.role.clone(),
            state: row.state.as_str().to_owned(),
            reason: row.reason.clone(),
            ticket: row.ticket.clone(),
            duration_secs: row.ext_secs.unwrap_or(row.duration_secs),
            approvals_needed: row.approval.count,
            approvals_given: given,
            approvers: describe_approvers(&row.approval.approvers),
            decided_by: by.map(str::to_owned),
            comment: comment.map(str::to_owned),
            expires_at: row.expires_at.map(rfc3339),
            at: rfc3339(now_ms),
            approval_text: deciding.then(|| decision_text(row, Verdict::Approve)),
            approve_command: deciding.then(|| format!("elevate approve {}", row.id)),
        }
    }

    /// A new pending request or extension, or a break-glass grant: nobody
    /// has decided on it yet.
    pub(super) fn notify_row(&self, row: &RequestRow, now_ms: i64) {
        let kind = match row.state {
            RequestState::Pending => EventKind::RequestCreated,
            RequestState::Active if row.ext_secs.is_some() => EventKind::RequestCreated,
            RequestState::Active if row.break_glass => EventKind::BreakGlass,
            _ => return,
        };
        self.notifier()
            .send(&self.event(kind, row, None, None, 0, now_ms));
    }

    /// A decision closed a request or extension, with `given` approvals
    /// in its round.
    pub(super) fn notify_decision(
        &self,
        row: &RequestRow,
        verdict: Verdict,
        by: &str,
        comment: Option<&str>,
        given: u32,
        now_ms: i64,
    ) {
        let kind = match verdict {
            Verdict::Approve => EventKind::Approved,
            Verdict::Deny => EventKind::Denied,
        };
        self.notifier()
            .send(&self.event(kind, row, Some(by), comment, given, now_ms));
    }

    /// A grant ended at its window's end.
    pub(super) fn notify_expired(&self, conn: &Connection, row: &RequestRow, now_ms: i64) {
        let given = given(conn, row);
        self.notifier()
            .send(&self.event(EventKind::Expired, row, None, None, given, now_ms));
    }

    /// A grant ends soon.
    pub(super) fn notify_warning(&self, conn: &Connection, row: &RequestRow, now_ms: i64) {
        let given = given(conn, row);
        self.notifier()
            .send(&self.event(EventKind::ExpiryWarning, row, None, None, given, now_ms));
    }
}

/// The approvals given in `row`'s current round, as its view counts them.
pub(super) fn given(conn: &Connection, row: &RequestRow) -> u32 {
    if row.approval.count == 0 {
        return 0;
    }
    match approvals::of(conn, row.id.as_str()) {
        Ok(all) => {
            let n = all
                .iter()
                .filter(|a| a.round == row.round && a.verdict == Verdict::Approve)
                .count();
            u32::try_from(n).unwrap_or(u32::MAX)
        }
        Err(e) => {
            // A notification is best effort; the count is not worth failing it.
            tracing::error!("counting the approvals of {}: {e}", row.id);
            0
        }
    }
}
