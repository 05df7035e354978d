//! One worker thread per destination: takes events off its queue and
//! delivers them, retrying webhooks with exponential backoff.

use std::sync::mpsc::Receiver;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::command::CommandHook;
use super::event::Event;
use super::webhook::{Attempt, Webhook};

/// Longest wait between two webhook attempts, however many doublings.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Shared by the notifier and its workers: when to give up (set at
/// shutdown) and how many workers still run.
#[derive(Default)]
pub(super) struct Life {
    state: Mutex<LifeState>,
    changed: Condvar,
}

#[derive(Default)]
struct LifeState {
    /// Once set, workers stop starting attempts after this instant.
    deadline: Option<Instant>,
    running: usize,
}

impl Life {
    fn lock(&self) -> MutexGuard<'_, LifeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts the end: workers deliver what they can until `now + grace`.
    /// An earlier deadline already set is kept.
    pub(super) fn close(&self, grace: Duration) {
        let at = Instant::now() + grace;
        let mut s = self.lock();
        s.deadline = Some(s.deadline.map_or(at, |d| d.min(at)));
        drop(s);
        self.changed.notify_all();
    }

    /// True once the shutdown deadline has passed.
    pub(super) fn past_deadline(&self) -> bool {
        self.lock().deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Sleeps for `d`; false, at once or as soon as it is known, when the
    /// shutdown deadline comes first.
    pub(super) fn sleep(&self, d: Duration) -> bool {
        let wake = Instant::now() + d;
        let mut s = self.lock();
        loop {
            if s.deadline.is_some_and(|dl| dl < wake) {
                return false;
            }
            let now = Instant::now();
            if now >= wake {
                return true;
            }
            s = self
                .changed
                .wait_timeout(s, wake - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Counts a worker in; the returned guard counts it out when dropped,
    /// even by a panic.
    pub(super) fn enter(self: &Arc<Self>) -> Running {
        self.lock().running += 1;
        Running(Arc::clone(self))
    }

    /// Waits until no worker runs or `until` passes; true when all ended.
    pub(super) fn wait_idle(&self, until: Instant) -> bool {
        let mut s = self.lock();
        loop {
            if s.running == 0 {
                return true;
            }
            let now = Instant::now();
            if now >= until {
                return false;
            }
            s = self
                .changed
                .wait_timeout(s, until - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// A running worker, counted in [`Life`].
pub(super) struct Running(Arc<Life>);

impl Drop for Running {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.running = s.running.saturating_sub(1);
        drop(s);
        self.0.changed.notify_all();
    }
}

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
