//! Group grants: a user joins a local group for a grant's window with
//! `gpasswd -a` and leaves it with `gpasswd -d` (gpasswd locks `/etc/group`
//! and `/etc/gshadow` properly). Membership is read from the group file
//! itself, not through NSS, so that caches (nscd, sssd) cannot hide the
//! state gpasswd just wrote, and so that only local groups are managed.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use elevated_proto::{GroupName, UserName};

use super::GrantError;

/// Where `gpasswd` lives on Debian, Ubuntu, Fedora and RHEL.
pub const DEFAULT_GPASSWD: &str = "/usr/bin/gpasswd";

/// The local group database.
pub const DEFAULT_GROUP_FILE: &str = "/etc/group";

/// How often gpasswd is retried while another tool holds the group lock.
const LOCK_RETRIES: u32 = 10;

/// Whether [`Groups::add`] made the user a member or found them one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Added {
    /// The daemon added the membership: it removes it when the grant ends.
    Now,
    /// The user was a member already (listed in the group, or it is their
    /// primary group): the daemon must never remove it.
    AlreadyMember,
}

/// One line of the group file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    /// Group name.
    pub name: String,
    /// Group id.
    pub gid: u32,
    /// Supplementary members.
    pub members: Vec<String>,
}

/// Parses one `name:password:gid:members` line; `None` for comments, NIS
/// `+`/`-` entries and malformed lines.
#[must_use]
pub fn parse_group_line(line: &str) -> Option<GroupEntry> {
    if line.starts_with(['#', '+', '-']) {
        return None;
    }
    let mut fields = line.split(':');
    let name = fields.next().filter(|n| !n.is_empty())?;
    let _password = fields.next()?;
    let gid = fields.next()?.trim().parse().ok()?;
    let members = fields
        .next()?
        .trim()
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect();
    Some(GroupEntry {
        name: name.to_owned(),
        gid,
        members,
    })
}

/// The entry for `name` in the text of a group file (the first one, as
/// NSS would find it).
#[must_use]
pub fn find_group(text: &str, name: &str) -> Option<GroupEntry> {
    text.lines()
        .filter_map(parse_group_line)
        .find(|e| e.name == name)
}

/// Local groups, changed through `gpasswd`.
#[derive(Debug, Clone)]
pub struct Groups {
    gpasswd: PathBuf,
    group_file: PathBuf,
    timeout: Duration,
    /// Shared by clones: a hung `gpasswd` is not started again at once.
    backoff: crate::sys::run::Backoff,
}

impl Default for Groups {
    fn default() -> Self {
        Self::new(
            PathBuf::from(DEFAULT_GPASSWD),
            PathBuf::from(DEFAULT_GROUP_FILE),
        )
    }
}

impl Groups {
    /// Groups changed with `gpasswd` and read from `group_file` (the file
    /// gpasswd writes: `/etc/group` unless gpasswd is a test double).
    #[must_use]
    pub fn new(gpasswd: PathBuf, group_file: PathBuf) -> Self {
        Self {
            gpasswd,
            group_file,
            timeout: super::DEFAULT_COMMAND_TIMEOUT,
            backoff: crate::sys::run::Backoff::default(),
        }
    }

    /// The same groups with another time limit for each `gpasswd` run.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn read(&self) -> Result<String, GrantError> {
        fs::read_to_string(&self.group_file).map_err(|source| GrantError::Io {
            action: "reading",
            path: self.group_file.display().to_string(),
            source,
        })
    }

    /// The group's entry, if the group file has one.
    pub fn entry(&self, group: &GroupName) -> Result<Option<GroupEntry>, GrantError> {
        Ok(find_group(&self.read()?, group.as_str()))
    }

    /// The group's id, if it exists locally.
    pub fn gid(&self, group: &GroupName) -> Result<Option<u32>, GrantError> {
        Ok(self.entry(group)?.map(|e| e.gid))
    }

    /// Whether the group exists in the local group file (an unreadable
    /// file counts as "no": nothing could be granted from it).
    #[cfg(test)]
    #[must_use]
    pub fn exists(&self, group: &GroupName) -> bool {
        matches!(self.entry(group), Ok(Some(_)))
    }

    /// Whether `user` is a supplementary member of `group` as recorded in
    /// the group file (a missing group: not a member).
    pub fn is_member(&self, user: &UserName, group: &GroupName) -> Result<bool, GrantError> {
        Ok(self
            .entry(group)?
            .is_some_and(|e| e.members.iter().any(|m| m == user.as_str())))
    }

    /// Whether `group` is `user`'s primary group (passwd gid).
    fn is_primary(user: &UserName, entry: &GroupEntry) -> bool {
        crate::sys::users::entry_by_name(user.as_str()).is_ok_and(|u| u.gid() == entry.gid)
    }

    /// Makes `user` a member of `group` with `gpasswd -a`, unless they are
    /// one already (listed in the group, or it is their primary group).
    /// The membership is checked again afterwards.
    pub fn add(&self, user: &UserName, group: &GroupName) -> Result<Added, GrantError> {
        if let Some(entry) = self.entry(group)? {
            if entry.members.iter().any(|m| m == user.as_str()) || Self::is_primary(user, &entry) {
                return Ok(Added::AlreadyMember);
            }
        }
        let stderr = self.gpasswd("-a", user, group)?;
        crate::fault::hit(crate::fault::Point::AfterGpasswd);
        if !self.is_member(user, group)? {
            return Err(GrantError::Command {
                command: self.show("-a", user, group),
                detail: format!(
                    "it succeeded but {} does not list {user} in {group}{}",
                    self.group_file.display(),
                    if stderr.is_empty() {
                        String::new()
                    } else {
                        format!(" ({stderr})")
                    }
                ),
            });
        }
        Ok(Added::Now)
    }

    /// Takes `user` out of `group` with `gpasswd -d`. Returns whether they
    /// were a member; not being one is no error. Callers only remove a
    /// membership that [`Groups::add`] reported as [`Added::Now`].
    pub fn remove(&self, user: &UserName, group: &GroupName) -> Result<bool, GrantError> {
        if !self.is_member(user, group)? {
            return Ok(false);
        }
        match self.gpasswd("-d", user, group) {
            Ok(stderr) => {
                crate::fault::hit(crate::fault::Point::AfterGpasswdRemove);
                if self.is_member(user, group)? {
                    return Err(GrantError::Command {
                        command: self.show("-d", user, group),
                        detail: format!(
                            "it succeeded but {} still lists {user} in {group} ({stderr})",
                            self.group_file.display()
                        ),
                    });
                }
                Ok(true)
            }
            // Someone else removed the membership between the check and
            // gpasswd (which then exits 3, "is not a member").
            Err(e) if !self.is_member(user, group)? => {
                tracing::debug!("{e}; the membership is gone anyway");
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    fn show(&self, flag: &str, user: &UserName, group: &GroupName) -> String {
        format!("{} {flag} {user} -- {group}", self.gpasswd.display())
    }

    /// Runs `gpasswd FLAG USER -- GROUP` in the C locale, retrying while
    /// another tool holds the group file lock. Returns its error output
    /// (usually empty) on success.
    fn gpasswd(
        &self,
        flag: &str,
        user: &UserName,
        group: &GroupName,
    ) -> Result<String, GrantError> {
        let command = self.show(flag, user, group);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut cmd = Command::new(&self.gpasswd);
            crate::sys::child::die_with_daemon(&mut cmd)
                .arg(flag)
                .arg(user.as_str())
                .arg("--")
                .arg(group.as_str())
                .env("LC_ALL", "C");
            // Bounded: the engine holds its lock meanwhile, and one hung
            // gpasswd must not stop every other grant and expiry. A killed
            // `-d` leaves the membership journalled, so reconciliation
            // tries again.
            let limits = crate::sys::run::Limits::timeout(self.timeout);
            let out = self
                .backoff
                .run(&mut cmd, &limits)
                .map_err(|e| GrantError::Command {
                    command: command.clone(),
                    detail: e.to_string(),
                })?;
            let stderr = out.stderr.trim().to_owned();
            if out.status.success() {
                return Ok(stderr);
            }
            if stderr.contains("cannot lock") && attempt < LOCK_RETRIES {
                std::thread::sleep(Duration::from_millis(100 * u64::from(attempt)));
                continue;
            }
            let detail = if stderr.is_empty() {
                out.status.to_string()
            } else {
                format!("{stderr} ({})", out.status)
            };
            return Err(GrantError::Command { command, detail });
        }
    }
}

#[cfg(test)]
#[path = "groups_tests.rs"]
mod tests;
