//! What a client asks. See the crate documentation for the framing and the
//! JSON shape.
//!
//! An operation with more than one field carries a named struct (the
//! engine takes it as it is); one with a single field or none spells it in
//! the variant. Every request type refuses fields it does not have, so
//! that an identity claim or a typo is an error, never silently dropped.

use serde::{Deserialize, Serialize};

use crate::names::{GrantId, RoleName};
use crate::views::Verdict;

/// What a client sends: one request and the protocol version it speaks.
/// Nothing else: a field the protocol does not have (an identity claim, a
/// typo) is refused, never silently dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientMessage {
    /// Must equal [`crate::PROTOCOL_VERSION`].
    pub version: u32,
    /// The operation asked for.
    pub request: Request,
}

/// An operation asked of the daemon. The caller is always the socket peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Liveness check; answered with [`Response::Pong`](crate::Response::Pong).
    Ping {},
    /// The roles defined here and whether the caller may request each now.
    Roles {},
    /// Ask for a role.
    Request(NewRequest),
    /// The caller's active grants and pending requests.
    Status {},
    /// Requests visible to the caller (root sees everyone's).
    List(ListFilter),
    /// One request or grant.
    Show {
        /// Its id.
        id: GrantId,
    },
    /// Wait until the request leaves `pending` or `timeout_ms` passes (the
    /// daemon caps it), then answer with its current state.
    Wait(WaitFor),
    /// Withdraw one's own pending request, or the pending extension of
    /// one's active grant (the grant keeps its current end).
    Cancel {
        /// The request.
        id: GrantId,
    },
    /// End an active grant now (its holder or root).
    Revoke {
        /// The grant.
        id: GrantId,
    },
    /// Audit rows visible to the caller (root sees all).
    Audit(AuditQuery),
    /// Recompute the whole audit hash chain.
    AuditVerify {},
    /// The sequence and hash of the audit rows after `after`, oldest
    /// first, as many as one answer carries (root only): the client
    /// compares them with the anchors in a log (`audit --verify --against`).
    AuditChain {
        /// The last sequence already seen (0 to start at the first row).
        after: u64,
    },
    /// Approve a pending request (or a grant's pending extension): as the
    /// caller when `signature` is absent, else as the principal whose SSH
    /// signature over the request's approval text this is.
    Approve(DecideOn),
    /// Deny a pending request (or extension); like [`Request::Approve`],
    /// the signature being over the denial text.
    Deny(DecideOn),
    /// The exact text a remote approver signs to approve or deny.
    DecisionText(DecisionTextQuery),
    /// Ask for more time on an active grant, decided like a new request.
    Extend(ExtendBy),
    /// The answer to a [`Response::Prompt`](crate::Response::Prompt) during
    /// re-authentication: the text typed for `secret`/`visible` prompts,
    /// `None` to acknowledge `info`/`error` messages or to give up.
    Answer {
        /// What the user typed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// From the PAM module's account phase (the caller must be root): may
    /// a user log in? See [`LoginQuery`].
    Login(LoginQuery),
    /// From the PAM module's session phase (root only): a session opened or
    /// closed, audited with the grant that allowed the login.
    Session(SessionEvent),
    /// Close the mandatory review of a break-glass grant.
    Review(ReviewNote),
}

/// [`Request::Request`]: a role asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    /// The role asked for.
    pub role: RoleName,
    /// Wanted window in seconds; the role's default when absent. Longer
    /// than the role's or the host's maximum is shortened to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<u64>,
    /// A just-in-time action: exactly this command line (absolute path
    /// first), for a role that lists the command under `actions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Free text for approvers and the audit log. Never reaches sudoers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Ticket reference. Never reaches sudoers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
}

/// [`Request::List`]: which requests to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListFilter {
    /// Only pending requests.
    #[serde(default)]
    pub pending: bool,
    /// Include finished requests, not only pending and active ones.
    #[serde(default)]
    pub all: bool,
    /// Only break-glass grants not yet reviewed.
    #[serde(default)]
    pub unreviewed: bool,
}

/// [`Request::Wait`]: the request to wait for, and for how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitFor {
    /// The request.
    pub id: GrantId,
    /// How long to wait at most, in milliseconds.
    pub timeout_ms: u64,
}

/// [`Request::Audit`]: which rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only rows at or after this RFC 3339 time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// At most this many of the newest rows: from 1 to
    /// [`crate::MAX_AUDIT_LIMIT`], [`crate::DEFAULT_AUDIT_LIMIT`] when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// [`Request::Approve`] and [`Request::Deny`]: the decision's request,
/// comment and, for a remote approver, signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideOn {
    /// The request.
    pub id: GrantId,
    /// Free text for the requester and the audit log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Armored `ssh-keygen -Y sign` output over the approval (or denial)
    /// text, made in the [`crate::APPROVAL_NAMESPACE`] namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// [`Request::DecisionText`]: the text for which decision on which request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionTextQuery {
    /// The request.
    pub id: GrantId,
    /// Which decision the text expresses.
    pub decision: Verdict,
}

/// [`Request::Extend`]: more time for an active grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendBy {
    /// The grant.
    pub id: GrantId,
    /// Seconds to add to the current end.
    pub duration_secs: u64,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// [`Request::Login`]: may `user` log in through `service`? With
/// `request_role`, a user without a login grant gets a request filed for
/// that role on their behalf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginQuery {
    /// The user logging in.
    pub user: String,
    /// The PAM service (`sshd`, `login`, ...).
    pub service: String,
    /// The remote host, when PAM knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rhost: Option<String>,
    /// The terminal, when PAM knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<String>,
    /// File a request for this role when no login grant is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_role: Option<RoleName>,
    /// The reason the user typed for that request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// [`Request::Session`]: a session opened or closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionEvent {
    /// The user.
    pub user: String,
    /// The PAM service.
    pub service: String,
    /// `true` when opened, `false` when closed.
    pub open: bool,
    /// The remote host, when PAM knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rhost: Option<String>,
    /// The terminal, when PAM knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<String>,
}

/// [`Request::Review`]: the review of a break-glass grant, closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewNote {
    /// The grant.
    pub id: GrantId,
    /// Reviewer's note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[cfg(test)]
#[path = "requests_tests.rs"]
mod tests;
