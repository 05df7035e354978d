//! What people and scripts read, against the real daemon: windows under a
//! second refused by client and daemon, times as RFC 3339 to the whole
//! second (views, audit rows and their details, syslog lines), durations
//! in words, messages that read once and naturally, the audit limit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use elevated_proto::{
    AuditQuery, ErrorCode, ExtendBy, GrantId, NewRequest, Request, Response, RoleName,
};
use elevated_testkit::output::json;
use elevated_tests::daemon::text;
use elevated_tests::{require_root, Daemon, TestGroup, TestUser};
use serde_json::Value;

const OPS: &str = "[roles.ops]\nsudo = { commands = [\"/usr/bin/id\"] }\n\
                   default_duration = \"10m\"\nmax_duration = \"2h\"\n\n[[rules]]\nrole = \"ops\"\n";

fn ops_daemon() -> Daemon {
    require_root();
    let mut d = Daemon::new("");
    d.policy("10-ops.toml", OPS);
    d.start();
    d
}

/// Whether `s` is RFC 3339 in UTC to the whole second.
fn whole_second(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 20
        && b[10] == b'T'
        && b[19] == b'Z'
        && s.parse::<jiff::Timestamp>().is_ok()
        && !s.contains('.')
}

fn error_code(r: Response) -> (ErrorCode, String) {
    match r {
        Response::Error { code, message } => (code, message),
        other => panic!("not an error: {other:?}"),
    }
}

#[test]
fn windows_under_a_second_are_refused_by_client_and_daemon() {
    let d = ops_daemon();
    for args in [
        &["request", "ops", "--for", "500ms"][..],
        &["run", "--for", "999ms", "--", "/usr/bin/id"],
    ] {
        let out = d.elevate(None, args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("shorter than one second"), "{stderr}");
    }
    let none: i64 = d
        .db()
        .query_row("SELECT count(*) FROM requests", [], |r| r.get(0))
        .unwrap();
    assert_eq!(none, 0, "the daemon was asked");
    // A fraction past the first second is rounded up.
    let v = json(&d.elevate(None, &["--json", "request", "ops", "--for", "1500ms"]));
    assert_eq!(v["duration_secs"], 2, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    let out = d.elevate(None, &["extend", &id, "--for", "500ms"]);
    assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));
    // The daemon does not trust the client: no zero-length window either.
    let mut c = d.client();
    let (code, message) = error_code(
        c.call(Request::Request(NewRequest {
            role: RoleName::parse("ops").unwrap(),
            duration_secs: Some(0),
            command: None,
            reason: None,
            ticket: None,
        }))
        .unwrap(),
    );
    assert_eq!(code, ErrorCode::BadRequest, "{message}");
    let (code, message) = error_code(
        c.call(Request::Extend(ExtendBy {
            id: GrantId::parse(&id).unwrap(),
            duration_secs: 0,
            reason: None,
        }))
        .unwrap(),
    );
    assert_eq!(code, ErrorCode::BadRequest, "{message}");
}

#[test]
fn times_are_rfc3339_to_the_second_in_views_audit_and_syslog() {
    require_root();
    let mut d = Daemon::new("");
    d.policy("10-ops.toml", OPS);
    let log = UnixDatagram::bind(d.dir.path().join("syslog.sock")).unwrap();
    log.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    d.start();
    let v = json(&d.elevate(None, &["--json", "request", "ops"]));
    assert_eq!(v["state"], "active", "{v}");
    for key in ["requested_at", "decided_at", "starts_at", "expires_at"] {
        assert!(whole_second(v[key].as_str().unwrap()), "{key}: {v}");
    }
    let id = v["id"].as_str().unwrap().to_owned();
    let rows = json(&d.elevate(None, &["--json", "audit"]));
    let rows = rows["rows"].as_array().unwrap();
    let granted = rows
        .iter()
        .find(|r| r["event"] == "granted")
        .unwrap_or_else(|| panic!("{rows:?}"));
    for row in rows {
        assert!(whole_second(row["at"].as_str().unwrap()), "{row}");
    }
    assert_eq!(granted["detail"]["starts_at"], v["starts_at"], "{granted}");
    assert_eq!(
        granted["detail"]["expires_at"], v["expires_at"],
        "{granted}"
    );
    // The text listing shows the same.
    let (listing, _) = text(&d.elevate(None, &["audit"]));
    let want = format!("\"expires_at\":{}", granted["detail"]["expires_at"]);
    assert!(listing.contains(&want), "{listing}");
    // Stored as written (milliseconds), so the chain of old rows and new
    // still verifies.
    let stored: String = d
        .db()
        .query_row(
            "SELECT detail FROM audit WHERE event = 'granted' AND request_id = ?1",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert!(stored["expires_at"].is_i64(), "{stored}");
    let out = d.elevate(None, &["audit", "--verify"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    // The syslog line says what `elevate audit` says.
    let mut buf = vec![0u8; 65536];
    let line = loop {
        let n = log.recv(&mut buf).expect("a syslog line for the grant");
        let line = String::from_utf8_lossy(&buf[..n]).into_owned();
        if line.contains("event=granted") {
            break line;
        }
    };
    assert!(line.contains(&want), "{line}");
}

#[test]
fn extension_messages_say_durations_in_words() {
    let d = ops_daemon();
    let v = json(&d.elevate(None, &["--json", "request", "ops"]));
    let id = v["id"].as_str().unwrap();
    let v = json(&d.elevate(None, &["--json", "extend", id, "--for", "20m6s"]));
    let message = v["message"].as_str().unwrap();
    assert!(
        message.starts_with("extended by 20m 6s until "),
        "{message}"
    );
    assert!(
        whole_second(&message["extended by 20m 6s until ".len()..]),
        "{message}"
    );
}

#[test]
fn an_audit_limit_above_the_cap_is_refused() {
    let d = ops_daemon();
    let out = d.elevate(None, &["audit", "--limit", "10001"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("from 1 to 10000 rows"), "{stderr}");
    let out = d.elevate(None, &["audit", "--limit", "10000"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let (code, message) = error_code(
        d.client()
            .call(Request::Audit(AuditQuery {
                since: None,
                limit: Some(10_001),
            }))
            .unwrap(),
    );
    assert_eq!(code, ErrorCode::BadRequest, "{message}");
    assert!(message.contains("10000"), "{message}");
}

#[test]
fn approvals_and_timeouts_read_naturally() {
    require_root();
    let leads = TestGroup::new("lead");
    let alice = TestUser::new("a", &[]);
    let lead = TestUser::new("l", &[&leads]);
    let mut d = Daemon::new("");
    d.policy(
        "10-db.toml",
        &format!(
            "[roles.db]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\n\n\
             [roles.quick]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\n\n\
             [[rules]]\nrole = \"db\"\nwho = {{ users = [\"{a}\"] }}\n\
             approval = {{ count = 2, approvers = {{ groups = [\"{g}\"] }} }}\n\n\
             [[rules]]\nrole = \"quick\"\nwho = {{ users = [\"{a}\"] }}\n\
             approval = {{ count = 1, approvers = {{ groups = [\"{g}\"] }}, timeout = \"2s\" }}\n",
            a = alice.name,
            g = leads.name
        ),
    );
    d.start();
    let v = json(&d.elevate(Some(&alice), &["--json", "request", "db", "--no-wait"]));
    assert_eq!(v["approvers"], format!("group {}", leads.name), "{v}");
    let id = v["id"].as_str().unwrap();
    let out = d.elevate(Some(&lead), &["approve", id]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "{id} pending: db for {} on {}, approvals 1/2 (waiting for 1 more approval)\n",
            alice.name, d.host
        )
    );
    let out = d.elevate(Some(&alice), &["request", "quick"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    let id = stdout.split_whitespace().next().unwrap();
    let last = stderr.lines().last().unwrap();
    assert_eq!(
        last,
        format!("elevate: request {id} for quick timed out: nobody decided in time")
    );
}
