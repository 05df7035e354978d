//! Reads served without the engine lock: a small pool of read-only
//! connections, one read transaction per answer, and the per-user cap on
//! heavy reads.
//!
//! SQLite in WAL mode lets readers run beside the writer, each seeing the
//! database as of its transaction's start. A read that took the engine
//! lock instead (an `audit` scan, a `list` of a long history) held up
//! every grant, revocation, expiry and login check behind it.
#![forbid(unsafe_code)]

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;

use super::{Engine, EngineError};
use crate::store::StoreError;

/// Read-only connections kept open between reads. The server lets at most
/// this many reads run at once (its read lane), so the pool is never empty
/// for one of them; a read from elsewhere (D-Bus) opens one more and closes
/// it after.
pub const READERS: usize = 4;

/// The pool. Connections are opened on first use and kept: SQLite holds
/// back the descriptors of a connection closed while another one has the
/// file locked, so a connection per read left descriptors behind under
/// load.
pub(super) struct ReadPool {
    /// The store's file; `None` for an in-memory store (tests), whose
    /// reads go through the engine's own connection.
    path: Option<PathBuf>,
    idle: Mutex<Vec<rusqlite::Connection>>,
    /// Users with an `audit --verify` running: one at a time each.
    verifying: Mutex<HashSet<u32>>,
}

impl ReadPool {
    pub(super) fn new(path: Option<PathBuf>) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
            verifying: Mutex::new(HashSet::new()),
        }
    }
}

/// Holds a user's one verification slot until dropped.
pub(super) struct Verifying<'a> {
    pool: &'a ReadPool,
    uid: u32,
}

impl Drop for Verifying<'_> {
    fn drop(&mut self) {
        let mut v = self
            .pool
            .verifying
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        v.remove(&self.uid);
    }
}

impl Engine {
    /// Runs `f` in one read transaction on a pooled read-only connection
    /// (so every row of one answer comes from the same moment), without
    /// the engine lock. Never waits for a connection: an empty pool opens
    /// one, so nothing that holds a server permit queues here.
    pub(super) fn read<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let pool = &self.reads;
        let Some(path) = &pool.path else {
            return f(self.lock().store.conn());
        };
        let taken = pool.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match taken {
            Some(c) => c,
            None => crate::store::Store::reader(path)?,
        };
        let out = {
            let tx = conn.unchecked_transaction().map_err(StoreError::from)?;
            let out = f(&tx);
            // Read-only: nothing to commit; dropping ends the snapshot.
            drop(tx);
            out
        };
        let mut idle = pool.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < READERS {
            idle.push(conn);
        }
        out
    }

    /// Claims `uid`'s one verification slot. A verification hashes the
    /// whole chain; several at once from one user only multiply that work
    /// for everyone else, so the second is refused, not queued.
    pub(super) fn verifying(&self, uid: u32) -> Result<Verifying<'_>, EngineError> {
        let pool = &self.reads;
        let mut v = pool.verifying.lock().unwrap_or_else(|p| p.into_inner());
        if !v.insert(uid) {
            return Err(EngineError::Limit(
                "an audit verification of yours is already running; wait for it to finish \
                 (one at a time per user)"
                    .into(),
            ));
        }
        Ok(Verifying { pool, uid })
    }
}
