//! What a notification is about: one [`Event`] per transition worth telling
//! people of.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The kind of an [`Event`]; its `snake_case` name is what `events = [...]`
/// lists in `elevated.toml` and what the generic JSON payload carries in
/// `event`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A request is waiting for approval (`request_created`).
    RequestCreated,
    /// A request was approved and the grant is active (`approved`).
    Approved,
    /// A request was denied by policy or by an approver (`denied`).
    Denied,
    /// A grant's window ended, or a pending request timed out (`expired`).
    Expired,
    /// A grant was taken without approval, for an emergency (`break_glass`).
    BreakGlass,
    /// A grant ends soon (`expiry_warning`).
    ExpiryWarning,
}

impl EventKind {
    /// Every kind, in declaration order: the default of `events`.
    pub const ALL: [EventKind; 6] = [
        EventKind::RequestCreated,
        EventKind::Approved,
        EventKind::Denied,
        EventKind::Expired,
        EventKind::BreakGlass,
        EventKind::ExpiryWarning,
    ];

    /// The name used in configuration and payloads, e.g. `"break_glass"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::RequestCreated => "request_created",
            EventKind::Approved => "approved",
            EventKind::Denied => "denied",
            EventKind::Expired => "expired",
            EventKind::BreakGlass => "break_glass",
            EventKind::ExpiryWarning => "expiry_warning",
        }
    }

    /// A short title for people, e.g. `"Elevation approved"`.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            EventKind::RequestCreated => "Elevation request",
            EventKind::Approved => "Elevation approved",
            EventKind::Denied => "Elevation denied",
            EventKind::Expired => "Elevation expired",
            EventKind::BreakGlass => "BREAK-GLASS elevation",
            EventKind::ExpiryWarning => "Elevation expiring soon",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One notification. Serialised as is, it is the generic JSON payload
/// (`{"event": "approved", "id": ..., ...}`) that webhooks with
/// `format = "json"` receive and command hooks read on standard input.
///
/// `reason`, `ticket` and `comment` are typed by requesters and approvers:
/// every chat format escapes them; consumers of the JSON must treat them as
/// untrusted text too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// What happened; serialised as `event`.
    #[serde(rename = "event")]
    pub kind: EventKind,
    /// The request or grant id.
    pub id: String,
    /// The host the daemon runs on.
    pub host: String,
    /// The requester's user name.
    pub user: String,
    /// The role requested or granted.
    pub role: String,
    /// The request's state after the transition (`pending`, `active`, ...).
    pub state: String,
    /// The requester's reason, when given (untrusted text).
    pub reason: Option<String>,
    /// The ticket reference, when given (untrusted text).
    pub ticket: Option<String>,
    /// Length of the window in seconds.
    pub duration_secs: u64,
    /// Approvals the request needs.
    pub approvals_needed: u32,
    /// Approvals given so far.
    pub approvals_given: u32,
    /// Who may approve, for people (e.g. `"group dba-leads; principal carol@corp"`).
    pub approvers: String,
    /// Who approved, denied or revoked, when someone did.
    pub decided_by: Option<String>,
    /// The decider's comment (untrusted text).
    pub comment: Option<String>,
    /// When the grant ends (RFC 3339), once active.
    pub expires_at: Option<String>,
    /// When the transition happened (RFC 3339).
    pub at: String,
    /// The exact text a remote approver signs, for pending requests.
    pub approval_text: Option<String>,
    /// The command an approver runs on the host, e.g. `elevate approve k3f9x2ma`.
    pub approve_command: Option<String>,
}

impl Event {
    /// The generic JSON payload.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Serialising plain strings and numbers cannot fail; the fallback
        // keeps this function total all the same.
        serde_json::to_string(self)
            .unwrap_or_else(|_| serde_json::json!({"event": self.kind, "id": self.id}).to_string())
    }

    /// The window as people write it (`30m`, `1h 30m`).
    #[must_use]
    pub fn duration_text(&self) -> String {
        humantime::format_duration(std::time::Duration::from_secs(self.duration_secs)).to_string()
    }
}
