//! Everything the daemon reads from `/etc/elevated`, loaded and validated
//! together so that `check-config`, `explain` and the daemon agree.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use elevated_proto::GroupName;

use super::attrs::{load_host_dir, load_users_dir, Tags};
use super::error::{ConfigError, ConfigErrors};
use super::files::dir_exists;
use super::policy_file::load_policy_dir;
use super::principals::PrincipalMap;
use super::settings::Settings;
use crate::grant::groups::{find_group, DEFAULT_GROUP_FILE};
use crate::policy::{HostFacts, Policy};

/// Settings, policy, host and user attributes.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub settings: Settings,
    /// The settings file read, if any.
    pub config_path: Option<PathBuf>,
    pub policy: Policy,
    /// This host's facts.
    pub host: HostFacts,
    /// User attributes by user name.
    pub users: BTreeMap<String, Tags>,
    /// Signing principals of local accounts (`principals` in `users.d`).
    pub principals: PrincipalMap,
}

/// This host's facts: `[host] name` or the kernel's host name, `tags`,
/// and the host's cap on any window.
fn host_facts(settings: &Settings, tags: Tags, hostname: &str) -> HostFacts {
    HostFacts {
        name: settings
            .host
            .name
            .clone()
            .unwrap_or_else(|| hostname.to_owned()),
        tags,
        max_duration: settings.requests.max_duration,
    }
}

impl Loaded {
    /// Settings alone, with no policy, tags or user facts: what taking
    /// grants away needs (`elevated revoke-all`), so that a policy that no
    /// longer loads cannot keep a grant alive.
    #[must_use]
    pub fn settings_only(settings: Settings, config_path: Option<PathBuf>, hostname: &str) -> Self {
        let host = host_facts(&settings, BTreeMap::new(), hostname);
        Self {
            settings,
            config_path,
            policy: Policy::default(),
            host,
            users: BTreeMap::new(),
            principals: PrincipalMap::default(),
        }
    }

    /// Loads everything, reporting every problem found, not just the first.
    /// `hostname` is the kernel's host name, used unless `[host] name` is set.
    /// Every group a role grants must exist in the local group file
    /// (`/etc/group`), the only place `gpasswd` can add members. Every
    /// command hook must be a program the daemon can trust (see
    /// [`crate::sys::trust`]), and `users.d` and `host.d` must exist when
    /// a rule matches on user attributes or host tags.
    ///
    /// Errors in the settings do not stop the check of the other files:
    /// they are read from the directories the settings name (the built-in
    /// default where that setting is itself wrong).
    pub fn load(explicit: Option<&Path>, hostname: &str) -> Result<Self, ConfigErrors> {
        let (settings, mut errs) = Settings::load_for_check(explicit);
        let Some((settings, config_path)) = settings else {
            return Err(ConfigErrors(errs));
        };
        let d = &settings.daemon;
        let group_file = Path::new(DEFAULT_GROUP_FILE);
        let group_text = std::fs::read_to_string(group_file)
            .map_err(|e| format!("reading {}: {e}", group_file.display()));
        let lookup = |g: &GroupName| match &group_text {
            Ok(text) => Ok(find_group(text, g.as_str()).map(|e| e.gid)),
            Err(e) => Err(e.clone()),
        };
        let policy = load_policy_dir(&d.policy_dir, Some(&lookup)).unwrap_or_else(|e| {
            errs.extend(e.0);
            Policy::default()
        });
        let tags = load_host_dir(&d.host_dir, &settings.host.tag_lists()).unwrap_or_else(|e| {
            errs.extend(e.0);
            Tags::new()
        });
        let (users, principals) = load_users_dir(&d.users_dir).unwrap_or_else(|e| {
            errs.extend(e.0);
            (BTreeMap::new(), PrincipalMap::default())
        });
        errs.extend(missing_attribute_dirs(&policy, &settings));
        errs.extend(untrusted_hooks(&settings));
        errs.extend(untrusted_tools(&settings));
        if !errs.is_empty() {
            return Err(ConfigErrors(errs));
        }
        let host = host_facts(&settings, tags, hostname);
        Ok(Self {
            settings,
            config_path,
            policy,
            host,
            users,
            principals,
        })
    }

    /// A user's attributes from `users.d` (empty when none).
    #[must_use]
    pub fn attributes_of(&self, user: &str) -> Tags {
        self.users.get(user).cloned().unwrap_or_default()
    }
}

/// A rule that matches on user attributes or host tags needs the directory
/// they come from. Without it every user has no attributes and the host no
/// tags from it, which quietly turns off a `deny` rule matching on them:
/// a mistyped path or a deleted directory must not open access.
fn missing_attribute_dirs(policy: &Policy, settings: &Settings) -> Vec<ConfigError> {
    let d = &settings.daemon;
    let rules = policy.rules();
    let by_attributes = rules
        .iter()
        .find(|r| r.who.as_ref().is_some_and(|w| w.attributes.is_some()));
    let by_tags = rules
        .iter()
        .find(|r| r.r#where.as_ref().is_some_and(|w| w.tags.is_some()));
    let mut errs = Vec::new();
    for (rule, dir, key, what) in [
        (by_attributes, &d.users_dir, "users_dir", "who.attributes"),
        (by_tags, &d.host_dir, "host_dir", "where.tags"),
    ] {
        let Some(rule) = rule else { continue };
        // An untrusted directory is reported by its loader already.
        if let Ok(false) = dir_exists(dir) {
            errs.push(ConfigError::file(
                dir,
                format!(
                    "does not exist, but {} uses {what}; create it (mkdir -m 0755 {}), \
                     even if it stays empty, or point [daemon] {key} at the right place",
                    rule.label(),
                    dir.display()
                ),
            ));
        }
    }
    errs
}

/// A command hook runs as root: it must be a regular file, not a link,
/// owned by root and writable by nobody else, in directories only root can
/// write, up to `/`. Checked again before every run. It must also be
/// executable: a hook that can never run would lose every notification
/// while the daemon looks healthy.
fn untrusted_hooks(settings: &Settings) -> Vec<ConfigError> {
    use crate::sys::trust::Problem;
    settings
        .notify
        .command
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let n = i + 1;
            let path = &c.command;
            let problem = match crate::sys::trust::open_program(path) {
                Err(e) if matches!(e.problem, Problem::Missing) && e.path == *path => {
                    format!("[[notify.command]] {n} does not exist; install it or remove the hook")
                }
                Err(e) => format!(
                    "[[notify.command]] {n} cannot be trusted to run as root: {}",
                    e.message_for(path)
                ),
                Ok(fd) => {
                    let mode = std::fs::File::from(fd)
                        .metadata()
                        .ok()?
                        .permissions()
                        .mode();
                    if mode & 0o111 != 0 {
                        return None;
                    }
                    format!(
                        "[[notify.command]] {n} is not executable, so it would never run; \
                         run: chmod 0755 {}",
                        path.display()
                    )
                }
            };
            Some(ConfigError::file(path, problem))
        })
        .collect()
}

/// `visudo` and `gpasswd` run as root too, so they are held to the same
/// rule as hooks. A missing one is left for the grant that needs it to
/// report (a host without group grants needs no `gpasswd`).
fn untrusted_tools(settings: &Settings) -> Vec<ConfigError> {
    let d = &settings.daemon;
    [("visudo", &d.visudo), ("gpasswd", &d.gpasswd)]
        .into_iter()
        .filter(|(_, path)| std::fs::symlink_metadata(path).is_ok())
        .filter_map(|(key, path)| {
            crate::sys::trust::open_program(path).err().map(|e| {
                ConfigError::file(
                    path,
                    format!(
                        "[daemon] {key} cannot be trusted to run as root: {}",
                        e.message_for(path)
                    ),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn role_groups_are_checked_against_the_host_group_file() {
        let d = tempfile::tempdir().unwrap();
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let policy = d.path().join("policy.d");
        fs::create_dir(&policy).unwrap();
        fs::set_permissions(&policy, fs::Permissions::from_mode(0o755)).unwrap();
        let config = d.path().join("elevated.toml");
        fs::write(
            &config,
            format!(
                "[daemon]\npolicy_dir = {:?}\nhost_dir = {:?}\nusers_dir = {:?}\n",
                policy.display(),
                d.path().join("host.d").display(),
                d.path().join("users.d").display(),
            ),
        )
        .unwrap();
        fs::write(
            policy.join("10-g.toml"),
            "[roles.logs]\ngroups = [\"adm\"]\n\n[roles.ghost]\ngroups = [\n  \"elvtnosuchgroup\",\n]\n",
        )
        .unwrap();
        let errs = Loaded::load(Some(&config), "h").unwrap_err();
        let shown: Vec<String> = errs.0.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert!(
            shown[0].starts_with(&format!(
                "{}:6: groups: group elvtnosuchgroup does not exist",
                policy.join("10-g.toml").display()
            )),
            "{shown:?}"
        );
        fs::write(
            policy.join("10-g.toml"),
            "[roles.logs]\ngroups = [\"adm\"]\n",
        )
        .unwrap();
        let loaded = Loaded::load(Some(&config), "h").unwrap();
        assert_eq!(loaded.policy.roles.len(), 1);
    }
}
