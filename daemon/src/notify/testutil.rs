//! Test helpers.

use super::{Event, EventKind};

/// A pending request with every optional field set; the reason is hostile.
pub fn event(kind: EventKind) -> Event {
    Event {
        kind,
        id: "k3f9x2ma".into(),
        host: "web1".into(),
        user: "alice".into(),
        role: "db-admin".into(),
        state: "pending".into(),
        reason: Some("<!channel> see <http://evil|click> & [click](http://evil) *now*".into()),
        ticket: Some("OPS-42 <@U123>".into()),
        duration_secs: 1800,
        approvals_needed: 2,
        approvals_given: 0,
        approvers: "2 of group dba-leads, carol@corp".into(),
        decided_by: None,
        comment: None,
        expires_at: None,
        at: "2026-03-02T10:00:00Z".into(),
        approval_text: Some(
            "elevated-approval v1\nid k3f9x2ma\nhost web1\nuser alice\nrole db-admin\n".into(),
        ),
        approve_command: Some("elevate approve k3f9x2ma".into()),
    }
}
