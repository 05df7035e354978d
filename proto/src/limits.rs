//! Bounds that the daemon, the client and the PAM module share: each side
//! checks the same number, so what one accepts the other does not refuse.

/// Longest reason, ticket or comment the daemon accepts by default, in
/// bytes (`[limits] max_text` in elevated.toml); the PAM module cuts a
/// typed reason to it.
pub const MAX_TEXT: usize = 1024;

/// The most audit rows one [`Request::Audit`](crate::Request::Audit) may
/// ask for (`limit`); a larger limit is refused, not quietly lowered.
pub const MAX_AUDIT_LIMIT: u32 = 10_000;

/// The audit rows a [`Request::Audit`](crate::Request::Audit) without a
/// `limit` keeps.
pub const DEFAULT_AUDIT_LIMIT: u32 = 1000;

/// Longest answer to a re-authentication prompt, in bytes: the client
/// refuses to send more, the daemon to pass more to PAM.
pub const MAX_ANSWER: usize = 1024;

/// Most prompts one re-authentication shows (a PAM stack that loops is cut
/// off rather than keeping a connection forever).
pub const MAX_PROMPTS: usize = 16;
