//! Text for one request: every detail (`show`), the remote-approval recipe,
//! and the confirmation of a decision.

use std::fmt::Write as _;
use std::time::SystemTime;

use elevated_proto::{ApprovalView, RequestView};

use crate::render::{
    approvals_ratio, awaiting, clean, decision_left, indent, left, or_dash, table,
};
use crate::timefmt::human_secs;

/// A command line as a shell would read it back: words with anything
/// unusual in single quotes.
#[must_use]
pub fn command_line(argv: &[String]) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c);
    let words: Vec<String> = argv
        .iter()
        .map(|w| {
            if !w.is_empty() && w.chars().all(safe) {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect();
    clean(&words.join(" "))
}

/// Every field of one view, for `show`; its decisions; and for a request
/// awaiting a decision, how to approve it from elsewhere.
#[must_use]
pub fn details(view: &RequestView, now: SystemTime) -> String {
    let mut expires = or_dash(view.expires_at.as_deref());
    if let Some(l) = left(view, now) {
        let _ = write!(expires, " ({l} left)");
    }
    let approvals_text = match view.approvals_needed {
        0 if view.break_glass => "0 (break-glass, review required)".to_owned(),
        0 => "0 (automatic)".to_owned(),
        n => format!("{}/{n}", view.approvals_given),
    };
    let mut pending_until = or_dash(view.pending_until.as_deref());
    if awaiting(view) {
        if let Some(l) = decision_left(view, now) {
            let _ = write!(pending_until, " ({l} left)");
        }
    }
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
    let mut pairs = vec![
        ("id", clean(&view.id)),
        ("state", view.state.to_string()),
        ("role", clean(&view.role)),
        ("user", format!("{} (uid {})", clean(&view.user), view.uid)),
        ("host", clean(&view.host)),
        ("reason", or_dash(view.reason.as_deref())),
        ("ticket", or_dash(view.ticket.as_deref())),
    ];
    if let Some(argv) = &view.command {
        pairs.push(("command", command_line(argv)));
    }
    pairs.extend([
        ("duration", human_secs(view.duration_secs)),
        ("requested", clean(&view.requested_at)),
        ("decided", or_dash(view.decided_at.as_deref())),
        ("starts", or_dash(view.starts_at.as_deref())),
        ("expires", expires),
        ("ended", or_dash(view.ended_at.as_deref())),
    ]);
    if let Some(secs) = view.extension_secs {
        pairs.push(("extension", format!("+{} pending", human_secs(secs))));
    }
    pairs.extend([
        ("approvals", approvals_text),
        ("approvers", or_dash(view.approvers.as_deref())),
        ("pending until", pending_until),
    ]);
    if view.break_glass {
        let review = match &view.reviewed {
            Some(r) => format!("yes, reviewed: {}", clean(r)),
            None => "yes, not reviewed yet (`elevate review ID`)".into(),
        };
        pairs.push(("break glass", review));
    }
    pairs.extend([
        ("rule", or_dash(view.rule.as_deref())),
        ("message", clean(&view.message)),
        ("sudo runas", runas),
        ("sudo commands", commands),
    ]);
    let rows: Vec<Vec<String>> = pairs
        .iter()
        .map(|(k, v)| vec![format!("{k}:"), v.clone()])
        .collect();
    let mut out = table(&rows);
    if !view.approvals.is_empty() {
        out.push_str("decisions:\n");
        out.push_str(&indent(&table(&decision_rows(&view.approvals))));
    }
    if awaiting(view) {
        out.push_str(&recipe(&clean(&view.id)));
    }
    out
}

/// One row per approver's decision.
fn decision_rows(approvals: &[ApprovalView]) -> Vec<Vec<String>> {
    approvals
        .iter()
        .map(|a| {
            let mut note = Vec::new();
            if a.round > 0 {
                note.push(format!("extension {}", a.round));
            }
            if let Some(k) = &a.key {
                note.push(format!("key {}", clean(k)));
            }
            if let Some(c) = &a.comment {
                note.push(format!("\"{}\"", clean(c)));
            }
            vec![
                clean(&a.approver),
                a.verdict.as_str().to_owned(),
                clean(&a.at),
                note.join("  "),
            ]
        })
        .collect()
}

/// How an approver without an account here decides: sign the text with
/// an SSH key listed in the host's allowed signers, then submit the
/// signature.
#[must_use]
pub fn recipe(id: &str) -> String {
    let ns = elevated_proto::APPROVAL_NAMESPACE;
    format!(
        "to approve with an SSH key (allowed signers), from anywhere:\n\
         \x20 elevate show {id} --approval-text > {id}.txt\n\
         \x20 ssh-keygen -Y sign -f ~/.ssh/id_ed25519 -n {ns} {id}.txt\n\
         \x20 elevate approve {id} --signature {id}.txt.sig\n\
         (to deny: --denial-text, then `elevate deny {id} --signature {id}.txt.sig`)\n"
    )
}

/// The result of `approve` or `deny`: `k3f9x2ma pending: db-admin for
/// alice on db1, approvals 1/2 (waiting for 1 more approval)`. While a
/// decision is still awaited, what is missing says more than the daemon's
/// message, which is still the one from when the request was made.
#[must_use]
pub fn decided(view: &RequestView) -> String {
    let mut s = format!(
        "{} {}: {} for {} on {}",
        clean(&view.id),
        view.state,
        clean(&view.role),
        clean(&view.user),
        clean(&view.host)
    );
    if let Some(secs) = view.extension_secs {
        let _ = write!(s, ", extension +{} pending", human_secs(secs));
    }
    let _ = write!(s, ", {}", approvals_ratio(view));
    let missing = view.approvals_needed.saturating_sub(view.approvals_given);
    if awaiting(view) && missing > 0 {
        let plural = if missing == 1 { "" } else { "s" };
        let _ = write!(s, " (waiting for {missing} more approval{plural})");
    } else if !view.message.is_empty() {
        let _ = write!(s, " ({})", clean(&view.message));
    }
    s.push('\n');
    s
}
