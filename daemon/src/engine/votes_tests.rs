use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;
use crate::config::principals::PrincipalList;

fn map(pairs: &[(&str, &[&str])]) -> PrincipalMap {
    let lists: BTreeMap<String, PrincipalList> = pairs
        .iter()
        .map(|(user, ps)| {
            (
                (*user).to_owned(),
                PrincipalList {
                    path: PathBuf::from("u.toml"),
                    line: 1,
                    principals: ps.iter().map(|p| (*p).to_owned()).collect(),
                },
            )
        })
        .collect();
    PrincipalMap::build(&lists).unwrap()
}

fn row(approver: &str, verdict: Verdict, key: Option<&str>) -> ApprovalRow {
    ApprovalRow {
        round: 0,
        approver: approver.to_owned(),
        verdict,
        comment: None,
        key: key.map(str::to_owned),
        at: 0,
    }
}

const A: Verdict = Verdict::Approve;
const D: Verdict = Verdict::Deny;

#[test]
fn a_mapped_principal_is_its_account() {
    let m = map(&[("bob", &["bob@corp", "bob@laptop"])]);
    assert_eq!(person_of("principal:bob@corp", &m), "user:bob");
    assert_eq!(person_of("principal:bob@laptop", &m), "user:bob");
    assert_eq!(person_of("user:bob", &m), "user:bob");
    assert_eq!(
        person_of("principal:carol@corp", &m),
        "principal:carol@corp"
    );
    // Only a principal is looked up: an account named like a principal is
    // not turned into another account.
    assert_eq!(person_of("user:bob@corp", &m), "user:bob@corp");
}

#[test]
fn one_person_counts_once_whatever_the_channel() {
    let m = map(&[("bob", &["bob@corp", "bob@laptop"])]);
    let t = tally(
        [
            ("user:bob", A),
            ("principal:bob@corp", A),
            ("principal:bob@laptop", A),
        ],
        "alice",
        &m,
    );
    assert_eq!(
        t,
        Tally {
            approvals: 1,
            denials: 0
        }
    );
    let t = tally(
        [
            ("user:bob", D),
            ("principal:bob@corp", D),
            ("principal:carol@corp", A),
            ("user:lead", A),
        ],
        "alice",
        &m,
    );
    assert_eq!(
        t,
        Tally {
            approvals: 2,
            denials: 1
        }
    );
    // Without a mapping they are two people: the limit the README states.
    let t = tally(
        [("user:bob", A), ("principal:bob@corp", A)],
        "alice",
        &PrincipalMap::default(),
    );
    assert_eq!(t.approvals, 2);
}

#[test]
fn the_requester_never_counts() {
    let m = map(&[("alice", &["alice@corp"])]);
    let t = tally(
        [
            ("principal:alice@corp", A),
            ("user:alice", A),
            ("principal:alice@corp", D),
            ("user:bob", A),
        ],
        "alice",
        &m,
    );
    assert_eq!(
        t,
        Tally {
            approvals: 1,
            denials: 0
        }
    );
}

#[test]
fn a_second_decision_by_person_or_key_is_found() {
    let m = map(&[("bob", &["bob@corp"])]);
    let local = row("user:bob", A, None);
    let signed = row("principal:carol@corp", A, Some("SHA256:k"));
    let round = [&local, &signed];
    assert_eq!(
        decided_before(&round, "principal:bob@corp", Some("SHA256:b"), &m),
        Some(Twice::Person {
            person: "user:bob".into(),
            earlier: "user:bob"
        })
    );
    assert_eq!(
        decided_before(&round, "principal:dave@corp", Some("SHA256:k"), &m),
        Some(Twice::Key {
            key: "SHA256:k",
            earlier: "principal:carol@corp"
        })
    );
    assert_eq!(decided_before(&round, "user:lead", None, &m), None);
    assert_eq!(
        decided_before(&round, "principal:dave@corp", Some("SHA256:d"), &m),
        None
    );
    // Unmapped, bob@corp is another person than the local bob.
    assert_eq!(
        decided_before(
            &round,
            "principal:bob@corp",
            Some("SHA256:b"),
            &PrincipalMap::default()
        ),
        None
    );
}
