use serde_json::Value;

use super::*;
use crate::notify::testutil::event;

/// Every string in a JSON value, concatenated with newlines.
fn strings(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s}\n"),
        Value::Array(a) => a.iter().map(strings).collect(),
        Value::Object(o) => o.values().map(strings).collect(),
        _ => String::new(),
    }
}

fn assert_no_injection(all: &str, bad: &[&str]) {
    for bad in bad {
        assert!(!all.contains(bad), "{bad:?} reached the payload:\n{all}");
    }
}

#[test]
fn json_payload_carries_every_field_and_the_kind() {
    let v: Value =
        serde_json::from_str(&payload(WebhookFormat::Json, &event(EventKind::Approved))).unwrap();
    assert_eq!(v["event"], "approved");
    assert_eq!(v["id"], "k3f9x2ma");
    assert_eq!(v["duration_secs"], 1800);
    assert_eq!(v["approvals_needed"], 2);
    assert_eq!(v["decided_by"], Value::Null);
    assert_eq!(v["approve_command"], "elevate approve k3f9x2ma");
    let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    for k in [
        "event",
        "id",
        "host",
        "user",
        "role",
        "state",
        "reason",
        "ticket",
        "duration_secs",
        "approvals_needed",
        "approvals_given",
        "approvers",
        "decided_by",
        "comment",
        "expires_at",
        "at",
        "approval_text",
        "approve_command",
    ] {
        assert!(keys.iter().any(|x| x == k), "missing {k}");
    }
    assert_eq!(keys.len(), 18);
    // The generic payload keeps the requester's text as typed.
    assert!(v["reason"].as_str().unwrap().starts_with("<!channel>"));
}

#[test]
fn slack_has_text_blocks_and_what_an_approver_needs() {
    let v = slack(&event(EventKind::RequestCreated));
    let text = v["text"].as_str().unwrap();
    assert!(
        text.contains("alice requests db-admin on web1 for 30m"),
        "{text}"
    );
    assert!(text.contains("elevate approve k3f9x2ma"), "{text}");
    let blocks = v["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    let all = strings(&v["blocks"]);
    assert!(all.contains("```elevate approve k3f9x2ma```"), "{all}");
    assert!(
        all.contains(&format!(
            "```{}```",
            event(EventKind::RequestCreated).approval_text.unwrap()
        )),
        "{all}"
    );
    assert!(all.contains("ssh-keygen -Y sign -n elevated-approval"));
    assert!(all.contains("*Approvals*\n0 of 2"));
    assert!(all.contains("*Approvers*\ngroup dba-leads; principal carol@corp"));
    // Slack allows at most ten fields in a section.
    for b in blocks {
        if let Some(f) = b.get("fields") {
            assert!(f.as_array().unwrap().len() <= 10);
        }
    }
}

#[test]
fn slack_escapes_requester_text() {
    let mut e = event(EventKind::Denied);
    e.comment = Some("no <!here> & <https://x.example|docs>".into());
    e.decided_by = Some("bob <!everyone>".into());
    let v = slack(&e);
    let all = format!("{}{}", strings(&v), v["text"]);
    assert_no_injection(&all, &["<!channel>", "<http://evil|click>", "<@U123>"]);
    for bad in ["<!here>", "<https://x.example", "<!everyone>"] {
        assert!(!all.contains(bad), "{bad}");
    }
    assert!(
        all.contains("&lt;!channel&gt; see &lt;http://evil|click&gt; &amp; "),
        "{all}"
    );
    assert!(all.contains("OPS-42 &lt;@U123&gt;"), "{all}");
    // Nothing outside the three entities is left unescaped in mrkdwn.
    assert!(!all.contains("& "), "{all}");
}

#[test]
fn slack_escape_and_bounds() {
    assert_eq!(slack_escape("a<b>&c"), "a&lt;b&gt;&amp;c");
    let long = "&".repeat(5000);
    let mut e = event(EventKind::RequestCreated);
    e.reason = Some(long);
    let v = slack(&e);
    for b in v["blocks"].as_array().unwrap() {
        if let Some(t) = b["text"]["text"].as_str() {
            assert!(t.len() <= 3000, "block of {} bytes", t.len());
            // Cut between entities, never inside one.
            if t.contains('…') {
                assert!(t.trim_end_matches('…').ends_with("&amp;"));
            }
        }
    }
}

#[test]
fn teams_is_an_adaptive_card_with_the_same_information() {
    let v = teams(&event(EventKind::RequestCreated));
    assert_eq!(v["type"], "message");
    let att = &v["attachments"][0];
    assert_eq!(
        att["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &att["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert!(card["version"].as_str().unwrap().starts_with("1."));
    let body = card["body"].as_array().unwrap();
    assert!(body.iter().any(|b| b["type"] == "FactSet"));
    let all = strings(card);
    assert!(
        all.contains("alice requests db-admin on web1 for 30m"),
        "{all}"
    );
    assert!(all.contains("elevate approve k3f9x2ma"), "{all}");
    for line in [
        "elevated decision v2",
        "request: k3f9x2ma",
        "host: web1",
        "role: db-admin",
    ] {
        assert!(all.contains(line), "{line} missing in {all}");
    }
    let facts = body.iter().find(|b| b["type"] == "FactSet").unwrap();
    let facts = facts["facts"].as_array().unwrap();
    assert!(facts
        .iter()
        .any(|f| f["title"] == "Approvals" && f["value"] == "0 of 2"));
    assert!(facts
        .iter()
        .any(|f| f["title"] == "Role" && f["value"] == "db-admin"));
}

#[test]
fn teams_escapes_requester_text() {
    let mut e = event(EventKind::Approved);
    e.comment = Some("- ok\n1. [x](http://evil)\n# big".into());
    let all = strings(&teams(&e));
    assert_no_injection(
        &all,
        &[
            "<!channel>",
            "<http://evil|click>",
            "<@U123>",
            "[click](http://evil)",
            "[x](http",
        ],
    );
    assert!(all.contains("\\<!channel\\>"), "{all}");
    assert!(all.contains("\\[click\\](http://evil)"), "{all}");
    assert!(all.contains("\\*now\\*"), "{all}");
    assert!(all.contains("\\- ok"), "{all}");
    assert!(all.contains("1\\. \\[x\\]"), "{all}");
    assert!(all.contains("\\# big"), "{all}");
}

#[test]
fn teams_escape_cases() {
    assert_eq!(teams_escape("a_b*c"), "a\\_b\\*c");
    assert_eq!(teams_escape("x - y"), "x - y");
    assert_eq!(teams_escape("> quote"), "\\> quote");
    assert_eq!(teams_escape("12. item"), "12\\. item");
    assert_eq!(teams_escape("12 items"), "12 items");
    assert_eq!(teams_escape("a\n  + b"), "a\n  \\+ b");
}

#[test]
fn every_kind_has_a_readable_headline() {
    for kind in EventKind::ALL {
        let mut e = event(kind);
        e.expires_at = Some("2026-03-02T10:30:00Z".into());
        let text = slack(&e)["text"].as_str().unwrap().to_string();
        assert!(text.starts_with(kind.title()), "{text}");
        assert!(
            text.contains("alice") && text.contains("db-admin") && text.contains("web1"),
            "{text}"
        );
        serde_json::from_str::<Value>(&payload(WebhookFormat::Teams, &e)).unwrap();
    }
    let text = slack(&event(EventKind::BreakGlass))["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains("WITHOUT APPROVAL"), "{text}");
}

#[test]
fn cutting_keeps_whole_characters_and_escapes() {
    assert_eq!(bounded("ééé<", 5, slack_escape), "é…");
    assert_eq!(bounded("a<b", 10, slack_escape), "a&lt;b");
    assert_eq!(bounded("a<bcdef", 6, slack_escape), "a…");
    assert_eq!(bounded("<<", 3, slack_escape), "…");
    // Context-sensitive Teams escapes see the whole text.
    assert_eq!(bounded("db-admin", 100, teams_escape), "db-admin");
    assert_eq!(bounded("- x", 100, teams_escape), "\\- x");
}
