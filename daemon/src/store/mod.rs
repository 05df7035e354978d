//! The store: SQLite (bundled), WAL, versioned migrations. The store is the
//! truth about requests and grants; the host is reconciled with it.
#![forbid(unsafe_code)]

pub mod approvals;
pub mod audit;
pub mod head;
pub mod memberships;
mod request_rows;
pub mod requests;
mod schema;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, Transaction};

pub use audit::AuditRow;
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
    /// The database file could not be created or restricted to root.
    #[error("cannot prepare the state database file {}: {source}", .path.display())]
    File {
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
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
    /// The audit head file beside the database; `None` in memory.
    head: Option<head::Head>,
    /// How the database disagreed with its head file when opened, until
    /// the daemon has recorded it.
    mismatch: Option<head::Mismatch>,
}

impl Store {
    /// Opens (creating and migrating) the database at `path`, and
    /// compares it with the audit head file beside it (see
    /// [`Store::take_head_mismatch`]). The database and its `-wal` and
    /// `-shm` files are made mode 0600 whatever the umask: they hold every
    /// request, grant and audit row.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        restrict_files(path)?;
        let conn = Connection::open(path)?;
        let mut store = Self::setup(conn, Some(path.to_path_buf()))?;
        let mut head = head::Head::beside(path);
        store.mismatch = head.check(&store.conn)?;
        store.head = Some(head);
        Ok(store)
    }

    /// How the database disagreed with its audit head file when it was
    /// opened (rows missing from the end, or a rewritten row), once: the
    /// caller records it in the audit log.
    pub fn take_head_mismatch(&mut self) -> Option<head::Mismatch> {
        self.mismatch.take()
    }

    /// An in-memory store, for tests.
    #[cfg(test)]
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
            head: None,
            mismatch: None,
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
        // Several readers are kept open; their reads are scans (a chain,
        // a listing) that a large page cache does not speed up, so each
        // keeps a small one instead of SQLite's 2 MB default: the daemon's
        // memory stays flat however long it serves.
        conn.execute_batch("PRAGMA cache_size = -256;")?;
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
        // After the commit, never before: the file must not name a row the
        // database may not have.
        if let Some(head) = &mut self.head {
            head.follow(&self.conn);
        }
        Ok(out)
    }

    /// Read-only access outside a transaction.
    #[must_use]
    pub fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// Creates the database file mode 0600 if it is missing, and takes group
/// and other permissions away from it and from an existing `-wal` or `-shm`
/// file (a store from an older version, or restored from a backup). SQLite
/// creates `-wal` and `-shm` with the database file's mode, so they follow.
fn restrict_files(db: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StoreError::File { path, source }
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o600)
        // Never through a link: the state directory is root's alone, but
        // a link would still make us chmod some other file.
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(db)
        .map_err(err(db))?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(err(db))?;
    for suffix in ["-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        let side = PathBuf::from(name);
        match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&side)
        {
            Ok(f) => f
                .set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(err(&side))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(&side)(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synchronous(s: &Store) -> i64 {
        s.conn()
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap()
    }

    fn mode_of(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn database_files_are_root_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let mut s = Store::open(&db).unwrap();
        s.tx(|tx| {
            audit::append(
                tx,
                1,
                crate::audit::event::AuditEvent::LoginAllowed,
                "pam",
                None,
                &serde_json::json!({}),
            )?;
            Ok(())
        })
        .unwrap();
        for f in ["t.db", "t.db-wal", "t.db-shm"] {
            assert_eq!(mode_of(&dir.path().join(f)), 0o600, "{f}");
        }
        drop(s);
        // A store left readable by an older version is closed up.
        let old = dir.path().join("old.db");
        for f in ["old.db", "old.db-wal"] {
            let p = dir.path().join(f);
            std::fs::write(&p, "").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let _s = Store::open(&old).unwrap();
        assert_eq!(mode_of(&old), 0o600);
        assert_eq!(mode_of(&dir.path().join("old.db-wal")), 0o600);
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
            audit::append(
                tx,
                1,
                crate::audit::event::AuditEvent::LoginAllowed,
                "pam",
                None,
                &serde_json::json!({}),
            )?;
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
