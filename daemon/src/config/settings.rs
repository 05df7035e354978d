//! `elevated.toml`: daemon settings. Every key has a built-in default, so the
//! daemon starts without the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::attrs::Tags;
use super::collect::read_all;
use super::error::{ConfigError, ConfigErrors};
use super::files::read_trusted;
pub use super::limits::Limits;
use crate::times::parse_duration;

/// Where settings are read from when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "/etc/elevated/elevated.toml";

/// All settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Paths and daemon behaviour.
    pub daemon: DaemonSettings,
    /// Bounds on what clients may do.
    pub limits: Limits,
    /// Request handling.
    pub requests: RequestSettings,
    /// This host's name and tags.
    pub host: HostSettings,
    /// Whether logins need a grant (the PAM module asks).
    pub login: LoginSettings,
    /// Webhooks and command hooks told about requests and grants.
    #[serde(default)]
    pub notify: crate::notify::NotifySettings,
}

/// `[daemon]`: every path the daemon touches.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DaemonSettings {
    /// The Unix socket clients connect to.
    pub socket: PathBuf,
    /// Directory of the SQLite store (`elevated.db`).
    pub state_dir: PathBuf,
    /// Where `elevated_<id>` drop-ins are written.
    pub sudoers_dir: PathBuf,
    /// Policy files (`*.toml`, lexical order).
    pub policy_dir: PathBuf,
    /// Host attribute files.
    pub host_dir: PathBuf,
    /// User attribute files.
    pub users_dir: PathBuf,
    /// Remote approvers' keys (OpenSSH allowed-signers format).
    pub allowed_signers: PathBuf,
    /// The syslog datagram socket; messages are skipped when it is absent.
    pub syslog_socket: PathBuf,
    /// The `visudo` used to check every drop-in before it is installed.
    pub visudo: PathBuf,
    /// The `gpasswd` used for group grants.
    pub gpasswd: PathBuf,
    /// The PAM service run when a rule asks for re-authentication.
    pub reauth_service: String,
    /// How often the host is reconciled with the store.
    #[serde(deserialize_with = "de_duration")]
    pub reconcile_interval: Duration,
    /// Where to look, when a group grant ends, for set-gid files the user
    /// made with the granted group (mounts that are `nosuid`, pseudo or
    /// network file systems are skipped).
    pub setgid_scan: Vec<PathBuf>,
    /// How long that look may take before it stops (and says so).
    #[serde(deserialize_with = "de_duration")]
    pub setgid_scan_timeout: Duration,
    /// How long `visudo` or `gpasswd` may run before it is killed (with
    /// everything it started) and the change counts as failed: a grant
    /// is refused, a removal is retried by reconciliation.
    #[serde(deserialize_with = "de_duration")]
    pub command_timeout: Duration,
}

impl Default for DaemonSettings {
    fn default() -> Self {
        Self {
            socket: PathBuf::from(elevated_proto::DEFAULT_SOCKET),
            state_dir: PathBuf::from("/var/lib/elevated"),
            sudoers_dir: PathBuf::from("/etc/sudoers.d"),
            policy_dir: PathBuf::from("/etc/elevated/policy.d"),
            host_dir: PathBuf::from("/etc/elevated/host.d"),
            users_dir: PathBuf::from("/etc/elevated/users.d"),
            allowed_signers: PathBuf::from("/etc/elevated/allowed_signers"),
            syslog_socket: PathBuf::from("/dev/log"),
            visudo: PathBuf::from("/usr/sbin/visudo"),
            gpasswd: PathBuf::from("/usr/bin/gpasswd"),
            reauth_service: "elevate".to_owned(),
            reconcile_interval: Duration::from_secs(60),
            setgid_scan: vec![PathBuf::from("/")],
            setgid_scan_timeout: Duration::from_secs(60),
            command_timeout: crate::grant::DEFAULT_COMMAND_TIMEOUT,
        }
    }
}

/// `[requests]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RequestSettings {
    /// The host's cap on any window, whatever a role says.
    #[serde(deserialize_with = "de_duration")]
    pub max_duration: Duration,
    /// How long a request may stay pending when its rule sets no timeout.
    #[serde(deserialize_with = "de_duration")]
    pub pending_ttl: Duration,
    /// How long before a grant's end its holder and the notification hooks
    /// are warned ("0s" turns the warning off).
    #[serde(deserialize_with = "de_duration_or_zero")]
    pub warn_before: Duration,
}

impl Default for RequestSettings {
    fn default() -> Self {
        Self {
            max_duration: Duration::from_secs(12 * 3600),
            pending_ttl: Duration::from_secs(3600),
            warn_before: Duration::from_secs(300),
        }
    }
}

/// `[login]`: just-in-time login access through `pam_elevate.so`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoginSettings {
    /// Logins need an active grant of a role with `login = true` (off by
    /// default). Root is always exempt.
    pub require_grant: bool,
    /// Users who never need a grant.
    pub exempt_users: Vec<String>,
    /// Members of these groups never need a grant.
    pub exempt_groups: Vec<String>,
}

/// `[host]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HostSettings {
    /// The name used in `where.hosts` and approvals (default: the kernel's
    /// host name).
    pub name: Option<String>,
    /// Tags; `host.d/*.toml` add to and override these.
    pub tags: BTreeMap<String, TagValue>,
}

/// A tag value: one string or a list of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum TagValue {
    /// `env = "production"`.
    One(String),
    /// `zone = ["a", "b"]`.
    Many(Vec<String>),
}

impl HostSettings {
    /// The tags as lists.
    #[must_use]
    pub fn tag_lists(&self) -> Tags {
        self.tags
            .iter()
            .map(|(k, v)| {
                let vals = match v {
                    TagValue::One(s) => vec![s.clone()],
                    TagValue::Many(l) => l.clone(),
                };
                (k.clone(), vals)
            })
            .collect()
    }
}

pub(super) fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s).map_err(serde::de::Error::custom)
}

fn de_duration_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim() == "0" || s.trim() == "0s" {
        return Ok(Duration::ZERO);
    }
    parse_duration(&s).map_err(serde::de::Error::custom)
}

impl Settings {
    /// Parses settings text; `path` is used in messages. Every problem is
    /// reported, not just the first.
    pub fn parse(path: &Path, src: &str) -> Result<Self, ConfigErrors> {
        match Self::read(path, src) {
            (Some(settings), errs) if errs.is_empty() => Ok(settings),
            (_, errs) => Err(ConfigErrors(errs)),
        }
    }

    /// Like [`Settings::parse`], but also gives the settings read with the
    /// wrong entries left out (built-in defaults in their place), so that a
    /// check can go on to the files they name. Only for finding more
    /// errors: with any error the settings are not valid.
    fn read(path: &Path, src: &str) -> (Option<Self>, Vec<ConfigError>) {
        let (settings, mut errs) = read_all::<Settings>(path, src);
        if let Some(s) = &settings {
            errs.extend(s.validate(path));
        }
        (settings, errs)
    }

    fn validate(&self, path: &Path) -> Vec<ConfigError> {
        let mut errs = Vec::new();
        let d = &self.daemon;
        for (key, p) in [
            ("socket", &d.socket),
            ("state_dir", &d.state_dir),
            ("sudoers_dir", &d.sudoers_dir),
            ("policy_dir", &d.policy_dir),
            ("host_dir", &d.host_dir),
            ("users_dir", &d.users_dir),
            ("allowed_signers", &d.allowed_signers),
            ("syslog_socket", &d.syslog_socket),
            ("visudo", &d.visudo),
            ("gpasswd", &d.gpasswd),
        ]
        .into_iter()
        .chain(d.setgid_scan.iter().map(|p| ("setgid_scan", p)))
        {
            if !p.is_absolute() {
                errs.push(ConfigError::file(
                    path,
                    format!(
                        "[daemon] {key} must be an absolute path, not {}",
                        p.display()
                    ),
                ));
            }
        }
        let svc = &d.reauth_service;
        if svc.is_empty()
            || !svc
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            errs.push(ConfigError::file(
                path,
                format!("[daemon] reauth_service {svc:?} is not a PAM service name (a file name in /etc/pam.d)"),
            ));
        }
        if self.limits.max_connections == 0 {
            errs.push(ConfigError::file(
                path,
                "[limits] max_connections must be at least 1",
            ));
        }
        if self.limits.max_connections_per_user == 0 {
            errs.push(ConfigError::file(
                path,
                "[limits] max_connections_per_user must be at least 1",
            ));
        }
        let l = &self.limits;
        if l.requests_per_minute == 0 || l.request_bytes_per_minute < 64 * 1024 {
            errs.push(ConfigError::file(
                path,
                "[limits] requests_per_minute must be at least 1 and request_bytes_per_minute \
                 at least 65536 (one request may carry that much)",
            ));
        }
        for (key, n) in [
            ("reauth_failures_per_user", l.reauth_failures_per_user),
            ("reauth_failures_per_request", l.reauth_failures_per_request),
        ] {
            if n == 0 {
                let m = format!(
                    "[limits] {key} must be at least 1 (0 refuses every re-authentication)"
                );
                errs.push(ConfigError::file(path, m));
            }
        }
        if let Some(name) = &self.host.name {
            let ok = !name.is_empty()
                && name.len() <= 253
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            if !ok {
                errs.push(ConfigError::file(
                    path,
                    format!("[host] name {name:?} is not a valid host name"),
                ));
            }
        }
        errs
    }

    /// Reads settings from `explicit`, or from [`DEFAULT_CONFIG`] when it
    /// exists, or returns the built-in defaults.
    pub fn load(explicit: Option<&Path>) -> Result<(Self, Option<PathBuf>), ConfigErrors> {
        match Self::load_for_check(explicit) {
            (Some(loaded), errs) if errs.is_empty() => Ok(loaded),
            (_, errs) => Err(ConfigErrors(errs)),
        }
    }

    /// [`Settings::load`] for a check that goes on after errors: the
    /// settings as far as they could be read (see [`Settings::read`]), and
    /// every error. `None` when the file could not be read at all.
    pub(crate) fn load_for_check(
        explicit: Option<&Path>,
    ) -> (Option<(Self, Option<PathBuf>)>, Vec<ConfigError>) {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            // Not `exists()`: that follows a link, and a dangling link
            // must be refused like any other, not read as "no file".
            None if std::fs::symlink_metadata(DEFAULT_CONFIG).is_err() => {
                return (Some((Self::default(), None)), Vec::new());
            }
            None => PathBuf::from(DEFAULT_CONFIG),
        };
        match read_trusted(&path) {
            Ok(src) => {
                let (settings, errs) = Self::read(&path, &src);
                (settings.map(|s| (s, Some(path))), errs)
            }
            Err(e) => (None, vec![e]),
        }
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
