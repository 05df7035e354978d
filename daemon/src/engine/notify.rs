//! Turning transitions into notification events. Delivery is the
//! notifier's job: it only enqueues, so nothing here can delay a decision.

use elevated_proto::{RequestState, Verdict};

use super::approve::decision_text;
use super::view::{describe_approvers, rfc3339};
use super::Engine;
use std::sync::Arc;

use crate::notify::{Event, EventKind, Notifier};
use crate::store::RequestRow;

impl Engine {
    fn notifier(&self) -> Arc<Notifier> {
        self.notifier
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn event(
        &self,
        kind: EventKind,
        row: &RequestRow,
        by: Option<&str>,
        comment: Option<&str>,
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
            approvals_given: 0,
            approvers: describe_approvers(&row.approval.approvers),
            decided_by: by.map(str::to_owned),
            comment: comment.map(str::to_owned),
            expires_at: row.expires_at.map(rfc3339),
            at: crate::times::rfc3339_of(jiff::Timestamp::now()),
            approval_text: deciding.then(|| decision_text(row, Verdict::Approve)),
            approve_command: deciding.then(|| format!("elevate approve {}", row.id)),
        }
    }

    /// A new pending request or extension, or a break-glass grant.
    pub(super) fn notify_row(&self, row: &RequestRow, by: Option<&str>, comment: Option<&str>) {
        let kind = match row.state {
            RequestState::Pending => EventKind::RequestCreated,
            RequestState::Active if row.ext_secs.is_some() => EventKind::RequestCreated,
            RequestState::Active if row.break_glass => EventKind::BreakGlass,
            _ => return,
        };
        self.notifier().send(&self.event(kind, row, by, comment));
    }

    /// An approver's decision closed a request or extension.
    pub(super) fn notify_decision(
        &self,
        row: &RequestRow,
        verdict: Verdict,
        by: &str,
        comment: Option<&str>,
    ) {
        let kind = match verdict {
            Verdict::Approve => EventKind::Approved,
            Verdict::Deny => EventKind::Denied,
        };
        self.notifier()
            .send(&self.event(kind, row, Some(by), comment));
    }

    /// A grant ended at its window's end.
    pub(super) fn notify_expired(&self, row: &RequestRow) {
        self.notifier()
            .send(&self.event(EventKind::Expired, row, None, None));
    }

    /// A grant ends soon.
    pub(super) fn notify_warning(&self, row: &RequestRow, _end: i64) {
        self.notifier()
            .send(&self.event(EventKind::ExpiryWarning, row, None, None));
    }
}
