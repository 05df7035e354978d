//! The system below the daemon: the only place for raw system calls and
//! NSS lookups, and the only module allowed `unsafe` (every `unsafe` block
//! carries a `// SAFETY:` comment). It imports nothing from the rest of the
//! daemon; the layers above decide what to look up, run or signal
//! (docs/architecture.md).
//!
//! - [`systemd`]: socket activation and readiness/watchdog notification,
//!   from variables read once before the runtime starts;
//! - [`users`]: accounts and their groups from NSS;
//! - [`run`], [`child`], [`exec`]: external programs with a time limit, in
//!   a process group of their own, executed through the checked descriptor;
//! - [`pidfd`]: signals to chosen processes through process descriptors;
//! - [`trust`]: opening paths descriptor by descriptor, refusing what
//!   someone other than root could change;
//! - [`caps`]: dropping the capabilities the daemon does not need;
//! - [`clock`]: the boot clock and the kernel's clock ticks.
//!
//! Peer credentials come through tokio (`server`).
#![allow(unsafe_code)]

pub mod caps;
pub mod child;
pub mod clock;
pub mod exec;
pub mod pidfd;
pub mod run;
pub mod systemd;
pub mod trust;
pub mod users;

/// The kernel's host name, or `localhost` if it cannot be read.
#[must_use]
pub fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Whether this process runs as root.
#[must_use]
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Raises the soft open-file limit to the hard one, so a burst of clients
/// is refused politely by the connection limit rather than by EMFILE.
/// Returns the soft limit in force afterwards, when it can be read.
pub fn raise_nofile_limit() -> Option<u64> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return Some(hard);
    }
    Some(soft)
}

/// Opens `path` for reading without following a final symbolic link,
/// without blocking on a FIFO and without taking a terminal, so that a
/// file can be checked and changed through the descriptor rather than
/// by a path that may be swapped meanwhile.
///
/// # Errors
/// The `open` failure (`ELOOP` for a symbolic link).
pub fn open_no_follow(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use nix::fcntl::OFlag;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY).bits())
        .open(path)
}

/// Kills this process with SIGKILL, at once: what a crash test's armed
/// fault point does (`crate::fault`).
#[cfg(feature = "fault-injection")]
pub fn kill_self() {
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
}
