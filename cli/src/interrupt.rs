//! Ctrl-C while `elevate` waits or runs a one-shot command: noted, not
//! fatal, so the request can be left pending or withdrawn on purpose and an
//! action grant is revoked after its command.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// Set by the signal handler.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Whether the handler is in place.
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// From now on SIGINT sets a flag instead of ending the process. Returns
/// whether that is so; when the handler cannot be installed, Ctrl-C keeps
/// its default effect, which leaves a pending request pending too.
/// `exec` restores the default for the program that replaces us.
pub fn catch() -> bool {
    *INSTALLED.get_or_init(|| {
        signal_hook::flag::register(signal_hook::consts::SIGINT, &INTERRUPTED).is_ok()
    })
}

/// Whether Ctrl-C was pressed since the last call.
pub fn take() -> bool {
    INTERRUPTED.swap(false, Ordering::SeqCst)
}
