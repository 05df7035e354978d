//! What the daemon answers. See the crate documentation for the framing
//! and the JSON shape.

use serde::{Deserialize, Serialize};

use crate::views::{is_false, AuditEntry, AuditLink, RequestView, RoleOffer};

/// What the daemon answers: one response and the protocol version it speaks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerMessage {
    /// The daemon's [`crate::PROTOCOL_VERSION`].
    pub version: u32,
    /// The answer.
    pub response: Response,
}

/// The daemon's answer to one [`Request`](crate::Request).
// One answer is built per request and serialised at once, so the size of the
// largest variant costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    /// Answer to [`Request::Ping`](crate::Request::Ping).
    Pong {
        /// The daemon's package version.
        daemon_version: String,
        /// The host name the daemon uses in policy and approvals.
        host: String,
    },
    /// Answer to [`Request::Roles`](crate::Request::Roles).
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
    /// something; the client answers with [`Request::Answer`](crate::Request::Answer) and the daemon
    /// continues with the next prompt or the final answer. Only the peer
    /// whose request it is ever sees these.
    Prompt {
        /// How to ask.
        style: PromptStyle,
        /// What PAM said.
        text: String,
    },
    /// The answer to [`Request::Login`](crate::Request::Login).
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
    /// The result of [`Request::AuditVerify`](crate::Request::AuditVerify).
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
    /// The result of [`Request::AuditChain`](crate::Request::AuditChain).
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

impl Response {
    /// The answer's kind as the frame names it (its `type`: `pong`,
    /// `request`, `audit_chain`, ...), for messages about an answer that
    /// was not the one expected.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Pong { .. } => "pong",
            Self::Roles { .. } => "roles",
            Self::Request { .. } => "request",
            Self::Prompt { .. } => "prompt",
            Self::Login { .. } => "login",
            Self::Text { .. } => "text",
            Self::Requests { .. } => "requests",
            Self::Audit { .. } => "audit",
            Self::AuditVerify { .. } => "audit_verify",
            Self::AuditChain { .. } => "audit_chain",
            Self::Error { .. } => "error",
        }
    }
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
    /// [`Request::Wait`](crate::Request::Wait) and ask again once it is decided.
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

#[cfg(test)]
#[path = "responses_tests.rs"]
mod tests;
