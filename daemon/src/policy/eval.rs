//! The decision: may this subject have this role on this host now, for how
//! long, and with which approval? Pure: time is an argument.
//!
//! Default deny. Only rules about the requested role count. A matching
//! `deny` rule always wins (the first one in policy order is named);
//! otherwise the first matching `allow` rule decides.

use std::time::Duration;

use elevated_proto::RoleName;

use super::model::{
    format_days, Approval, Effect, HostFacts, Policy, Rule, Subject, When, Where, Who,
};

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
    /// One line for administrators: which rule, which approval, which window.
    pub message: String,
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
    pub fn message(&self) -> &str {
        match self {
            Self::Allow(a) => &a.message,
            Self::Deny(d) => &d.message,
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
    let Some(role_def) = policy.roles.get(role) else {
        return deny(None, format!("no role named {role} is defined"));
    };
    if requested.is_some_and(|d| d < Duration::from_secs(1)) {
        return deny(None, "duration must be at least one second".into());
    }
    let mut first_allow = None;
    let mut misses = Vec::new();
    let mut mentioned = false;
    for (i, rule) in policy.rules.iter().enumerate() {
        if rule.role != *role {
            continue;
        }
        mentioned = true;
        match (rule.effect, check_rule(rule, subject, host, now)) {
            (Effect::Deny, Ok(())) => {
                let label = rule.label();
                let message = format!(
                    "role {role} for {} on {} is denied by {label}",
                    subject.user, host.name
                );
                return deny(Some(label), message);
            }
            (Effect::Allow, Ok(())) if first_allow.is_none() => first_allow = Some((i, rule)),
            (Effect::Allow, Err(why)) if first_allow.is_none() => {
                misses.push(format!("{}: {why}", rule.label()));
            }
            _ => {}
        }
    }
    let Some((rule_index, rule)) = first_allow else {
        let message = if !mentioned {
            format!("no rule mentions role {role}")
        } else if misses.is_empty() {
            format!("no rule allows role {role}; only deny rules mention it")
        } else {
            format!(
                "no rule allows role {role} for {} on {} now: {}",
                subject.user,
                host.name,
                misses.join("; ")
            )
        };
        return deny(None, message);
    };

    let wanted = requested.unwrap_or(role_def.default_duration);
    let cap = role_def.max_duration.min(host.max_duration);
    if cap < Duration::from_secs(1) {
        return deny(
            None,
            "the host's maximum duration is under one second".into(),
        );
    }
    let (duration, clamped) = if wanted > cap {
        (cap, true)
    } else {
        (wanted, false)
    };
    let label = rule.label();
    let mut parts = vec![format!("allowed by {label}")];
    parts.push(match rule.approval.count {
        0 => "automatic approval".to_owned(),
        1 => "needs 1 approval".to_owned(),
        n => format!("needs {n} approvals"),
    });
    if rule.approval.reason {
        parts.push("a reason is required".into());
    }
    if rule.approval.reauth {
        parts.push("re-authentication is required".into());
    }
    let mut window = format!("window {}", show(duration));
    if clamped {
        let whose = if role_def.max_duration <= host.max_duration {
            format!("role {role}'s max_duration")
        } else {
            "this host's maximum".to_owned()
        };
        window.push_str(&format!(" ({} asked, clamped to {whose})", show(wanted)));
    }
    parts.push(window);
    Decision::Allow(Allowed {
        rule: label,
        rule_index,
        approval: rule.approval.clone(),
        duration,
        clamped,
        message: parts.join("; "),
    })
}

/// Whether `rule`'s selectors (`who`, `where`, `when`) all match; if not,
/// why not, in words for an administrator. The rule's role and effect are
/// not looked at. Useful to explain every rule, not just the deciding one.
pub fn check_rule(
    rule: &Rule,
    subject: &Subject,
    host: &HostFacts,
    now: jiff::Timestamp,
) -> Result<(), String> {
    if let Some(who) = &rule.who {
        check_who(who, subject)?;
    }
    if let Some(w) = &rule.r#where {
        check_where(w, host)?;
    }
    if let Some(when) = &rule.when {
        check_when(when, now)?;
    }
    if let Some(ctx) = &rule.context {
        check_context(ctx, rule.effect, subject)?;
    }
    Ok(())
}

/// Session facts. Never fail open: an unknown fact does not satisfy an
/// allow rule, and does satisfy a deny rule.
fn check_context(
    wanted: &std::collections::BTreeMap<String, Vec<String>>,
    effect: crate::policy::Effect,
    s: &Subject,
) -> Result<(), String> {
    let missing = wanted.keys().any(|k| !s.context.contains_key(k));
    if missing && effect == crate::policy::Effect::Deny {
        return Ok(());
    }
    check_values(wanted, &s.context, &s.user, "session fact")
}

fn list<T: AsRef<str>>(v: &[T]) -> String {
    v.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ")
}

/// Every key of `wanted` must be present in `have` with one of its values.
fn check_values(
    wanted: &std::collections::BTreeMap<String, Vec<String>>,
    have: &std::collections::BTreeMap<String, Vec<String>>,
    who: &str,
    what: &str,
) -> Result<(), String> {
    for (key, accepted) in wanted {
        let values = have.get(key).map(Vec::as_slice).unwrap_or_default();
        if values.is_empty() {
            return Err(format!("{who} has no {what} {key}"));
        }
        if !values.iter().any(|v| accepted.contains(v)) {
            return Err(format!(
                "{who}'s {what} {key} ({}) is not one of {}",
                list(values),
                list(accepted)
            ));
        }
    }
    Ok(())
}

fn check_who(who: &Who, s: &Subject) -> Result<(), String> {
    if let Some(users) = &who.users {
        if !users.iter().any(|u| u.as_str() == s.user) {
            return Err(format!("{} is not one of users {}", s.user, list(users)));
        }
    }
    if let Some(groups) = &who.groups {
        if !groups.iter().any(|g| s.groups.contains(g.as_str())) {
            return Err(format!(
                "{} is not in any of groups {}",
                s.user,
                list(groups)
            ));
        }
    }
    if let Some(attrs) = &who.attributes {
        check_values(attrs, &s.attributes, &s.user, "attribute")?;
    }
    Ok(())
}

fn check_where(w: &Where, host: &HostFacts) -> Result<(), String> {
    if let Some(globs) = &w.hosts {
        if !globs.iter().any(|g| glob_match(g, &host.name)) {
            return Err(format!(
                "host {} does not match hosts {}",
                host.name,
                list(globs)
            ));
        }
    }
    if let Some(tags) = &w.tags {
        check_values(tags, &host.tags, &format!("host {}", host.name), "tag")?;
    }
    Ok(())
}

/// Whether `now`, in the rule's zone, lies in the window. A range whose end
/// is not after its start runs across midnight and belongs to the day it
/// starts on; days without hours mean the whole day.
fn check_when(when: &When, now: jiff::Timestamp) -> Result<(), String> {
    let local = now.to_zoned(when.tz.clone());
    let today = u8::try_from(local.weekday().to_monday_zero_offset()).unwrap_or(0);
    let yesterday = (today + 6) % 7;
    let minute =
        u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute())).unwrap_or(0);
    let day_ok = |d: u8| match when.days {
        Some(mask) => mask & (1 << d) != 0,
        None => true,
    };
    let inside = match &when.hours {
        None => day_ok(today),
        Some(ranges) => ranges.iter().any(|r| {
            if r.start < r.end {
                (r.start..r.end).contains(&minute) && day_ok(today)
            } else {
                (minute >= r.start && day_ok(today)) || (minute < r.end && day_ok(yesterday))
            }
        }),
    };
    if inside {
        return Ok(());
    }
    let mut window = Vec::new();
    if let Some(mask) = when.days {
        window.push(format!("days {}", format_days(mask)));
    }
    if let Some(ranges) = &when.hours {
        let shown: Vec<String> = ranges.iter().map(ToString::to_string).collect();
        window.push(format!("hours {}", shown.join(", ")));
    }
    let zone = when.tz.iana_name().unwrap_or("the rule's time zone");
    Err(format!(
        "outside {} {zone} (there it is {} {:02}:{:02})",
        window.join(", "),
        super::model::DAY_NAMES[usize::from(today)],
        minute / 60,
        minute % 60
    ))
}

/// Case-insensitive glob with `*` (any run) and `?` (one character).
fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let n: Vec<char> = name.chars().map(|c| c.to_ascii_lowercase()).collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn show(d: Duration) -> String {
    humantime::format_duration(d).to_string().replace(' ', "")
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
