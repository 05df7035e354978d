//! Which grant or role covers a command: the pure part of `elevate run`.
//!
//! A policy command entry is `ALL`, an absolute path (any arguments), or a
//! path followed by fixed arguments separated by spaces (exactly those
//! arguments; a single `""` means no arguments at all), as sudoers reads it.
//! Just-in-time actions (a role's `actions`) use the same entries; a grant
//! or request made for one action covers exactly its command line.

use elevated_proto::{RequestState, RequestView, RoleOffer, SudoView};

/// The command to run: an absolute path and its arguments. `args` is `None`
/// when an argument is not valid UTF-8, which only entries that allow any
/// arguments can cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Absolute path of the program.
    pub path: String,
    /// Its arguments, if all are UTF-8.
    pub args: Option<Vec<String>>,
}

/// Whether one policy command entry allows `inv`.
#[must_use]
pub fn entry_covers(entry: &str, inv: &Invocation) -> bool {
    let mut words = entry.split_whitespace();
    let Some(path) = words.next() else {
        return false;
    };
    if path == "ALL" && words.clone().next().is_none() {
        return true;
    }
    if path != inv.path {
        return false;
    }
    let fixed: Vec<&str> = words.collect();
    if fixed.is_empty() {
        return true;
    }
    let Some(args) = &inv.args else {
        return false;
    };
    if fixed == [r#""""#] {
        return args.is_empty();
    }
    fixed.len() == args.len() && fixed.iter().zip(args).all(|(f, a)| *f == a)
}

/// Whether sudo rights allow `inv`.
#[must_use]
pub fn sudo_covers(sudo: Option<&SudoView>, inv: &Invocation) -> bool {
    sudo.is_some_and(|s| s.commands.iter().any(|e| entry_covers(e, inv)))
}

/// The command line of `inv` (path first), when its arguments are UTF-8.
#[must_use]
pub fn argv(inv: &Invocation) -> Option<Vec<String>> {
    let args = inv.args.as_ref()?;
    Some(
        std::iter::once(inv.path.clone())
            .chain(args.iter().cloned())
            .collect(),
    )
}

/// Whether the command line of an action grant is exactly `inv`.
#[must_use]
pub fn argv_is(command: &[String], inv: &Invocation) -> bool {
    argv(inv).is_some_and(|a| a == command)
}

/// Whether a grant or request covers `inv`: exactly its one command for an
/// action, else through its sudo rights.
#[must_use]
pub fn view_covers(view: &RequestView, inv: &Invocation) -> bool {
    match &view.command {
        Some(command) => argv_is(command, inv),
        None => sudo_covers(view.sudo.as_ref(), inv),
    }
}

/// Whether a role's actions include `inv`.
#[must_use]
pub fn actions_cover(offer: &RoleOffer, inv: &Invocation) -> bool {
    offer.actions.iter().any(|e| entry_covers(e, inv))
}

fn role_matches(view: &RequestView, role: Option<&str>) -> bool {
    match role {
        None => true,
        Some(r) => view.role == r,
    }
}

/// The caller's active grant that covers `inv` (of `role`, if given): one
/// with sudo rights first, the one that lasts longest when several do; else
/// an action grant for exactly this command line.
#[must_use]
pub fn find_grant<'a>(
    views: &'a [RequestView],
    role: Option<&str>,
    inv: &Invocation,
) -> Option<&'a RequestView> {
    let active = || {
        views
            .iter()
            .filter(|v| v.state == RequestState::Active && role_matches(v, role))
    };
    active()
        .filter(|v| v.command.is_none() && sudo_covers(v.sudo.as_ref(), inv))
        .max_by(|a, b| a.expires_at.cmp(&b.expires_at))
        .or_else(|| active().find(|v| v.command.as_deref().is_some_and(|c| argv_is(c, inv))))
}

/// A pending request worth waiting for instead of asking again: of `role`
/// when given, else one whose rights cover `inv`.
#[must_use]
pub fn find_pending<'a>(
    views: &'a [RequestView],
    role: Option<&str>,
    inv: &Invocation,
) -> Option<&'a RequestView> {
    views.iter().find(|v| {
        v.state == RequestState::Pending
            && match role {
                Some(r) => {
                    v.role == r
                        && ((v.command.is_none() && v.sudo.is_none()) || view_covers(v, inv))
                }
                None => view_covers(v, inv),
            }
    })
}

/// What the offers say about requesting a role for `inv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleChoice {
    /// Exactly one role the caller may request covers it.
    One(String),
    /// Several do; the caller must pick one with `--role`.
    Several(Vec<String>),
    /// None does.
    Nothing,
}

/// Picks the role to request for `inv` among the allowed offers whose sudo
/// rights cover it.
#[must_use]
pub fn pick_role(offers: &[RoleOffer], inv: &Invocation) -> RoleChoice {
    pick(offers, |o| sudo_covers(o.sudo.as_ref(), inv))
}

/// Picks the role to request a just-in-time action for `inv` among the
/// allowed offers whose actions include it.
#[must_use]
pub fn pick_action(offers: &[RoleOffer], inv: &Invocation) -> RoleChoice {
    pick(offers, |o| actions_cover(o, inv))
}

fn pick(offers: &[RoleOffer], fits_one: impl Fn(&RoleOffer) -> bool) -> RoleChoice {
    let mut fits: Vec<String> = offers
        .iter()
        .filter(|o| o.allowed && fits_one(o))
        .map(|o| o.role.clone())
        .collect();
    fits.dedup();
    match fits.len() {
        0 => RoleChoice::Nothing,
        1 => RoleChoice::One(fits.remove(0)),
        _ => RoleChoice::Several(fits),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use elevated_testkit::samples::{offer, sudo, view};

    fn inv(path: &str, args: &[&str]) -> Invocation {
        Invocation {
            path: path.into(),
            args: Some(args.iter().map(|a| (*a).to_owned()).collect()),
        }
    }

    #[test]
    fn entries() {
        let psql = inv("/usr/bin/psql", &["-c", "select 1"]);
        assert!(entry_covers("ALL", &psql));
        assert!(entry_covers("/usr/bin/psql", &psql));
        assert!(!entry_covers("/usr/bin/psq", &psql));
        assert!(!entry_covers("/usr/bin/psql -c", &psql));
        assert!(!entry_covers("", &psql));
        let restart = inv("/usr/bin/systemctl", &["restart", "nginx"]);
        assert!(entry_covers("/usr/bin/systemctl restart nginx", &restart));
        assert!(!entry_covers("/usr/bin/systemctl restart", &restart));
        assert!(!entry_covers(
            "/usr/bin/systemctl restart nginx x",
            &restart
        ));
        assert!(!entry_covers("/usr/bin/systemctl stop nginx", &restart));
        let bare = inv("/usr/bin/id", &[]);
        assert!(entry_covers(r#"/usr/bin/id """#, &bare));
        assert!(!entry_covers(
            r#"/usr/bin/id """#,
            &inv("/usr/bin/id", &["-u"])
        ));
        assert!(entry_covers("/usr/bin/id", &bare));
    }

    #[test]
    fn non_utf8_arguments_need_a_path_only_entry() {
        let odd = Invocation {
            path: "/usr/bin/cat".into(),
            args: None,
        };
        assert!(entry_covers("/usr/bin/cat", &odd));
        assert!(entry_covers("ALL", &odd));
        assert!(!entry_covers("/usr/bin/cat /etc/shadow", &odd));
        assert!(!entry_covers(r#"/usr/bin/cat """#, &odd));
    }

    #[test]
    fn grants() {
        let target = inv("/usr/bin/psql", &[]);
        let mut short = view("aaaa1111", "db", RequestState::Active);
        short.sudo = Some(sudo("postgres", &["/usr/bin/psql"]));
        short.expires_at = Some("2025-01-31T10:05:00Z".into());
        let mut long = short.clone();
        long.id = "bbbb2222".into();
        long.expires_at = Some("2025-01-31T11:00:00Z".into());
        let mut other = view("cccc3333", "ops", RequestState::Active);
        other.sudo = Some(sudo("root", &["/usr/bin/systemctl"]));
        let mut pending = view("dddd4444", "db", RequestState::Pending);
        pending.sudo = Some(sudo("root", &["ALL"]));
        let views = [short, other, long, pending];
        assert_eq!(find_grant(&views, None, &target).unwrap().id, "bbbb2222");
        assert_eq!(
            find_grant(&views, Some("db"), &target).unwrap().id,
            "bbbb2222"
        );
        assert!(find_grant(&views, Some("ops"), &target).is_none());
        assert!(find_grant(&views, None, &inv("/bin/sh", &[])).is_none());
        assert_eq!(
            find_pending(&views, None, &inv("/bin/sh", &[])).unwrap().id,
            "dddd4444"
        );
        assert!(find_pending(&views, Some("ops"), &target).is_none());
        let mut bare = view("eeee5555", "ops", RequestState::Pending);
        bare.sudo = None;
        assert_eq!(
            find_pending(&[bare.clone()], Some("ops"), &target)
                .unwrap()
                .id,
            "eeee5555"
        );
        assert!(find_pending(&[bare], None, &target).is_none());
    }

    #[test]
    fn actions_cover_exactly_their_command_line() {
        let restart = inv("/usr/bin/systemctl", &["restart", "nginx"]);
        let line = argv(&restart).unwrap();
        assert_eq!(line, ["/usr/bin/systemctl", "restart", "nginx"]);
        let mut once = view("aaaa1111", "ops", RequestState::Active);
        once.sudo = Some(sudo("root", &["ALL"]));
        once.command = Some(line);
        assert!(view_covers(&once, &restart));
        let stop = inv("/usr/bin/systemctl", &["stop", "nginx"]);
        assert!(
            !view_covers(&once, &stop),
            "an action grant is not its sudo rights"
        );
        assert!(find_grant(std::slice::from_ref(&once), None, &stop).is_none());
        let mut wide = view("bbbb2222", "ops", RequestState::Active);
        wide.sudo = Some(sudo("root", &["/usr/bin/systemctl"]));
        let views = [once.clone(), wide];
        assert_eq!(find_grant(&views, None, &restart).unwrap().id, "bbbb2222");
        assert_eq!(
            find_grant(&views[..1], None, &restart).unwrap().id,
            "aaaa1111"
        );
        let mut asked = once;
        asked.state = RequestState::Pending;
        assert!(find_pending(std::slice::from_ref(&asked), Some("ops"), &stop).is_none());
        assert!(find_pending(std::slice::from_ref(&asked), None, &restart).is_some());
        let odd = Invocation {
            path: "/usr/bin/systemctl".into(),
            args: None,
        };
        assert!(argv(&odd).is_none());
        let mut o = offer("ops", true, None);
        o.actions = vec!["/usr/bin/systemctl restart nginx".into()];
        let mut any = offer("svc", true, None);
        any.actions = vec!["/usr/bin/systemctl".into()];
        assert_eq!(
            pick_action(&[o.clone()], &restart),
            RoleChoice::One("ops".into())
        );
        assert_eq!(pick_action(&[o.clone()], &stop), RoleChoice::Nothing);
        assert_eq!(
            pick_action(&[o.clone(), any], &restart),
            RoleChoice::Several(vec!["ops".into(), "svc".into()])
        );
        assert_eq!(pick_role(&[o], &restart), RoleChoice::Nothing);
    }

    #[test]
    fn roles() {
        let target = inv("/usr/bin/psql", &[]);
        let db = offer("db", true, Some(sudo("postgres", &["/usr/bin/psql"])));
        let all = offer("admin", true, Some(sudo("root", &["ALL"])));
        let refused = offer("dba", false, Some(sudo("root", &["ALL"])));
        let groups_only = offer("adm", true, None);
        assert_eq!(
            pick_role(&[db.clone(), refused.clone(), groups_only.clone()], &target),
            RoleChoice::One("db".into())
        );
        assert_eq!(
            pick_role(&[db, all.clone(), refused.clone()], &target),
            RoleChoice::Several(vec!["db".into(), "admin".into()])
        );
        assert_eq!(
            pick_role(&[refused, groups_only], &target),
            RoleChoice::Nothing
        );
        assert_eq!(
            pick_role(&[all], &inv("/bin/sh", &["-c", "x"])),
            RoleChoice::One("admin".into())
        );
    }
}
