//! Text output. Pure functions from what the daemon sent (and the current
//! time) to what is printed; every text that came from the daemon passes
//! through [`clean`] so it cannot drive the terminal.

use std::fmt::Write as _;
use std::time::SystemTime;

use elevated_proto::{AuditEntry, RequestState, RequestView, RoleOffer, SudoView};

use crate::timefmt::{human_secs, secs_until};

/// Replaces control characters (escape sequences, newlines) by their
/// escaped form.
#[must_use]
pub fn clean(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_owned();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Aligns rows into columns separated by two spaces; the last column is not
/// padded.
#[must_use]
pub fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; cols];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i].saturating_sub(cell.chars().count());
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Indents every line of `text` by two spaces.
fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// A table of keys and values, indented.
fn fields(pairs: &[(&str, String)]) -> String {
    let rows: Vec<Vec<String>> = pairs
        .iter()
        .map(|(k, v)| vec![(*k).to_owned(), v.clone()])
        .collect();
    indent(&table(&rows))
}

/// Sudo rights the way `sudo -l` shows them:
/// `(postgres) NOPASSWD: /usr/bin/psql, /usr/bin/pg_dump`.
#[must_use]
pub fn sudo_text(sudo: &SudoView) -> String {
    let tag = if sudo.nopasswd { "NOPASSWD: " } else { "" };
    let commands: Vec<String> = sudo.commands.iter().map(|c| clean(c)).collect();
    format!("({}) {tag}{}", clean(&sudo.runas), commands.join(", "))
}

/// Time left in an active grant, in humantime form.
#[must_use]
pub fn left(view: &RequestView, now: SystemTime) -> Option<String> {
    if view.state != RequestState::Active {
        return None;
    }
    let secs = view
        .remaining_secs
        .or_else(|| secs_until(view.expires_at.as_deref()?, now))?;
    Some(human_secs(secs))
}

/// "needs 2 approvals", "automatic".
fn approvals(n: u32) -> String {
    match n {
        0 => "automatic".into(),
        1 => "needs 1 approval".into(),
        n => format!("needs {n} approvals"),
    }
}

/// The spinner's text while waiting for a decision.
#[must_use]
pub fn waiting_line(view: &RequestView) -> String {
    let mut s = format!("request {}: {}", clean(&view.id), view.state);
    if view.state == RequestState::Pending && view.approvals_needed > 0 {
        let _ = write!(s, " ({})", approvals(view.approvals_needed));
    }
    s
}

/// `2025-01-31T10:00:00Z to 2025-01-31T10:30:00Z (29m 59s left)`.
fn window(view: &RequestView, now: SystemTime) -> Option<String> {
    let start = view.starts_at.as_deref()?;
    let end = view.expires_at.as_deref()?;
    let mut s = format!("{} to {}", clean(start), clean(end));
    if let Some(l) = left(view, now) {
        let _ = write!(s, " ({l} left)");
    }
    Some(s)
}

/// The result of `request`, `cancel` or `revoke`: text for stdout, and for
/// an outcome that is not success, a sentence for stderr carrying the
/// daemon's message.
#[must_use]
pub fn outcome(view: &RequestView, now: SystemTime) -> (String, Option<String>) {
    let id = clean(&view.id);
    let role = clean(&view.role);
    let mut head = format!("{id} {}: {role}", view.state);
    if view.state == RequestState::Pending {
        let _ = write!(head, " ({})", approvals(view.approvals_needed));
    }
    head.push('\n');
    let phrase = match view.state {
        RequestState::Active => {
            let mut pairs = Vec::new();
            if let Some(w) = window(view, now) {
                pairs.push(("window", w));
            }
            if let Some(sudo) = &view.sudo {
                pairs.push(("sudo", sudo_text(sudo)));
            }
            if !view.message.is_empty() {
                pairs.push(("message", clean(&view.message)));
            }
            head.push_str(&fields(&pairs));
            if view.sudo.is_some() {
                head.push_str("`sudo -l` lists what you may run now\n");
            }
            return (head, None);
        }
        RequestState::Pending => "is still pending",
        RequestState::Denied => "was denied",
        RequestState::Cancelled => "was cancelled",
        RequestState::TimedOut => "timed out: nobody decided in time",
        RequestState::Expired => "has expired",
        RequestState::Revoked => "was revoked",
    };
    let mut err = format!("request {id} for {role} {phrase}");
    if !view.message.is_empty() {
        let _ = write!(err, ": {}", clean(&view.message));
    }
    (head, Some(err))
}

/// A short confirmation for `cancel` and `revoke`.
#[must_use]
pub fn changed(view: &RequestView) -> String {
    let mut s = format!("{} {}: {}", clean(&view.id), view.state, clean(&view.role));
    if !view.message.is_empty() {
        let _ = write!(s, " ({})", clean(&view.message));
    }
    s.push('\n');
    s
}

fn or_dash(v: Option<&str>) -> String {
    v.map_or_else(|| "-".to_owned(), clean)
}

/// Every field of one view, for `show`.
#[must_use]
pub fn details(view: &RequestView, now: SystemTime) -> String {
    let mut expires = or_dash(view.expires_at.as_deref());
    if let Some(l) = left(view, now) {
        let _ = write!(expires, " ({l} left)");
    }
    let approvals_text = match view.approvals_needed {
        0 => "0 (automatic)".to_owned(),
        n => n.to_string(),
    };
    let (runas, commands) = match &view.sudo {
        Some(s) => {
            let c: Vec<String> = s.commands.iter().map(|c| clean(c)).collect();
            let pw = if s.nopasswd {
                ""
            } else {
                " (password required)"
            };
            (format!("{}{pw}", clean(&s.runas)), c.join(", "))
        }
        None => ("-".into(), "-".into()),
    };
    let pairs = [
        ("id", clean(&view.id)),
        ("state", view.state.to_string()),
        ("role", clean(&view.role)),
        ("user", format!("{} (uid {})", clean(&view.user), view.uid)),
        ("host", clean(&view.host)),
        ("reason", or_dash(view.reason.as_deref())),
        ("ticket", or_dash(view.ticket.as_deref())),
        ("duration", human_secs(view.duration_secs)),
        ("requested", clean(&view.requested_at)),
        ("decided", or_dash(view.decided_at.as_deref())),
        ("starts", or_dash(view.starts_at.as_deref())),
        ("expires", expires),
        ("ended", or_dash(view.ended_at.as_deref())),
        ("approvals", approvals_text),
        ("rule", or_dash(view.rule.as_deref())),
        ("message", clean(&view.message)),
        ("sudo runas", runas),
        ("sudo commands", commands),
    ];
    let rows: Vec<Vec<String>> = pairs
        .iter()
        .map(|(k, v)| vec![format!("{k}:"), v.clone()])
        .collect();
    table(&rows)
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
            vec![
                clean(&v.id),
                clean(&v.role),
                left(v, now).unwrap_or_else(|| "-".into()),
                or_dash(v.expires_at.as_deref()),
                v.sudo.as_ref().map_or_else(|| "-".into(), sudo_text),
            ]
        }));
        out.push_str("active grants:\n");
        out.push_str(&indent(&table(&rows)));
    }
    if !pending.is_empty() {
        let mut rows = vec![cols(&["ID", "ROLE", "APPROVALS", "REQUESTED"])];
        rows.extend(pending.iter().map(|v| {
            vec![
                clean(&v.id),
                clean(&v.role),
                v.approvals_needed.to_string(),
                clean(&v.requested_at),
            ]
        }));
        out.push_str("pending requests:\n");
        out.push_str(&indent(&table(&rows)));
    }
    out
}

fn cols(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
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

/// `roles`: one block per role.
#[must_use]
pub fn roles(host: &str, offers: &[RoleOffer]) -> String {
    if offers.is_empty() {
        return format!("no roles are defined on {}\n", clean(host));
    }
    let mut out = format!("roles on {}:\n", clean(host));
    for o in offers {
        let _ = writeln!(out, "{}  {}", clean(&o.role), clean(&o.description));
        let may = match (o.allowed, o.approvals) {
            (false, _) => "no".to_owned(),
            (true, 0) => "yes, granted at once".to_owned(),
            (true, 1) => "yes, after 1 approval".to_owned(),
            (true, n) => format!("yes, after {n} approvals"),
        };
        let mut pairs = vec![("may request", may)];
        if !o.reason.is_empty() {
            pairs.push(("why", clean(&o.reason)));
        }
        if let Some(rule) = &o.rule {
            pairs.push(("rule", clean(rule)));
        }
        pairs.push((
            "duration",
            format!(
                "{} by default, at most {}",
                human_secs(o.default_duration_secs),
                human_secs(o.max_duration_secs)
            ),
        ));
        if let Some(sudo) = &o.sudo {
            pairs.push(("sudo", sudo_text(sudo)));
        }
        if !o.groups.is_empty() {
            let g: Vec<String> = o.groups.iter().map(|g| clean(g)).collect();
            pairs.push(("groups", g.join(", ")));
        }
        out.push_str(&fields(&pairs));
    }
    out
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

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
