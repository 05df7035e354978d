//! Notifications: webhooks (generic JSON, Slack, Microsoft Teams) and
//! command hooks, told when a request is created, approved, denied or
//! expired, when a grant is about to end, and when break-glass is used.
//!
//! Delivery never delays a decision: [`Notifier::send`] only puts the event
//! on each interested destination's bounded queue and returns. Every
//! destination has its own worker thread, so a slow or dead endpoint holds
//! up nobody but itself; when its queue is full, new events for it are
//! dropped and logged. Failures are logged with the destination and the
//! event id, never returned.
#![forbid(unsafe_code)]

pub mod config;
pub mod event;
pub mod format;

pub use config::{CommandSettings, NotifySettings, WebhookFormat, WebhookSettings};
pub use event::{Event, EventKind};

/// Why notification settings or workers could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Settings built in code break a rule that parsing enforces.
    #[error("invalid [notify] settings: {}", .0.join("; "))]
    Invalid(Vec<String>),
    /// The system refused a thread.
    #[error("cannot start the notification worker for {destination}: {source} (check the process and thread limits)")]
    Spawn {
        /// The destination, e.g. `webhook 1 (https://hooks.slack.com)`.
        destination: String,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
}

#[cfg(test)]
mod testutil;
