//! Whether one rule's selectors match a subject, host and time, and if not,
//! why not. Matching allocates nothing: a [`Miss`] borrows what it needs
//! and is put into words only when someone reads it, because a decision
//! may look at many rules that miss and report none of them.

use std::collections::BTreeMap;
use std::fmt;

use elevated_proto::{GroupName, UserName};

use super::model::{format_days, Effect, HostFacts, Rule, Subject, When, Where, Who, DAY_NAMES};

/// Why a rule's selectors did not match. Its `Display` is the sentence an
/// administrator reads in `explain` and in refusals.
#[derive(Debug, Clone)]
pub enum Miss<'a> {
    /// `who.users` does not name the subject.
    Users {
        /// The subject's user name.
        user: &'a str,
        /// The rule's users.
        users: &'a [UserName],
    },
    /// The subject is in none of `who.groups`.
    Groups {
        /// The subject's user name.
        user: &'a str,
        /// The rule's groups.
        groups: &'a [GroupName],
    },
    /// The subject or host lacks a wanted attribute, tag or session fact.
    NoValue {
        /// Whose value: the user, or the host.
        whose: Whose<'a>,
        /// `attribute`, `tag` or `session fact`.
        what: &'static str,
        /// The name of the attribute, tag or fact asked for.
        key: &'a str,
    },
    /// An attribute, tag or session fact has none of the accepted values.
    Value {
        /// Whose value.
        whose: Whose<'a>,
        /// `attribute`, `tag` or `session fact`.
        what: &'static str,
        /// The name of the attribute, tag or fact asked for.
        key: &'a str,
        /// The values present.
        values: &'a [String],
        /// The values the rule accepts.
        accepted: &'a [String],
    },
    /// The host name matches none of `where.hosts`.
    Hosts {
        /// The host's name.
        host: &'a str,
        /// The rule's globs.
        globs: &'a [String],
    },
    /// `now` is outside the rule's days and hours.
    Outside {
        /// The rule's window.
        when: &'a When,
        /// The time of the decision.
        now: jiff::Timestamp,
    },
}

/// Whose attribute, tag or fact a [`Miss`] is about.
#[derive(Debug, Clone, Copy)]
pub enum Whose<'a> {
    /// A user's (attributes, session facts).
    User(&'a str),
    /// A host's (tags).
    Host(&'a str),
}

impl fmt::Display for Whose<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(u) => f.write_str(u),
            Self::Host(h) => write!(f, "host {h}"),
        }
    }
}

fn list<T: AsRef<str>>(v: &[T]) -> String {
    v.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ")
}

impl fmt::Display for Miss<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Users { user, users } => {
                write!(f, "{user} is not one of users {}", list(users))
            }
            Self::Groups { user, groups } => {
                write!(f, "{user} is not in any of groups {}", list(groups))
            }
            Self::NoValue { whose, what, key } => write!(f, "{whose} has no {what} {key}"),
            Self::Value {
                whose,
                what,
                key,
                values,
                accepted,
            } => write!(
                f,
                "{whose}'s {what} {key} ({}) is not one of {}",
                list(values),
                list(accepted)
            ),
            Self::Hosts { host, globs } => {
                write!(f, "host {host} does not match hosts {}", list(globs))
            }
            Self::Outside { when, now } => outside(f, when, *now),
        }
    }
}

/// Whether `rule`'s selectors (`who`, `where`, `when`, `context`) all
/// match; if not, the first that does not. The rule's role and effect are
/// not looked at (except that an unknown session fact satisfies a deny
/// rule). Useful to explain every rule, not just the deciding one.
pub fn check_rule<'a>(
    rule: &'a Rule,
    subject: &'a Subject,
    host: &'a HostFacts,
    now: jiff::Timestamp,
) -> Result<(), Miss<'a>> {
    check_rule_with(rule, subject, host, now, |when| local_day_minute(when, now))
}

/// [`check_rule`], taking the day and minute of `now` in a `when`'s zone
/// from `local` (which a decision may work out once per zone, not once per
/// rule; it must agree with [`local_day_minute`]).
pub(super) fn check_rule_with<'a>(
    rule: &'a Rule,
    subject: &'a Subject,
    host: &'a HostFacts,
    now: jiff::Timestamp,
    local: impl FnOnce(&When) -> (u8, u16),
) -> Result<(), Miss<'a>> {
    if let Some(who) = &rule.who {
        check_who(who, subject)?;
    }
    if let Some(w) = &rule.r#where {
        check_where(w, host)?;
    }
    if let Some(when) = &rule.when {
        check_when(when, now, local(when))?;
    }
    if let Some(ctx) = &rule.context {
        check_context(ctx, rule.effect, subject)?;
    }
    Ok(())
}

/// Session facts. Never fail open: an unknown fact does not satisfy an
/// allow rule, and does satisfy a deny rule.
fn check_context<'a>(
    wanted: &'a BTreeMap<String, Vec<String>>,
    effect: Effect,
    s: &'a Subject,
) -> Result<(), Miss<'a>> {
    let missing = wanted.keys().any(|k| !s.context.contains_key(k));
    if missing && effect == Effect::Deny {
        return Ok(());
    }
    check_values(wanted, &s.context, Whose::User(&s.user), "session fact")
}

/// Every key of `wanted` must be present in `have` with one of its values.
fn check_values<'a>(
    wanted: &'a BTreeMap<String, Vec<String>>,
    have: &'a BTreeMap<String, Vec<String>>,
    whose: Whose<'a>,
    what: &'static str,
) -> Result<(), Miss<'a>> {
    for (key, accepted) in wanted {
        let values = have.get(key).map(Vec::as_slice).unwrap_or_default();
        if values.is_empty() {
            return Err(Miss::NoValue { whose, what, key });
        }
        if !values.iter().any(|v| accepted.contains(v)) {
            return Err(Miss::Value {
                whose,
                what,
                key,
                values,
                accepted,
            });
        }
    }
    Ok(())
}

fn check_who<'a>(who: &'a Who, s: &'a Subject) -> Result<(), Miss<'a>> {
    if let Some(users) = &who.users {
        if !users.iter().any(|u| u.as_str() == s.user) {
            return Err(Miss::Users {
                user: &s.user,
                users,
            });
        }
    }
    if let Some(groups) = &who.groups {
        if !groups.iter().any(|g| s.groups.contains(g.as_str())) {
            return Err(Miss::Groups {
                user: &s.user,
                groups,
            });
        }
    }
    if let Some(attrs) = &who.attributes {
        check_values(attrs, &s.attributes, Whose::User(&s.user), "attribute")?;
    }
    Ok(())
}

fn check_where<'a>(w: &'a Where, host: &'a HostFacts) -> Result<(), Miss<'a>> {
    if let Some(globs) = &w.hosts {
        if !globs.iter().any(|g| glob_match(g, &host.name)) {
            return Err(Miss::Hosts {
                host: &host.name,
                globs,
            });
        }
    }
    if let Some(tags) = &w.tags {
        check_values(tags, &host.tags, Whose::Host(&host.name), "tag")?;
    }
    Ok(())
}

/// Day of the week (0 = Monday) and minute of the day of `now` in the
/// rule's zone.
pub(super) fn local_day_minute(when: &When, now: jiff::Timestamp) -> (u8, u16) {
    let local = now.to_zoned(when.tz.clone());
    let today = u8::try_from(local.weekday().to_monday_zero_offset()).unwrap_or(0);
    let minute =
        u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute())).unwrap_or(0);
    (today, minute)
}

/// Whether `now`, in the rule's zone, lies in the window. A range whose end
/// is not after its start runs across midnight and belongs to the day it
/// starts on; days without hours mean the whole day. `(today, minute)` is
/// `now` there, from [`local_day_minute`].
fn check_when(
    when: &When,
    now: jiff::Timestamp,
    (today, minute): (u8, u16),
) -> Result<(), Miss<'_>> {
    let yesterday = (today + 6) % 7;
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
        Ok(())
    } else {
        Err(Miss::Outside { when, now })
    }
}

/// "outside days mon-fri, hours 08:00-18:00 UTC (there it is sat 10:00)".
fn outside(f: &mut fmt::Formatter<'_>, when: &When, now: jiff::Timestamp) -> fmt::Result {
    let (today, minute) = local_day_minute(when, now);
    let mut window = Vec::new();
    if let Some(mask) = when.days {
        window.push(format!("days {}", format_days(mask)));
    }
    if let Some(ranges) = &when.hours {
        let shown: Vec<String> = ranges.iter().map(ToString::to_string).collect();
        window.push(format!("hours {}", shown.join(", ")));
    }
    let zone = when.tz.iana_name().unwrap_or("the rule's time zone");
    write!(
        f,
        "outside {} {zone} (there it is {} {:02}:{:02})",
        window.join(", "),
        DAY_NAMES[usize::from(today)],
        minute / 60,
        minute % 60
    )
}

/// Case-insensitive glob with `*` (any run) and `?` (one character).
/// ASCII names (every real host name) are matched on bytes without
/// allocating; anything else on characters.
pub(super) fn glob_match(pattern: &str, name: &str) -> bool {
    if pattern.is_ascii() && name.is_ascii() {
        glob(pattern.as_bytes(), name.as_bytes(), |a, b| {
            a.eq_ignore_ascii_case(b)
        })
    } else {
        let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
        let n: Vec<char> = name.chars().map(|c| c.to_ascii_lowercase()).collect();
        glob(&p, &n, |a, b| a == b)
    }
}

/// Glob over any symbols, with backtracking to the last `*` only (linear
/// enough for host names, and never recursive).
fn glob<T: Copy + PartialEq + From<u8>>(p: &[T], n: &[T], eq: impl Fn(&T, &T) -> bool) -> bool {
    let star = T::from(b'*');
    let any = T::from(b'?');
    let (mut pi, mut ni) = (0, 0);
    let mut back: Option<(usize, usize)> = None;
    while let Some(c) = n.get(ni) {
        match p.get(pi) {
            Some(s) if *s == star => {
                back = Some((pi, ni));
                pi += 1;
            }
            Some(s) if *s == any || eq(s, c) => {
                pi += 1;
                ni += 1;
            }
            _ => match back {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    back = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..).unwrap_or_default().iter().all(|c| *c == star)
}
