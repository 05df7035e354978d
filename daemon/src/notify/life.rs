//! How long the notifier's workers live: the shutdown deadline they watch
//! and the count of those still running.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

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
    #[cfg(test)]
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
