//! The request and grant state machine. Synchronous: the server calls it on
//! blocking threads, the timer calls [`Engine::expire_due`]. One mutex
//! serialises transitions, so the store, the host and the in-memory
//! deadlines never disagree for long. Time is always an argument.
#![forbid(unsafe_code)]

mod approve;
mod audit_view;
pub mod clock;
mod command;
mod conflict;
mod dispatch;
mod expiry;
mod extend;
mod groups;
mod holder;
mod lifecycle;
mod listing;
mod login;
mod notify;
mod peer;
mod quota;
mod reads;
mod reauth_limit;
mod recheck;
mod reconcile;
mod reconcile_groups;
mod regrant;
mod request;
mod review;
mod rights;
mod setgid;
mod signed;
mod teardown;
mod text;
mod unrecorded;
mod view;
mod votes;

use crate::audit::event::AuditEvent;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use elevated_proto::{GrantId, Response};
use jiff::Timestamp;

use crate::audit::Syslog;
use crate::config::Loaded;
use crate::grant::sudoers::SudoersDir;
use crate::grant::GrantError;
use crate::store::{AuditRow, Store, StoreError};
use crate::sys::users::Account;

pub use peer::{Context, Peer};
pub use reads::READERS;
pub use request::Reauth;

/// Why an operation failed; the server maps it to a [`Response::Error`]
/// (`server/errors.rs`).
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
    /// The caller already has what they ask for (an active grant or a
    /// pending request of the role).
    #[error("{0}")]
    Conflict(String),
    /// Something inside the daemon went wrong that no caller can fix: a
    /// stored value it cannot use, an invariant that does not hold, no
    /// randomness for an id.
    #[error("{0}")]
    Internal(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Touching the host failed.
    #[error(transparent)]
    Grant(#[from] GrantError),
    /// An account could not be looked up (NSS failed).
    #[error(transparent)]
    Account(#[from] crate::sys::users::LookupError),
    /// A grant was taken away on the host but its end could not be
    /// committed; the daemon retries the commit.
    #[error("{0}")]
    NotRecorded(String),
}

/// What the engine made of a request.
#[derive(Debug)]
#[must_use]
// One per request, moved straight into its frame: boxing the answer would
// cost an allocation for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Outcome {
    /// The answer.
    Done(Response),
    /// The rule asks for PAM re-authentication: the server runs it over
    /// the connection, then asks again with its result.
    NeedsReauth,
}

struct State {
    store: Store,
    sudoers: SudoersDir,
    groups: crate::grant::groups::Groups,
    /// (deadline ms, id) for every active grant's end and pending request's
    /// timeout. Rebuilt from the store at start.
    deadlines: BTreeSet<(i64, GrantId)>,
    /// Whether a stored user name still names the grant's uid (NSS).
    accounts: holder::Lookup,
    /// Problems reconciliation already audited (a bad row, a membership it
    /// cannot restore), so that a retry every pass logs but audits once.
    reported: std::collections::HashSet<String>,
    /// Grants taken away on the host whose end the store could not yet
    /// record (see [`unrecorded`]).
    unrecorded: std::collections::BTreeMap<GrantId, unrecorded::Unrecorded>,
}

/// The state machine.
pub struct Engine {
    state: Mutex<State>,
    syslog: Syslog,
    /// Swapped on reload; senders take a clone of the `Arc`.
    notifier: Mutex<Arc<crate::notify::Notifier>>,
    /// Notified (all waiters) after every transition; `Wait` listens here.
    pub changed: tokio::sync::Notify,
    /// Notified when a deadline was added; the timer re-plans.
    pub deadlines_changed: tokio::sync::Notify,
    /// Every committed audit row, for the D-Bus signals.
    transitions: tokio::sync::broadcast::Sender<AuditRow>,
    /// Set by [`Engine::attach`] for work on other threads.
    me: std::sync::OnceLock<std::sync::Weak<Engine>>,
    /// Process and set-gid sweeps still running, for
    /// [`Engine::wait_for_sweeps`].
    sweeps: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// The engine's time: the wall clock checked against the boot clock.
    clock: Mutex<clock::ClockState>,
    /// Read-only connections for reads that must not take the lock.
    reads: reads::ReadPool,
    /// The configuration in use, outside the transition lock: reads, the
    /// `Ping`, `roles` and approver checks, and transitions deciding
    /// before they lock never wait for a transition running `visudo` or
    /// `gpasswd`. Swapped whole on reload (under the transition lock, so
    /// that a reload's re-check and the transitions it races see one
    /// order); readers keep the `Arc` they took.
    cfg: RwLock<Arc<Loaded>>,
    /// Where requesters are looked up when policy is re-checked for them
    /// (they are not the caller then): NSS, a table in tests.
    directory: Box<recheck::Directory>,
    /// Where ends not yet recorded are kept across restarts (see
    /// [`unrecorded`]); none in tests.
    ended_dir: std::sync::OnceLock<std::path::PathBuf>,
    /// What each uid made the daemon write lately (see [`quota`]).
    quotas: Mutex<quota::Quotas>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

/// The notifier a configuration asks for. Configuration errors were
/// reported at load; a worker that cannot start turns notifications off
/// rather than keeping the daemon (and every revocation) from running.
fn notifier_for(cfg: &Loaded) -> crate::notify::Notifier {
    crate::notify::Notifier::new(&cfg.settings.notify).unwrap_or_else(|e| {
        tracing::error!("notifications are off: {e}");
        crate::notify::Notifier::disabled()
    })
}

/// Writes `row` and one audit row about it in one transaction; returns the
/// audit row for publishing once the caller releases the lock.
fn update_audited(
    st: &mut State,
    row: &crate::store::RequestRow,
    event: AuditEvent,
    actor: &str,
    detail: &serde_json::Value,
    now_ms: i64,
) -> Result<Vec<AuditRow>, EngineError> {
    let rid = row.id.to_string();
    Ok(st.store.tx(|tx| {
        crate::store::requests::update(tx, row)?;
        Ok::<_, crate::store::StoreError>(vec![crate::store::audit::append(
            tx,
            now_ms,
            event,
            actor,
            Some(&rid),
            detail,
        )?])
    })?)
}

/// What a test runs at [`Engine::between_read_and_lock`].
#[cfg(test)]
type Meanwhile = Box<dyn FnOnce(&Engine)>;

#[cfg(test)]
thread_local! {
    /// Test seam, see [`Engine::between_read_and_lock`].
    static BETWEEN: std::cell::RefCell<Option<Meanwhile>> = const { std::cell::RefCell::new(None) };
}

fn ms(now: Timestamp) -> i64 {
    now.as_millisecond()
}

impl Engine {
    /// An engine over an open store and loaded configuration.
    #[must_use]
    pub fn new(store: Store, cfg: Arc<Loaded>) -> Self {
        let d = &cfg.settings.daemon;
        let sudoers = SudoersDir::new(d.sudoers_dir.clone(), d.visudo.clone())
            .with_timeout(d.command_timeout);
        let groups = crate::grant::groups::Groups::new(
            d.gpasswd.clone(),
            std::path::PathBuf::from(crate::grant::groups::DEFAULT_GROUP_FILE),
        )
        .with_timeout(d.command_timeout);
        let syslog = Syslog::new(&d.syslog_socket);
        let notifier = Mutex::new(Arc::new(notifier_for(&cfg)));
        let db_path = store.path().map(std::path::Path::to_path_buf);
        let clock = Mutex::new(clock::ClockState::beside(db_path.as_deref()));
        Self {
            clock,
            reads: reads::ReadPool::new(db_path),
            cfg: RwLock::new(cfg.clone()),
            notifier,
            state: Mutex::new(State {
                store,
                sudoers,
                groups,
                deadlines: BTreeSet::new(),
                accounts: holder::nss,
                reported: std::collections::HashSet::new(),
                unrecorded: Default::default(),
            }),
            syslog,
            changed: tokio::sync::Notify::new(),
            deadlines_changed: tokio::sync::Notify::new(),
            transitions: tokio::sync::broadcast::channel(1024).0,
            me: std::sync::OnceLock::new(),
            sweeps: Mutex::new(Vec::new()),
            directory: recheck::nss(),
            ended_dir: std::sync::OnceLock::new(),
            quotas: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves data that the store (the
        // truth) can repair; keep serving rather than failing every call.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Called where a transition was decided on a row read without the
    /// lock and is about to take it to commit. Tests put another
    /// transition here (what a concurrent client or the timer may commit
    /// at that moment); in the daemon it does nothing.
    fn between_read_and_lock(&self) {
        #[cfg(test)]
        if let Some(f) = BETWEEN.with(|b| b.borrow_mut().take()) {
            f(self);
        }
    }

    /// Publishes committed audit rows and wakes waiters.
    fn after_commit(&self, rows: &[AuditRow]) {
        if !rows.is_empty() {
            self.syslog.emit(rows);
            for row in rows {
                // No subscriber (no bus) is fine; a slow one lags, never blocks.
                let _ = self.transitions.send(row.clone());
            }
            self.changed.notify_waiters();
        }
    }

    /// Committed audit rows from now on.
    #[must_use]
    pub fn transitions(&self) -> tokio::sync::broadcast::Receiver<AuditRow> {
        self.transitions.subscribe()
    }

    /// `list` as root sees it (for the D-Bus methods, whose callers the bus
    /// policy restricts).
    pub fn list_as_root(&self, pending: bool) -> Response {
        let root = Peer::known(
            Account {
                name: "root".into(),
                uid: 0,
                gid: 0,
                groups: Default::default(),
            },
            None,
            Context::new(),
        );
        self.list(&root, pending, false, false, self.now())
            .unwrap_or_else(Response::from)
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> Arc<Loaded> {
        self.cfg.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Puts `cfg` in use.
    fn swap_config(&self, cfg: Loaded) {
        *self.cfg.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(cfg);
    }

    /// Swaps in freshly loaded policy, host and user facts (SIGHUP) at
    /// `now`. Paths and limits are fixed at start; a change to them is
    /// logged and needs a restart. Grants already made keep what they were
    /// given; requests and extensions awaiting a decision that the new
    /// policy no longer allows are closed (`denied`, "policy changed").
    pub fn reload(&self, new: Loaded, now: Timestamp) {
        // Their requesters are looked up before the lock (NSS may be slow).
        let open = recheck::awaiting(&self.lock());
        let open = self.requesters_now(open);
        let st = self.lock();
        let old = self.config();
        if new.settings.daemon.socket != old.settings.daemon.socket
            || new.settings.daemon.state_dir != old.settings.daemon.state_dir
            || new.settings.daemon.sudoers_dir != old.settings.daemon.sudoers_dir
        {
            tracing::warn!(
                "socket, state_dir or sudoers_dir changed: restart elevated to use them"
            );
        }
        let notifier = Arc::new(notifier_for(&new));
        *self.notifier.lock().unwrap_or_else(|p| p.into_inner()) = notifier;
        let mut merged = new;
        merged.settings.daemon = old.settings.daemon.clone();
        merged.settings.limits = old.settings.limits.clone();
        tracing::info!(
            "reloaded: {} roles, {} rules, host {}",
            merged.policy.roles.len(),
            merged.policy.rules().len(),
            merged.host.name
        );
        self.swap_config(merged);
        self.close_disallowed(st, open, now);
    }

    /// Swaps in `cfg` as it is, without a reload's re-checks (tests that
    /// look at what happens when policy changes under a request).
    #[cfg(test)]
    fn set_config(&self, cfg: Loaded) {
        let _st = self.lock();
        self.swap_config(cfg);
    }

    /// The earliest deadline, if any (Unix ms).
    #[must_use]
    pub fn next_deadline(&self) -> Option<i64> {
        self.lock().deadlines.first().map(|(t, _)| *t)
    }
}

#[cfg(test)]
mod concurrency_tests;
#[cfg(test)]
mod conflict_tests;
#[cfg(test)]
mod errors_tests;
#[cfg(test)]
mod expiry_tests;
#[cfg(test)]
mod groups_tests;
#[cfg(test)]
mod notify_tests;
#[cfg(test)]
mod quota_tests;
#[cfg(test)]
mod race_tests;
#[cfg(test)]
mod reads_tests;
#[cfg(test)]
mod recheck_tests;
#[cfg(test)]
mod size_tests;
#[cfg(test)]
mod trust_tests;

#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod upgrade_tests;
