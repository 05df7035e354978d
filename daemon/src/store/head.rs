//! The audit chain's head (the newest row's sequence and hash), kept in a
//! root-only file beside the database and rewritten after every commit that
//! appended rows.
//!
//! The chain alone proves that no row in the middle was edited; it cannot
//! tell that the newest rows were deleted, or that a row and every later
//! hash were rewritten. The head file can: at start the daemon compares it
//! with the database and reports a database that ends before the head, or
//! whose row at the head's sequence has another hash.
#![forbid(unsafe_code)]

use crate::audit::event::AuditEvent;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;

/// The head file's name in the state directory.
pub const FILE_NAME: &str = "audit.head";

/// The event of the audit row the daemon writes when, at start, the
/// database does not match its head file.
pub const MISMATCH_EVENT: AuditEvent = AuditEvent::AuditHeadMismatch;

/// A row's place in the chain: its sequence and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// The row's hash (hex SHA-256).
    pub hash: String,
}

impl Link {
    /// The file's text: `seq=N hash=H`, the same words a syslog line uses.
    #[must_use]
    pub fn to_line(&self) -> String {
        format!("seq={} hash={}\n", self.seq, self.hash)
    }

    /// Reads [`Link::to_line`]'s text back.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.trim_end().strip_prefix("seq=")?;
        let (seq, hash) = rest.split_once(" hash=")?;
        let seq: i64 = seq.parse().ok()?;
        let well_formed = seq >= 1
            && hash.len() == 64
            && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        well_formed.then(|| Self {
            seq,
            hash: hash.to_owned(),
        })
    }
}

/// How the database disagrees with its head file at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The database ends before the head: its newest rows are gone.
    Behind {
        /// What the head file says.
        head: Link,
        /// The database's newest row, if any.
        db: Option<Link>,
    },
    /// The database's row at the head's sequence has another hash: that row
    /// (and maybe earlier ones) was rewritten.
    Differs {
        /// What the head file says.
        head: Link,
        /// The database's row at that sequence.
        db: Link,
    },
    /// The head file exists but cannot be read or parsed.
    Unreadable { detail: String },
}

impl Mismatch {
    /// The first row known to be missing or different.
    #[must_use]
    pub fn first_bad(&self) -> Option<i64> {
        match self {
            Self::Behind { db, .. } => Some(db.as_ref().map_or(1, |l| l.seq + 1)),
            Self::Differs { head, .. } => Some(head.seq),
            Self::Unreadable { .. } => None,
        }
    }

    /// A sentence for the admin.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Behind { head, db } => format!(
                "the audit log in the database ends at row {} but its head file recorded row {} \
                 ({}): rows {} to {} are missing (deleted, or lost in a power cut)",
                db.as_ref().map_or(0, |l| l.seq),
                head.seq,
                head.hash,
                db.as_ref().map_or(1, |l| l.seq + 1),
                head.seq
            ),
            Self::Differs { head, db } => format!(
                "audit row {} in the database has hash {} but its head file recorded {}: \
                 the row (and maybe earlier ones) was rewritten",
                head.seq, db.hash, head.hash
            ),
            Self::Unreadable { detail } => format!("the audit head file is unreadable: {detail}"),
        }
    }

    /// The audit row's detail.
    #[must_use]
    pub fn detail(&self) -> serde_json::Value {
        let (problem, head, db) = match self {
            Self::Behind { head, db } => ("behind", Some(head), db.as_ref()),
            Self::Differs { head, db } => ("differs", Some(head), Some(db)),
            Self::Unreadable { .. } => ("unreadable", None, None),
        };
        serde_json::json!({
            "problem": problem,
            "head_seq": head.map(|l| l.seq),
            "head_hash": head.map(|l| l.hash.as_str()),
            "db_seq": db.map(|l| l.seq),
            "db_hash": db.map(|l| l.hash.as_str()),
            "first_bad": self.first_bad(),
            "message": self.describe(),
        })
    }
}

/// The head file and what was last written to it.
#[derive(Debug)]
pub(super) struct Head {
    path: PathBuf,
    written: Option<Link>,
}

impl Head {
    /// The head file beside the database at `db`.
    pub(super) fn beside(db: &Path) -> Self {
        Self {
            path: db.with_file_name(FILE_NAME),
            written: None,
        }
    }

    /// What the file says; `Ok(None)` when there is no file.
    fn read(&self) -> Result<Option<Link>, String> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Link::parse(&text).map(Some).ok_or_else(|| {
                format!(
                    "{} does not hold `seq=N hash=H`: {:?}",
                    self.path.display(),
                    text.chars().take(100).collect::<String>()
                )
            }),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("reading {}: {e}", self.path.display())),
        }
    }

    /// Replaces the file with `link`: a temporary file (mode 0600, created
    /// afresh so no existing file or link is reused), then a rename, so a
    /// reader never sees half a line. No fsync: see docs/decisions.md.
    fn write(&mut self, link: &Link) -> std::io::Result<()> {
        let tmp = self.path.with_file_name(format!("{FILE_NAME}.tmp"));
        match std::fs::remove_file(&tmp) {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut f: File = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(link.to_line().as_bytes())?;
        drop(f);
        std::fs::rename(&tmp, &self.path)?;
        self.written = Some(link.clone());
        Ok(())
    }

    /// Brings the file up to the database's newest row, if it moved. A
    /// failure is logged, never returned: the commit it follows is done,
    /// and a grant or revocation must not fail over its witness.
    pub(super) fn follow(&mut self, conn: &Connection) {
        match newest(conn) {
            Ok(Some(link)) if self.written.as_ref() != Some(&link) => {
                if let Err(e) = self.write(&link) {
                    tracing::warn!(
                        "could not update the audit head file {}: {e}",
                        self.path.display()
                    );
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("reading the newest audit row for the head file: {e}"),
        }
    }

    /// Compares the file with the database at start. A database ahead of
    /// the file is normal (the daemon stopped between a commit and the
    /// file's update) and is caught up; one that ends before the file, or
    /// differs at the file's row, is reported. The file is left as it is
    /// until the next commit, the audit row that records the mismatch.
    pub(super) fn check(&mut self, conn: &Connection) -> Result<Option<Mismatch>, StoreError> {
        let db_newest = newest(conn)?;
        let head = match self.read() {
            Ok(Some(head)) => head,
            Ok(None) => {
                if let Some(l) = &db_newest {
                    tracing::warn!(
                        "no audit head file at {} (first start of a version that keeps one, \
                         or it was deleted); starting it at row {}",
                        self.path.display(),
                        l.seq
                    );
                }
                self.follow(conn);
                return Ok(None);
            }
            Err(detail) => return Ok(Some(Mismatch::Unreadable { detail })),
        };
        let mismatch = match &db_newest {
            Some(db) if db.seq >= head.seq => match at(conn, head.seq)? {
                Some(row) if row.hash == head.hash => None,
                Some(row) => Some(Mismatch::Differs { head, db: row }),
                // A gap at the head's row: the chain check names it too.
                None => Some(Mismatch::Behind {
                    head,
                    db: db_newest.clone(),
                }),
            },
            _ => Some(Mismatch::Behind {
                head,
                db: db_newest,
            }),
        };
        if mismatch.is_none() {
            self.follow(conn);
        }
        Ok(mismatch)
    }
}

fn newest(conn: &Connection) -> Result<Option<Link>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| {
            Ok(Link {
                seq: r.get(0)?,
                hash: r.get(1)?,
            })
        })
        .optional()?)
}

fn at(conn: &Connection, seq: i64) -> Result<Option<Link>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT seq, hash FROM audit WHERE seq = ?1")?
        .query_row(params![seq], |r| {
            Ok(Link {
                seq: r.get(0)?,
                hash: r.get(1)?,
            })
        })
        .optional()?)
}

#[cfg(test)]
#[path = "head_tests.rs"]
mod tests;
