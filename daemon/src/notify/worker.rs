//! One worker thread per destination: takes events off its queue and
//! delivers them, retrying webhooks with exponential backoff.

use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::Duration;

use super::command::CommandHook;
use super::event::Event;
use super::life::Life;
use super::webhook::{Attempt, Webhook};

/// Longest wait between two webhook attempts, however many doublings.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Where a worker delivers.
pub(super) enum Sink {
    /// An HTTP endpoint.
    Webhook(Webhook),
    /// A local program.
    Command(CommandHook),
}

/// A destination's worker.
pub(super) struct Worker {
    /// For the log: `webhook 1 (https://hooks.slack.com)`.
    pub(super) name: String,
    pub(super) sink: Sink,
    pub(super) rx: Receiver<Arc<Event>>,
    pub(super) retries: u32,
    pub(super) backoff: Duration,
    pub(super) life: Arc<Life>,
}

impl Worker {
    /// Delivers events until the queue is closed and empty, or the
    /// shutdown deadline passes.
    pub(super) fn run(self) {
        while let Ok(event) = self.rx.recv() {
            if self.life.past_deadline() {
                let left = 1 + self.rx.try_iter().count();
                tracing::warn!(
                    destination = %self.name,
                    "notification: shutting down with {left} undelivered event(s) (first: {} {})",
                    event.kind,
                    event.id
                );
                return;
            }
            match &self.sink {
                Sink::Webhook(hook) => self.post(hook, &event),
                Sink::Command(hook) => self.exec(hook, &event),
            }
        }
    }

    fn post(&self, hook: &Webhook, event: &Event) {
        let mut delay = self.backoff;
        let attempts = self.retries.saturating_add(1);
        for n in 1..=attempts {
            let (why, after) = match hook.attempt(event) {
                Attempt::Delivered => {
                    tracing::debug!(destination = %self.name, event = %event.kind, id = %event.id,
                        "notification delivered (attempt {n})");
                    return;
                }
                Attempt::Final(why) => {
                    tracing::error!(destination = %self.name, event = %event.kind, id = %event.id,
                        "notification failed and will not be retried: {why}");
                    return;
                }
                Attempt::Retry { why, after } => (why, after),
            };
            if n == attempts {
                tracing::error!(destination = %self.name, event = %event.kind, id = %event.id,
                    "notification failed after {n} attempt(s), giving up: {why}");
                return;
            }
            let wait = after.map_or(delay, |a| a.max(delay));
            tracing::warn!(destination = %self.name, event = %event.kind, id = %event.id,
                "notification attempt {n} of {attempts} failed, retrying in {}: {why}",
                humantime::format_duration(wait));
            if !self.life.sleep(wait) {
                tracing::error!(destination = %self.name, event = %event.kind, id = %event.id,
                    "notification abandoned at shutdown after {n} failed attempt(s): {why}");
                return;
            }
            delay = delay.saturating_mul(2).min(MAX_BACKOFF);
        }
    }

    fn exec(&self, hook: &CommandHook, event: &Event) {
        match hook.run(event, &self.life) {
            Ok(()) => {
                tracing::debug!(destination = %self.name, event = %event.kind, id = %event.id,
                "notification hook {} succeeded", hook.path().display())
            }
            Err(why) => {
                tracing::error!(destination = %self.name, event = %event.kind, id = %event.id,
                "notification hook {} failed: {why}", hook.path().display())
            }
        }
    }
}
