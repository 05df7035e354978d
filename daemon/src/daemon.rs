//! Running the daemon: load, open, reconcile, bind, serve, and keep time.
#![forbid(unsafe_code)]

use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixListener;
use tokio::signal::unix::{signal, SignalKind};

use crate::config::{ConfigErrors, Loaded};
use crate::engine::Engine;
use crate::store::{Store, StoreError};
use crate::sys::systemd::Environment;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Configuration is invalid.
    #[error("configuration is invalid:\n{0}")]
    Config(#[from] ConfigErrors),
    /// The store could not be opened.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The state directory could be read or changed by someone other than
    /// root: the store in it decides who holds what.
    #[error("refusing to use the state directory: {0}")]
    StateDir(#[source] crate::sys::trust::TrustError),
    /// A path could not be prepared.
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// Another daemon is serving the socket.
    #[error("another elevated is already listening on {0}")]
    AlreadyRunning(PathBuf),
    /// The socket systemd passed is unusable.
    #[error("socket activation: {0}")]
    Activation(String),
    /// Capabilities could not be dropped; refusing to run with more than
    /// the daemon needs.
    #[error("dropping capabilities failed: {0}")]
    Capabilities(String),
}

fn io_err<'a>(
    what: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> StartError + 'a {
    move |source| StartError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

fn make_dir(path: &Path, mode: u32) -> Result<(), StartError> {
    if !path.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(path)
            .map_err(io_err("creating", path))?;
    }
    Ok(())
}

/// The socket file a daemon bound, by device and inode: at stop it is
/// removed only while it is still that file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketFile {
    dev: u64,
    ino: u64,
}

impl SocketFile {
    /// The socket file now at `path`, if there is one.
    #[must_use]
    pub fn at(path: &Path) -> Option<Self> {
        let meta = std::fs::symlink_metadata(path).ok()?;
        meta.file_type().is_socket().then(|| Self {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    /// Removes `path` if it is still this socket file. Another daemon may
    /// have taken the path over (an operator started a second one, or a
    /// test did): its socket is not ours to remove.
    pub fn remove_if_ours(self, path: &Path) {
        if Self::at(path) != Some(self) {
            tracing::info!(
                "{} is no longer this daemon's socket; leaving it in place",
                path.display()
            );
            return;
        }
        if let Err(e) = std::fs::remove_file(path) {
            tracing::warn!("removing {}: {e}", path.display());
        }
    }
}

/// Binds the socket so any local user can connect (the daemon decides what
/// each may do from their uid). A stale socket file is replaced; a live one
/// means another daemon runs.
pub fn bind(path: &Path) -> Result<UnixListener, StartError> {
    if let Some(parent) = path.parent() {
        make_dir(parent, 0o755)?;
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_socket() {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(StartError::AlreadyRunning(path.to_path_buf()));
            }
            std::fs::remove_file(path).map_err(io_err("removing stale socket", path))?;
        } else {
            return Err(StartError::Io {
                what: "refusing to replace non-socket",
                path: path.to_path_buf(),
                source: std::io::ErrorKind::AlreadyExists.into(),
            });
        }
    }
    let listener = UnixListener::bind(path).map_err(io_err("binding", path))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
        .map_err(io_err("chmod", path))?;
    Ok(listener)
}

/// Loads configuration and the store, and reconciles, without serving:
/// the part of start-up that can fail with a clear message.
pub fn prepare(config: Option<&Path>) -> Result<Arc<Engine>, StartError> {
    let cfg = Loaded::load(config, &crate::sys::hostname())?;
    let state_dir = cfg.settings.daemon.state_dir.clone();
    make_dir(&state_dir, 0o700)?;
    // The store says who holds which privilege and keeps the audit log:
    // nobody but root may read it, or swap it for another.
    crate::sys::trust::check_private_dir(&state_dir).map_err(StartError::StateDir)?;
    let store = Store::open(&state_dir.join("elevated.db"))?;
    let engine = Arc::new(Engine::new(store, Arc::new(cfg)));
    engine.attach();
    // Before anything else is written: the row that records a mismatch
    // becomes the next head. Failing to record it is logged, never fatal:
    // grants must still be taken back.
    if let Err(e) = engine.record_head_mismatch(engine.now()) {
        tracing::error!("could not record the audit head mismatch in the audit log: {e}");
    }
    // Outside the state directory, which may be what is full.
    if let Some(run) = engine.config().settings.daemon.socket.parent() {
        // As `bind` makes it: clients reach the socket through it.
        let kept = make_dir(run, 0o755)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                engine
                    .remember_ends_in(&run.join("ended"))
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = kept {
            tracing::error!("cannot keep unrecorded ends in {}: {e}", run.display());
        }
    }
    if let Err(e) = engine.report_unknown_states(engine.now()) {
        tracing::error!("looking for unreadable requests at start failed: {e}");
    }
    // Never refuse to start over what reconciliation could not do: the
    // daemon is what ends grants, so it serves and the loop retries.
    match engine.reconcile(engine.now()) {
        Ok(report) => tracing::info!(
            "reconciled at start: {} expired, {} timed out, {} stray files removed, {} re-written, \
             {} grants of deleted accounts revoked, {} unreadable requests, {} steps failed",
            report.expired,
            report.timed_out,
            report.removed.len(),
            report.rewritten.len(),
            report.accounts_gone,
            report.bad_rows,
            report.failed
        ),
        Err(e) => tracing::error!(
            "reconciling the host with the store at start failed: {e}; serving anyway, retrying in {}s",
            RECONCILE_RETRY.as_secs()
        ),
    }
    Ok(engine)
}

/// How soon a reconciliation that failed (or left steps to retry) runs
/// again, when the configured interval is longer.
const RECONCILE_RETRY: Duration = Duration::from_secs(5);

/// Runs the daemon until SIGTERM or SIGINT;
/// SIGHUP reloads the configuration. `systemd` is what the service manager
/// said, read before the runtime started.
pub async fn run(config: Option<PathBuf>, systemd: Environment) -> Result<(), StartError> {
    let nofile = crate::sys::raise_nofile_limit();
    let engine = prepare(config.as_deref())?;
    let cfg = engine.config();
    let mut limits = cfg.settings.limits.clone();
    let fit = crate::server::slots::fit_to_nofile(limits.max_connections, nofile);
    if fit < limits.max_connections {
        tracing::warn!(
            "[limits] max_connections = {} does not fit the open-file limit ({}); serving {fit} \
             at once (raise LimitNOFILE to serve more)",
            limits.max_connections,
            nofile.unwrap_or(0)
        );
        limits.max_connections = fit;
    }
    let socket = cfg.settings.daemon.socket.clone();
    // Socket activation: systemd's listening socket, else our own.
    let activated = systemd.listener().map_err(StartError::Activation)?;
    let by_systemd = activated.is_some();
    let mut own_socket = None;
    let listener = match activated {
        Some(std_listener) => {
            std_listener
                .set_nonblocking(true)
                .map_err(io_err("socket from systemd", &socket))?;
            UnixListener::from_std(std_listener).map_err(io_err("socket from systemd", &socket))?
        }
        None => {
            let listener = bind(&socket)?;
            own_socket = SocketFile::at(&socket);
            listener
        }
    };
    // The socket is bound and the store open: from here on the daemon needs
    // only what grants, revocations and PAM need.
    match crate::sys::caps::drop_unneeded() {
        Ok(kept) if kept.is_empty() => {
            tracing::warn!("not running as root: no capabilities to keep")
        }
        Ok(kept) => tracing::info!("capabilities kept: {}", kept.join(" ")),
        Err(e) => return Err(StartError::Capabilities(e.to_string())),
    }
    tracing::info!(
        "elevated {} serving on {}{} for host {}",
        env!("CARGO_PKG_VERSION"),
        socket.display(),
        if by_systemd { " (from systemd)" } else { "" },
        cfg.host.name
    );
    let bus_slot = crate::bus::BusSlot::default();
    let bus = crate::bus::start(engine.clone(), bus_slot.clone());
    let server = tokio::spawn(crate::server::serve(
        engine.clone(),
        listener,
        limits,
        bus_slot,
    ));
    let timer = tokio::spawn(timer(engine.clone()));
    let reconciler = tokio::spawn(reconcile_loop(
        engine.clone(),
        cfg.settings.daemon.reconcile_interval,
    ));
    let systemd = Arc::new(systemd);
    let watchdog = systemd
        .watchdog_interval()
        .map(|every| tokio::spawn(watchdog(engine.clone(), systemd.clone(), every)));
    systemd.notify(&format!("READY=1\nSTATUS=serving on {}", socket.display()));
    let mut term = signal(SignalKind::terminate()).map_err(io_err("signals", Path::new("-")))?;
    let mut int = signal(SignalKind::interrupt()).map_err(io_err("signals", Path::new("-")))?;
    let mut hup = signal(SignalKind::hangup()).map_err(io_err("signals", Path::new("-")))?;
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM: stopping"); break; }
            _ = int.recv() => { tracing::info!("SIGINT: stopping"); break; }
            _ = hup.recv() => {
                systemd.notify("RELOADING=1");
                reload(&engine, config.as_deref()).await;
                systemd.notify("READY=1");
            }
        }
    }
    systemd.notify("STOPPING=1");
    server.abort();
    bus.abort();
    timer.abort();
    reconciler.abort();
    if let Some(w) = watchdog {
        w.abort();
    }
    // Grants stay: they are in the store and bounded by NOTAFTER. A socket
    // systemd passed belongs to systemd; one that replaced ours belongs to
    // whoever bound it.
    if let Some(own) = own_socket {
        own.remove_if_ours(&socket);
    }
    Ok(())
}

/// Tells systemd the daemon is alive, but only while the engine answers:
/// a wedged engine (its lock never released) stops the pings and systemd
/// restarts the daemon.
async fn watchdog(engine: Arc<Engine>, systemd: Arc<Environment>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let e = engine.clone();
        if tokio::task::spawn_blocking(move || e.next_deadline())
            .await
            .is_ok()
        {
            systemd.notify("WATCHDOG=1");
        }
    }
}

/// Re-reads settings, policy, host and user files. On any error the old
/// configuration stays in force, so a typo never opens or closes access.
async fn reload(engine: &Arc<Engine>, config: Option<&Path>) {
    let config = config.map(Path::to_path_buf);
    let loaded = tokio::task::spawn_blocking(move || {
        Loaded::load(config.as_deref(), &crate::sys::hostname())
    })
    .await;
    match loaded {
        Ok(Ok(cfg)) => {
            let engine = engine.clone();
            // Re-deciding open requests looks their requesters up (NSS):
            // not on the runtime's threads.
            let _ = tokio::task::spawn_blocking(move || {
                let now = engine.now();
                engine.reload(cfg, now);
            })
            .await;
        }
        Ok(Err(errs)) => {
            tracing::error!("SIGHUP: configuration not reloaded, the old one stays:\n{errs}")
        }
        Err(e) => tracing::error!("SIGHUP: reload failed: {e}"),
    }
}

/// Sleeps until the next deadline (or until a new one is added) and ends
/// what is due. Keeps revocation lag to the timer's resolution.
async fn timer(engine: Arc<Engine>) {
    loop {
        let changed = engine.deadlines_changed.notified();
        let now = engine.now();
        match engine.next_deadline() {
            Some(t) if t <= now.as_millisecond() => {
                let e = engine.clone();
                match tokio::task::spawn_blocking(move || e.expire_due(e.now())).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::error!("expiring grants failed: {e}; retrying in 1s");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    Err(e) => tracing::error!("expiry task failed: {e}"),
                }
            }
            Some(t) => {
                let wait = u64::try_from(t - now.as_millisecond()).unwrap_or(0);
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
                    _ = changed => {}
                }
            }
            None => changed.await,
        }
    }
}

/// Reconciles every `every`; after a pass that failed or left steps to
/// retry, sooner ([`RECONCILE_RETRY`]). The first pass comes that soon
/// after start-up's, which may have left something to retry.
async fn reconcile_loop(engine: Arc<Engine>, every: Duration) {
    let retry = every.min(RECONCILE_RETRY);
    let mut wait = retry;
    loop {
        tokio::time::sleep(wait).await;
        let e = engine.clone();
        wait = match tokio::task::spawn_blocking(move || e.reconcile(e.now())).await {
            Ok(Ok(r)) if r.failed > 0 => {
                tracing::info!("reconciled: {r:?}");
                retry
            }
            Ok(Ok(r)) if r != Default::default() => {
                tracing::info!("reconciled: {r:?}");
                every
            }
            Ok(Ok(_)) => every,
            Ok(Err(e)) => {
                tracing::error!("reconciliation failed: {e}");
                retry
            }
            Err(e) => {
                tracing::error!("reconciliation task failed: {e}");
                retry
            }
        };
    }
}
