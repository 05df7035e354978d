//! Who a uid is: name, primary and supplementary groups, from NSS.
#![forbid(unsafe_code)]

use std::collections::BTreeSet;
use std::ffi::CString;

use nix::unistd::{getgrouplist, Group, Uid, User};

/// An account as NSS reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// Names of the primary and every supplementary group.
    pub groups: BTreeSet<String>,
}

/// Why an account could not be looked up.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// No passwd entry.
    #[error("no user {0} in the user database")]
    NoSuchUser(String),
    /// NSS failed.
    #[error("looking up {what} failed: {source}")]
    Nss { what: String, source: nix::Error },
}

fn complete(user: User) -> Result<Account, LookupError> {
    let cname =
        CString::new(user.name.clone()).map_err(|_| LookupError::NoSuchUser(user.name.clone()))?;
    let gids = getgrouplist(&cname, user.gid).map_err(|source| LookupError::Nss {
        what: format!("groups of {}", user.name),
        source,
    })?;
    let mut groups = BTreeSet::new();
    for gid in gids.into_iter().chain(std::iter::once(user.gid)) {
        // A gid without a name cannot match a policy group name; skip it.
        if let Ok(Some(g)) = Group::from_gid(gid) {
            groups.insert(g.name);
        }
    }
    Ok(Account {
        name: user.name,
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
        groups,
    })
}

/// Looks up a uid (the socket peer's).
pub fn by_uid(uid: u32) -> Result<Account, LookupError> {
    match User::from_uid(Uid::from_raw(uid)) {
        Ok(Some(u)) => complete(u),
        Ok(None) => Err(LookupError::NoSuchUser(format!("with uid {uid}"))),
        Err(source) => Err(LookupError::Nss {
            what: format!("uid {uid}"),
            source,
        }),
    }
}

/// Looks up a user by name (for `explain`).
pub fn by_name(name: &str) -> Result<Account, LookupError> {
    entry_by_name(name)?.with_groups()
}

/// A passwd entry whose groups have not been looked up yet: one passwd
/// lookup, where the groups take a walk over every group source.
#[derive(Debug, Clone)]
pub struct Entry(User);

impl Entry {
    /// User name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Uid.
    #[must_use]
    pub fn uid(&self) -> u32 {
        self.0.uid.as_raw()
    }

    /// Primary gid.
    #[must_use]
    pub fn gid(&self) -> u32 {
        self.0.gid.as_raw()
    }

    /// The whole account, with the primary and supplementary groups.
    ///
    /// # Errors
    /// When NSS fails listing the groups.
    pub fn with_groups(self) -> Result<Account, LookupError> {
        complete(self.0)
    }
}

/// Looks up a user's passwd entry by name, without the groups.
///
/// # Errors
/// [`LookupError::NoSuchUser`] when there is none, else NSS's failure.
pub fn entry_by_name(name: &str) -> Result<Entry, LookupError> {
    match User::from_name(name) {
        Ok(Some(u)) => Ok(Entry(u)),
        Ok(None) => Err(LookupError::NoSuchUser(name.to_owned())),
        Err(source) => Err(LookupError::Nss {
            what: format!("user {name}"),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_found() {
        let a = by_uid(0).unwrap();
        assert_eq!(a.name, "root");
        assert!(a.groups.contains("root"));
        assert_eq!(by_name("root").unwrap().uid, 0);
        let e = entry_by_name("root").unwrap();
        assert_eq!((e.name(), e.uid(), e.gid()), ("root", 0, 0));
        assert_eq!(e.with_groups().unwrap(), a);
        assert!(by_name("no-such-user-elevated").is_err());
    }
}
