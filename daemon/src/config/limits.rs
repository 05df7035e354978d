//! `[limits]` of elevated.toml.

use std::time::Duration;

use serde::Deserialize;

use super::settings::de_duration;

/// `[limits]`: bounds that keep one client from hurting the others.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Connections served at once; more are told to retry and closed.
    pub max_connections: usize,
    /// Connections one user (other than root) may hold at once, so no user
    /// can take every slot; more are told so and closed.
    pub max_connections_per_user: usize,
    /// Time a client has to send a whole frame once it started one, and to
    /// send its first frame after connecting.
    #[serde(deserialize_with = "de_duration")]
    pub frame_timeout: Duration,
    /// Time an idle connection is kept between requests.
    #[serde(deserialize_with = "de_duration")]
    pub idle_timeout: Duration,
    /// Pending requests one user may have at once.
    pub max_pending_per_user: usize,
    /// Longest reason, ticket or comment, in bytes.
    pub max_text: usize,
    /// Longest single `Wait` the daemon holds open.
    #[serde(deserialize_with = "de_duration")]
    pub max_wait: Duration,
    /// Time a requester has to answer one re-authentication prompt.
    #[serde(deserialize_with = "de_duration")]
    pub prompt_timeout: Duration,
    /// Failed re-authentications of one user within the window, after
    /// which PAM is not run for them until the oldest leaves it.
    pub reauth_failures_per_user: usize,
    /// The same bound for one grant's extensions.
    pub reauth_failures_per_request: usize,
    /// How far back both bounds count failures.
    #[serde(deserialize_with = "de_duration")]
    pub reauth_failure_window: Duration,
    /// Requests one user (other than root) may have recorded per minute,
    /// whatever their outcome; more are refused with a `limit` error.
    pub requests_per_minute: usize,
    /// Bytes of requester-typed text (reason, ticket, command, as stored)
    /// one user's recorded requests may carry per minute.
    pub request_bytes_per_minute: usize,
    /// Refusals of one user recorded one by one per minute; further ones
    /// are answered and counted in one `refusals_summarised` audit row.
    pub refusals_per_minute: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            // A thousand clients at once are served, not turned away; each
            // costs a descriptor and a task, plus the bytes of a frame while
            // one is being received (see docs/soak.md).
            max_connections: 1024,
            max_connections_per_user: 32,
            frame_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            max_pending_per_user: 5,
            max_text: elevated_proto::MAX_TEXT,
            max_wait: Duration::from_secs(30),
            prompt_timeout: Duration::from_secs(120),
            // A few typos; far too few to guess a password or a code.
            reauth_failures_per_user: 5,
            reauth_failures_per_request: 3,
            reauth_failure_window: Duration::from_secs(15 * 60),
            // Two a second, far above what a person or a script that
            // waits for its answers asks for; a flood is what it stops.
            requests_per_minute: 120,
            request_bytes_per_minute: 1024 * 1024,
            refusals_per_minute: 10,
        }
    }
}
