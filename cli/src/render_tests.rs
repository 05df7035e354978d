use super::*;
use elevated_proto::RequestState::*;
use elevated_proto::{ApprovalView, AuditEntry, Verdict};
use elevated_testkit::samples::{offer, sudo, view};

fn now() -> SystemTime {
    humantime::parse_rfc3339("2025-01-31T10:00:01Z").unwrap()
}

#[test]
fn tables_align() {
    let t = table(&[cols(&["ID", "ROLE", "X"]), cols(&["k3f9x2ma", "ops", ""])]);
    assert_eq!(t, "ID        ROLE  X\nk3f9x2ma  ops\n");
    assert_eq!(table(&[]), "");
}

#[test]
fn control_characters_are_escaped() {
    assert_eq!(clean("plain"), "plain");
    assert_eq!(clean("a\x1b[31mb\nc"), "a\\u{1b}[31mb\\nc");
}

#[test]
fn sudo_like_rights() {
    let mut s = sudo("postgres", &["/usr/bin/psql", "/usr/bin/pg_dump"]);
    assert_eq!(
        sudo_text(&s),
        "(postgres) NOPASSWD: /usr/bin/psql, /usr/bin/pg_dump"
    );
    s.nopasswd = false;
    assert_eq!(sudo_text(&s), "(postgres) /usr/bin/psql, /usr/bin/pg_dump");
}

#[test]
fn active_outcome_shows_window_and_rights() {
    let mut v = view("k3f9x2ma", "db-admin", Active);
    v.sudo = Some(sudo("postgres", &["/usr/bin/psql"]));
    v.message = "approved automatically".into();
    let (out, err) = outcome(&v, now());
    assert!(err.is_none());
    assert!(out.starts_with("k3f9x2ma active: db-admin\n"), "{out}");
    assert!(
        out.contains("2025-01-31T10:00:00Z to 2025-01-31T10:30:00Z (29m 59s left)"),
        "{out}"
    );
    assert!(out.contains("(postgres) NOPASSWD: /usr/bin/psql"), "{out}");
    assert!(out.contains("approved automatically"), "{out}");
    assert!(out.contains("sudo -l"), "{out}");
    v.remaining_secs = Some(60);
    assert!(outcome(&v, now()).0.contains("(1m left)"));
}

#[test]
fn other_outcomes_report_on_stderr() {
    let mut v = view("k3f9x2ma", "db-admin", Denied);
    v.message = "outside working hours".into();
    let (out, err) = outcome(&v, now());
    assert_eq!(out, "k3f9x2ma denied: db-admin\n");
    assert_eq!(
        err.unwrap(),
        "request k3f9x2ma for db-admin was denied: outside working hours"
    );
    let mut v = view("k3f9x2ma", "db-admin", Pending);
    v.approvals_needed = 2;
    let (out, err) = outcome(&v, now());
    assert_eq!(out, "k3f9x2ma pending: db-admin (approvals 0/2)\n");
    assert_eq!(
        err.unwrap(),
        "request k3f9x2ma for db-admin is still pending"
    );
    assert_eq!(
        waiting_line(&v, now()),
        "request k3f9x2ma: pending, approvals 0/2"
    );
}

#[test]
fn a_timed_out_request_says_why_once() {
    let mut v = view("k3f9x2ma", "db-admin", TimedOut);
    v.message = "nobody decided in time".into();
    assert_eq!(
        outcome(&v, now()).1.unwrap(),
        "request k3f9x2ma for db-admin timed out: nobody decided in time"
    );
    v.message.clear();
    assert_eq!(
        outcome(&v, now()).1.unwrap(),
        "request k3f9x2ma for db-admin timed out: nobody decided in time"
    );
}

#[test]
fn waiting_line_shows_approvals_approvers_and_time_left() {
    let mut v = view("k3f9x2ma", "db-admin", Pending);
    v.approvals_needed = 2;
    v.approvals_given = 1;
    v.approvers = Some("2 of group dba-leads".into());
    v.pending_until = Some("2025-01-31T10:12:01Z".into());
    assert_eq!(
        waiting_line(&v, now()),
        "request k3f9x2ma: pending, approvals 1/2, approvers: 2 of group dba-leads, 12m left"
    );
    let later = now() + std::time::Duration::from_secs(61);
    assert!(waiting_line(&v, later).ends_with(", 10m 59s left"));
    let mut ext = view("k3f9x2ma", "db-admin", Active);
    ext.extension_secs = Some(1800);
    ext.approvals_needed = 1;
    assert!(awaiting(&ext));
    assert_eq!(
        waiting_line(&ext, now()),
        "request k3f9x2ma: extension +30m pending, approvals 0/1"
    );
    let (out, err) = outcome(&ext, now());
    assert!(
        out.starts_with("k3f9x2ma active: db-admin (extension +30m pending, approvals 0/1)\n"),
        "{out}"
    );
    assert!(err.is_none());
    assert!(!awaiting(&view("k3f9x2ma", "db-admin", Active)));
}

fn decision(approver: &str, verdict: Verdict, round: u32) -> ApprovalView {
    ApprovalView {
        approver: approver.into(),
        verdict,
        comment: Some("ok \x1b[1m".into()),
        key: None,
        at: "2025-01-31T10:00:00Z".into(),
        round,
    }
}

#[test]
fn pending_details_carry_decisions_and_the_remote_recipe() {
    let mut v = view("k3f9x2ma", "db-admin", Pending);
    v.approvals_needed = 2;
    v.approvals_given = 1;
    v.approvers = Some("group dba-leads".into());
    v.pending_until = Some("2025-01-31T10:30:01Z".into());
    v.command = Some(vec![
        "/usr/bin/systemctl".into(),
        "restart".into(),
        "a b".into(),
    ]);
    let mut remote = decision("principal:carol@corp", Verdict::Approve, 0);
    remote.key = Some("SHA256:abc".into());
    v.approvals = vec![remote];
    let d = details(&v, now());
    for want in [
        "approvals:      1/2",
        "approvers:      group dba-leads",
        "pending until:  2025-01-31T10:30:01Z (30m left)",
        "command:        /usr/bin/systemctl restart 'a b'",
        "decisions:\n  principal:carol@corp  approve  2025-01-31T10:00:00Z  key SHA256:abc  \"ok \\u{1b}[1m\"",
        "elevate show k3f9x2ma --approval-text > k3f9x2ma.txt\n",
        "ssh-keygen -Y sign -f ~/.ssh/id_ed25519 -n elevated-approval k3f9x2ma.txt\n",
        "elevate approve k3f9x2ma --signature k3f9x2ma.txt.sig\n",
    ] {
        assert!(d.contains(want), "{want:?} missing in\n{d}");
    }
    let mut done = view("k3f9x2ma", "db-admin", Active);
    done.break_glass = true;
    let d = details(&done, now());
    assert!(!d.contains("ssh-keygen"), "{d}");
    assert!(d.contains("break glass:    yes, not reviewed yet"), "{d}");
}

#[test]
fn decisions_confirmed() {
    let mut v = view("k3f9x2ma", "db-admin", Pending);
    v.approvals_needed = 2;
    v.approvals_given = 1;
    v.message = "allowed by rule 1; needs 2 approvals".into();
    assert_eq!(
        decided(&v),
        "k3f9x2ma pending: db-admin for alice on db1, approvals 1/2 (waiting for 1 more approval)\n"
    );
    v.approvals_given = 0;
    assert!(decided(&v).ends_with(", approvals 0/2 (waiting for 2 more approvals)\n"));
    v.approvals_given = 1;
    v.state = Active;
    v.approvals_given = 2;
    v.message = "approved by bob, carol".into();
    assert_eq!(
        decided(&v),
        "k3f9x2ma active: db-admin for alice on db1, approvals 2/2 (approved by bob, carol)\n"
    );
    assert_eq!(
        command_line(&["/bin/echo".into(), "it's".into(), "".into(), "a=b".into()]),
        r#"/bin/echo 'it'\''s' '' a=b"#
    );
}

#[test]
fn pending_list_for_approvers() {
    assert_eq!(pending(&[], now()), "no pending requests\n");
    let mut v = view("k3f9x2ma", "db-admin", Pending);
    v.user = "bob".into();
    v.approvals_needed = 2;
    v.approvals_given = 1;
    v.requested_at = "2025-01-31T09:48:01Z".into();
    v.pending_until = Some("2025-01-31T10:18:01Z".into());
    v.reason = Some("x".repeat(60));
    v.ticket = Some("INC-42".into());
    let l = pending(&[v], now());
    let mut lines = l.lines();
    let head = lines.next().unwrap();
    let cols: Vec<&str> = head.split_whitespace().collect();
    assert_eq!(
        cols,
        [
            "ID",
            "REQUESTER",
            "ROLE",
            "HOST",
            "APPROVALS",
            "AGE",
            "LEFT",
            "REASON",
            "TICKET"
        ]
    );
    let row = lines.next().unwrap();
    let want = format!(
        "k3f9x2ma  bob        db-admin  db1   1/2        12m  18m   {}…  INC-42",
        "x".repeat(39)
    );
    assert_eq!(row, want);
}

#[test]
fn unreviewed_list() {
    assert_eq!(unreviewed(&[]), "no unreviewed break-glass grants\n");
    let mut v = view("k3f9x2ma", "db-admin", Expired);
    v.break_glass = true;
    v.starts_at = Some("2025-01-31T09:00:00Z".into());
    v.ended_at = Some("2025-01-31T09:45:00Z".into());
    let l = unreviewed(&[v]);
    assert!(
        l.starts_with("ID        USER   ROLE      HOST  STATE"),
        "{l}"
    );
    assert!(l.contains("expired  2025-01-31T09:00:00Z  45m"), "{l}");
}

#[test]
fn details_show_every_field() {
    let mut v = view("k3f9x2ma", "db-admin", Active);
    v.reason = Some("INC-42 vacuum".into());
    v.rule = Some("10-db.toml rule 1 (line 12)".into());
    v.sudo = Some(sudo("root", &["ALL"]));
    let d = details(&v, now());
    for want in [
        "id:",
        "k3f9x2ma",
        "INC-42 vacuum",
        "ticket:",
        "10-db.toml rule 1 (line 12)",
        "alice (uid 1000)",
        "30m",
        "2025-01-31T10:30:00Z (29m 59s left)",
        "0 (automatic)",
        "sudo runas:",
        "sudo commands:  ALL",
    ] {
        assert!(d.contains(want), "{want:?} missing in\n{d}");
    }
    v.break_glass = true;
    let d = details(&v, now());
    assert!(d.contains("0 (break-glass, review required)"), "{d}");
    assert!(!d.contains("automatic"), "{d}");
}

#[test]
fn status_sections() {
    assert_eq!(status(&[], now()), "no active grants or pending requests\n");
    let mut a = view("aaaa1111", "ops", Active);
    a.sudo = Some(sudo("root", &["/usr/bin/systemctl restart nginx"]));
    let p = view("bbbb2222", "db-admin", Pending);
    let s = status(&[a, p], now());
    assert!(s.starts_with("active grants:\n  ID"), "{s}");
    assert!(s.contains("aaaa1111  ops   29m 59s"), "{s}");
    assert!(s.contains("/usr/bin/systemctl restart nginx"), "{s}");
    assert!(s.contains("pending requests:\n"), "{s}");
    assert!(s.contains("bbbb2222  db-admin"), "{s}");
}

#[test]
fn list_and_audit() {
    assert_eq!(list(&[], now()), "no requests\n");
    let l = list(&[view("aaaa1111", "ops", Denied)], now());
    assert!(l.starts_with("ID        STATE   ROLE"), "{l}");
    assert!(l.contains("aaaa1111  denied  ops"), "{l}");
    assert_eq!(audit(&[]), "no audit rows\n");
    let row = AuditEntry {
        seq: 7,
        at: "2025-01-31T10:00:00Z".into(),
        event: "granted".into(),
        actor: "daemon".into(),
        request: Some("aaaa1111".into()),
        detail: serde_json::json!({"role": "ops"}),
        hash: "00".into(),
    };
    let a = audit(&[row]);
    assert!(a.contains("7    2025-01-31T10:00:00Z  granted"), "{a}");
    assert!(a.contains(r#"{"role":"ops"}"#), "{a}");
}

#[test]
fn roles_blocks() {
    assert_eq!(roles("db1", &[]), "no roles are defined on db1\n");
    let mut o = offer("db-admin", true, Some(sudo("postgres", &["/usr/bin/psql"])));
    o.approvals = 2;
    o.groups = vec!["adm".into()];
    let mut ops = offer("ops", false, None);
    ops.actions = vec!["/usr/bin/systemctl restart nginx".into()];
    let r = roles("db1", &[o, ops]);
    assert!(
        r.starts_with("roles on db1:\ndb-admin  the db-admin role\n"),
        "{r}"
    );
    assert!(r.contains("may request  yes, after 2 approvals"), "{r}");
    assert!(r.contains("30m by default, at most 2h"), "{r}");
    assert!(r.contains("groups       adm"), "{r}");
    assert!(r.contains("may request  no"), "{r}");
    assert!(
        r.contains("actions      /usr/bin/systemctl restart nginx (one run each)"),
        "{r}"
    );
    // A role that gives nothing but actions says so, with how long one
    // action may take, and shows no window of its own.
    let mut only = offer("restart", true, None);
    only.actions = vec!["/usr/bin/systemctl restart nginx".into()];
    only.action_duration_secs = Some(300);
    only.actions_only = true;
    let r = roles("db1", &[only]);
    assert!(
        r.contains("grants       just-in-time actions only: run one with `elevate run -- COMMAND`"),
        "{r}"
    );
    assert!(r.contains("(one run each, at most 5m per run)"), "{r}");
    assert!(!r.contains("by default"), "{r}");
}
