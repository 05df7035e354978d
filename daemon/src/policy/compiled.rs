//! The whole policy as the loader builds it: every role and rule, with the
//! indexes a decision reads (each role's rules by the users and groups
//! they name, the zones of their `when` selectors).

use std::collections::BTreeMap;

use elevated_proto::RoleName;

use super::clock::Zones;
use super::index::RoleRules;
use super::model::{Role, Rule, Subject};

/// The whole policy: roles and rules from every file, in evaluation order.
///
/// Rules are only added through [`Policy::push_rule`], which keeps an index
/// of each role's rules by the users and groups their `who` names: a
/// decision looks only at the requested role's rules that can match the
/// subject, so its cost grows neither with the rules of other roles nor
/// with the rules about other people.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Roles by name.
    pub roles: BTreeMap<RoleName, Role>,
    /// Rules in lexical file order, then file order.
    rules: Vec<Rule>,
    /// Role -> its rules (ascending indices into `rules`, so in evaluation
    /// order) and their index by user and group.
    by_role: BTreeMap<RoleName, RoleRules>,
    /// The zones of the rules' `when` selectors.
    zones: Zones,
}

impl Policy {
    /// Every rule, in evaluation order.
    #[must_use]
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Appends a rule (it comes after every rule added before it).
    pub fn push_rule(&mut self, rule: Rule) {
        self.by_role
            .entry(rule.role.clone())
            .or_default()
            .push(self.rules.len(), &rule);
        self.zones.push(&rule);
        self.rules.push(rule);
    }

    /// The zones of the rules' `when` selectors, for a decision's clock.
    pub(super) fn zones(&self) -> &Zones {
        &self.zones
    }

    /// The rules about `role`, with their index in [`Policy::rules`], in
    /// evaluation order.
    pub fn rules_for<'a>(&'a self, role: &RoleName) -> impl Iterator<Item = (usize, &'a Rule)> {
        self.by_role
            .get(role)
            .map(|r| r.rules.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|&i| self.rules.get(i).map(|r| (i, r)))
    }

    /// The rules about `role` that may match `subject`, with their index in
    /// [`Policy::rules`], in evaluation order: every rule of the role whose
    /// `who.users` and `who.groups` could admit the subject (so every rule
    /// that matches, and perhaps some that do not, judged by the other
    /// selectors).
    pub fn candidates_for<'a>(
        &'a self,
        role: &RoleName,
        subject: &Subject,
    ) -> impl Iterator<Item = (usize, &'a Rule)> {
        self.by_role
            .get(role)
            .map(|r| r.candidates(subject))
            .into_iter()
            .flatten()
            .filter_map(|i| self.rules.get(i).map(|r| (i, r)))
    }
}
