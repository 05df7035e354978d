//! What answers describe: requests and grants, roles, audit rows, and the
//! small enums they use. See the crate documentation for the JSON shape.

use serde::{Deserialize, Serialize};

/// The lifecycle states. Their names are part of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Waiting for approval.
    Pending,
    /// Granted; the window is open.
    Active,
    /// Refused by policy or an approver.
    Denied,
    /// Withdrawn by the requester while pending.
    Cancelled,
    /// Nobody decided in time.
    TimedOut,
    /// The window ended.
    Expired,
    /// Ended early.
    Revoked,
}

impl RequestState {
    /// The contract name (`timed_out`, ...).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Denied => "denied",
            Self::Cancelled => "cancelled",
            Self::TimedOut => "timed_out",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }

    /// Parses a contract name.
    #[must_use]
    pub fn from_name(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Active,
            Self::Denied,
            Self::Cancelled,
            Self::TimedOut,
            Self::Expired,
            Self::Revoked,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// Whether no further transition can happen.
    #[must_use]
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Pending | Self::Active)
    }
}

impl std::fmt::Display for RequestState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An approver's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// For.
    Approve,
    /// Against.
    Deny,
}

impl Verdict {
    /// `approve` or `deny`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Deny => "deny",
        }
    }
}

/// One approver's decision on a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalView {
    /// `user:alice` for a local approver, `principal:carol@corp` for a
    /// remote one.
    pub approver: String,
    /// For or against.
    pub verdict: Verdict,
    /// Their comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// SHA256 fingerprint of the signing key, for remote decisions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// When (RFC 3339).
    pub at: String,
    /// 0 for the request itself, 1.. for its extensions.
    #[serde(default)]
    pub round: u32,
}

/// What sudo rights a role or grant gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SudoView {
    /// The target user of the commands.
    pub runas: String,
    /// Absolute command paths (with fixed arguments), or `ALL`.
    pub commands: Vec<String>,
    /// Whether sudo asks for the user's password.
    pub nopasswd: bool,
}

/// One role and what the policy says about the caller requesting it now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleOffer {
    /// The role.
    pub role: String,
    /// Its description from policy.
    pub description: String,
    /// Whether a request now would be allowed (possibly after approval).
    pub allowed: bool,
    /// Approvals a request would need (0: automatic).
    pub approvals: u32,
    /// The rule that decided, as `file#index (line N)`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Why, in words.
    pub reason: String,
    /// Window used when none is asked for, in seconds.
    pub default_duration_secs: u64,
    /// Longest window, in seconds (role and host cap).
    pub max_duration_secs: u64,
    /// The sudo rights the role gives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sudo: Option<SudoView>,
    /// Groups the role adds for the window.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Just-in-time actions: commands approved one invocation at a time
    /// (`elevate run -- CMD ARGS`), in policy spelling.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    /// How long one action's grant may last, in seconds (roles with
    /// actions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_duration_secs: Option<u64>,
    /// The role gives nothing but its actions: it cannot be requested as a
    /// grant of its own, only through `elevate run`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub actions_only: bool,
}

/// A request and, once active, its grant. The same id names both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestView {
    /// The request id (also the grant id).
    pub id: String,
    /// Where it is in its lifecycle.
    pub state: RequestState,
    /// The role asked for.
    pub role: String,
    /// The requester's user name.
    pub user: String,
    /// The requester's uid.
    pub uid: u32,
    /// The host it was asked on.
    pub host: String,
    /// The requester's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The requester's ticket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// Length of the window granted or to be granted, in seconds.
    pub duration_secs: u64,
    /// When it was asked (RFC 3339).
    pub requested_at: String,
    /// When it was decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    /// Start of the window, once active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    /// End of the window, once active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// When it left `active` (expired or revoked) or `pending`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Seconds left in the window, when active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_secs: Option<u64>,
    /// The rule that decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Why it is in this state, in words.
    pub message: String,
    /// Approvals needed (0: automatic).
    pub approvals_needed: u32,
    /// Sudo rights of the grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sudo: Option<SudoView>,
    /// Decisions so far (this round's and earlier ones).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<ApprovalView>,
    /// Approvals given in the current round.
    #[serde(default)]
    pub approvals_given: u32,
    /// Who may approve, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvers: Option<String>,
    /// Deadline of a pending request or extension (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_until: Option<String>,
    /// The exact command line of a just-in-time action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Granted break-glass: needs review afterwards.
    #[serde(default)]
    pub break_glass: bool,
    /// Who reviewed a break-glass grant, and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed: Option<String>,
    /// A pending extension of an active grant, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_secs: Option<u64>,
}

/// One row of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// When (RFC 3339).
    pub at: String,
    /// What happened (`requested`, `granted`, `expired`, ...).
    pub event: String,
    /// Who caused it (`alice`, `daemon`, ...).
    pub actor: String,
    /// The request concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// Event details.
    pub detail: serde_json::Value,
    /// This row's hash (hex SHA-256 over the previous hash and the row).
    pub hash: String,
}

/// One audit row's place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLink {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// The row's hash (hex SHA-256), as in its syslog line.
    pub hash: String,
}

/// For `skip_serializing_if`: a `false` flag is left out of the frame.
#[allow(clippy::trivially_copy_pass_by_ref)]
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
#[path = "views_tests.rs"]
mod tests;
