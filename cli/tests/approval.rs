//! Approvers' commands against the scripted fake daemon: approve, deny,
//! the texts to sign, list --pending, review.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use elevated_proto::{
    DecideOn, DecisionTextQuery, ErrorCode, ListFilter, Request, RequestState, Response,
    ReviewNote, Verdict,
};
use serde_json::Value;
use support::*;

const ARMORED: &str =
    "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQ==\n-----END SSH SIGNATURE-----\n";

fn half_approved() -> elevated_proto::RequestView {
    let mut v = view(RequestState::Pending, "db-admin");
    v.approvals_given = 1;
    v
}

#[test]
fn approve_as_oneself_prints_the_count_and_exits_0() {
    let fake = Fake::start(vec![one(half_approved())]);
    let out = fake.run(&["approve", "k3f9x2ma", "--comment", "looks right"]);
    assert_eq!(status(&out), 0, "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "k3f9x2ma pending: db-admin for alice on db1, approvals 1/2 (waiting for 1 more approval)\n"
    );
    assert_eq!(
        fake.seen(),
        [Request::Approve(DecideOn {
            id: id("k3f9x2ma"),
            comment: Some("looks right".into()),
            signature: None,
        })]
    );
}

#[test]
fn deny_with_a_signature_sends_the_file_text() {
    let dir = tempfile::tempdir().unwrap();
    let sig = dir.path().join("k3f9x2ma.txt.sig");
    std::fs::write(&sig, ARMORED).unwrap();
    let fake = Fake::start(vec![one(view(RequestState::Denied, "db-admin"))]);
    let out = fake.run(&[
        "--json",
        "deny",
        "k3f9x2ma",
        "--signature",
        sig.to_str().unwrap(),
    ]);
    assert_eq!(status(&out), 0, "a decision taken is success");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["state"], "denied");
    assert_eq!(
        fake.seen(),
        [Request::Deny(DecideOn {
            id: id("k3f9x2ma"),
            comment: None,
            signature: Some(ARMORED.into()),
        })]
    );
}

#[test]
fn approve_with_a_signature_sends_the_file_text() {
    let dir = tempfile::tempdir().unwrap();
    let sig = dir.path().join("a.sig");
    std::fs::write(&sig, ARMORED).unwrap();
    let fake = Fake::start(vec![one(view(RequestState::Active, "db-admin"))]);
    let out = fake.run(&["approve", "k3f9x2ma", "--signature", sig.to_str().unwrap()]);
    assert_eq!(status(&out), 0, "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("k3f9x2ma active: db-admin"));
    assert!(matches!(
        &fake.seen()[..],
        [Request::Approve(DecideOn { signature: Some(s), comment: None, .. })] if s == ARMORED
    ));
}

#[test]
fn oversized_or_missing_signature_files_exit_2_without_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.sig");
    std::fs::write(&big, vec![b'A'; 64 * 1024 + 1]).unwrap();
    let fake = Fake::start(vec![]);
    let out = fake.run(&["approve", "k3f9x2ma", "--signature", big.to_str().unwrap()]);
    assert_eq!(status(&out), 2);
    assert!(
        text(&out.stderr).contains("larger than 64 KiB"),
        "{}",
        text(&out.stderr)
    );
    let out = fake.run(&["deny", "k3f9x2ma", "--signature", "/nonexistent/x.sig"]);
    assert_eq!(status(&out), 2);
    assert!(text(&out.stderr).contains("/nonexistent/x.sig"));
    assert!(fake.seen().is_empty());
}

#[test]
fn refused_decisions_map_daemon_errors() {
    let fake = Fake::start(vec![
        error(ErrorCode::Forbidden, "you may not approve your own request"),
        error(ErrorCode::NotFound, "no request abcd1234"),
        error(ErrorCode::BadRequest, "the signature does not verify"),
    ]);
    let out = fake.run(&["approve", "k3f9x2ma"]);
    assert_eq!(status(&out), 1);
    assert!(text(&out.stderr).contains("your own request"));
    assert_eq!(status(&fake.run(&["deny", "abcd1234"])), 2);
    assert_eq!(status(&fake.run(&["approve", "abcd1234"])), 2);
}

#[test]
fn approval_text_is_printed_byte_for_byte() {
    let signed = "elevated decision v2\ndecision: approve\nrequest: k3f9x2ma\nround: 0\nhost: db1\nrequester: alice (uid 1000)\nrole: db-admin\nduration: 1800s\ncommand: [\"/bin/echo\",\"say \\\"hi\\\"\\tthere\"]\nvalid-until: 2099-01-31T10:30:00Z";
    let fake = Fake::start(vec![
        answer(Response::Text {
            text: signed.into(),
        }),
        answer(Response::Text {
            text: "deny\n".into(),
        }),
        answer(Response::Text {
            text: signed.into(),
        }),
    ]);
    let out = fake.run(&["show", "k3f9x2ma", "--approval-text"]);
    assert_eq!(status(&out), 0);
    assert_eq!(out.stdout, signed.as_bytes());
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let out = fake.run(&["show", "k3f9x2ma", "--denial-text"]);
    assert_eq!(out.stdout, b"deny\n");
    let out = fake.run(&["--json", "show", "k3f9x2ma", "--approval-text"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, serde_json::json!({ "text": signed }));
    assert_eq!(
        fake.seen(),
        [
            Request::DecisionText(DecisionTextQuery {
                id: id("k3f9x2ma"),
                decision: Verdict::Approve
            }),
            Request::DecisionText(DecisionTextQuery {
                id: id("k3f9x2ma"),
                decision: Verdict::Deny
            }),
            Request::DecisionText(DecisionTextQuery {
                id: id("k3f9x2ma"),
                decision: Verdict::Approve
            }),
        ]
    );
}

#[test]
fn show_pending_prints_the_remote_approval_recipe() {
    let fake = Fake::start(vec![one(half_approved())]);
    let out = fake.run(&["show", "k3f9x2ma"]);
    assert_eq!(status(&out), 0);
    let stdout = text(&out.stdout);
    for want in [
        "approvals:      1/2",
        "approvers:      2 of group dba-leads",
        "elevate show k3f9x2ma --approval-text > k3f9x2ma.txt",
        "ssh-keygen -Y sign -f ~/.ssh/id_ed25519 -n elevated-approval k3f9x2ma.txt",
        "elevate approve k3f9x2ma --signature k3f9x2ma.txt.sig",
    ] {
        assert!(stdout.contains(want), "{want:?} missing in\n{stdout}");
    }
}

#[test]
fn list_pending_shows_the_approvers_columns() {
    let mut v = half_approved();
    v.ticket = Some("INC-42".into());
    let fake = Fake::start(vec![
        answer(Response::Requests {
            requests: vec![v],
            truncated: false,
        }),
        answer(Response::Requests {
            requests: vec![],
            truncated: false,
        }),
    ]);
    let out = fake.run(&["list", "--pending"]);
    assert_eq!(status(&out), 0, "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    let head: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        head,
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
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(&row[..5], ["k3f9x2ma", "alice", "db-admin", "db1", "1/2"]);
    assert_eq!(&row[row.len() - 2..], ["INC-42", "INC-42"], "{stdout}");
    let out = fake.run(&["list", "--unreviewed"]);
    assert_eq!(text(&out.stdout), "no unreviewed break-glass grants\n");
    assert_eq!(
        fake.seen(),
        [
            Request::List(ListFilter {
                pending: true,
                all: false,
                unreviewed: false
            }),
            Request::List(ListFilter {
                pending: false,
                all: false,
                unreviewed: true
            }),
        ]
    );
}

#[test]
fn review_closes_a_break_glass_grant() {
    let mut v = view(RequestState::Expired, "db-admin");
    v.break_glass = true;
    v.reviewed = Some("bob at 2025-01-31T12:00:00Z".into());
    let fake = Fake::start(vec![one(v)]);
    let out = fake.run(&["review", "k3f9x2ma", "--comment", "fixed the outage"]);
    assert_eq!(status(&out), 0, "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("reviewed  bob at 2025-01-31T12:00:00Z"));
    assert_eq!(
        fake.seen(),
        [Request::Review(ReviewNote {
            id: id("k3f9x2ma"),
            comment: Some("fixed the outage".into()),
        })]
    );
}
