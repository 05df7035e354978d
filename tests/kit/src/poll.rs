//! Waiting for something that happens on its own time (a daemon's sweep,
//! a log line, a request reaching a fake daemon): poll, with a bound so a
//! test that would hang fails instead.

use std::time::{Duration, Instant};

/// How often a condition is looked at again.
const EVERY: Duration = Duration::from_millis(20);

/// Polls `cond` until it holds; returns whether it did within `limit`
/// (looked at once more at the end).
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(EVERY);
    }
    cond()
}

/// Polls `cond` until it holds; fails the test, naming `what`, when it
/// still does not after `limit` (a bound against hanging, not a speed
/// requirement).
pub fn wait_until(what: &str, limit: Duration, cond: impl FnMut() -> bool) {
    assert!(eventually(limit, cond), "timed out waiting for {what}");
}
