//! Signing principals of local accounts: `principals = ["bob@corp"]` under
//! `[users.bob]` in `users.d` says that whoever signs as `bob@corp` is the
//! local account `bob`. With it, one person counts once whether they
//! approve locally, by signature or both, and a requester's own principal
//! is refused like a local self-approval.
//!
//! `principals` is not an attribute: `who.attributes` and
//! `approvers.attributes` never see it, so adding a mapping changes whose
//! votes are merged, never who may request or approve.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::error::{line_of, ConfigError};
use super::policy_check;
use super::string_list::StringOrList;

/// The `users.d` key that lists a user's signing principals.
pub const PRINCIPALS_KEY: &str = "principals";

/// One user's `principals = [...]`, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalList {
    pub path: PathBuf,
    /// The line of the list.
    pub line: u32,
    /// The principals, as written.
    pub principals: Vec<String>,
}

/// Checks one principal of a `users.d` list: a single name, as an
/// allowed-signers entry or `approvers.principals` would spell it.
fn check(p: &str) -> Result<(), String> {
    policy_check::principal(p)?;
    // A pattern would map a whole family of signers to one account; a
    // mapping must name exactly one signer.
    if let Some(c) = p.chars().find(|c| matches!(c, '*' | '?' | '!' | ',')) {
        return Err(format!(
            "principal {p:?} contains {c:?}: a mapping names one principal; \
             patterns belong in allowed_signers"
        ));
    }
    Ok(())
}

/// Validates the value of a `principals` key of `src` (the text of `path`):
/// a list (never a single string: the key names a set of identities) of
/// valid principals.
pub(crate) fn parse_list(
    path: &Path,
    src: &str,
    value: Spanned<StringOrList>,
) -> Result<PrincipalList, Vec<ConfigError>> {
    let span = value.span();
    let line = line_of(src, span.start);
    let at = |m: String| ConfigError::at(path, line, m);
    let is_list = src
        .get(span)
        .is_some_and(|t| t.trim_start().starts_with('['));
    if !is_list {
        return Err(vec![at(format!(
            "{PRINCIPALS_KEY} must be a list of strings, such as {PRINCIPALS_KEY} = [\"bob@corp\"]"
        ))]);
    }
    let principals = value.into_inner().0;
    let errors: Vec<ConfigError> = principals
        .iter()
        .filter_map(|p| check(p).err())
        .map(|m| at(format!("{PRINCIPALS_KEY}: {m}")))
        .collect();
    if errors.is_empty() {
        Ok(PrincipalList {
            path: path.to_path_buf(),
            line,
            principals,
        })
    } else {
        Err(errors)
    }
}

/// Signing principal -> the local account it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrincipalMap {
    by_principal: BTreeMap<String, String>,
}

impl PrincipalMap {
    /// Builds the map from every user's list. A principal listed for two
    /// accounts is an error at the second list (users in name order): one
    /// signer cannot be two people.
    pub fn build(lists: &BTreeMap<String, PrincipalList>) -> Result<Self, Vec<ConfigError>> {
        let mut by_principal: BTreeMap<String, String> = BTreeMap::new();
        let mut errors = Vec::new();
        for (user, list) in lists {
            for p in &list.principals {
                match by_principal.get(p) {
                    Some(owner) if owner != user => {
                        let first = &lists[owner];
                        errors.push(ConfigError::at(
                            &list.path,
                            list.line,
                            format!(
                                "principal {p:?} is mapped to both {owner} ({}:{}) and {user}; \
                                 a principal belongs to one account",
                                first.path.display(),
                                first.line
                            ),
                        ));
                    }
                    Some(_) => {}
                    None => {
                        by_principal.insert(p.clone(), user.clone());
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(Self { by_principal })
        } else {
            Err(errors)
        }
    }

    /// The local account `principal` belongs to, if `users.d` maps it.
    #[must_use]
    pub fn account_of(&self, principal: &str) -> Option<&str> {
        self.by_principal.get(principal).map(String::as_str)
    }

    /// Every principal mapped to `user`.
    pub fn principals_of<'a>(&'a self, user: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.by_principal
            .iter()
            .filter(move |(_, u)| u.as_str() == user)
            .map(|(p, _)| p.as_str())
    }

    /// Every mapping, principal first, in principal order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.by_principal
            .iter()
            .map(|(p, u)| (p.as_str(), u.as_str()))
    }

    /// Whether nothing is mapped.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_principal.is_empty()
    }
}
