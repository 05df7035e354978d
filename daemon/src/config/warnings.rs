//! What `check-config` warns about: configurations that load but probably
//! do not do what their author meant.

use std::collections::BTreeSet;

use crate::policy::eval::check_rule;
use crate::policy::{Effect, Rule, Subject};

use super::files::dir_exists;
use super::settings::DaemonSettings;
use super::Loaded;

/// Directories the settings name that do not exist. A missing policy
/// directory is an empty policy, which refuses every request: legal (a
/// fresh install), but after a typo in `policy_dir` it looks like a policy
/// that denies everyone. `host_dir` and `users_dir` are only mentioned
/// when the settings move them (the defaults may well not exist); a rule
/// that needs one that is missing is an error, not a warning.
pub fn missing_dirs(cfg: &Loaded) -> Vec<String> {
    let d = &cfg.settings.daemon;
    let defaults = DaemonSettings::default();
    let missing = |dir: &std::path::Path| matches!(dir_exists(dir), Ok(false));
    let mut out = Vec::new();
    if missing(&d.policy_dir) {
        out.push(format!(
            "[daemon] policy_dir {} does not exist: the policy is empty and every request is refused",
            d.policy_dir.display()
        ));
    }
    for (key, dir, default, what) in [
        (
            "host_dir",
            &d.host_dir,
            &defaults.host_dir,
            "the host has only the [host] tags of the settings",
        ),
        (
            "users_dir",
            &d.users_dir,
            &defaults.users_dir,
            "no user has attributes or signing principals",
        ),
    ] {
        if dir != default && missing(dir) {
            out.push(format!(
                "[daemon] {key} {} does not exist: {what}",
                dir.display()
            ));
        }
    }
    out
}

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
