//! Policy files (`policy.d/*.toml`) -> [`Policy`], checking everything at
//! load and reporting every problem with its file and line, like `visudo -c`.
//!
//! A TOML syntax error stops the reading of that one file; every other
//! problem (a shape error too: see [`super::collect`]) is collected, across
//! all files, and returned together.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use elevated_proto::{NameError, RoleName, UserName};
use toml::Spanned;

use super::attrs::{check_key, check_value};
use super::collect::read_all;
use super::error::{line_of, ConfigError, ConfigErrors};
use super::files::read_toml_dir;
use super::policy_check as check;
use super::policy_raw::{RawFile, RawRole, RawRule, SpannedList, SpannedTags};
use crate::policy::{Command, Policy, Role, SourceRef, SudoSpec};

mod role_groups;
mod rules;

pub use role_groups::{GroupLookup, DEFAULT_TERMINATE_GRACE, MAX_TERMINATE_GRACE};

/// `max_duration` of a role that names none.
pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(8 * 3600);

/// Longest `default_duration` of a role that names none (shorter when the
/// role's `max_duration` is).
pub const DEFAULT_DURATION: Duration = Duration::from_secs(3600);

/// Window of an approved just-in-time action when the role sets none.
pub const DEFAULT_ACTION_DURATION: Duration = Duration::from_secs(300);

/// Loads every `*.toml` in `dir` in lexical order (a missing directory is an
/// empty policy). Unsafe files (see [`super::files::read_trusted`]) are
/// errors too. All errors of all files are returned together, in file order.
/// With `groups`, role groups are checked against the host too.
pub fn load_policy_dir(
    dir: &Path,
    groups: Option<GroupLookup<'_>>,
) -> Result<Policy, ConfigErrors> {
    let files = read_toml_dir(dir).map_err(|e| ConfigErrors(vec![e]))?;
    let order: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
    let mut texts = Vec::new();
    let mut errors = Vec::new();
    for (path, text) in files {
        match text {
            Ok(t) => texts.push((path, t)),
            Err(e) => errors.push(e),
        }
    }
    let parsed = parse_policy_files_with(&texts, groups);
    if errors.is_empty() {
        return parsed;
    }
    if let Err(ConfigErrors(more)) = parsed {
        errors.extend(more);
    }
    sort_errors(&mut errors, &order);
    Err(ConfigErrors(errors))
}

/// Parses policy files given in evaluation order (the caller sorts them).
/// Pure: no file system access, no look at the host's groups (privileged
/// group names are still refused). All errors are returned, in file order
/// and then line order.
pub fn parse_policy_files(files: &[(PathBuf, String)]) -> Result<Policy, ConfigErrors> {
    parse_policy_files_with(files, None)
}

/// [`parse_policy_files`], and with `groups`, also checks every group a
/// role grants against the host: it must exist, and a gid 0 group counts
/// as privileged whatever its name.
pub fn parse_policy_files_with(
    files: &[(PathBuf, String)],
    groups: Option<GroupLookup<'_>>,
) -> Result<Policy, ConfigErrors> {
    let mut errors = Vec::new();
    let mut policy = Policy::default();
    let mut defined: BTreeMap<RoleName, (PathBuf, u32)> = BTreeMap::new();
    let mut role_refs: Vec<(PathBuf, u32, RoleName)> = Vec::new();
    for (path, src) in files {
        let (raw, shape_errors) = read_all::<RawFile>(path, src);
        errors.extend(shape_errors);
        let Some(raw) = raw else {
            continue;
        };
        let mut cx = Cx {
            path,
            src,
            file: path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            errors: &mut errors,
            groups,
        };
        for (name, raw_role) in raw.roles {
            let line = cx.line(name.span());
            let role = cx.role(&name, raw_role);
            // A role with errors in its body still counts as defined, so
            // that rules naming it do not add "unknown role" errors.
            let Ok(role_name) = RoleName::parse(name.get_ref()) else {
                continue;
            };
            if let Some((first, first_line)) = defined.get(&role_name) {
                cx.err_line(
                    line,
                    format!(
                        "role {role_name} is defined twice; first at {}:{first_line}",
                        first.display()
                    ),
                );
                continue;
            }
            defined.insert(role_name.clone(), (path.clone(), line));
            if let Some(role) = role {
                policy.roles.insert(role_name, role);
            }
        }
        for (i, raw_rule) in raw.rules.into_iter().enumerate() {
            let role = &raw_rule.get_ref().role;
            if let Ok(name) = RoleName::parse(role.get_ref()) {
                role_refs.push((path.clone(), cx.line(role.span()), name));
            }
            if let Some(rule) = cx.rule(i + 1, raw_rule) {
                policy.push_rule(rule);
            }
        }
    }
    for (path, line, role) in role_refs {
        if !defined.contains_key(&role) {
            errors.push(ConfigError::at(
                &path,
                line,
                format!("role: no policy file defines a role named {role}"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(policy)
    } else {
        let order: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
        sort_errors(&mut errors, &order);
        Err(ConfigErrors(errors))
    }
}

/// Orders errors by the position of their file in `order` (unknown files
/// first), then by line; stable for errors on the same line.
fn sort_errors(errors: &mut [ConfigError], order: &[PathBuf]) {
    errors.sort_by_key(|e| {
        let pos = order.iter().position(|p| *p == e.file);
        (pos.map_or(0, |p| p + 1), e.line.unwrap_or(0))
    });
}

/// What the checks of one file share: where they are, where errors go,
/// and how to look the host's groups up (`None`: not checked).
struct Cx<'a> {
    path: &'a Path,
    src: &'a str,
    file: String,
    errors: &'a mut Vec<ConfigError>,
    groups: Option<GroupLookup<'a>>,
}

impl Cx<'_> {
    fn line(&self, span: Range<usize>) -> u32 {
        line_of(self.src, span.start)
    }

    fn err_line(&mut self, line: u32, message: impl Into<String>) {
        self.errors.push(ConfigError::at(self.path, line, message));
    }

    fn err(&mut self, span: Range<usize>, message: impl Into<String>) {
        let line = self.line(span);
        self.err_line(line, message);
    }

    fn source(&self, span: Range<usize>) -> SourceRef {
        SourceRef {
            file: self.file.clone(),
            line: self.line(span),
        }
    }

    /// Records the error of `r`, if any, at `span`, prefixed with `what`.
    fn check<T, E: ToString>(
        &mut self,
        span: Range<usize>,
        what: &str,
        r: Result<T, E>,
    ) -> Option<T> {
        r.map_err(|e| self.err(span, format!("{what}: {}", e.to_string())))
            .ok()
    }

    fn name<T>(
        &mut self,
        s: &Spanned<String>,
        what: &str,
        parse: fn(&str) -> Result<T, NameError>,
    ) -> Option<T> {
        self.check(s.span(), what, parse(s.get_ref()))
    }

    /// A list of names; `None` if any is bad or the list is empty.
    fn names<T>(
        &mut self,
        list: &SpannedList,
        what: &str,
        parse: fn(&str) -> Result<T, NameError>,
    ) -> Option<Vec<T>> {
        let mut out = Some(Vec::new());
        for s in list.get_ref() {
            match (self.name(s, what, parse), out.as_mut()) {
                (Some(n), Some(v)) => v.push(n),
                _ => out = None,
            }
        }
        out
    }

    fn not_empty(&mut self, list: &SpannedList, what: &str) -> bool {
        if list.get_ref().is_empty() {
            self.err(
                list.span(),
                format!("{what} is empty, so it matches nothing; remove the key to match all"),
            );
            return false;
        }
        true
    }

    /// `tags` or `attributes` of a selector (`field`); values must be listed.
    fn tags(
        &mut self,
        raw: &SpannedTags,
        field: &str,
        what: &str,
    ) -> Option<BTreeMap<String, Vec<String>>> {
        let mut ok = true;
        let mut out = BTreeMap::new();
        for (key, values) in raw.get_ref() {
            ok &= self
                .check(key.span(), field, check_key(what, key.get_ref()))
                .is_some();
            let list = &values.get_ref().0;
            if list.is_empty() {
                let k = key.get_ref();
                self.err(
                    values.span(),
                    format!("{field}: {what} {k} lists no values, so it matches nothing"),
                );
                ok = false;
            }
            for v in list {
                ok &= self
                    .check(values.span(), field, check_value(what, key.get_ref(), v))
                    .is_some();
            }
            out.insert(key.get_ref().clone(), list.clone());
        }
        ok.then_some(out)
    }

    fn duration(&mut self, s: &Spanned<String>, what: &str) -> Option<Duration> {
        self.check(s.span(), what, check::duration(s.get_ref()))
    }

    fn role(&mut self, name: &Spanned<String>, raw: Spanned<RawRole>) -> Option<Role> {
        let source = self.source(raw.span());
        let raw = raw.into_inner();
        let role_name = RoleName::parse(name.get_ref())
            .map_err(|e| self.err(name.span(), e.to_string()))
            .ok();
        let sudo = match &raw.sudo {
            Some(s) => self.sudo(s).map(Some),
            None => Some(None),
        };
        let groups = role_groups::groups(self, &raw);
        let expiry = role_groups::expiry(self, &raw);
        let max = match &raw.max_duration {
            Some(s) => self.duration(s, "max_duration"),
            None => Some(DEFAULT_MAX_DURATION),
        };
        let mut default = match &raw.default_duration {
            Some(s) => self.duration(s, "default_duration"),
            None => max.map(|m| m.min(DEFAULT_DURATION)),
        };
        if let (Some(d), Some(m), Some(s)) = (default, max, &raw.default_duration) {
            if d > m {
                let m_shown = match raw.max_duration {
                    Some(_) => check::show(m),
                    None => format!("{} (the default)", check::show(m)),
                };
                self.err(
                    s.span(),
                    format!(
                        "default_duration {} is longer than max_duration {m_shown}",
                        check::show(d)
                    ),
                );
                // The rest of the role is still checked.
                default = None;
            }
        }
        let actions = match &raw.actions {
            Some(list) => self.commands(list, "actions"),
            None => Some(Vec::new()),
        };
        let action_duration = match &raw.action_duration {
            Some(s) => self.duration(s, "action_duration"),
            None => Some(DEFAULT_ACTION_DURATION),
        };
        let (on_expiry, terminate_grace) = expiry?;
        Some(Role {
            name: role_name?,
            actions: actions?,
            action_duration: action_duration?,
            reauth: raw.reauth,
            description: raw.description,
            sudo: sudo?,
            groups: groups?,
            allow_privileged_groups: raw.allow_privileged_groups,
            on_expiry,
            terminate_grace,
            login: raw.login,
            default_duration: default?,
            max_duration: max?,
            source,
        })
    }

    fn sudo(&mut self, raw: &Spanned<crate::config::policy_raw::RawSudo>) -> Option<SudoSpec> {
        let raw = raw.get_ref();
        let runas = match &raw.runas {
            Some(r) => self.name(r, "sudo.runas", UserName::parse),
            None => UserName::parse("root").ok(),
        };
        let list = raw.commands.get_ref();
        if list.is_empty() {
            self.err(
                raw.commands.span(),
                "sudo.commands is empty; list absolute command paths, or [\"ALL\"] for full sudo",
            );
            return None;
        }
        // Both are checked before either is given up on: a bad runas must
        // not hide the errors of the commands.
        let commands = self.commands(&raw.commands, "sudo.commands");
        Some(SudoSpec {
            runas: runas?,
            commands: commands?,
            nopasswd: raw.nopasswd.unwrap_or(true),
        })
    }

    /// A list of commands (`sudo.commands`, `actions`).
    fn commands(&mut self, raw: &SpannedList, what: &str) -> Option<Vec<Command>> {
        let list = raw.get_ref();
        let mut commands = Some(Vec::new());
        for c in list {
            let parsed = if c.get_ref() == "ALL" {
                if list.len() > 1 {
                    self.err(
                        c.span(),
                        format!("{what}: \"ALL\" allows every command and must be the only entry"),
                    );
                    None
                } else {
                    Some(Command::All)
                }
            } else {
                self.check(c.span(), what, check::command(c.get_ref()))
            };
            match (parsed, commands.as_mut()) {
                (Some(p), Some(v)) => v.push(p),
                _ => commands = None,
            }
        }
        commands
    }

    fn rule(&mut self, index_in_file: usize, raw: Spanned<RawRule>) -> Option<crate::policy::Rule> {
        rules::rule(self, index_in_file, raw)
    }
}

#[cfg(test)]
#[path = "policy_file_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "policy_errors_tests.rs"]
mod error_tests;
