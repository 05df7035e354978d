use super::*;
use crate::testutil::{offer, sudo, view};
use elevated_proto::RequestState::*;

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
    assert_eq!(out, "k3f9x2ma pending: db-admin (needs 2 approvals)\n");
    assert_eq!(
        err.unwrap(),
        "request k3f9x2ma for db-admin is still pending"
    );
    assert_eq!(
        waiting_line(&v),
        "request k3f9x2ma: pending (needs 2 approvals)"
    );
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
    let r = roles("db1", &[o, offer("ops", false, None)]);
    assert!(
        r.starts_with("roles on db1:\ndb-admin  the db-admin role\n"),
        "{r}"
    );
    assert!(r.contains("may request  yes, after 2 approvals"), "{r}");
    assert!(r.contains("30m by default, at most 2h"), "{r}");
    assert!(r.contains("groups       adm"), "{r}");
    assert!(r.contains("may request  no"), "{r}");
}
