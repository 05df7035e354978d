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

mod command;
pub mod config;
pub mod event;
pub mod format;
mod life;
mod webhook;
mod worker;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

pub use config::NotifySettings;
pub use event::{Event, EventKind};

use command::CommandHook;
use life::Life;
use webhook::Webhook;
use worker::{Sink, Worker};

/// How long [`Notifier::shutdown`] lets workers deliver what is queued, and
/// how long workers go on after a [`Notifier`] is dropped.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Why a [`Notifier`] could not be built.
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

struct Destination {
    name: String,
    events: Vec<EventKind>,
    tx: SyncSender<Arc<Event>>,
    capacity: usize,
}

/// Sends events to the configured destinations. `Send + Sync`: share it
/// behind an `Arc` and call [`Notifier::send`] from any thread, with or
/// without a runtime.
pub struct Notifier {
    destinations: Vec<Destination>,
    dropped: AtomicU64,
    life: Arc<Life>,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field(
                "destinations",
                &self
                    .destinations
                    .iter()
                    .map(|d| &d.name)
                    .collect::<Vec<_>>(),
            )
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl Notifier {
    /// A notifier with no destination: [`send`](Self::send) does nothing.
    #[must_use]
    pub fn disabled() -> Self {
        Self {
            destinations: Vec::new(),
            dropped: AtomicU64::new(0),
            life: Arc::new(Life::default()),
        }
    }

    /// Starts one worker thread per destination in `settings`. Workers log
    /// through the `tracing` subscriber current here.
    pub fn new(settings: &NotifySettings) -> Result<Self, NotifyError> {
        settings.validate()?;
        let mut notifier = Self::disabled();
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        for (i, w) in settings.webhook.iter().enumerate() {
            let hook = Webhook::new(w);
            let name = format!("webhook {} ({})", i + 1, hook.origin());
            notifier.start(name, &w.events, Sink::Webhook(hook), settings, &dispatch)?;
        }
        for (i, c) in settings.command.iter().enumerate() {
            let name = format!("command {} ({})", i + 1, c.command.display());
            let hook = CommandHook::new(c);
            notifier.start(name, &c.events, Sink::Command(hook), settings, &dispatch)?;
        }
        Ok(notifier)
    }

    fn start(
        &mut self,
        name: String,
        events: &[EventKind],
        sink: Sink,
        settings: &NotifySettings,
        dispatch: &tracing::Dispatch,
    ) -> Result<(), NotifyError> {
        let (tx, rx) = mpsc::sync_channel(settings.queue);
        let worker = Worker {
            name: name.clone(),
            sink,
            rx,
            retries: settings.retries,
            backoff: settings.backoff,
            life: Arc::clone(&self.life),
        };
        // Counted before the thread starts, so a shutdown right after
        // `new` still waits for it.
        let running = self.life.enter();
        let dispatch = dispatch.clone();
        thread::Builder::new()
            .name(format!("notify-{}", self.destinations.len() + 1))
            .spawn(move || {
                let _running = running;
                tracing::dispatcher::with_default(&dispatch, || worker.run());
            })
            .map_err(|source| NotifyError::Spawn {
                destination: name.clone(),
                source,
            })?;
        self.destinations.push(Destination {
            name,
            events: events.to_vec(),
            tx,
            capacity: settings.queue,
        });
        Ok(())
    }

    /// Queues `event` for every destination that wants its kind. Never
    /// blocks and never fails: a destination whose queue is full (or whose
    /// worker is gone) loses the event, with a warning in the log.
    pub fn send(&self, event: &Event) {
        let mut shared: Option<Arc<Event>> = None;
        for d in &self.destinations {
            if !d.events.contains(&event.kind) {
                continue;
            }
            let ev = Arc::clone(shared.get_or_insert_with(|| Arc::new(event.clone())));
            match d.tx.try_send(ev) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                    tracing::warn!(destination = %d.name, event = %event.kind, id = %event.id,
                        "notification dropped: the queue of {} events is full (the destination is slow or down; {n} dropped so far)",
                        d.capacity);
                }
                Err(TrySendError::Disconnected(_)) => {
                    let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                    tracing::error!(destination = %d.name, event = %event.kind, id = %event.id,
                        "notification dropped: the destination's worker has stopped ({n} dropped so far)");
                }
            }
        }
    }

    /// Events dropped so far because a queue was full or a worker gone.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// True when no destination is configured.
    #[cfg(test)]
    #[must_use]
    pub fn is_disabled(&self) -> bool {
        self.destinations.is_empty()
    }

    /// Closes the queues and waits up to [`SHUTDOWN_GRACE`] for workers to
    /// deliver what is queued; see [`shutdown_within`](Self::shutdown_within).
    /// The daemon itself only drops its notifier (see `Drop`).
    #[cfg(test)]
    pub fn shutdown(self) -> bool {
        self.shutdown_within(SHUTDOWN_GRACE)
    }

    /// Closes the queues and waits up to `grace` for workers to deliver
    /// what is queued. After `grace` no new attempt starts, retry waits and
    /// command hooks are cut short, and what is left is logged as
    /// undelivered. Returns true when every worker ended in time; workers
    /// still inside an HTTP attempt end by themselves within its timeout.
    #[cfg(test)]
    pub fn shutdown_within(mut self, grace: Duration) -> bool {
        let until = std::time::Instant::now() + grace;
        self.life.close(grace);
        self.destinations.clear();
        self.life.wait_idle(until)
    }
}

impl Drop for Notifier {
    /// Closes the queues without waiting: workers go on delivering in the
    /// background for at most [`SHUTDOWN_GRACE`].
    fn drop(&mut self) {
        self.life.close(SHUTDOWN_GRACE);
    }
}

#[cfg(test)]
#[path = "command_tests.rs"]
mod command_tests;
#[cfg(test)]
#[path = "delivery_tests.rs"]
mod delivery_tests;
#[cfg(test)]
pub(crate) mod testutil;
