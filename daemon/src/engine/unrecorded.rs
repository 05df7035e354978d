//! Taking away does not depend on writing. Ending a grant normally commits
//! first and changes the host second (a crash in between can never leave
//! an ended grant that looks active). When the commit fails (a full state
//! directory, an I/O error), waiting for the store would leave the rights
//! in place for as long as the store cannot write: instead the drop-in and
//! the memberships are removed at once, the end is remembered here, and
//! the commit is retried by the timer (and by each reconciliation) until
//! it lands, with its audit row. Until then the row still reads `active`
//! in the store, so reconciliation leaves such grants alone rather than
//! putting their rights back.
//!
//! The ends are also kept as one small file each in a directory outside
//! the state directory (`ended/` beside the socket, on /run), so that a
//! restart of the daemon before the commit lands does not give the rights
//! back. A file there can only make the daemon take something away.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

use elevated_proto::{GrantId, RequestState};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Engine, EngineError, State};
use crate::store::{AuditRow, RequestRow, StoreError};

/// How long after a failed commit it is tried again.
const RETRY_MS: i64 = 2_000;

/// An end applied on the host and not yet committed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Unrecorded {
    /// The final state it is to be recorded in.
    state: RequestState,
    /// Who ended it.
    actor: String,
    /// The audit detail of the end.
    detail: serde_json::Value,
    /// The row's message at the end.
    message: String,
    /// When the rights were taken away.
    at_ms: i64,
}

impl Engine {
    /// After the commit ending `ended` failed with `err`: takes every
    /// grant among them that was active away on the host (once), remembers
    /// the ends and schedules their retry. Returns the error to answer:
    /// what happened on the host and that the record is pending.
    pub(super) fn end_unrecorded(
        &self,
        st: &mut State,
        ended: &[(RequestRow, &serde_json::Value, bool)],
        state: RequestState,
        actor: &str,
        now_ms: i64,
        err: StoreError,
    ) -> EngineError {
        let mut ids = Vec::new();
        for (row, detail, was_active) in ended {
            if !was_active {
                continue;
            }
            ids.push(row.id.to_string());
            if !st.unrecorded.contains_key(&row.id) {
                take_away(st, row, now_ms);
                let end = Unrecorded {
                    state,
                    actor: actor.to_owned(),
                    detail: (*detail).clone(),
                    message: row.message.clone(),
                    at_ms: now_ms,
                };
                self.keep_marker(&row.id, &end);
                st.unrecorded.insert(row.id.clone(), end);
            }
            st.deadlines.insert((now_ms + RETRY_MS, row.id.clone()));
        }
        if ids.is_empty() {
            return err.into();
        }
        self.deadlines_changed.notify_one();
        EngineError::NotRecorded(format!(
            "{} {}: its sudo rule and group memberships were taken away on this host, \
             but the daemon could not record it in its state database ({err}); it retries \
             every {}s and audits the end once the state directory ([daemon] state_dir) has \
             room again",
            ids.join(", "),
            state.as_str(),
            RETRY_MS / 1000
        ))
    }

    /// If `row` was taken away without being recorded: tries to record its
    /// end now. `None` when it was not; otherwise the committed row and
    /// its audit rows, or the error (the retry stays scheduled).
    pub(super) fn retry_unrecorded(
        &self,
        st: &mut State,
        row: &RequestRow,
        now_ms: i64,
    ) -> Option<Result<(RequestRow, Vec<AuditRow>), EngineError>> {
        let end = st.unrecorded.get(&row.id).cloned()?;
        if row.state != RequestState::Active {
            // Ended meanwhile by another path that did commit.
            self.forget_end(st, &row.id);
            return None;
        }
        let mut row = row.clone();
        row.message = end.message;
        let mut detail = end.detail;
        if let Some(d) = detail.as_object_mut() {
            d.insert("taken_away_at".into(), json!(end.at_ms));
        }
        Some(self.finish(st, row, end.state, &end.actor, detail, now_ms))
    }
}

impl Engine {
    /// Keeps ends not yet recorded in `dir` (created 0700 if missing), and
    /// takes on those a previous run left there. Called at start, before
    /// the first reconciliation.
    pub fn remember_ends_in(&self, dir: &Path) -> std::io::Result<()> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if !dir.is_dir() {
            std::fs::DirBuilder::new().mode(0o700).create(dir)?;
        }
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        let mut st = self.lock();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| GrantId::parse(n).ok()) else {
                continue;
            };
            let end = std::fs::read(entry.path())
                .ok()
                .and_then(|b| serde_json::from_slice::<Unrecorded>(&b).ok());
            match end {
                Some(end) => {
                    tracing::warn!("{id} was taken away but its end not recorded; retrying");
                    st.unrecorded.insert(id, end);
                }
                None => tracing::error!("unreadable {}: ignored", entry.path().display()),
            }
        }
        drop(st);
        let _ = self.ended_dir.set(dir.to_path_buf());
        Ok(())
    }

    fn marker(&self, id: &GrantId) -> Option<PathBuf> {
        self.ended_dir.get().map(|d| d.join(id.as_str()))
    }

    fn keep_marker(&self, id: &GrantId, end: &Unrecorded) {
        let Some(path) = self.marker(id) else { return };
        let written = serde_json::to_vec(end)
            .map_err(std::io::Error::other)
            .and_then(|b| std::fs::write(&path, b));
        if let Err(e) = written {
            // The end still holds in memory; only a restart would forget it.
            tracing::error!("keeping the end of {id} in {}: {e}", path.display());
        }
    }

    /// The end of `id` is recorded (or moot): forgets it.
    pub(super) fn forget_end(&self, st: &mut State, id: &GrantId) {
        if st.unrecorded.remove(id).is_some() {
            if let Some(path) = self.marker(id) {
                if let Err(e) = std::fs::remove_file(&path) {
                    tracing::error!("removing {}: {e}", path.display());
                }
            }
        }
    }
}

/// Whether the end of grant `id` waits for its commit.
pub(super) fn pending(st: &State, id: &GrantId) -> bool {
    st.unrecorded.contains_key(id)
}

/// Removes a grant's drop-in and the memberships it owes, writing nothing.
/// Failures are logged: reconciliation and the retry try again.
fn take_away(st: &mut State, row: &RequestRow, now_ms: i64) {
    if let Err(e) = st.sudoers.remove(&row.id) {
        tracing::error!("removing the drop-in of {}: {e}", row.id);
    }
    if let Err(e) = super::groups::take_back_on_host(st, row.id.as_str(), now_ms) {
        tracing::error!("taking back the groups of {}: {e}", row.id);
    }
}
