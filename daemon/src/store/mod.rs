//! The store: SQLite (bundled), WAL, versioned migrations. The store is the
//! truth about requests and grants; the host is reconciled with it.
#![forbid(unsafe_code)]

pub mod approvals;
pub mod audit;
pub mod memberships;
mod request_rows;
pub mod requests;
mod schema;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, Transaction};

pub use audit::{AuditRow, Verify};
pub use requests::RequestRow;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("state database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value could not be read back.
    #[error("state database holds an unreadable value in {what}: {detail}")]
    Corrupt {
        /// Which column or row.
        what: String,
        /// What was wrong.
        detail: String,
    },
    /// The database was written by a newer elevated.
    #[error("state database schema version {found} is newer than this elevated understands ({supported}); upgrade elevated")]
    TooNew {
        /// Version found.
        found: i64,
        /// Newest version known here.
        supported: i64,
    },
}

/// An open store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    /// The database file; `None` in memory.
    path: Option<PathBuf>,
    /// Whether commits wait for the disk (`synchronous=FULL`), as every
    /// transition's must; see [`Store::tx_unsynced`].
    synced: bool,
}

impl Store {
    /// Opens (creating and migrating) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        Self::setup(conn, Some(path.to_path_buf()))
    }

    /// An in-memory store, for tests.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::setup(Connection::open_in_memory()?, None)
    }

    fn setup(mut conn: Connection, path: Option<PathBuf>) -> Result<Self, StoreError> {
        // WAL: readers never block the writer. synchronous=FULL: a transition
        // reported to a client survives power loss, not only a crash.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&mut conn)?;
        Ok(Self {
            conn,
            path,
            synced: true,
        })
    }

    /// The database file; `None` in memory.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// A second, read-only connection to the database at `path`, for long
    /// reads (verifying the whole audit chain) that must not hold up the
    /// writer: in WAL mode it reads one consistent snapshot while
    /// transitions go on.
    pub fn reader(path: &Path) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(conn)
    }

    /// Runs `f` in a transaction, committed only if `f` succeeds; dropped
    /// (rolled back) otherwise. The commit waits for the disk.
    pub fn tx<T>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if !self.synced {
            // A relaxed commit could not restore FULL: do it before any
            // transition is committed.
            self.conn.pragma_update(None, "synchronous", "FULL")?;
            self.synced = true;
        }
        self.commit_with(f)
    }

    /// Like [`Store::tx`], but the commit does not wait for the disk
    /// (`synchronous=NORMAL` for this one commit). Only for audit rows that
    /// record the use of a grant (a login it allowed, a session), which
    /// sit on the path of every login: a state transition always uses
    /// [`Store::tx`].
    ///
    /// What can be lost: nothing when the daemon crashes or is killed (the
    /// kernel holds the written WAL frames); on a power cut, these newest
    /// rows until the next synced commit, which syncs them too (WAL frames
    /// are written in order). SQLite loses whole transactions from the
    /// end only, so the audit chain still verifies.
    pub fn tx_unsynced<T>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.synced = false;
        let out = self.commit_with(f);
        // Failing here leaves `synced` false, and `tx` restores FULL
        // before the next transition: the row itself is committed.
        match self.conn.pragma_update(None, "synchronous", "FULL") {
            Ok(()) => self.synced = true,
            Err(e) => tracing::warn!("synchronous=FULL not restored yet: {e}"),
        }
        out
    }

    fn commit_with<T>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = self.conn.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        crate::fault::hit(crate::fault::Point::AfterStoreCommit);
        Ok(out)
    }

    /// Read-only access outside a transaction.
    #[must_use]
    pub fn conn(&self) -> &Connection {
        &self.conn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synchronous(s: &Store) -> i64 {
        s.conn()
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn unsynced_commit_is_one_commit_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("t.db")).unwrap();
        assert_eq!(synchronous(&s), 2, "FULL from the start");
        s.tx_unsynced(|tx| {
            // Inside the relaxed commit: NORMAL.
            let v: i64 = tx.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
            assert_eq!(v, 1);
            audit::append(tx, 1, "login_allowed", "pam", None, &serde_json::json!({}))?;
            Ok(())
        })
        .unwrap();
        assert_eq!(synchronous(&s), 2, "back to FULL for transitions");
        // A failed relaxed transaction restores FULL too.
        let err = s.tx_unsynced(|_| -> Result<(), StoreError> {
            Err(StoreError::Sqlite(rusqlite::Error::InvalidQuery))
        });
        assert!(err.is_err());
        assert_eq!(synchronous(&s), 2);
        let n: i64 = s
            .conn()
            .query_row("SELECT count(*) FROM audit", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }
}
