//! Webhook payloads: generic JSON, Slack and Microsoft Teams.
//!
//! Text a requester or approver typed (reason, ticket, comment) and every
//! other string are escaped for the chat format, so no message can carry a
//! mention, a link or formatting that the daemon did not put there.

use elevated_proto::APPROVAL_NAMESPACE;
use serde_json::{json, Value};

use super::config::WebhookFormat;
use super::event::{Event, EventKind};

/// Longest text put in one Slack field or Teams text block, in bytes after
/// escaping; longer text is cut and ends with `…`.
const MAX_FIELD: usize = 1900;
/// Longest code block (approval text), in bytes after escaping.
const MAX_CODE: usize = 2900;

/// The request body for `format`.
#[must_use]
pub fn payload(format: WebhookFormat, event: &Event) -> String {
    match format {
        WebhookFormat::Json => event.to_json(),
        WebhookFormat::Slack => slack(event).to_string(),
        WebhookFormat::Teams => teams(event).to_string(),
    }
}

/// Escapes text for Slack `mrkdwn`: `&`, `<` and `>` become entities, so
/// `<!channel>`, `<@U123>` and `<http://x|label>` stay plain text.
#[must_use]
pub fn slack_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for the Markdown subset of Adaptive Cards: every character
/// that could start emphasis, a link, an autolink, HTML or an entity is
/// backslash-escaped, and quote, list or heading markers at a line's start
/// too.
#[must_use]
pub fn teams_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut line_start = true;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' | '*' | '_' | '[' | ']' | '`' | '~' | '<' | '>' | '&' => {
                out.push('\\');
                out.push(c);
            }
            '-' | '+' | '=' | '#' if line_start => {
                out.push('\\');
                out.push(c);
            }
            c if line_start && c.is_ascii_digit() => {
                // "1." or "1)" at a line's start makes an ordered list.
                out.push(c);
                while let Some(d) = chars.next_if(char::is_ascii_digit) {
                    out.push(d);
                }
                if chars.next_if_eq(&'.').is_some() {
                    out.push_str("\\.");
                }
            }
            c => out.push(c),
        }
        line_start = c == '\n' || (line_start && c == ' ');
    }
    out
}

/// Escapes `s` with `esc`; when that is longer than `max` bytes, escapes
/// the longest prefix that fits instead (so no escape is ever split) and
/// ends it with `…`.
fn bounded(s: &str, max: usize, esc: fn(&str) -> String) -> String {
    let full = esc(s);
    if full.len() <= max {
        return full;
    }
    let budget = max.saturating_sub('…'.len_utf8());
    // Byte length of the first k characters is ends[k].
    let ends: Vec<usize> = std::iter::once(0)
        .chain(s.char_indices().map(|(i, c)| i + c.len_utf8()))
        .collect();
    // The largest k whose escaped prefix fits (escaping never shrinks as a
    // prefix grows).
    let (mut lo, mut hi) = (0, ends.len() - 1);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if esc(&s[..ends[mid]]).len() <= budget {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let mut out = esc(&s[..ends[lo]]);
    out.push('…');
    out
}

/// One sentence saying what happened, its parts escaped with `esc`.
fn headline(e: &Event, esc: fn(&str) -> String) -> String {
    let (user, role, host) = (esc(&e.user), esc(&e.role), esc(&e.host));
    let dur = e.duration_text();
    match e.kind {
        EventKind::RequestCreated => {
            format!("{user} requests {role} on {host} for {dur}")
        }
        EventKind::Approved => format!("{user} was granted {role} on {host} for {dur}"),
        EventKind::Denied => format!("{user} was refused {role} on {host}"),
        EventKind::Expired => format!("{user}'s {role} on {host} has ended ({})", esc(&e.state)),
        EventKind::BreakGlass => {
            format!("{user} took {role} on {host} for {dur} WITHOUT APPROVAL (break-glass)")
        }
        EventKind::ExpiryWarning => match &e.expires_at {
            Some(t) => format!("{user}'s {role} on {host} ends at {}", esc(t)),
            None => format!("{user}'s {role} on {host} ends soon"),
        },
    }
}

/// (label, value) pairs shown as fields, values escaped with `esc`.
fn facts(e: &Event, esc: fn(&str) -> String) -> Vec<(&'static str, String)> {
    let mut f = vec![
        ("Host", bounded(&e.host, MAX_FIELD, esc)),
        ("User", bounded(&e.user, MAX_FIELD, esc)),
        ("Role", bounded(&e.role, MAX_FIELD, esc)),
        ("Duration", e.duration_text()),
    ];
    if e.approvals_needed > 0 {
        f.push((
            "Approvals",
            format!("{} of {}", e.approvals_given, e.approvals_needed),
        ));
        if !e.approvers.is_empty() {
            f.push(("Approvers", bounded(&e.approvers, MAX_FIELD, esc)));
        }
    }
    let optional = [
        ("Ticket", &e.ticket),
        ("Decided by", &e.decided_by),
        ("Expires", &e.expires_at),
    ];
    for (label, value) in optional {
        if let Some(v) = value {
            f.push((label, bounded(v, MAX_FIELD, esc)));
        }
    }
    f
}

fn slack_code(s: &str) -> String {
    format!("```{}```", bounded(s, MAX_CODE, slack_escape))
}

/// A Slack incoming-webhook message.
#[must_use]
pub fn slack(e: &Event) -> Value {
    let title = format!("{} {}", e.kind.title(), e.id);
    let head = headline(e, slack_escape);
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": bounded(&title, 150, str::to_string)}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": head}}),
        json!({"type": "section", "fields": facts(e, slack_escape)
            .into_iter()
            .map(|(k, v)| json!({"type": "mrkdwn", "text": format!("*{k}*\n{v}")}))
            .collect::<Vec<_>>()}),
    ];
    let reason = e.reason.as_deref().map_or_else(
        || "_none given_".to_string(),
        |r| {
            format!(
                ">{}",
                bounded(r, MAX_FIELD, slack_escape).replace('\n', "\n>")
            )
        },
    );
    blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*Reason*\n{reason}")}}));
    if let Some(c) = &e.comment {
        let c = bounded(c, MAX_FIELD, slack_escape).replace('\n', "\n>");
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*Comment*\n>{c}")}}));
    }
    if let Some(cmd) = &e.approve_command {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn",
            "text": format!("*Approve on the host:*\n{}", slack_code(cmd))}}));
    }
    if let Some(text) = &e.approval_text {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn",
            "text": format!("*Or approve remotely:* sign this exact text with `ssh-keygen -Y sign -n {}` and submit the signature with `elevate approve {} --signature FILE`\n{}",
                APPROVAL_NAMESPACE, slack_escape(&e.id), slack_code(text))}}));
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn",
        "text": format!("elevated · request {} · state {} · {}", slack_escape(&e.id), slack_escape(&e.state), slack_escape(&e.at))}]}));
    let mut text = format!("{}: {head}", e.kind.title());
    if let Some(cmd) = &e.approve_command {
        text.push_str(&format!(" — approve with: {}", slack_escape(cmd)));
    }
    json!({"text": text, "blocks": blocks})
}

fn teams_text(text: String) -> Value {
    json!({"type": "TextBlock", "text": text, "wrap": true})
}

/// Monospace text, one block per line so that line breaks survive.
fn teams_code(s: &str) -> Value {
    let lines: Vec<Value> = bounded(s, MAX_CODE, str::to_string)
        .lines()
        .map(|l| {
            json!({"type": "TextBlock", "text": teams_escape(l), "fontType": "Monospace",
                   "wrap": true, "spacing": "None"})
        })
        .collect();
    json!({"type": "Container", "style": "emphasis", "items": lines})
}

/// A Microsoft Teams message carrying an Adaptive Card (accepted by Teams
/// workflow webhooks and by the older incoming-webhook connectors).
#[must_use]
pub fn teams(e: &Event) -> Value {
    let urgent = matches!(e.kind, EventKind::BreakGlass | EventKind::Denied);
    let mut body = vec![
        json!({"type": "TextBlock", "text": teams_escape(&format!("{} {}", e.kind.title(), e.id)),
               "weight": "Bolder", "size": "Medium", "wrap": true,
               "color": if urgent { "Attention" } else { "Default" }}),
        teams_text(headline(e, teams_escape)),
        json!({"type": "FactSet", "facts": facts(e, teams_escape)
            .into_iter()
            .map(|(k, v)| json!({"title": k, "value": v}))
            .collect::<Vec<_>>()}),
        teams_text("**Reason**".into()),
        teams_text(e.reason.as_deref().map_or_else(
            || "_none given_".into(),
            |r| bounded(r, MAX_FIELD, teams_escape).replace('\n', "\n\n"),
        )),
    ];
    if let Some(c) = &e.comment {
        body.push(teams_text("**Comment**".into()));
        body.push(teams_text(
            bounded(c, MAX_FIELD, teams_escape).replace('\n', "\n\n"),
        ));
    }
    if let Some(cmd) = &e.approve_command {
        body.push(teams_text("**Approve on the host:**".into()));
        body.push(teams_code(cmd));
    }
    if let Some(text) = &e.approval_text {
        body.push(teams_text(format!(
            "**Or approve remotely:** sign this exact text with `ssh-keygen -Y sign -n {}` and submit the signature with `elevate approve {} --signature FILE`",
            APPROVAL_NAMESPACE,
            e.id.replace('`', "")
        )));
        body.push(teams_code(text));
    }
    body.push(json!({"type": "TextBlock", "isSubtle": true, "size": "Small", "wrap": true,
        "text": teams_escape(&format!("elevated · request {} · state {} · {}", e.id, e.state, e.at))}));
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "msteams": {"width": "Full"},
                "body": body,
            }
        }]
    })
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;
