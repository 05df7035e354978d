//! The decision: may this subject have this role on this host now, for how
//! long, and with which approval? Pure: time is an argument.
//!
//! Default deny. Only rules about the requested role count. A matching
//! `deny` rule always wins (the first one in policy order is named);
//! otherwise the first matching `allow` rule decides.

use std::time::Duration;

use elevated_proto::RoleName;

use super::check::check_rule_with;
#[cfg(test)]
use super::check::glob_match;
pub use super::check::{check_rule, Miss, Whose};
use super::compiled::Policy;
use super::model::{Approval, Effect, HostFacts, Rule, Subject};

/// The outcome of [`decide`].
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The request may go ahead, with the approval the rule asks for.
    Allow(Allowed),
    /// The request is refused.
    Deny(Denied),
}

/// Why and how a request is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    /// The deciding rule's [`Rule::label`].
    pub rule: String,
    /// The deciding rule's index in [`Policy::rules`].
    pub rule_index: usize,
    /// How the request is approved (from the rule).
    pub approval: Approval,
    /// The window to grant, after capping.
    pub duration: Duration,
    /// Whether the window was shortened to the role's or host's maximum.
    pub clamped: bool,
    /// The window asked for (or the role's default), before capping.
    pub asked: Duration,
    /// When clamped: whether the role's `max_duration` (rather than the
    /// host's cap) set the limit.
    pub capped_by_role: bool,
    /// The requested role (for the message).
    pub role: RoleName,
}

impl Allowed {
    /// One line for administrators: which rule, which approval, which
    /// window. Put into words on demand: most decisions are never shown.
    #[must_use]
    pub fn message(&self) -> String {
        let mut parts = vec![format!("allowed by {}", self.rule)];
        parts.push(match self.approval.count {
            // Granted at once too, but announced and reviewed afterwards:
            // never to be mistaken for a routine automatic grant.
            0 if self.approval.break_glass => {
                "break-glass: granted at once, review required".to_owned()
            }
            0 => "automatic approval".to_owned(),
            1 => "needs 1 approval".to_owned(),
            n => format!("needs {n} approvals"),
        });
        if self.approval.reason {
            parts.push("a reason is required".into());
        }
        if self.approval.reauth {
            parts.push("re-authentication is required".into());
        }
        let mut window = format!("window {}", show(self.duration));
        if self.clamped {
            let whose = if self.capped_by_role {
                format!("role {}'s max_duration", self.role)
            } else {
                "this host's maximum".to_owned()
            };
            window.push_str(&format!(
                " ({} asked, clamped to {whose})",
                show(self.asked)
            ));
        }
        parts.push(window);
        parts.join("; ")
    }
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// The label of the deny rule that matched, if one did.
    pub rule: Option<String>,
    /// One line for administrators.
    pub message: String,
}

impl Decision {
    /// Whether the request may go ahead.
    #[must_use]
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow(_))
    }

    /// The administrator's one-line explanation.
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            Self::Allow(a) => a.message(),
            Self::Deny(d) => d.message.clone(),
        }
    }

    /// The label of the deciding rule, if a rule decided.
    #[must_use]
    pub fn rule(&self) -> Option<&str> {
        match self {
            Self::Allow(a) => Some(&a.rule),
            Self::Deny(d) => d.rule.as_deref(),
        }
    }
}

fn deny(rule: Option<String>, message: String) -> Decision {
    Decision::Deny(Denied { rule, message })
}

/// Decides a request of `subject` for `role` on `host` at `now`, for
/// `requested` (or the role's default duration).
///
/// The window is the requested (or default) duration, shortened to the
/// smaller of the role's `max_duration` and the host's cap; shortening is
/// reported in [`Allowed::clamped`] and the message. A requested duration
/// under one second is refused.
pub fn decide(
    policy: &Policy,
    subject: &Subject,
    host: &HostFacts,
    role: &RoleName,
    requested: Option<Duration>,
    now: jiff::Timestamp,
) -> Decision {
    // Rules that cannot match the subject cannot change the decision: a
    // deny wins only if it matches, an allow decides only if it does.
    let candidates = policy.candidates_for(role, subject);
    let mut clock = policy.zones().clock(now);
    let matches =
        |i, rule| check_rule_with(rule, subject, host, now, |when| clock.local(i, when)).is_ok();
    decide_among(policy, candidates, matches, subject, host, role, requested)
        .unwrap_or_else(|| no_allow(policy, subject, host, role, now))
}

/// [`decide`] checking every rule of the role, each on its own: no index,
/// no clock shared between rules. What the fast path must agree with.
#[cfg(test)]
pub(super) fn decide_naive(
    policy: &Policy,
    subject: &Subject,
    host: &HostFacts,
    role: &RoleName,
    requested: Option<Duration>,
    now: jiff::Timestamp,
) -> Decision {
    let all = policy.rules_for(role);
    let matches = |_, rule| check_rule(rule, subject, host, now).is_ok();
    decide_among(policy, all, matches, subject, host, role, requested)
        .unwrap_or_else(|| no_allow(policy, subject, host, role, now))
}

/// [`decide`], looking only at `rules` (the role's, in policy order, with
/// their index in [`Policy::rules`]) for the deciding rule, and asking
/// `matches` whether one does. `None`: no rule decided, because no allow
/// rule matches.
fn decide_among<'a>(
    policy: &'a Policy,
    rules: impl Iterator<Item = (usize, &'a Rule)>,
    mut matches: impl FnMut(usize, &'a Rule) -> bool,
    subject: &Subject,
    host: &HostFacts,
    role: &RoleName,
    requested: Option<Duration>,
) -> Option<Decision> {
    let Some(role_def) = policy.roles.get(role) else {
        return Some(deny(None, format!("no role named {role} is defined")));
    };
    if requested.is_some_and(|d| d < Duration::from_secs(1)) {
        return Some(deny(None, "duration must be at least one second".into()));
    }
    let mut first_allow = None;
    for (i, rule) in rules {
        match rule.effect {
            // Deny rules are checked to the end: a matching one always wins.
            Effect::Deny => {
                if matches(i, rule) {
                    let label = rule.label();
                    let message = format!(
                        "role {role} for {} on {} is denied by {label}",
                        subject.user, host.name
                    );
                    return Some(deny(Some(label), message));
                }
            }
            // Once an allow rule matched, later allow rules cannot change
            // the decision and are not looked at.
            Effect::Allow if first_allow.is_none() => {
                if matches(i, rule) {
                    first_allow = Some((i, rule));
                }
            }
            Effect::Allow => {}
        }
    }
    let (rule_index, rule) = first_allow?;

    let wanted = requested.unwrap_or(role_def.default_duration);
    let cap = role_def.max_duration.min(host.max_duration);
    if cap < Duration::from_secs(1) {
        return Some(deny(
            None,
            "the host's maximum duration is under one second".into(),
        ));
    }
    let (duration, clamped) = if wanted > cap {
        (cap, true)
    } else {
        (wanted, false)
    };
    Some(Decision::Allow(Allowed {
        rule: rule.label(),
        rule_index,
        approval: rule.approval.clone(),
        duration,
        clamped,
        asked: wanted,
        capped_by_role: role_def.max_duration <= host.max_duration,
        role: role.clone(),
    }))
}

/// The refusal when no allow rule matched, naming why each one missed.
/// Only this (rarer, slower) path puts the misses into words, and it looks
/// at every rule of the role, not only the candidates: the message names
/// why each allow rule missed, including those about other people.
fn no_allow(
    policy: &Policy,
    subject: &Subject,
    host: &HostFacts,
    role: &RoleName,
    now: jiff::Timestamp,
) -> Decision {
    let mut mentioned = false;
    let mut misses = Vec::new();
    for (_, rule) in policy.rules_for(role) {
        mentioned = true;
        if rule.effect == Effect::Allow {
            if let Err(why) = check_rule(rule, subject, host, now) {
                misses.push(format!("{}: {why}", rule.label()));
            }
        }
    }
    let message = if !mentioned {
        format!("no rule mentions role {role}")
    } else if misses.is_empty() {
        format!("no rule allows role {role}; only deny rules mention it")
    } else {
        format!(
            "no rule allows role {role} for {} on {} at {}: {}",
            subject.user,
            host.name,
            crate::times::rfc3339_of(now),
            misses.join("; ")
        )
    };
    deny(None, message)
}

fn show(d: Duration) -> String {
    humantime::format_duration(d).to_string().replace(' ', "")
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
