//! The only place for raw system calls and the only module allowed `unsafe`
//! (taking ownership of the socket systemd passes, walking trusted paths
//! descriptor by descriptor, executing a checked descriptor, process file
//! descriptors); every `unsafe` block carries a `// SAFETY:` comment. User
//! and group lookups go through `nix`, signals to chosen processes through
//! pidfds (`pidfd`), peer credentials through tokio.
#![allow(unsafe_code)]

pub mod caps;
pub mod child;
pub mod clock;
pub mod exec;
pub mod pidfd;
pub mod procs;
pub mod run;
pub mod setgid;
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
