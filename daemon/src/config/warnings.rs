//! What `check-config` warns about: configurations that load but probably
//! do not do what their author meant.

use std::collections::BTreeSet;

use crate::policy::eval::check_rule;
use crate::policy::{Effect, Rule, Subject};

use super::Loaded;

/// Rules that let someone request a role and also list, among its approver
/// principals, a principal `users.d` maps to them. Their own signature is
/// refused, so the rule needs that many approvers besides them; an
/// unmapped principal of theirs could not be recognised at all, which is
/// what the warning is for. `groups_of` gives an account's groups (`None`:
/// no such account, which cannot request anything).
pub fn self_approval(
    cfg: &Loaded,
    groups_of: impl Fn(&str) -> Option<BTreeSet<String>>,
) -> Vec<String> {
    let mut out = Vec::new();
    for rule in cfg.policy.rules() {
        if rule.effect != Effect::Allow || rule.approval.count == 0 {
            continue;
        }
        for p in &rule.approval.approvers.principals {
            let Some(user) = cfg.principals.account_of(p) else {
                continue;
            };
            let Some(groups) = groups_of(user) else {
                continue;
            };
            if may_request(rule, user, groups, cfg) {
                out.push(format!(
                    "{}: {user} may request role {} and {p}, an approver principal, is theirs \
                     (users.d maps it to {user}); their own signature will be refused, so \
                     count = {} must be reached by others",
                    rule.label(),
                    rule.role,
                    rule.approval.count
                ));
            }
        }
    }
    out
}

/// Whether `rule`'s `who` matches `user` (where, when and session facts
/// vary; a rule that may match at some time and place is enough).
fn may_request(rule: &Rule, user: &str, groups: BTreeSet<String>, cfg: &Loaded) -> bool {
    let who_only = Rule {
        r#where: None,
        when: None,
        context: None,
        ..rule.clone()
    };
    let subject = Subject {
        user: user.to_owned(),
        uid: u32::MAX,
        groups,
        attributes: cfg.attributes_of(user),
        context: std::collections::BTreeMap::new(),
    };
    check_rule(&who_only, &subject, &cfg.host, jiff::Timestamp::UNIX_EPOCH).is_ok()
}
