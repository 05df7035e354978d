//! Everything the daemon reads from `/etc/elevated`, loaded and validated
//! together so that `check-config`, `explain` and the daemon agree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use elevated_proto::GroupName;

use super::attrs::{load_host_dir, load_users_dir, Tags};
use super::error::ConfigErrors;
use super::policy_file::load_policy_dir;
use super::principals::PrincipalMap;
use super::settings::Settings;
use crate::grant::groups::{find_group, DEFAULT_GROUP_FILE};
use crate::policy::{HostFacts, Policy};

/// Settings, policy, host and user attributes.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The settings.
    pub settings: Settings,
    /// The settings file read, if any.
    pub config_path: Option<PathBuf>,
    /// The policy.
    pub policy: Policy,
    /// This host's facts.
    pub host: HostFacts,
    /// User attributes by user name.
    pub users: BTreeMap<String, Tags>,
    /// Signing principals of local accounts (`principals` in `users.d`).
    pub principals: PrincipalMap,
}

impl Loaded {
    /// Loads everything, reporting every problem found, not just the first.
    /// `hostname` is the kernel's host name, used unless `[host] name` is set.
    /// Every group a role grants must exist in the local group file
    /// (`/etc/group`), the only place `gpasswd` can add members.
    pub fn load(explicit: Option<&Path>, hostname: &str) -> Result<Self, ConfigErrors> {
        let (settings, config_path) = Settings::load(explicit)?;
        let mut errs = Vec::new();
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
        if !errs.is_empty() {
            return Err(ConfigErrors(errs));
        }
        let host = HostFacts {
            name: settings
                .host
                .name
                .clone()
                .unwrap_or_else(|| hostname.to_owned()),
            tags,
            max_duration: settings.requests.max_duration,
        };
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
