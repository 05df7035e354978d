//! Local user database lookups (NSS), for the checks made without the
//! daemon: root and `exempt_groups=`.
#![forbid(unsafe_code)]

use std::ffi::CString;

use nix::unistd::{getgrouplist, Group, User};

/// Whether `name` is root: the name itself, or any account with uid 0.
pub fn is_root(name: &str) -> bool {
    name == "root" || matches!(User::from_name(name), Ok(Some(u)) if u.uid.is_root())
}

/// Whether `name`'s primary or supplementary groups include any of
/// `groups`. Unknown users and lookup failures count as "no".
pub fn in_any_group(name: &str, groups: &[String]) -> bool {
    let Ok(Some(user)) = User::from_name(name) else {
        return false;
    };
    let Ok(cname) = CString::new(name) else {
        return false;
    };
    let Ok(gids) = getgrouplist(&cname, user.gid) else {
        return false;
    };
    gids.into_iter()
        .chain(std::iter::once(user.gid))
        .filter_map(|gid| Group::from_gid(gid).ok().flatten())
        .any(|g| groups.contains(&g.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_root() {
        assert!(is_root("root"));
        assert!(!is_root("no-such-user-here"));
        assert!(!in_any_group("no-such-user-here", &["root".into()]));
        assert!(in_any_group("root", &["nope".into(), "root".into()]));
        assert!(!in_any_group("root", &["no-such-group-here".into()]));
    }
}
