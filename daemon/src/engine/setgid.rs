//! The set-gid part of the end of a group grant (see
//! `crate::grant::setgid`): on the sweep's thread, never under the lock.
#![forbid(unsafe_code)]

use crate::audit::event::AuditEvent;
use std::time::Instant;

use serde_json::json;

use super::Engine;
use crate::grant::sweep::Target;

/// Most files audited one row each; the rest are counted in one row, so a
/// user cannot fill the store with set-gid files.
const ROWS_MAX: usize = 100;

impl Engine {
    /// Clears the set-gid bit of every file and directory the grant's user
    /// owns with a group the grant added and no live grant gives again;
    /// each one is audited (`setgid_neutralised`), and so is a walk that
    /// ran out of time (`setgid_scan_incomplete`).
    pub(super) fn neutralise_setgid(&self, rid: &str, target: &Target) {
        if target.gids.is_empty() {
            return;
        }
        let due = self.still_due(rid, target);
        if due.gids.is_empty() {
            return;
        }
        let cfg = self.config();
        let d = &cfg.settings.daemon;
        let deadline = Instant::now() + d.setgid_scan_timeout;
        let report =
            crate::grant::setgid_walk::neutralise(&d.setgid_scan, due.uid, &due.gids, deadline);
        let audit = |event: AuditEvent, detail: serde_json::Value| {
            if let Err(e) = self.audit_event(rid, event, &detail) {
                tracing::error!("auditing the set-gid sweep of {rid}: {e}");
            }
        };
        for f in report.found.iter().take(ROWS_MAX) {
            tracing::warn!(
                "grant {rid}: {} kept the set-gid bit of group {} (mode {:o} -> {:o})",
                f.path,
                f.gid,
                f.mode_before,
                f.mode_after
            );
            audit(
                AuditEvent::SetgidNeutralised,
                json!({"user": due.user.as_str(), "file": f}),
            );
        }
        if report.found.len() > ROWS_MAX {
            audit(
                AuditEvent::SetgidNeutralised,
                json!({"user": due.user.as_str(), "more": report.found.len() - ROWS_MAX}),
            );
        }
        if !report.complete {
            tracing::error!(
                "grant {rid}: the set-gid sweep stopped after {:?} (setgid_scan_timeout)",
                d.setgid_scan_timeout
            );
            audit(
                AuditEvent::SetgidScanIncomplete,
                json!({"timeout_secs": d.setgid_scan_timeout.as_secs(),
                       "roots": d.setgid_scan, "unreadable": report.unreadable}),
            );
        }
    }
}
