//! Bounds on failed re-authentications. A requester who keeps failing the
//! PAM stack (guessing a password or a one-time code) is refused further
//! attempts — per user, and per grant for its extensions — until enough of
//! the failures have left a sliding window (`[limits]
//! reauth_failures_per_user`, `reauth_failures_per_request`,
//! `reauth_failure_window`).
//!
//! The failures counted are the audit log's `reauth_failed` rows about the
//! user's requests: the bound survives a restart of the daemon, and it is
//! exactly what an admin reads in the log.
#![forbid(unsafe_code)]

use crate::audit::event::AuditEvent;
use elevated_proto::GrantId;
use serde_json::json;

use super::view::rfc3339;
use super::{Engine, EngineError};
use crate::store::{audit, RequestRow, StoreError};
use crate::times::duration_ms;

/// The audit event of one failed re-authentication.
pub(super) const FAILED: AuditEvent = AuditEvent::ReauthFailed;
/// The audit event written with the failure that reaches a bound.
pub(super) const LOCKED: AuditEvent = AuditEvent::ReauthLocked;

impl Engine {
    /// Where `uid` stands (and the grant `request`, for an extension)
    /// before one more re-authentication: `Err(Limit)` while a bound is
    /// reached — PAM must not run at all then, or it would still tell a
    /// guesser whether the guess was right — else the audit detail of the
    /// lock-out that one more failure would cause, if it would.
    pub(super) fn reauth_check(
        &self,
        uid: u32,
        request: Option<&GrantId>,
        now_ms: i64,
    ) -> Result<Option<serde_json::Value>, EngineError> {
        let cfg = self.config();
        let limits = &cfg.settings.limits;
        let st = self.lock();
        let window = duration_ms(limits.reauth_failure_window);
        // A failure counts while younger than the window.
        let since = now_ms - window + 1;
        let mut scopes = vec![(
            "user",
            limits.reauth_failures_per_user,
            audit::count_since(st.store.conn(), FAILED, since, uid, None)?,
        )];
        if let Some(id) = request {
            scopes.push((
                "request",
                limits.reauth_failures_per_request,
                audit::count_since(st.store.conn(), FAILED, since, uid, Some(id.as_str()))?,
            ));
        }
        drop(st);
        let mut next_lock = None;
        for (scope, limit, (failures, oldest)) in scopes {
            let limit = u64::try_from(limit).unwrap_or(u64::MAX);
            // The bound lifts when the oldest failure counted leaves the
            // window.
            let until = rfc3339(oldest.unwrap_or(now_ms) + window);
            let whose = match request {
                Some(id) if scope == "request" => format!("for grant {id}"),
                _ => "of yours".to_owned(),
            };
            if failures >= limit {
                return Err(EngineError::Limit(format!(
                    "re-authentication refused: {failures} failed attempts {whose} within {}; \
                     try again after {until} (each failure is in the audit log)",
                    humantime::format_duration(std::time::Duration::from_millis(
                        u64::try_from(window).unwrap_or(0)
                    )),
                )));
            }
            if failures + 1 >= limit && next_lock.is_none() {
                next_lock = Some(json!({
                    "scope": scope, "failures": limit, "window_secs": window / 1000,
                    "until": until, "uid": uid,
                }));
            }
        }
        Ok(next_lock)
    }

    /// Audits a failed re-authentication about `row` outside any state
    /// change (an extension's), with the lock-out it caused, if any.
    pub(super) fn audit_reauth_failure(
        &self,
        row: &RequestRow,
        actor: &str,
        detail: &serde_json::Value,
        lock: Option<&serde_json::Value>,
        now_ms: i64,
    ) -> Result<(), EngineError> {
        let rid = row.id.to_string();
        let mut st = self.lock();
        let rows = st.store.tx(|tx| {
            let mut out = vec![audit::append(
                tx,
                now_ms,
                FAILED,
                actor,
                Some(&rid),
                detail,
            )?];
            if let Some(l) = lock {
                out.push(audit::append(tx, now_ms, LOCKED, "daemon", Some(&rid), l)?);
            }
            Ok::<_, StoreError>(out)
        })?;
        drop(st);
        self.after_commit(&rows);
        Ok(())
    }
}
