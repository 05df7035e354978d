//! Which grant or role covers a command: the pure part of `elevate run`.
//!
//! A policy command entry is `ALL`, an absolute path (any arguments), or a
//! path followed by fixed arguments separated by spaces (exactly those
//! arguments; a single `""` means no arguments at all), as sudoers reads it.

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

fn role_matches(view: &RequestView, role: Option<&str>) -> bool {
    match role {
        None => true,
        Some(r) => view.role == r,
    }
}

/// The caller's active grant that covers `inv` (of `role`, if given); the
/// one that lasts longest when several do.
#[must_use]
pub fn find_grant<'a>(
    views: &'a [RequestView],
    role: Option<&str>,
    inv: &Invocation,
) -> Option<&'a RequestView> {
    views
        .iter()
        .filter(|v| v.state == RequestState::Active && role_matches(v, role))
        .filter(|v| sudo_covers(v.sudo.as_ref(), inv))
        .max_by(|a, b| a.expires_at.cmp(&b.expires_at))
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
                Some(r) => v.role == r && (v.sudo.is_none() || sudo_covers(v.sudo.as_ref(), inv)),
                None => sudo_covers(v.sudo.as_ref(), inv),
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

/// Picks the role to request for `inv` among the allowed offers.
#[must_use]
pub fn pick_role(offers: &[RoleOffer], inv: &Invocation) -> RoleChoice {
    let mut fits: Vec<String> = offers
        .iter()
        .filter(|o| o.allowed && sudo_covers(o.sudo.as_ref(), inv))
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
    use crate::testutil::{offer, sudo, view};

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
