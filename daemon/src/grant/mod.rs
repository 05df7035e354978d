//! How a grant touches the host: sudoers drop-ins, local group membership,
//! the processes to end when a grant's window closes, and the set-gid files
//! a group grant left behind. System calls go through `crate::sys`.
#![forbid(unsafe_code)]

pub(crate) mod groups;
pub(crate) mod privileged;
pub(crate) mod procs;
pub(crate) mod setgid;
pub(crate) mod setgid_walk;
pub mod sudoers;
pub(crate) mod sweep;
#[cfg(test)]
pub(crate) mod test_host;

use elevated_proto::{GroupName, SudoView, UserName};
use serde::{Deserialize, Serialize};

use crate::policy::{Command, Role};

/// What a grant gives, frozen when the request is decided so that a later
/// policy change neither widens nor narrows a grant already made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantSpec {
    /// Sudo rights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sudo: Option<SudoGrant>,
    /// Supplementary groups for the window (added with `gpasswd -a` unless
    /// the user already had them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupName>,
    /// What happens, at the end, to processes still holding a granted group
    /// or started through the sudo rule.
    #[serde(default)]
    pub on_expiry: crate::policy::OnExpiry,
    /// SIGTERM to SIGKILL delay with `on_expiry = "terminate"`, in seconds.
    #[serde(default)]
    pub terminate_grace_secs: u64,
    /// Counts as login access where the host requires it.
    #[serde(default)]
    pub login: bool,
}

/// The sudo part of a grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SudoGrant {
    /// Target user.
    pub runas: UserName,
    /// What may be run as `runas`, in the role's order (`ALL`, a program
    /// with any arguments, or an exact command line).
    pub commands: Vec<GrantCommand>,
    /// No password prompt.
    pub nopasswd: bool,
}

/// A command as stored with a grant (mirror of [`Command`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GrantCommand {
    /// Any command.
    All,
    /// A path with optional fixed arguments.
    Path {
        /// Absolute path.
        path: String,
        /// `None`: any arguments; `Some(v)`: exactly `v`.
        args: Option<Vec<String>>,
    },
}

impl From<&Command> for GrantCommand {
    fn from(c: &Command) -> Self {
        match c {
            Command::All => Self::All,
            Command::Path { path, args } => Self::Path {
                path: path.clone(),
                args: args.clone(),
            },
        }
    }
}

impl GrantCommand {
    /// The policy spelling: `ALL`, `/bin/x`, `/bin/x a b`, `/bin/x ""`.
    #[must_use]
    pub fn display(&self) -> String {
        match self {
            Self::All => "ALL".to_owned(),
            Self::Path { path, args: None } => path.clone(),
            Self::Path {
                path,
                args: Some(a),
            } if a.is_empty() => format!("{path} \"\""),
            Self::Path {
                path,
                args: Some(a),
            } => format!("{path} {}", a.join(" ")),
        }
    }
}

impl GrantSpec {
    /// What a grant of `role` gives.
    #[must_use]
    pub fn from_role(role: &Role) -> Self {
        Self {
            sudo: role.sudo.as_ref().map(|s| SudoGrant {
                runas: s.runas.clone(),
                commands: s.commands.iter().map(GrantCommand::from).collect(),
                nopasswd: s.nopasswd,
            }),
            groups: role.groups.clone(),
            on_expiry: role.on_expiry,
            terminate_grace_secs: role.terminate_grace.as_secs(),
            login: role.login,
        }
    }

    /// The wire view of the sudo part.
    #[must_use]
    pub fn sudo_view(&self) -> Option<SudoView> {
        self.sudo.as_ref().map(|s| SudoView {
            runas: s.runas.to_string(),
            commands: s.commands.iter().map(GrantCommand::display).collect(),
            nopasswd: s.nopasswd,
        })
    }
}

/// How long `visudo` or `gpasswd` may run before it is killed and the
/// change counts as failed (`[daemon] command_timeout`).
pub const DEFAULT_COMMAND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Why a grant could not be applied to or removed from the host.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// A value failed the renderer's own checks (defence in depth: policy
    /// loading already refuses these).
    #[error("refusing to write a sudoers rule: {0}")]
    Unsafe(String),
    /// File system trouble.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`writing`, `renaming`, `listing`...).
        action: &'static str,
        /// On which path.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// visudo refused the drop-in, could not run, or overstayed its
    /// timeout.
    #[error("visudo did not accept the drop-in {path}: {detail}")]
    Visudo {
        /// The temporary file checked.
        path: String,
        /// visudo's output or the reason it could not run.
        detail: String,
    },
    /// An external command (such as `gpasswd`) failed or could not run.
    #[error("{command} failed: {detail}")]
    Command {
        /// The command line, as run.
        command: String,
        /// Its exit status and error output, or the reason it could not run.
        detail: String,
    },
}
