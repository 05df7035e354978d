//! Request and response types. See the crate documentation for the framing
//! and the JSON shape.

use serde::{Deserialize, Serialize};

use crate::names::{GrantId, RoleName};

/// Longest reason, ticket or comment the daemon accepts, in bytes.
pub const MAX_TEXT: usize = 1024;

/// The most audit rows one [`Request::Audit`] may ask for (`limit`); a
/// larger limit is refused, not quietly lowered.
pub const MAX_AUDIT_LIMIT: u32 = 10_000;

/// The audit rows a [`Request::Audit`] without a `limit` keeps.
pub const DEFAULT_AUDIT_LIMIT: u32 = 1000;

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

/// What the daemon answers: one response and the protocol version it speaks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerMessage {
    /// The daemon's [`crate::PROTOCOL_VERSION`].
    pub version: u32,
    /// The answer.
    pub response: Response,
}

/// An operation asked of the daemon. The caller is always the socket peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Liveness check; answered with [`Response::Pong`].
    Ping {},
    /// The roles defined here and whether the caller may request each now.
    Roles {},
    /// Ask for a role.
    Request {
        /// The role asked for.
        role: RoleName,
        /// Wanted window in seconds; the role's default when absent. Longer
        /// than the role's or the host's maximum is shortened to it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_secs: Option<u64>,
        /// A just-in-time action: exactly this command line (absolute path
        /// first), for a role that lists the command under `actions`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command: Option<Vec<String>>,
        /// Free text for approvers and the audit log. Never reaches sudoers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// Ticket reference. Never reaches sudoers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ticket: Option<String>,
    },
    /// The caller's active grants and pending requests.
    Status {},
    /// Requests visible to the caller (root sees everyone's).
    List {
        /// Only pending requests.
        #[serde(default)]
        pending: bool,
        /// Include finished requests, not only pending and active ones.
        #[serde(default)]
        all: bool,
        /// Only break-glass grants not yet reviewed.
        #[serde(default)]
        unreviewed: bool,
    },
    /// One request or grant.
    Show {
        /// Its id.
        id: GrantId,
    },
    /// Wait until the request leaves `pending` or `timeout_ms` passes (the
    /// daemon caps it), then answer with its current state.
    Wait {
        /// The request.
        id: GrantId,
        /// How long to wait at most, in milliseconds.
        timeout_ms: u64,
    },
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
    Audit {
        /// Only rows at or after this RFC 3339 time.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<String>,
        /// At most this many of the newest rows: from 1 to
        /// [`MAX_AUDIT_LIMIT`], [`DEFAULT_AUDIT_LIMIT`] when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
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
    Approve {
        /// The request.
        id: GrantId,
        /// Free text for the requester and the audit log.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
        /// Armored `ssh-keygen -Y sign` output over the approval text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
    /// Deny a pending request (or extension); like [`Request::Approve`].
    Deny {
        /// The request.
        id: GrantId,
        /// Free text for the requester and the audit log.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
        /// Armored `ssh-keygen -Y sign` output over the denial text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
    /// The exact text a remote approver signs to approve or deny.
    DecisionText {
        /// The request.
        id: GrantId,
        /// Which decision the text expresses.
        decision: Verdict,
    },
    /// Ask for more time on an active grant, decided like a new request.
    Extend {
        /// The grant.
        id: GrantId,
        /// Seconds to add to the current end.
        duration_secs: u64,
        /// Why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The answer to a [`Response::Prompt`] during re-authentication: the
    /// text typed for `secret`/`visible` prompts, `None` to acknowledge
    /// `info`/`error` messages or to give up.
    Answer {
        /// What the user typed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// From the PAM module's account phase (the caller must be root): may
    /// `user` log in through `service`? With `request_role`, a user without
    /// a login grant gets a request filed for that role on their behalf.
    Login {
        /// The user logging in.
        user: String,
        /// The PAM service (`sshd`, `login`, ...).
        service: String,
        /// The remote host, when PAM knows it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rhost: Option<String>,
        /// The terminal, when PAM knows it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tty: Option<String>,
        /// File a request for this role when no login grant is active.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_role: Option<RoleName>,
        /// The reason the user typed for that request.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// From the PAM module's session phase (root only): a session opened or
    /// closed, audited with the grant that allowed the login.
    Session {
        /// The user.
        user: String,
        /// The PAM service.
        service: String,
        /// `true` when opened, `false` when closed.
        open: bool,
        /// The remote host, when PAM knows it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rhost: Option<String>,
        /// The terminal, when PAM knows it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tty: Option<String>,
    },
    /// Close the mandatory review of a break-glass grant.
    Review {
        /// The grant.
        id: GrantId,
        /// Reviewer's note.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
}

/// The daemon's answer to one [`Request`].
// One answer is built per request and serialised at once, so the size of the
// largest variant costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    /// Answer to [`Request::Ping`].
    Pong {
        /// The daemon's package version.
        daemon_version: String,
        /// The host name the daemon uses in policy and approvals.
        host: String,
    },
    /// Answer to [`Request::Roles`].
    Roles {
        /// The host the answer is about.
        host: String,
        /// Every role defined, with the decision for the caller now.
        roles: Vec<RoleOffer>,
    },
    /// One request or grant.
    Request {
        /// Its current view.
        request: RequestView,
    },
    /// Re-authentication (the PAM service `elevate`) asks the requester
    /// something; the client answers with [`Request::Answer`] and the daemon
    /// continues with the next prompt or the final answer. Only the peer
    /// whose request it is ever sees these.
    Prompt {
        /// How to ask.
        style: PromptStyle,
        /// What PAM said.
        text: String,
    },
    /// The answer to [`Request::Login`].
    Login {
        /// What to do with the login.
        verdict: LoginVerdict,
        /// Why, for the user's screen and the log.
        message: String,
        /// The grant that allows it, or the request filed for it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<RequestView>,
    },
    /// A text to show or sign, printed as is.
    Text {
        /// The text.
        text: String,
    },
    /// Several requests or grants.
    Requests {
        /// Newest first.
        requests: Vec<RequestView>,
        /// More matched than one frame carries: these are the newest.
        #[serde(default, skip_serializing_if = "is_false")]
        truncated: bool,
    },
    /// Audit rows, oldest first.
    Audit {
        /// The rows.
        rows: Vec<AuditEntry>,
        /// More matched than one frame carries: these are the newest.
        #[serde(default, skip_serializing_if = "is_false")]
        truncated: bool,
    },
    /// The result of [`Request::AuditVerify`].
    AuditVerify {
        /// Whether every row's hash and link is intact.
        ok: bool,
        /// How many rows were checked.
        rows: u64,
        /// The first row that does not verify.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        first_bad: Option<u64>,
        /// A sentence for the admin.
        message: String,
    },
    /// The result of [`Request::AuditChain`].
    AuditChain {
        /// Oldest first.
        links: Vec<AuditLink>,
        /// Rows after the last link remain: ask again from it.
        #[serde(default, skip_serializing_if = "is_false")]
        more: bool,
    },
    /// The request could not be carried out.
    Error {
        /// What kind of failure.
        code: ErrorCode,
        /// What went wrong and, where possible, what to do about it.
        message: String,
    },
}

/// Kinds of failure, which decide the client's exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Malformed or invalid input (exit 2).
    BadRequest,
    /// The client speaks another protocol version (exit 2).
    Version,
    /// No such request, grant or role (exit 2).
    NotFound,
    /// The caller may not do this (exit 1).
    Forbidden,
    /// A limit was reached: too many connections or pending requests (exit 1).
    Limit,
    /// The daemon failed; see its log (exit 1).
    Internal,
    /// The request duplicates one the caller already has: an active grant
    /// or a pending request of the same role (exit 1).
    Conflict,
}

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

/// The daemon's answer about a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginVerdict {
    /// The host does not require a grant, the user is exempt, or an active
    /// grant of a role with `login = true` covers them.
    Allow,
    /// No login grant, and none requested (or the request was refused).
    Deny,
    /// A request for a login grant is pending; poll it with
    /// [`Request::Wait`] and ask again once it is decided.
    Pending,
}

/// How a re-authentication prompt is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptStyle {
    /// Ask without echo (passwords, codes).
    Secret,
    /// Ask with echo.
    Visible,
    /// Show; answer with `None`.
    Info,
    /// Show as an error; answer with `None`.
    Error,
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
fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PROTOCOL_VERSION;

    #[test]
    fn request_json_shape() {
        let m = ClientMessage {
            version: PROTOCOL_VERSION,
            request: Request::Request {
                role: RoleName::parse("db-admin").unwrap(),
                duration_secs: Some(1800),
                command: None,
                reason: Some("x".into()),
                ticket: None,
            },
        };
        let s = serde_json::to_string(&m).unwrap();
        assert_eq!(
            s,
            r#"{"version":1,"request":{"op":"request","role":"db-admin","duration_secs":1800,"reason":"x"}}"#
        );
        let back: ClientMessage = serde_json::from_str(&s).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn refuses_unknown_fields_and_bad_names() {
        let bad = r#"{"version":1,"request":{"op":"status","user":"root"}}"#;
        assert!(serde_json::from_str::<ClientMessage>(bad).is_err());
        let bad = r#"{"version":1,"request":{"op":"request","role":"ALL"}}"#;
        assert!(serde_json::from_str::<ClientMessage>(bad).is_err());
        let bad = r#"{"version":1,"request":{"op":"show","id":"../x"}}"#;
        assert!(serde_json::from_str::<ClientMessage>(bad).is_err());
        // Beside the request, too.
        let bad = r#"{"version":1,"uid":0,"request":{"op":"status"}}"#;
        let err = serde_json::from_str::<ClientMessage>(bad).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn truncation_is_said_only_when_true() {
        let whole = Response::Requests {
            requests: vec![],
            truncated: false,
        };
        let text = serde_json::to_string(&whole).unwrap();
        assert!(!text.contains("truncated"), "{text}");
        let cut = Response::Audit {
            rows: vec![],
            truncated: true,
        };
        let text = serde_json::to_string(&cut).unwrap();
        assert!(text.contains("\"truncated\":true"), "{text}");
        // An older daemon's answer, without the field, reads as whole.
        let old: Response = serde_json::from_str(r#"{"type":"requests","requests":[]}"#).unwrap();
        assert_eq!(old, whole);
    }

    #[test]
    fn audit_chain_json_shape() {
        let req: ClientMessage =
            serde_json::from_str(r#"{"version":1,"request":{"op":"audit_chain","after":41}}"#)
                .unwrap();
        assert_eq!(req.request, Request::AuditChain { after: 41 });
        let page = Response::AuditChain {
            links: vec![AuditLink {
                seq: 42,
                hash: "5f".repeat(32),
            }],
            more: true,
        };
        let text = serde_json::to_string(&page).unwrap();
        assert!(
            text.starts_with(r#"{"type":"audit_chain","links":[{"seq":42,"hash":"5f5f"#),
            "{text}"
        );
        assert!(text.ends_with(r#""more":true}"#), "{text}");
    }

    #[test]
    fn states_round_trip() {
        for s in [
            "pending",
            "active",
            "denied",
            "cancelled",
            "timed_out",
            "expired",
            "revoked",
        ] {
            let st = RequestState::from_name(s).unwrap();
            assert_eq!(st.as_str(), s);
            assert_eq!(serde_json::to_string(&st).unwrap(), format!("\"{s}\""));
        }
    }
}
