//! The audit log as callers read it: excerpts and verification.
#![forbid(unsafe_code)]

use elevated_proto::{AuditEntry, AuditLink, Response, DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT};
use jiff::Timestamp;

use super::view::rfc3339;
use super::{Engine, EngineError, Peer};
use crate::budget::Budget;
use crate::store::{audit, head};
use crate::times::readable_detail;

impl Engine {
    pub(super) fn audit(
        &self,
        peer: &Peer,
        since: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Response, EngineError> {
        let since_ms = match since {
            Some(s) => Some(
                s.parse::<Timestamp>()
                    .map_err(|e| {
                        EngineError::BadRequest(format!(
                            "--since {s:?} is not an RFC 3339 time: {e}"
                        ))
                    })?
                    .as_millisecond(),
            ),
            None => None,
        };
        // Root sees every row; anyone else the rows about their own
        // requests and the rows they acted in (an approver's decisions),
        // decided by uid (see `audit::list`). Never by name: a
        // row's actor may be `daemon`, `pam`, `policy` or someone else's
        // name, and an account called that must not read other people's
        // rows through it.
        let visible_to = (!peer.is_root()).then_some(peer.uid);
        // The newest rows one answer can carry, read newest first, in one
        // read transaction outside the engine lock.
        let (mut budget, mut out) = (Budget::frame(), Vec::new());
        // Cut by the frame, not by the caller's limit: say so.
        let mut truncated = false;
        let limit = limit.unwrap_or(DEFAULT_AUDIT_LIMIT);
        // Refused rather than lowered: a script asking for more rows than it
        // gets would take the answer for all of them.
        if !(1..=MAX_AUDIT_LIMIT).contains(&limit) {
            return Err(EngineError::BadRequest(format!(
                "--limit {limit} is out of range: from 1 to {MAX_AUDIT_LIMIT} rows"
            )));
        }
        self.read(|conn| {
            Ok(audit::newest_while(
                conn,
                since_ms,
                limit,
                visible_to,
                |r| {
                    let entry = AuditEntry {
                        seq: u64::try_from(r.seq).unwrap_or(0),
                        at: rfc3339(r.at),
                        event: r.event,
                        actor: r.actor,
                        request: r.request_id,
                        // Stored times (epoch milliseconds) as RFC 3339,
                        // for old rows and new alike.
                        detail: serde_json::from_str(&r.detail)
                            .map_or(serde_json::Value::Null, |d| readable_detail(&d)),
                        hash: r.hash,
                    };
                    let fits = budget.take(&entry);
                    if fits {
                        out.push(entry);
                    } else {
                        truncated = true;
                    }
                    fits
                },
            )?)
        })?;
        out.reverse();
        Ok(Response::Audit {
            rows: out,
            truncated,
        })
    }

    /// Hashes the whole chain, outside the engine lock and one at a time
    /// per user (a second one is refused with a `limit` error).
    pub(super) fn verify(&self, peer: &Peer) -> Result<Response, EngineError> {
        let _slot = self.verifying(peer.uid)?;
        let v = self.read(|conn| Ok(audit::verify(conn)?))?;
        Ok(match (v.first_bad, v.head_mismatch) {
            (None, None) => Response::AuditVerify {
                ok: true,
                rows: v.rows,
                first_bad: None,
                message: format!("audit chain intact: {} rows verified", v.rows),
            },
            (Some((seq, why)), _) => Response::AuditVerify {
                ok: false,
                rows: v.rows,
                first_bad: u64::try_from(seq).ok(),
                message: format!("audit chain broken at row {seq}: {why}"),
            },
            (None, Some((seq, why))) => Response::AuditVerify {
                ok: false,
                rows: v.rows,
                first_bad: u64::try_from(seq).ok(),
                message: format!(
                    "audit chain links intact ({} rows), but rows were lost or rewritten from \
                     row {seq}: {why}",
                    v.rows
                ),
            },
        })
    }

    /// The chain's (sequence, hash) pairs after `after`, one answer's worth.
    /// Root only: a hash lets its holder test guesses about a row's
    /// content, and other users' rows are not theirs to see.
    pub(super) fn chain(&self, peer: &Peer, after: u64) -> Result<Response, EngineError> {
        if !peer.is_root() {
            return Err(EngineError::Forbidden(
                "only root may read the audit chain's hashes (run `elevate audit --verify \
                 --against` as root)"
                    .into(),
            ));
        }
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let mut budget = Budget::frame();
        let (mut links, mut more) = (Vec::new(), false);
        self.read(|conn| {
            Ok(audit::links_after(conn, after, |seq, hash| {
                let link = AuditLink {
                    seq: u64::try_from(seq).unwrap_or(0),
                    hash,
                };
                let fits = budget.take(&link);
                if fits {
                    links.push(link);
                } else {
                    more = true;
                }
                fits
            })?)
        })?;
        Ok(Response::AuditChain { links, more })
    }

    /// Records, once, how the database disagreed with its audit head file
    /// when it was opened: an error in the daemon's log and an audit row
    /// (which `audit --verify` reports from then on).
    pub fn record_head_mismatch(&self, now: Timestamp) -> Result<(), EngineError> {
        let rows = {
            let mut st = self.lock();
            let Some(m) = st.store.take_head_mismatch() else {
                return Ok(());
            };
            tracing::error!("{}", m.describe());
            st.store.tx(|tx| {
                Ok(vec![audit::append(
                    tx,
                    now.as_millisecond(),
                    head::MISMATCH_EVENT,
                    "daemon",
                    None,
                    &m.detail(),
                )?])
            })?
        };
        self.after_commit(&rows);
        Ok(())
    }
}
