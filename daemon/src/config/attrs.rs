//! Host tags (`[host] tags` in the settings plus `host.d/*.toml`) and user
//! attributes (`users.d/*.toml`).
//!
//! ```toml
//! # host.d/50-zone.toml
//! tags = { env = "production", zone = ["a", "b"] }
//!
//! # users.d/10-hr.toml
//! [users.alice]
//! department = "payments"
//! teams      = ["a", "b"]
//! principals = ["alice@corp"]   # SSH signing principals: not an attribute
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use elevated_proto::UserName;
use serde::Deserialize;
use toml::Spanned;

use super::collect::read_all;
use super::error::{line_of, ConfigError, ConfigErrors};
use super::files::read_toml_dir;
use super::principals::{parse_list, PrincipalList, PrincipalMap, PRINCIPALS_KEY};
use super::string_list::StringOrList;

/// Tag (or attribute) name -> values.
pub type Tags = BTreeMap<String, Vec<String>>;

/// Checks a tag or attribute name: `[A-Za-z0-9_.-]+`.
pub(crate) fn check_key(what: &str, key: &str) -> Result<(), String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if key.is_empty() {
        return Err(format!("{what} name is empty"));
    }
    match key.chars().find(|c| !ok(*c)) {
        Some(c) => Err(format!(
            "{what} name {key:?} contains {c:?}; allowed: ASCII letters, digits, '_', '.', '-'"
        )),
        None => Ok(()),
    }
}

/// Checks a tag or attribute value: not empty, no control characters.
pub(crate) fn check_value(what: &str, key: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("{what} {key} has an empty value"));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(format!(
            "{what} {key} value {value:?} contains the control character {c:?}"
        ));
    }
    Ok(())
}

/// Validates one `name = value(s)` table into `out`; an empty list is kept
/// as an empty list so that merging can remove the key.
fn collect_tags(
    path: &Path,
    src: &str,
    what: &str,
    raw: BTreeMap<Spanned<String>, Spanned<StringOrList>>,
    errors: &mut Vec<ConfigError>,
) -> Tags {
    let mut out = Tags::new();
    for (key, values) in raw {
        let mut ok = true;
        if let Err(m) = check_key(what, key.get_ref()) {
            errors.push(ConfigError::at(path, line_of(src, key.span().start), m));
            ok = false;
        }
        let line = line_of(src, values.span().start);
        for v in &values.get_ref().0 {
            if let Err(m) = check_value(what, key.get_ref(), v) {
                errors.push(ConfigError::at(path, line, m));
                ok = false;
            }
        }
        if ok {
            out.insert(key.into_inner(), values.into_inner().0);
        }
    }
    out
}

/// Overlays `new` on `base`: a key of `new` replaces that key's values in
/// `base`; an empty list removes the key.
fn overlay(base: &mut Tags, new: Tags) {
    for (k, v) in new {
        if v.is_empty() {
            base.remove(&k);
        } else {
            base.insert(k, v);
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHostFile {
    #[serde(default)]
    tags: BTreeMap<Spanned<String>, Spanned<StringOrList>>,
}

/// Parses one `host.d` file: only `tags = { name = "value" | ["v", ...] }`.
/// An empty list (`zone = []`) is returned as such; [`load_host_dir`] reads
/// it as "remove this tag".
pub fn parse_host_file(path: &Path, src: &str) -> Result<Tags, ConfigErrors> {
    let (raw, mut errors) = read_all::<RawHostFile>(path, src);
    let Some(raw) = raw else {
        return Err(ConfigErrors(errors));
    };
    let tags = collect_tags(path, src, "tag", raw.tags, &mut errors);
    if errors.is_empty() {
        Ok(tags)
    } else {
        Err(ConfigErrors(errors))
    }
}

/// The host's tags: `base` (the `[host] tags` of the settings), then every
/// `host.d/*.toml` in lexical order.
///
/// Merging is per tag name: a later file that sets a tag REPLACES all of
/// that tag's values (it does not add to them), so `host.d/90-local.toml`
/// can override what a fleet-wide file or the settings said. A tag set to
/// an empty list is removed. Tags a file does not mention are kept. Errors
/// from every file are returned together.
pub fn load_host_dir(dir: &Path, base: &Tags) -> Result<Tags, ConfigErrors> {
    let files = read_toml_dir(dir).map_err(|e| ConfigErrors(vec![e]))?;
    let mut errors = Vec::new();
    let mut tags = Tags::new();
    overlay(&mut tags, base.clone());
    for (path, text) in files {
        match text
            .map_err(|e| ConfigErrors(vec![e]))
            .and_then(|src| parse_host_file(&path, &src))
        {
            Ok(t) => overlay(&mut tags, t),
            Err(e) => errors.extend(e.0),
        }
    }
    if errors.is_empty() {
        Ok(tags)
    } else {
        Err(ConfigErrors(errors))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUsersFile {
    #[serde(default)]
    users: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<StringOrList>>>,
}

/// What one `users.d` file says: attributes, and signing principals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsersFile {
    /// Attributes by user name (what `who.attributes` and
    /// `approvers.attributes` match).
    pub attributes: BTreeMap<String, Tags>,
    /// `principals = [...]` by user name (see [`super::principals`]); not an
    /// attribute.
    pub principals: BTreeMap<String, PrincipalList>,
}

/// Parses one `users.d` file: `[users.NAME]` tables of
/// `attribute = "value" | ["v", ...]`, plus `principals = ["p", ...]`, the
/// user's SSH signing principals. User names are checked like every other
/// user name; an empty list is returned as such ([`load_users_dir`] reads
/// it as "remove this attribute", or "no principals").
pub fn parse_users_file(path: &Path, src: &str) -> Result<UsersFile, ConfigErrors> {
    let (raw, mut errors) = read_all::<RawUsersFile>(path, src);
    let Some(raw) = raw else {
        return Err(ConfigErrors(errors));
    };
    let mut out = UsersFile::default();
    for (name, mut attrs) in raw.users {
        if let Err(e) = UserName::parse(name.get_ref()) {
            errors.push(ConfigError::at(
                path,
                line_of(src, name.span().start),
                e.to_string(),
            ));
            // Its attributes are still checked, for their own errors.
            collect_tags(path, src, "attribute", attrs, &mut errors);
            continue;
        }
        if let Some((_, value)) = attrs.remove_entry(PRINCIPALS_KEY) {
            match parse_list(path, src, value) {
                Ok(list) => {
                    out.principals.insert(name.get_ref().clone(), list);
                }
                Err(e) => errors.extend(e),
            }
        }
        let tags = collect_tags(path, src, "attribute", attrs, &mut errors);
        out.attributes.insert(name.into_inner(), tags);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ConfigErrors(errors))
    }
}

/// Every user's attributes and the principal mapping from
/// `users.d/*.toml`, files in lexical order.
///
/// Merging is per user and attribute name, like host tags: a later file that
/// sets an attribute of a user REPLACES that attribute's values; an empty
/// list removes it; other attributes of the user are kept. A user's
/// `principals` merge the same way (a later list replaces an earlier one).
/// A principal mapped to two accounts is an error. Errors from every file
/// are returned together.
pub fn load_users_dir(dir: &Path) -> Result<(BTreeMap<String, Tags>, PrincipalMap), ConfigErrors> {
    let files = read_toml_dir(dir).map_err(|e| ConfigErrors(vec![e]))?;
    let mut errors = Vec::new();
    let mut users: BTreeMap<String, Tags> = BTreeMap::new();
    let mut lists: BTreeMap<String, PrincipalList> = BTreeMap::new();
    for (path, text) in files {
        match text
            .map_err(|e| ConfigErrors(vec![e]))
            .and_then(|src| parse_users_file(&path, &src))
        {
            Ok(u) => {
                for (name, attrs) in u.attributes {
                    overlay(users.entry(name).or_default(), attrs);
                }
                lists.extend(u.principals);
            }
            Err(e) => errors.extend(e.0),
        }
    }
    users.retain(|_, attrs| !attrs.is_empty());
    let map = PrincipalMap::build(&lists).unwrap_or_else(|e| {
        errors.extend(e);
        PrincipalMap::default()
    });
    if errors.is_empty() {
        Ok((users, map))
    } else {
        Err(ConfigErrors(errors))
    }
}

#[cfg(test)]
#[path = "attrs_tests.rs"]
mod tests;
