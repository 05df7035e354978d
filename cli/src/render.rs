//! Text output. Pure functions from what the daemon sent (and the current
//! time) to what is printed; every text that came from the daemon passes
//! through [`clean`] so it cannot drive the terminal.

use std::fmt::Write as _;
use std::time::SystemTime;

use elevated_proto::{RequestState, RequestView, RoleOffer, SudoView};

use crate::timefmt::{human_secs, secs_until, short_secs};

pub use crate::render_list::{audit, list, pending, status, unreviewed};
pub use crate::render_view::{command_line, decided, details};

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
pub fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// A table of keys and values, indented.
pub fn fields(pairs: &[(&str, String)]) -> String {
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

/// Whether a decision is awaited: a pending request, or an active grant
/// with a pending extension.
#[must_use]
pub fn awaiting(view: &RequestView) -> bool {
    match view.state {
        RequestState::Pending => true,
        RequestState::Active => view.extension_secs.is_some(),
        _ => false,
    }
}

/// `pending` or `extension +30m pending`.
fn awaited_what(view: &RequestView) -> String {
    match (view.state, view.extension_secs) {
        (RequestState::Active, Some(secs)) => format!("extension +{} pending", human_secs(secs)),
        (state, _) => state.to_string(),
    }
}

/// `approvals 1/2`.
#[must_use]
pub fn approvals_ratio(view: &RequestView) -> String {
    format!(
        "approvals {}/{}",
        view.approvals_given, view.approvals_needed
    )
}

/// Time left to decide, from `pending_until`.
#[must_use]
pub fn decision_left(view: &RequestView, now: SystemTime) -> Option<String> {
    let secs = secs_until(view.pending_until.as_deref()?, now)?;
    Some(short_secs(secs))
}

/// The progress line while waiting for a decision:
/// `request ID: pending, approvals 1/2, approvers: <who>, 12m left`.
#[must_use]
pub fn waiting_line(view: &RequestView, now: SystemTime) -> String {
    let mut s = format!("request {}: {}", clean(&view.id), awaited_what(view));
    if awaiting(view) {
        if view.approvals_needed > 0 {
            let _ = write!(s, ", {}", approvals_ratio(view));
        }
        if let Some(who) = &view.approvers {
            let _ = write!(s, ", approvers: {}", clean(who));
        }
        if let Some(l) = decision_left(view, now) {
            let _ = write!(s, ", {l} left");
        }
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
        let _ = write!(head, " ({})", approvals_ratio(view));
    }
    if let (RequestState::Active, Some(_)) = (view.state, view.extension_secs) {
        let _ = write!(head, " ({}, {})", awaited_what(view), approvals_ratio(view));
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
        RequestState::TimedOut => "timed out",
        RequestState::Expired => "has expired",
        RequestState::Revoked => "was revoked",
    };
    let mut err = format!("request {id} for {role} {phrase}");
    // The daemon's message says why; a timed-out request without one
    // still says what timing out means.
    let why = match (view.state, view.message.is_empty()) {
        (_, false) => clean(&view.message),
        (RequestState::TimedOut, true) => "nobody decided in time".to_owned(),
        _ => String::new(),
    };
    if !why.is_empty() {
        let _ = write!(err, ": {why}");
    }
    (head, Some(err))
}

/// Column headings.
#[must_use]
pub fn cols(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// `-` for nothing.
#[must_use]
pub fn or_dash(v: Option<&str>) -> String {
    v.map_or_else(|| "-".to_owned(), clean)
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
        if o.actions_only {
            pairs.push((
                "grants",
                "just-in-time actions only: run one with `elevate run -- COMMAND`".to_owned(),
            ));
        } else {
            pairs.push((
                "duration",
                format!(
                    "{} by default, at most {}",
                    human_secs(o.default_duration_secs),
                    human_secs(o.max_duration_secs)
                ),
            ));
        }
        if let Some(sudo) = &o.sudo {
            pairs.push(("sudo", sudo_text(sudo)));
        }
        if !o.groups.is_empty() {
            let g: Vec<String> = o.groups.iter().map(|g| clean(g)).collect();
            pairs.push(("groups", g.join(", ")));
        }
        if !o.actions.is_empty() {
            let a: Vec<String> = o.actions.iter().map(|a| clean(a)).collect();
            let each = o.action_duration_secs.map_or_else(String::new, |s| {
                format!(", at most {} per run", human_secs(s))
            });
            pairs.push(("actions", format!("{} (one run each{each})", a.join(", "))));
        }
        out.push_str(&fields(&pairs));
    }
    out
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
