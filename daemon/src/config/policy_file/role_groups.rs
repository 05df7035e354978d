//! A role's `groups`, `allow_privileged_groups`, `on_expiry` and
//! `terminate_grace`.
//!
//! Privileged names are refused by the pure parser. Whether a group exists
//! locally (and whether its gid is 0) is asked of a [`GroupLookup`], which
//! only `Loaded::load` (hence the daemon, `check-config` and `explain`)
//! gives: the pure parser checks no host.

use std::time::Duration;

use elevated_proto::GroupName;

use super::Cx;
use crate::config::policy_check as check;
use crate::config::policy_raw::RawRole;
use crate::grant::privileged::{privileged_gid_reason, privileged_reason};
use crate::policy::OnExpiry;

/// Looks a group up in the host's local group file: its gid, `None` when
/// there is no such group, or why the lookup failed.
pub type GroupLookup<'a> = &'a dyn Fn(&GroupName) -> Result<Option<u32>, String>;

/// `terminate_grace` of a role that names none.
pub const DEFAULT_TERMINATE_GRACE: Duration = Duration::from_secs(5);

/// Longest `terminate_grace`.
pub const MAX_TERMINATE_GRACE: Duration = Duration::from_secs(600);

/// The role's groups; `None` when any is wrong (errors recorded).
pub(super) fn groups(cx: &mut Cx<'_>, raw: &RawRole) -> Option<Vec<GroupName>> {
    let Some(list) = &raw.groups else {
        return Some(Vec::new());
    };
    let allowed = raw.allow_privileged_groups;
    let mut out = Some(Vec::new());
    for s in list.get_ref() {
        let Some(group) = cx.name(s, "groups", GroupName::parse) else {
            out = None;
            continue;
        };
        let refuse = |cx: &mut Cx<'_>, why: &str| {
            cx.err(
                s.span(),
                format!(
                    "groups: {group} is a privileged group ({why}); \
                     set allow_privileged_groups = true in this role to grant it anyway"
                ),
            );
        };
        if let (Some(why), false) = (privileged_reason(group.as_str()), allowed) {
            refuse(cx, why);
            out = None;
            continue;
        }
        match cx.groups.map(|lookup| lookup(&group)) {
            None => {}
            Some(Ok(Some(gid))) => {
                if let (Some(why), false) = (privileged_gid_reason(gid), allowed) {
                    refuse(cx, why);
                    out = None;
                    continue;
                }
            }
            Some(Ok(None)) => {
                cx.err(
                    s.span(),
                    format!(
                        "groups: group {group} does not exist on this host; \
                         create it with groupadd (only local groups can be granted) \
                         or remove it from the role"
                    ),
                );
                out = None;
                continue;
            }
            Some(Err(e)) => {
                cx.err(
                    s.span(),
                    format!("groups: cannot look up group {group}: {e}"),
                );
                out = None;
                continue;
            }
        }
        if let Some(v) = out.as_mut() {
            v.push(group);
        }
    }
    out
}

/// The role's `on_expiry` and `terminate_grace`; `None` when either is
/// wrong (errors recorded).
pub(super) fn expiry(cx: &mut Cx<'_>, raw: &RawRole) -> Option<(OnExpiry, Duration)> {
    let on_expiry = match &raw.on_expiry {
        None => Some(OnExpiry::Warn),
        Some(s) => match s.get_ref().as_str() {
            "warn" => Some(OnExpiry::Warn),
            "terminate" => Some(OnExpiry::Terminate),
            other => {
                cx.err(
                    s.span(),
                    format!("on_expiry: {other:?} is neither \"warn\" nor \"terminate\""),
                );
                None
            }
        },
    };
    let grace = match &raw.terminate_grace {
        None => Some(DEFAULT_TERMINATE_GRACE),
        Some(s) => match cx.duration(s, "terminate_grace") {
            Some(d) if d > MAX_TERMINATE_GRACE => {
                cx.err(
                    s.span(),
                    format!(
                        "terminate_grace {} is longer than {}",
                        check::show(d),
                        check::show(MAX_TERMINATE_GRACE)
                    ),
                );
                None
            }
            Some(_) if on_expiry == Some(OnExpiry::Warn) => {
                cx.err(
                    s.span(),
                    "terminate_grace is set but on_expiry is not \"terminate\", \
                     so no process is ever signalled; set on_expiry = \"terminate\" or remove it",
                );
                None
            }
            other => other,
        },
    };
    Some((on_expiry?, grace?))
}

#[cfg(test)]
#[path = "role_groups_tests.rs"]
mod tests;
