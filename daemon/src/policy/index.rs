//! Which of a role's rules can match a subject at all, judged by
//! `who.users` and `who.groups` alone, so that a decision checks only
//! those and its cost does not grow with rules about other people.
//!
//! `who` keys are ANDed and each key's list is ORed, so a rule that lists
//! users can only match a subject it names, whatever else it asks; a rule
//! that lists groups (and no users) can only match a member of one of
//! them. Each rule is therefore filed under exactly one key: its users if
//! it has them (the most selective key: one name is one person), else its
//! groups, else nowhere and it is checked for everyone (no `who`, or
//! `who` with attributes only). An empty list names nobody, so such a rule
//! is never a candidate, just as it never matches.
//!
//! Candidates are a superset of the rules that match; they still go
//! through the full check, in policy order.

use std::collections::HashMap;

use super::model::{Rule, Subject};

/// Bits per word of a candidate set.
const WORD: usize = u64::BITS as usize;

/// The rules about one role, in policy order, with an index of them by
/// the users and groups they name. Rules are referred to by position in
/// `rules` (0 = the role's first rule).
#[derive(Debug, Clone, Default)]
pub(super) struct RoleRules {
    /// Indices into `Policy::rules`, ascending.
    pub(super) rules: Vec<usize>,
    /// Bit `p` set: rule `p` names no users and no groups, so it may match
    /// anyone. Always `rules.len()` bits long, rounded up to whole words:
    /// a decision starts from a copy of it.
    anyone: Vec<u64>,
    /// User -> positions of the rules whose `who.users` names the user,
    /// ascending.
    by_user: HashMap<String, Vec<usize>>,
    /// Group -> positions of the rules without `who.users` whose
    /// `who.groups` names the group, ascending.
    by_group: HashMap<String, Vec<usize>>,
}

impl RoleRules {
    /// Files the role's next rule, `index` in `Policy::rules`.
    pub(super) fn push(&mut self, index: usize, rule: &Rule) {
        let pos = self.rules.len();
        self.rules.push(index);
        if pos / WORD == self.anyone.len() {
            self.anyone.push(0);
        }
        let who = rule.who.as_ref();
        if let Some(users) = who.and_then(|w| w.users.as_ref()) {
            for u in users {
                file(&mut self.by_user, u.as_str(), pos);
            }
        } else if let Some(groups) = who.and_then(|w| w.groups.as_ref()) {
            for g in groups {
                file(&mut self.by_group, g.as_str(), pos);
            }
        } else {
            set(&mut self.anyone, pos);
        }
    }

    /// The rules that may match `subject`, as indices into
    /// `Policy::rules`, ascending and each once.
    pub(super) fn candidates(&self, subject: &Subject) -> Candidates<'_> {
        // A bit set over the role's rules merges the lists in policy order
        // and drops rules filed under several of the subject's groups, at
        // the cost of one small copy (1,000 rules: 16 words).
        let mut bits = self.anyone.clone();
        let mut mark = |list: &Vec<usize>| {
            for &p in list {
                set(&mut bits, p);
            }
        };
        if let Some(list) = self.by_user.get(subject.user.as_str()) {
            mark(list);
        }
        // Walk whichever side is shorter: a subject may be in hundreds of
        // groups (directory services), a role's rules may name many.
        if subject.groups.len() <= self.by_group.len() {
            for g in &subject.groups {
                if let Some(list) = self.by_group.get(g.as_str()) {
                    mark(list);
                }
            }
        } else {
            for (g, list) in &self.by_group {
                if subject.groups.contains(g) {
                    mark(list);
                }
            }
        }
        let current = bits.first().copied().unwrap_or(0);
        Candidates {
            rules: &self.rules,
            bits,
            word: 0,
            current,
        }
    }
}

/// Adds `pos` to `key`'s list once (a list may name someone twice).
fn file(map: &mut HashMap<String, Vec<usize>>, key: &str, pos: usize) {
    let list = map.entry(key.to_owned()).or_default();
    if list.last() != Some(&pos) {
        list.push(pos);
    }
}

fn set(bits: &mut [u64], pos: usize) {
    if let Some(w) = bits.get_mut(pos / WORD) {
        *w |= 1 << (pos % WORD);
    }
}

/// Iterator over a role's candidate rules: see [`RoleRules::candidates`].
#[derive(Debug)]
pub(super) struct Candidates<'a> {
    /// The role's rules (indices into `Policy::rules`).
    rules: &'a [usize],
    /// Bit `p`: the role's rule `p` is a candidate.
    bits: Vec<u64>,
    /// The word being read.
    word: usize,
    /// What is left of it.
    current: u64,
}

impl Iterator for Candidates<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        while self.current == 0 {
            self.word += 1;
            self.current = *self.bits.get(self.word)?;
        }
        let bit = self.current.trailing_zeros() as usize;
        // Clear the lowest set bit.
        self.current &= self.current - 1;
        self.rules.get(self.word * WORD + bit).copied()
    }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
