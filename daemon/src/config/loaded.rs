//! Everything the daemon reads from `/etc/elevated`, loaded and validated
//! together so that `check-config`, `explain` and the daemon agree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::attrs::{load_host_dir, load_users_dir, Tags};
use super::error::ConfigErrors;
use super::policy_file::load_policy_dir;
use super::settings::Settings;
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
}

impl Loaded {
    /// Loads everything, reporting every problem found, not just the first.
    /// `hostname` is the kernel's host name, used unless `[host] name` is set.
    pub fn load(explicit: Option<&Path>, hostname: &str) -> Result<Self, ConfigErrors> {
        let (settings, config_path) = Settings::load(explicit)?;
        let mut errs = Vec::new();
        let d = &settings.daemon;
        let policy = load_policy_dir(&d.policy_dir).unwrap_or_else(|e| {
            errs.extend(e.0);
            Policy::default()
        });
        let tags = load_host_dir(&d.host_dir, &settings.host.tag_lists()).unwrap_or_else(|e| {
            errs.extend(e.0);
            Tags::new()
        });
        let users = load_users_dir(&d.users_dir).unwrap_or_else(|e| {
            errs.extend(e.0);
            BTreeMap::new()
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
        })
    }

    /// A user's attributes from `users.d` (empty when none).
    #[must_use]
    pub fn attributes_of(&self, user: &str) -> Tags {
        self.users.get(user).cloned().unwrap_or_default()
    }
}
