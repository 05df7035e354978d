//! What one uid can make the daemon write: requests recorded per minute
//! and their bytes, and refusals recorded one by one. Refusals past their
//! bound are counted and summarised in one audit row per uid and minute;
//! anything else past its bound is refused with a `limit` error before it
//! is recorded. Root is not bounded (it is the administrator, and nothing
//! it asks for comes from an untrusted party).
#![forbid(unsafe_code)]

use crate::audit::event::AuditEvent;
use std::collections::{BTreeSet, HashMap};

use serde_json::json;

use super::{Engine, EngineError};
use crate::config::settings::Limits;
use crate::store::{audit, AuditRow, RequestRow, StoreError};

/// Length of one counting window.
const WINDOW_MS: i64 = 60_000;

/// Distinct role names kept per summary (what an auditor needs to see what
/// was tried, without the summary itself growing with the flood).
const SUMMARY_ROLES: usize = 8;

/// One uid's counts in the current window.
#[derive(Debug)]
struct Window {
    start_ms: i64,
    user: String,
    /// Requests recorded (any outcome).
    recorded: usize,
    /// Their estimated bytes.
    bytes: usize,
    /// Refusals recorded one by one.
    refusals: usize,
    /// Refusals counted but not recorded.
    summarised: usize,
    /// A few of the roles those named.
    roles: BTreeSet<String>,
}

/// Refusals of one uid in one window, not recorded one by one.
#[derive(Debug)]
pub(super) struct Summary {
    uid: u32,
    user: String,
    from_ms: i64,
    count: usize,
    roles: BTreeSet<String>,
}

/// The per-uid counts (in memory: a restart starts them afresh, which
/// costs at most one more window's worth).
#[derive(Debug, Default)]
pub(super) struct Quotas {
    windows: HashMap<u32, Window>,
}

/// What a refusal becomes.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// Recorded as a request row, as before.
    Record,
    /// Counted in the window's summary.
    Summarise,
}

/// Bytes `row` costs the store: its requester-typed fields are written in
/// the request row and in the audit rows of its request and decision.
fn cost(row: &RequestRow) -> usize {
    let typed = row.reason.as_ref().map_or(0, String::len)
        + row.ticket.as_ref().map_or(0, String::len)
        + row.role.len()
        + row
            .command
            .as_ref()
            .map_or(0, |c| c.iter().map(|w| w.len() + 3).sum());
    3 * typed + 1024
}

impl Quotas {
    /// The window of `uid` at `now_ms`; an ended one is returned as a
    /// summary to write if it summarised anything.
    fn window(&mut self, uid: u32, user: &str, now_ms: i64) -> (&mut Window, Option<Summary>) {
        let mut ended = None;
        if let Some(w) = self.windows.get(&uid) {
            if now_ms - w.start_ms >= WINDOW_MS || now_ms < w.start_ms {
                ended = self.windows.remove(&uid).and_then(|w| summary_of(uid, w));
            }
        }
        let w = self.windows.entry(uid).or_insert_with(|| Window {
            start_ms: now_ms,
            user: user.to_owned(),
            recorded: 0,
            bytes: 0,
            refusals: 0,
            summarised: 0,
            roles: BTreeSet::new(),
        });
        (w, ended)
    }

    /// Whether a refusal of `row` is recorded or summarised.
    fn refusal(&mut self, row: &RequestRow, now_ms: i64, l: &Limits) -> (Refusal, Option<Summary>) {
        let (w, ended) = self.window(row.uid, &row.user, now_ms);
        if w.refusals < l.refusals_per_minute {
            w.refusals += 1;
            return (Refusal::Record, ended);
        }
        w.summarised += 1;
        if w.roles.len() < SUMMARY_ROLES {
            w.roles.insert(row.role.clone());
        }
        (Refusal::Summarise, ended)
    }

    /// Counts `row` if its uid's bounds allow recording it.
    fn admit(
        &mut self,
        row: &RequestRow,
        now_ms: i64,
        l: &Limits,
    ) -> (Result<(), EngineError>, Option<Summary>) {
        let (w, ended) = self.window(row.uid, &row.user, now_ms);
        let bytes = cost(row);
        let wait = (w.start_ms + WINDOW_MS - now_ms).max(0) / 1000 + 1;
        let refused = if w.recorded >= l.requests_per_minute {
            Some(format!(
                "you made {} requests in the last minute; the limit is {} \
                 ([limits] requests_per_minute); try again in {wait}s",
                w.recorded, l.requests_per_minute
            ))
        } else if w.bytes + bytes > l.request_bytes_per_minute {
            Some(format!(
                "your requests of the last minute carried {} bytes of text and this one {bytes}; \
                 the limit is {} ([limits] request_bytes_per_minute); try again in {wait}s \
                 or with a shorter reason or command",
                w.bytes, l.request_bytes_per_minute
            ))
        } else {
            None
        };
        if let Some(m) = refused {
            return (Err(EngineError::Limit(m)), ended);
        }
        w.recorded += 1;
        w.bytes += bytes;
        (Ok(()), ended)
    }

    /// Summaries of every window that ended by `now_ms`.
    fn take_ended(&mut self, now_ms: i64) -> Vec<Summary> {
        let ended: Vec<u32> = self
            .windows
            .iter()
            .filter(|(_, w)| now_ms - w.start_ms >= WINDOW_MS)
            .map(|(uid, _)| *uid)
            .collect();
        ended
            .into_iter()
            .filter_map(|uid| self.windows.remove(&uid).and_then(|w| summary_of(uid, w)))
            .collect()
    }
}

fn summary_of(uid: u32, w: Window) -> Option<Summary> {
    (w.summarised > 0).then_some(Summary {
        uid,
        user: w.user,
        from_ms: w.start_ms,
        count: w.summarised,
        roles: w.roles,
    })
}

impl Engine {
    fn quotas(&self) -> std::sync::MutexGuard<'_, Quotas> {
        self.quotas.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a refusal of `row` is recorded (`Ok`) or only counted (an
    /// error that tells the requester the refusal).
    /// Takes the engine's lock (to write a summary): the caller must not
    /// hold it.
    pub(super) fn refusal_fate(
        &self,
        row: &RequestRow,
        limits: &Limits,
        now_ms: i64,
    ) -> Result<(), EngineError> {
        if row.uid == 0 {
            return Ok(());
        }
        let (fate, ended) = self.quotas().refusal(row, now_ms, limits);
        self.write_summaries(ended.into_iter().collect(), now_ms);
        match fate {
            Refusal::Record => self.admit(row, limits, now_ms),
            Refusal::Summarise => Err(EngineError::Forbidden(format!(
                "{} (refused; not recorded as a request of its own: refusals beyond {} a \
                 minute are counted in one refusals_summarised audit row)",
                row.message, limits.refusals_per_minute
            ))),
        }
    }

    /// Counts `row` against its uid's bounds, or refuses it with a
    /// `limit` error before anything about it is written. Takes the
    /// engine's lock (to write a summary): the caller must not hold it.
    pub(super) fn admit(
        &self,
        row: &RequestRow,
        limits: &Limits,
        now_ms: i64,
    ) -> Result<(), EngineError> {
        let (admitted, ended) = self.admit_deferred(row, limits, now_ms);
        self.write_summaries(ended, now_ms);
        admitted
    }

    /// [`Self::admit`] for a caller holding the engine's lock: the
    /// summaries of ended windows are returned, for
    /// [`Self::write_summaries`] once the lock is released.
    pub(super) fn admit_deferred(
        &self,
        row: &RequestRow,
        limits: &Limits,
        now_ms: i64,
    ) -> (Result<(), EngineError>, Vec<Summary>) {
        if row.uid == 0 {
            return (Ok(()), Vec::new());
        }
        let (admitted, ended) = self.quotas().admit(row, now_ms, limits);
        (admitted, ended.into_iter().collect())
    }

    /// Writes the summaries of windows that ended by `now_ms` (run by
    /// reconciliation, so a flood's last minute is audited even if its
    /// sender goes quiet).
    pub(super) fn flush_summaries(&self, now_ms: i64) {
        let ended = self.quotas().take_ended(now_ms);
        self.write_summaries(ended, now_ms);
    }

    /// Writes one `refusals_summarised` row per summary. Takes the
    /// engine's lock.
    pub(super) fn write_summaries(&self, ended: Vec<Summary>, now_ms: i64) {
        if ended.is_empty() {
            return;
        }
        let mut st = self.lock();
        let written = st.store.tx(|tx| {
            let mut out: Vec<AuditRow> = Vec::with_capacity(ended.len());
            for s in &ended {
                let detail = json!({
                    "uid": s.uid, "count": s.count, "from": s.from_ms,
                    "until": s.from_ms + WINDOW_MS, "roles": s.roles,
                });
                out.push(audit::append(
                    tx,
                    now_ms,
                    AuditEvent::RefusalsSummarised,
                    &s.user,
                    None,
                    &detail,
                )?);
            }
            Ok::<_, StoreError>(out)
        });
        drop(st);
        match written {
            Ok(rows) => self.after_commit(&rows),
            // A summary is worth less than the space it would need; the
            // counts are logged instead.
            Err(e) => tracing::error!("summarising refusals {ended:?}: {e}"),
        }
    }
}
