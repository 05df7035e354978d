//! Tables of several requests: `status`, `list` and its variants, `audit`.

use std::time::SystemTime;

use elevated_proto::{AuditEntry, RequestState, RequestView};

use crate::render::{clean, cols, decision_left, indent, left, or_dash, sudo_text, table};
use crate::render_view::command_line;
use crate::timefmt::{human_secs, secs_since, short_secs};

/// Longest reason shown in a table, in characters.
const REASON_WIDTH: usize = 40;

/// What a grant lets one run: its one command, or its sudo rights.
fn rights(v: &RequestView) -> String {
    match (&v.command, &v.sudo) {
        (Some(argv), _) => format!("once: {}", command_line(argv)),
        (None, Some(s)) => sudo_text(s),
        (None, None) => "-".into(),
    }
}

/// `status`: active grants, then pending requests.
#[must_use]
pub fn status(views: &[RequestView], now: SystemTime) -> String {
    let active: Vec<&RequestView> = views
        .iter()
        .filter(|v| v.state == RequestState::Active)
        .collect();
    let pending: Vec<&RequestView> = views
        .iter()
        .filter(|v| v.state == RequestState::Pending)
        .collect();
    if active.is_empty() && pending.is_empty() {
        return "no active grants or pending requests\n".into();
    }
    let mut out = String::new();
    if !active.is_empty() {
        let mut rows = vec![cols(&["ID", "ROLE", "LEFT", "EXPIRES", "COMMANDS"])];
        rows.extend(active.iter().map(|v| {
            let mut role = clean(&v.role);
            if let Some(secs) = v.extension_secs {
                role.push_str(&format!(" (+{} pending)", short_secs(secs)));
            }
            vec![
                clean(&v.id),
                role,
                left(v, now).unwrap_or_else(|| "-".into()),
                or_dash(v.expires_at.as_deref()),
                rights(v),
            ]
        }));
        out.push_str("active grants:\n");
        out.push_str(&indent(&table(&rows)));
    }
    if !pending.is_empty() {
        let mut rows = vec![cols(&["ID", "ROLE", "APPROVALS", "REQUESTED", "LEFT"])];
        rows.extend(pending.iter().map(|v| {
            vec![
                clean(&v.id),
                clean(&v.role),
                format!("{}/{}", v.approvals_given, v.approvals_needed),
                clean(&v.requested_at),
                decision_left(v, now).unwrap_or_else(|| "-".into()),
            ]
        }));
        out.push_str("pending requests:\n");
        out.push_str(&indent(&table(&rows)));
    }
    out
}

/// `list`: one line per request.
#[must_use]
pub fn list(views: &[RequestView], now: SystemTime) -> String {
    if views.is_empty() {
        return "no requests\n".into();
    }
    let mut rows = vec![cols(&[
        "ID",
        "STATE",
        "ROLE",
        "USER",
        "REQUESTED",
        "EXPIRES",
        "LEFT",
    ])];
    rows.extend(views.iter().map(|v| {
        vec![
            clean(&v.id),
            v.state.to_string(),
            clean(&v.role),
            clean(&v.user),
            clean(&v.requested_at),
            or_dash(v.expires_at.as_deref()),
            left(v, now).unwrap_or_else(|| "-".into()),
        ]
    }));
    table(&rows)
}

/// A reason cut to [`REASON_WIDTH`] characters, `-` when absent.
fn reason(v: &RequestView) -> String {
    let r = or_dash(v.reason.as_deref());
    if r.chars().count() <= REASON_WIDTH {
        return r;
    }
    let cut: String = r.chars().take(REASON_WIDTH - 1).collect();
    format!("{cut}…")
}

/// `list --pending`, what an approver looks at: who wants what where, how
/// far the approvals are, how long it has waited and may still wait.
#[must_use]
pub fn pending(views: &[RequestView], now: SystemTime) -> String {
    if views.is_empty() {
        return "no pending requests\n".into();
    }
    let mut rows = vec![cols(&[
        "ID",
        "REQUESTER",
        "ROLE",
        "HOST",
        "APPROVALS",
        "AGE",
        "LEFT",
        "REASON",
        "TICKET",
    ])];
    rows.extend(views.iter().map(|v| {
        let mut role = clean(&v.role);
        if v.state == RequestState::Active {
            if let Some(secs) = v.extension_secs {
                role.push_str(&format!(" (+{})", short_secs(secs)));
            }
        }
        if v.command.is_some() {
            role.push_str(" (once)");
        }
        vec![
            clean(&v.id),
            clean(&v.user),
            role,
            clean(&v.host),
            format!("{}/{}", v.approvals_given, v.approvals_needed),
            secs_since(&v.requested_at, now).map_or_else(|| "-".into(), short_secs),
            decision_left(v, now).unwrap_or_else(|| "-".into()),
            reason(v),
            or_dash(v.ticket.as_deref()),
        ]
    }));
    table(&rows)
}

/// `list --unreviewed`: break-glass grants nobody has reviewed yet.
#[must_use]
pub fn unreviewed(views: &[RequestView]) -> String {
    if views.is_empty() {
        return "no unreviewed break-glass grants\n".into();
    }
    let mut rows = vec![cols(&[
        "ID", "USER", "ROLE", "HOST", "STATE", "STARTED", "LASTED", "REASON",
    ])];
    rows.extend(views.iter().map(|v| {
        let lasted = match (&v.starts_at, &v.ended_at) {
            (Some(start), Some(end)) => humantime::parse_rfc3339_weak(end)
                .ok()
                .and_then(|end| secs_since(start, end))
                .map_or_else(|| "-".into(), human_secs),
            _ => "-".into(),
        };
        vec![
            clean(&v.id),
            clean(&v.user),
            clean(&v.role),
            clean(&v.host),
            v.state.to_string(),
            or_dash(v.starts_at.as_deref()),
            lasted,
            reason(v),
        ]
    }));
    table(&rows)
}

/// `audit`: one line per row, oldest first.
#[must_use]
pub fn audit(rows: &[AuditEntry]) -> String {
    if rows.is_empty() {
        return "no audit rows\n".into();
    }
    let mut table_rows = vec![cols(&["SEQ", "AT", "EVENT", "ACTOR", "REQUEST", "DETAIL"])];
    table_rows.extend(rows.iter().map(|r| {
        let detail = match &r.detail {
            serde_json::Value::Null => String::new(),
            serde_json::Value::Object(m) if m.is_empty() => String::new(),
            other => clean(&other.to_string()),
        };
        vec![
            r.seq.to_string(),
            clean(&r.at),
            clean(&r.event),
            clean(&r.actor),
            or_dash(r.request.as_deref()),
            detail,
        ]
    }));
    table(&table_rows)
}
