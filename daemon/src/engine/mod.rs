//! The request and grant state machine. Synchronous: the server calls it on
//! blocking threads, the timer calls [`Engine::expire_due`]. One mutex
//! serialises transitions, so the store, the host and the in-memory
//! deadlines never disagree for long. Time is always an argument.
#![forbid(unsafe_code)]

mod lifecycle;
mod request;
mod view;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

use elevated_proto::{ErrorCode, GrantId, Request, Response};
use jiff::Timestamp;

use crate::audit::Syslog;
use crate::config::Loaded;
use crate::grant::sudoers::SudoersDir;
use crate::grant::GrantError;
use crate::store::{AuditRow, Store, StoreError};
use crate::sys::users::Account;

pub use lifecycle::ReconcileReport;
pub use view::new_id;

/// The caller, as the kernel and NSS describe it.
#[derive(Debug, Clone)]
pub struct Peer {
    /// From `SO_PEERCRED`.
    pub uid: u32,
    /// From `SO_PEERCRED`, when the kernel gives one.
    pub pid: Option<i32>,
    /// NSS facts about `uid`.
    pub account: Account,
}

impl Peer {
    fn is_root(&self) -> bool {
        self.uid == 0
    }
}

/// Why an operation failed; mapped to a [`Response::Error`].
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The input is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// No such thing (or not visible to the caller).
    #[error("{0}")]
    NotFound(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// A bound was reached.
    #[error("{0}")]
    Limit(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Touching the host failed.
    #[error(transparent)]
    Grant(#[from] GrantError),
}

impl EngineError {
    fn into_response(self) -> Response {
        let (code, message) = match self {
            Self::BadRequest(m) => (ErrorCode::BadRequest, m),
            Self::NotFound(m) => (ErrorCode::NotFound, m),
            Self::Forbidden(m) => (ErrorCode::Forbidden, m),
            Self::Limit(m) => (ErrorCode::Limit, m),
            Self::Store(e) => {
                tracing::error!("{e}");
                (
                    ErrorCode::Internal,
                    "internal error in the daemon's state database; see its log".into(),
                )
            }
            Self::Grant(e) => {
                tracing::error!("{e}");
                (
                    ErrorCode::Internal,
                    format!("could not change the host: {e}"),
                )
            }
        };
        Response::Error { code, message }
    }
}

struct State {
    store: Store,
    cfg: Arc<Loaded>,
    sudoers: SudoersDir,
    /// (deadline ms, id) for every active grant's end and pending request's
    /// timeout. Rebuilt from the store at start.
    deadlines: BTreeSet<(i64, GrantId)>,
}

/// The state machine.
pub struct Engine {
    state: Mutex<State>,
    syslog: Syslog,
    /// Notified (all waiters) after every transition; `Wait` listens here.
    pub changed: tokio::sync::Notify,
    /// Notified when a deadline was added; the timer re-plans.
    pub deadlines_changed: tokio::sync::Notify,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

fn ms(now: Timestamp) -> i64 {
    now.as_millisecond()
}

impl Engine {
    /// An engine over an open store and loaded configuration.
    #[must_use]
    pub fn new(store: Store, cfg: Arc<Loaded>) -> Self {
        let d = &cfg.settings.daemon;
        let sudoers = SudoersDir::new(d.sudoers_dir.clone(), d.visudo.clone());
        let syslog = Syslog::new(&d.syslog_socket);
        Self {
            state: Mutex::new(State {
                store,
                cfg,
                sudoers,
                deadlines: BTreeSet::new(),
            }),
            syslog,
            changed: tokio::sync::Notify::new(),
            deadlines_changed: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves data that the store (the
        // truth) can repair; keep serving rather than failing every call.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes committed audit rows and wakes waiters.
    fn after_commit(&self, rows: &[AuditRow]) {
        if !rows.is_empty() {
            self.syslog.emit(rows);
            self.changed.notify_waiters();
        }
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> Arc<Loaded> {
        self.lock().cfg.clone()
    }

    /// Swaps in freshly loaded policy, host and user facts (SIGHUP). Paths
    /// and limits are fixed at start; a change to them is logged and needs a
    /// restart. Grants already made keep what they were given.
    pub fn reload(&self, new: Loaded) {
        let mut st = self.lock();
        if new.settings.daemon.socket != st.cfg.settings.daemon.socket
            || new.settings.daemon.state_dir != st.cfg.settings.daemon.state_dir
            || new.settings.daemon.sudoers_dir != st.cfg.settings.daemon.sudoers_dir
        {
            tracing::warn!(
                "socket, state_dir or sudoers_dir changed: restart elevated to use them"
            );
        }
        let mut merged = new;
        merged.settings.daemon = st.cfg.settings.daemon.clone();
        merged.settings.limits = st.cfg.settings.limits.clone();
        tracing::info!(
            "reloaded: {} roles, {} rules, host {}",
            merged.policy.roles.len(),
            merged.policy.rules.len(),
            merged.host.name
        );
        st.cfg = Arc::new(merged);
    }

    /// The earliest deadline, if any (Unix ms).
    #[must_use]
    pub fn next_deadline(&self) -> Option<i64> {
        self.lock().deadlines.first().map(|(t, _)| *t)
    }

    /// Handles one request from `peer` at time `now`.
    pub fn handle(&self, peer: &Peer, req: Request, now: Timestamp) -> Response {
        let result = match req {
            Request::Ping {} => Ok(Response::Pong {
                daemon_version: env!("CARGO_PKG_VERSION").to_owned(),
                host: self.lock().cfg.host.name.clone(),
            }),
            Request::Roles {} => Ok(self.roles(peer, now)),
            Request::Request {
                role,
                duration_secs,
                reason,
                ticket,
            } => self.request(peer, &role, duration_secs, reason, ticket, now),
            Request::Status {} => self.status(peer, now),
            Request::List { pending, all } => self.list(peer, pending, all, now),
            Request::Show { id } | Request::Wait { id, .. } => self.show(peer, &id, now),
            Request::Cancel { id } => self.cancel(peer, &id, now),
            Request::Revoke { id } => self.revoke(peer, &id, now),
            Request::Audit { since, limit } => self.audit(peer, since.as_deref(), limit),
            Request::AuditVerify {} => self.verify(),
        };
        result.unwrap_or_else(EngineError::into_response)
    }
}

#[cfg(test)]
mod tests;
