//! Audit: every transition is a hash-chained row in the store, written in
//! the same transaction as the transition, and then a syslog message
//! (facility authpriv, ident `elevated`) when a syslog socket exists.

#![forbid(unsafe_code)]

pub mod event;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use syslog::{Facility, Formatter3164, Logger, LoggerBackend};

use crate::store::AuditRow;

/// Sends audit rows to syslog. Missing or broken syslog never stops the
/// daemon: the store holds the authoritative copy.
pub struct Syslog {
    path: PathBuf,
    logger: Mutex<Option<Logger<LoggerBackend, Formatter3164>>>,
}

impl std::fmt::Debug for Syslog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Syslog").field("path", &self.path).finish()
    }
}

impl Syslog {
    /// A sink for the syslog socket at `path` (connected lazily).
    #[must_use]
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            logger: Mutex::new(None),
        }
    }

    fn connect(&self) -> Option<Logger<LoggerBackend, Formatter3164>> {
        if !self.path.exists() {
            return None;
        }
        let formatter = Formatter3164 {
            facility: Facility::LOG_AUTHPRIV,
            hostname: None,
            process: "elevated".into(),
            pid: std::process::id(),
        };
        match syslog::unix_custom(formatter, &self.path) {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::debug!("syslog at {} unavailable: {e}", self.path.display());
                None
            }
        }
    }

    /// Sends one line per row. The detail is JSON, so a newline a requester
    /// typed arrives as `\n` and cannot forge a second log line.
    pub fn emit(&self, rows: &[AuditRow]) {
        let Ok(mut guard) = self.logger.lock() else {
            return;
        };
        for row in rows {
            let msg = format_row(row);
            if guard.is_none() {
                *guard = self.connect();
            }
            let Some(logger) = guard.as_mut() else {
                return;
            };
            if logger.info(&msg).is_err() {
                // Reconnect once: syslog daemons restart.
                *guard = self.connect();
                if let Some(l) = guard.as_mut() {
                    let _ = l.info(&msg);
                }
            }
        }
    }
}

/// The syslog text of a row: `seq=N hash=H event=... actor=... request=...
/// detail={json}`, with the detail's times as `elevate audit` shows them. The sequence and hash come first: they anchor the chain
/// outside the database (`elevate audit --verify --against`), and at the
/// start of the message nothing a requester types can imitate them.
#[must_use]
pub fn format_row(row: &AuditRow) -> String {
    format!(
        "seq={} hash={} event={} actor={} request={} detail={}",
        row.seq,
        row.hash,
        row.event,
        row.actor,
        row.request_id.as_deref().unwrap_or("-"),
        crate::times::readable_detail_text(&row.detail)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    #[test]
    fn sends_authpriv_lines_and_survives_no_socket() {
        let dir = tempfile::tempdir().unwrap();
        let none = Syslog::new(&dir.path().join("absent"));
        let row = AuditRow {
            seq: 7,
            at: 0,
            event: "granted".into(),
            actor: "alice".into(),
            request_id: Some("abcd2345".into()),
            detail: serde_json::json!({"reason": "a\nb"}).to_string(),
            prev_hash: String::new(),
            hash: "ab".repeat(32),
        };
        none.emit(std::slice::from_ref(&row));

        let sock = dir.path().join("log");
        let rx = UnixDatagram::bind(&sock).unwrap();
        let s = Syslog::new(&sock);
        s.emit(&[row]);
        let mut buf = [0u8; 2048];
        let n = rx.recv(&mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        // authpriv (10) * 8 + info (6) = 86
        assert!(text.starts_with("<86>"), "{text}");
        assert!(text.contains("elevated["), "{text}");
        let hash = "ab".repeat(32);
        assert!(
            text.contains(&format!(
                "elevated[{}]: seq=7 hash={hash} event=granted actor=alice request=abcd2345 detail=",
                std::process::id()
            )),
            "{text}"
        );
        assert!(!text.trim_end().contains('\n'), "{text}");
    }
}
