//! `[[rules]]` entries: selectors and approval.

use elevated_proto::{GroupName, RoleName, UserName};
use toml::Spanned;

use super::Cx;
use crate::config::policy_check as check;
use crate::config::policy_raw::{
    RawApproval, RawRule, RawWhen, RawWhere, RawWho, SpannedList, SpannedTags,
};
use crate::config::principals::PRINCIPALS_KEY;
use crate::config::string_list::StringOrList;
use crate::policy::{Approval, Approvers, Effect, HourRange, Rule, When, Where, Who};

/// Checks one rule; `None` when anything in it is wrong (errors recorded).
pub(super) fn rule(cx: &mut Cx<'_>, index_in_file: usize, raw: Spanned<RawRule>) -> Option<Rule> {
    let source = cx.source(raw.span());
    let raw = raw.into_inner();
    let role = cx.name(&raw.role, "role", RoleName::parse);
    let effect = match &raw.effect {
        None => Some(Effect::Allow),
        Some(e) => match e.get_ref().as_str() {
            "allow" => Some(Effect::Allow),
            "deny" => Some(Effect::Deny),
            other => {
                cx.err(
                    e.span(),
                    format!("effect: {other:?} is neither \"allow\" nor \"deny\""),
                );
                None
            }
        },
    };
    let who = match &raw.who {
        Some(w) => who(cx, w).map(Some),
        None => Some(None),
    };
    let r#where = match &raw.where_ {
        Some(w) => where_(cx, w).map(Some),
        None => Some(None),
    };
    let when = match &raw.when {
        Some(w) => when(cx, w).map(Some),
        None => Some(None),
    };
    let context = match &raw.context {
        Some(c) => context(cx, c).map(Some),
        None => Some(None),
    };
    let approval = match &raw.approval {
        Some(a) if effect == Some(Effect::Deny) => {
            cx.err(
                a.span(),
                "approval: a deny rule is never approved; remove approval",
            );
            None
        }
        Some(a) => approval(cx, a),
        None => Some(Approval::default()),
    };
    Some(Rule {
        index_in_file,
        source,
        role: role?,
        effect: effect?,
        who: who?,
        r#where: r#where?,
        when: when?,
        context: context?,
        approval: approval?,
    })
}

/// `context = { session = ["local"|"remote"], service = [...], tty = [...], rhost = [...] }`.
fn context(
    cx: &mut Cx<'_>,
    raw: &crate::config::policy_raw::SpannedTags,
) -> Option<std::collections::BTreeMap<String, Vec<String>>> {
    let facts = cx.tags(raw, "context", "session fact");
    // Checked whether or not the names and values were well formed, so
    // that one bad value does not hide an unknown fact.
    let mut ok = true;
    for (key, values) in raw.get_ref() {
        match key.get_ref().as_str() {
            "session" => {
                let values = &values.get_ref().0;
                if let Some(v) = values.iter().find(|v| *v != "local" && *v != "remote") {
                    cx.err(
                        raw.span(),
                        format!("context.session: {v:?} is neither \"local\" nor \"remote\""),
                    );
                    ok = false;
                }
            }
            "service" | "tty" | "rhost" => {}
            other => {
                cx.err(
                    raw.span(),
                    format!("context: unknown fact {other:?}; known: session, service, tty, rhost"),
                );
                ok = false;
            }
        }
    }
    facts.filter(|_| ok)
}

/// A selector list of names: present and non-empty, every name valid.
fn name_list<T>(
    cx: &mut Cx<'_>,
    list: Option<&SpannedList>,
    what: &str,
    parse: fn(&str) -> Result<T, elevated_proto::NameError>,
) -> Option<Option<Vec<T>>> {
    let Some(list) = list else {
        return Some(None);
    };
    let names = cx.names(list, what, parse);
    if cx.not_empty(list, what) {
        names.map(Some)
    } else {
        None
    }
}

fn who(cx: &mut Cx<'_>, raw: &RawWho) -> Option<Who> {
    let users = name_list(cx, raw.users.as_ref(), "who.users", UserName::parse);
    let groups = name_list(cx, raw.groups.as_ref(), "who.groups", GroupName::parse);
    let attributes = match &raw.attributes {
        Some(a) if names_principals(cx, a, "who.attributes") => None,
        Some(a) => cx.tags(a, "who.attributes", "attribute").map(Some),
        None => Some(None),
    };
    Some(Who {
        users: users?,
        groups: groups?,
        attributes: attributes?,
    })
}

/// Whether an attribute selector names `principals`, reporting it. Users'
/// principals are never attributes, so such a selector would match nobody:
/// an allow rule would be dead and a deny rule would never deny.
fn names_principals(cx: &mut Cx<'_>, raw: &SpannedTags, field: &str) -> bool {
    let Some((key, _)) = raw
        .get_ref()
        .iter()
        .find(|(k, _)| k.get_ref() == PRINCIPALS_KEY)
    else {
        return false;
    };
    cx.err(
        key.span(),
        format!(
            "{field}: {PRINCIPALS_KEY} is not an attribute: users.d principals map signing \
             principals to accounts and no selector matches them; name the users instead"
        ),
    );
    true
}

fn where_(cx: &mut Cx<'_>, raw: &RawWhere) -> Option<Where> {
    let hosts = match &raw.hosts {
        None => Some(None),
        Some(list) => {
            let mut ok = cx.not_empty(list, "where.hosts");
            for h in list.get_ref() {
                ok &= cx
                    .check(h.span(), "where.hosts", check::host_glob(h.get_ref()))
                    .is_some();
            }
            ok.then(|| Some(list.get_ref().iter().map(|h| h.get_ref().clone()).collect()))
        }
    };
    let tags = match &raw.tags {
        Some(t) => cx.tags(t, "where.tags", "tag").map(Some),
        None => Some(None),
    };
    Some(Where {
        hosts: hosts?,
        tags: tags?,
    })
}

/// Parses every entry of a string-or-list with `parse`; `None` on any error
/// or when the list is empty.
fn each<T>(
    cx: &mut Cx<'_>,
    raw: &Spanned<StringOrList>,
    what: &str,
    parse: fn(&str) -> Result<T, String>,
) -> Option<Vec<T>> {
    let list = &raw.get_ref().0;
    if list.is_empty() {
        cx.err(
            raw.span(),
            format!("{what} is empty; remove the key to match all"),
        );
        return None;
    }
    let mut out = Some(Vec::new());
    for s in list {
        match (cx.check(raw.span(), what, parse(s)), out.as_mut()) {
            (Some(v), Some(o)) => o.push(v),
            _ => out = None,
        }
    }
    out
}

fn when(cx: &mut Cx<'_>, raw: &RawWhen) -> Option<When> {
    let days = match &raw.days {
        Some(d) => {
            each(cx, d, "when.days", check::days).map(|m| Some(m.iter().fold(0, |a, b| a | b)))
        }
        None => Some(None),
    };
    let hours: Option<Option<Vec<HourRange>>> = match &raw.hours {
        Some(h) => each(cx, h, "when.hours", check::hours).map(Some),
        None => Some(None),
    };
    let tz = match &raw.tz {
        Some(tz) => cx.check(tz.span(), "when.tz", check::time_zone(tz.get_ref())),
        None => Some(jiff::tz::TimeZone::UTC),
    };
    Some(When {
        days: days?,
        hours: hours?,
        tz: tz?,
    })
}

fn approval(cx: &mut Cx<'_>, raw: &Spanned<RawApproval>) -> Option<Approval> {
    let span = raw.span();
    let raw = raw.get_ref();
    let count = raw.count.as_ref().map_or(0, |c| *c.get_ref());
    let count_span = raw.count.as_ref().map_or(span.clone(), Spanned::span);
    let mut ok = true;
    let mut approvers = Approvers::default();
    if let Some(a) = &raw.approvers {
        let a = a.get_ref();
        let empty = Spanned::new(0..0, Vec::new());
        let users = cx.names(
            a.users.as_ref().unwrap_or(&empty),
            "approval.approvers.users",
            UserName::parse,
        );
        let groups = cx.names(
            a.groups.as_ref().unwrap_or(&empty),
            "approval.approvers.groups",
            GroupName::parse,
        );
        for p in a.principals.as_ref().map_or(&[][..], |p| p.get_ref()) {
            match cx.check(
                p.span(),
                "approval.approvers.principals",
                check::principal(p.get_ref()),
            ) {
                Some(()) => approvers.principals.push(p.get_ref().clone()),
                None => ok = false,
            }
        }
        match (users, groups) {
            (Some(u), Some(g)) => (approvers.users, approvers.groups) = (u, g),
            _ => ok = false,
        }
        if let Some(attrs) = &a.attributes {
            let field = "approval.approvers.attributes";
            match (!names_principals(cx, attrs, field))
                .then(|| cx.tags(attrs, field, "attribute"))
                .flatten()
            {
                Some(t) => approvers.attributes = t,
                None => ok = false,
            }
        }
    }
    let listed = approvers.users.len()
        + approvers.groups.len()
        + approvers.principals.len()
        + approvers.attributes.len();
    if ok && count > 0 && listed == 0 {
        cx.err(
            count_span.clone(),
            format!("approval.count is {count} but no approvers are listed (approval.approvers users, groups or principals)"),
        );
        ok = false;
    }
    if raw.break_glass && count > 0 {
        cx.err(
            count_span.clone(),
            "approval.break_glass grants at once and asks for review afterwards; set count = 0",
        );
        ok = false;
    }
    let deny_count = raw.deny_count.as_ref().map_or(1, |d| *d.get_ref());
    if deny_count == 0 {
        let at = raw.deny_count.as_ref().map_or(span.clone(), Spanned::span);
        cx.err(at, "approval.deny_count must be at least 1");
        ok = false;
    }
    let only_users = approvers.groups.is_empty()
        && approvers.principals.is_empty()
        && approvers.attributes.is_empty();
    if ok && only_users && listed > 0 && usize::try_from(count).is_ok_and(|c| c > listed) {
        cx.err(
            count_span,
            format!("approval.count is {count} but approval.approvers lists only {listed} user{} and no groups or principals, so it can never be met", if listed == 1 { "" } else { "s" }),
        );
        ok = false;
    }
    let verify_required = raw.verify_required.as_ref().is_some_and(|v| *v.get_ref());
    if let Some(v) = raw.verify_required.as_ref().filter(|v| *v.get_ref()) {
        // It only tightens signatures: without them it would promise a
        // check that never happens.
        if count == 0 {
            cx.err(
                v.span(),
                "approval.verify_required applies to signed approvals, but count = 0 approves automatically",
            );
            ok = false;
        } else if approvers.principals.is_empty() {
            cx.err(
                v.span(),
                "approval.verify_required applies to signed approvals, but approval.approvers lists no principals",
            );
            ok = false;
        }
    }
    let timeout = match &raw.timeout {
        Some(t) => cx.duration(t, "approval.timeout").map(Some),
        None => Some(None),
    };
    Some(Approval {
        count,
        approvers: ok.then_some(approvers)?,
        reason: raw.reason,
        reauth: raw.reauth,
        timeout: timeout?,
        break_glass: raw.break_glass,
        deny_count,
        verify_required,
    })
}
