//! The audit log as callers read it: excerpts and verification.
#![forbid(unsafe_code)]

use elevated_proto::{AuditEntry, Response};
use jiff::Timestamp;

use super::budget::Budget;
use super::view::rfc3339;
use super::{Engine, EngineError, Peer};
use crate::store::audit;

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
        // requests, decided by uid (see `audit::list`). Never by name: a
        // row's actor may be `daemon`, `pam`, `policy` or someone else's
        // name, and an account called that must not read other people's
        // rows through it.
        let visible_to = (!peer.is_root()).then_some(peer.uid);
        let st = self.lock();
        // The newest rows one answer can carry, read newest first.
        let (mut budget, mut out) = (Budget::frame(), Vec::new());
        // Cut by the frame, not by the caller's limit: say so.
        let mut truncated = false;
        let limit = limit.unwrap_or(1000).min(10_000);
        audit::newest_while(st.store.conn(), since_ms, limit, visible_to, |r| {
            let entry = AuditEntry {
                seq: u64::try_from(r.seq).unwrap_or(0),
                at: rfc3339(r.at),
                event: r.event,
                actor: r.actor,
                request: r.request_id,
                detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
                hash: r.hash,
            };
            let fits = budget.take(&entry);
            if fits {
                out.push(entry);
            } else {
                truncated = true;
            }
            fits
        })?;
        out.reverse();
        Ok(Response::Audit {
            rows: out,
            truncated,
        })
    }

    pub(super) fn verify(&self) -> Result<Response, EngineError> {
        // Hashing the whole chain takes a while on a long log; any user may
        // ask for it, and holding the engine's lock meanwhile would hold up
        // every grant, revocation and expiry. A reader of its own needs no
        // lock.
        let v = match &self.db_path {
            Some(path) => {
                // Verifications queue on the reader, never on the engine.
                let mut reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
                let conn = match reader.take() {
                    Some(c) => c,
                    None => crate::store::Store::reader(path)?,
                };
                let v = audit::verify(&conn);
                *reader = Some(conn);
                v?
            }
            None => audit::verify(self.lock().store.conn())?,
        };
        Ok(match v.first_bad {
            None => Response::AuditVerify {
                ok: true,
                rows: v.rows,
                first_bad: None,
                message: format!("audit chain intact: {} rows verified", v.rows),
            },
            Some((seq, why)) => Response::AuditVerify {
                ok: false,
                rows: v.rows,
                first_bad: u64::try_from(seq).ok(),
                message: format!("audit chain broken at row {seq}: {why}"),
            },
        })
    }
}
