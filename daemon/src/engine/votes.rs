//! Counting approvers' decisions by person. A principal that `users.d` maps
//! to a local account and that account are one person, so a person counts
//! once per round whether they decide locally, by signature or both; the
//! requester never counts, even for a decision recorded before the mapping
//! that would have refused it existed.

use std::collections::BTreeSet;

use elevated_proto::Verdict;

use crate::config::principals::PrincipalMap;
use crate::store::approvals::ApprovalRow;

/// The person behind a recorded approver (`user:NAME` or `principal:P`):
/// `user:NAME` for a local approver and for a principal mapped to NAME,
/// the approver unchanged otherwise (an unmapped principal is its own
/// person).
#[must_use]
pub(super) fn person_of(approver: &str, map: &PrincipalMap) -> String {
    match approver
        .strip_prefix("principal:")
        .and_then(|p| map.account_of(p))
    {
        Some(user) => format!("user:{user}"),
        None => approver.to_owned(),
    }
}

/// Distinct people for and against in one round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Tally {
    /// People who approved.
    pub approvals: usize,
    /// People who denied.
    pub denials: usize,
}

/// Counts `decisions` (approver, verdict) of one round by person, leaving
/// out the requester `requester` (a user name).
#[must_use]
pub(super) fn tally<'a>(
    decisions: impl IntoIterator<Item = (&'a str, Verdict)>,
    requester: &str,
    map: &PrincipalMap,
) -> Tally {
    let me = format!("user:{requester}");
    let mut approvals = BTreeSet::new();
    let mut denials = BTreeSet::new();
    for (approver, verdict) in decisions {
        let person = person_of(approver, map);
        if person == me {
            continue;
        }
        match verdict {
            Verdict::Approve => approvals.insert(person),
            Verdict::Deny => denials.insert(person),
        };
    }
    Tally {
        approvals: approvals.len(),
        denials: denials.len(),
    }
}

/// Why a new decision would count someone twice in a round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Twice<'a> {
    /// The same person decided before, through `earlier` (a channel).
    Person {
        /// The person.
        person: String,
        /// The earlier decision's approver.
        earlier: &'a str,
    },
    /// The same signing key decided before, as `earlier`: one key is one
    /// vote, whichever principal it was taken for.
    Key {
        /// The key's fingerprint.
        key: &'a str,
        /// The earlier decision's approver.
        earlier: &'a str,
    },
}

/// The earlier decision of this round (`round`) by the person behind
/// `approver`, or made with the same signing key `key`, if any.
#[must_use]
pub(super) fn decided_before<'a>(
    round: &[&'a ApprovalRow],
    approver: &str,
    key: Option<&str>,
    map: &PrincipalMap,
) -> Option<Twice<'a>> {
    let person = person_of(approver, map);
    round.iter().find_map(|a| {
        if person_of(&a.approver, map) == person {
            Some(Twice::Person {
                person: person.clone(),
                earlier: &a.approver,
            })
        } else {
            match (&a.key, key) {
                (Some(k), Some(new)) if k == new => Some(Twice::Key {
                    key: k,
                    earlier: &a.approver,
                }),
                _ => None,
            }
        }
    })
}

#[cfg(test)]
#[path = "votes_tests.rs"]
mod tests;
