//! The timer's work: windows that end, pending requests and extensions
//! nobody decided in time, expiry warnings.
#![forbid(unsafe_code)]

use crate::audit::event::AuditEvent;
use elevated_proto::{GrantId, RequestState};
use jiff::Timestamp;
use serde_json::json;

use super::lifecycle::warn_at;
use super::{ms, update_audited, Engine, EngineError, State};
use crate::store::{requests, AuditRow, RequestRow};

impl Engine {
    /// Ends everything whose deadline has passed: grants expire, pending
    /// requests time out. Called by the timer at each deadline.
    ///
    /// Every window that ended is recorded in one transaction: with many
    /// grants ending in the same second, each used to wait for its own
    /// fsync behind the others, and the last one's drop-in outlived its end
    /// by the sum of them.
    pub fn expire_due(&self, now: Timestamp) -> Result<usize, EngineError> {
        let now_ms = ms(now);
        let mut st = self.lock();
        let mut due: Vec<GrantId> = st
            .deadlines
            .iter()
            .take_while(|(t, _)| *t <= now_ms)
            .map(|(_, id)| id.clone())
            .collect();
        due.sort();
        due.dedup();
        let mut published = Vec::new();
        let mut windows = Vec::new();
        let mut n = 0;
        let mut failed = None;
        for id in &due {
            let Some(mut row) = requests::get(st.store.conn(), id)? else {
                st.deadlines.retain(|(_, d)| d != id);
                continue;
            };
            // Taken away already, its end not yet recorded: record it now.
            if super::unrecorded::pending(&st, id) {
                st.deadlines.retain(|(t, d)| d != id || *t > now_ms);
            }
            if let Some(outcome) = self.retry_unrecorded(&mut st, &row, now_ms) {
                match outcome {
                    Ok((ended, rows)) => {
                        n += 1;
                        published.extend(rows);
                        if ended.state == RequestState::Expired {
                            self.notify_expired(st.store.conn(), &ended, now_ms);
                        }
                    }
                    // Scheduled again by the failed attempt.
                    Err(e) => {
                        failed.get_or_insert(e);
                    }
                }
                continue;
            }
            match (row.state, row.expires_at) {
                (RequestState::Active, Some(end)) if end <= now_ms => {
                    row.message = format!("window ended at {}", super::view::rfc3339(end));
                    // Stays in the timer's set until `finish_all` commits:
                    // if that fails, the timer tries again.
                    windows.push((row, json!({"expires_at": end, "late_ms": now_ms - end})));
                    continue;
                }
                _ => {}
            }
            st.deadlines.retain(|(_, d)| d != id);
            match self.end_if_due(&mut st, row.clone(), now_ms) {
                Ok(Some(rows)) => {
                    published.extend(rows);
                    n += 1;
                }
                Ok(None) => {}
                Err(e) => {
                    // Left as it was, so due again: the timer retries.
                    self.schedule(&mut st, &row);
                    failed.get_or_insert(e);
                    continue;
                }
            }
            // Whatever is left of the row (a later end, a warning) is due
            // again later.
            if let Some(row) = requests::get(st.store.conn(), id)? {
                self.schedule(&mut st, &row);
            }
        }
        if !windows.is_empty() {
            let expired = RequestState::Expired;
            let outcomes = match self.finish_all(&mut st, &windows, expired, "daemon", now_ms) {
                Ok(done) => vec![Ok(done)],
                // One bad row must not hold up every other window of the
                // second: end them one by one (each failure stays in the
                // timer's set and is retried).
                Err(e) => {
                    tracing::warn!(
                        "ending {} windows together failed ({e}); ending them one by one",
                        windows.len()
                    );
                    windows
                        .chunks(1)
                        .map(|one| self.finish_all(&mut st, one, expired, "daemon", now_ms))
                        .collect()
                }
            };
            for outcome in outcomes {
                match outcome {
                    Ok((ended, rows)) => {
                        n += ended.len();
                        published.extend(rows);
                        for row in &ended {
                            self.notify_expired(st.store.conn(), row, now_ms);
                        }
                    }
                    Err(e) => {
                        failed.get_or_insert(e);
                    }
                }
            }
        }
        drop(st);
        // What was committed is published even when something failed.
        self.after_commit(&published);
        match failed {
            Some(e) => Err(e),
            None => Ok(n),
        }
    }

    /// Ends or advances `row` if one of its deadlines has passed.
    pub(super) fn end_if_due(
        &self,
        st: &mut State,
        mut row: RequestRow,
        now_ms: i64,
    ) -> Result<Option<Vec<AuditRow>>, EngineError> {
        match (row.state, row.expires_at, row.pending_until) {
            (RequestState::Active, Some(end), _) if end <= now_ms => {
                row.message = format!("window ended at {}", super::view::rfc3339(end));
                let detail = json!({"expires_at": end, "late_ms": now_ms - end});
                let (row, rows) =
                    self.finish(st, row, RequestState::Expired, "daemon", detail, now_ms)?;
                self.notify_expired(st.store.conn(), &row, now_ms);
                Ok(Some(rows))
            }
            (RequestState::Active, _, _) if row.ext_until.is_some_and(|u| u <= now_ms) => {
                let detail = json!({"ext_secs": row.ext_secs, "ext_until": row.ext_until});
                row.ext_secs = None;
                row.ext_until = None;
                row.message = "nobody decided on the extension in time".into();
                let rows = update_audited(
                    st,
                    &row,
                    AuditEvent::ExtensionTimedOut,
                    "daemon",
                    &detail,
                    now_ms,
                )?;
                Ok(Some(rows))
            }
            (RequestState::Active, Some(_), _)
                if !row.warned
                    && warn_at(&row, self.config().settings.requests.warn_before)
                        .is_some_and(|w| w <= now_ms) =>
            {
                row.warned = true;
                st.store.tx(|tx| requests::update(tx, &row))?;
                self.notify_warning(st.store.conn(), &row, now_ms);
                // A warning ends nothing.
                Ok(None)
            }
            (RequestState::Pending, _, Some(until)) if until <= now_ms => {
                row.message = "nobody decided in time".into();
                let detail = json!({"pending_until": until});
                let (_, rows) =
                    self.finish(st, row, RequestState::TimedOut, "daemon", detail, now_ms)?;
                Ok(Some(rows))
            }
            _ => Ok(None),
        }
    }
}
