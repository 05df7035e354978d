//! The systemd protocols the daemon speaks: socket activation
//! (`LISTEN_FDS`) and readiness/watchdog notification (`NOTIFY_SOCKET`).
//! Both are optional: started by hand the daemon binds its own socket and
//! notifies nobody.

use std::os::fd::{BorrowedFd, FromRawFd};
use std::os::unix::net::{UnixDatagram, UnixListener};

use nix::sys::socket::{getsockopt, sockopt};
use nix::sys::stat::{fstat, SFlag};

/// The first fd systemd passes (`SD_LISTEN_FDS_START`).
const FIRST_FD: i32 = 3;

/// The listening socket systemd passed, if this process was socket
/// activated. Refuses anything but a listening stream socket on fd 3.
pub fn listener_from_systemd() -> Result<Option<UnixListener>, String> {
    let pid_ok = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        .is_some_and(|p| p == std::process::id());
    let fds = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse::<i32>().ok())
        .unwrap_or(0);
    // The variables are for this process only; children must not see them.
    std::env::remove_var("LISTEN_PID");
    std::env::remove_var("LISTEN_FDS");
    std::env::remove_var("LISTEN_FDNAMES");
    if !pid_ok || fds < 1 {
        return Ok(None);
    }
    if fds > 1 {
        return Err(format!(
            "systemd passed {fds} sockets; elevated.socket must listen on exactly one"
        ));
    }
    // SAFETY: fd 3 stays open for the whole process (systemd passed it and
    // nothing in this process closes it before it is wrapped below); the
    // borrow only lives for the checks that follow.
    let fd = unsafe { BorrowedFd::borrow_raw(FIRST_FD) };
    let st = fstat(FIRST_FD).map_err(|e| format!("fd 3 from systemd: {e}"))?;
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFSOCK {
        return Err("fd 3 from systemd is not a socket".into());
    }
    if !getsockopt(&fd, sockopt::AcceptConn).map_err(|e| format!("fd 3 from systemd: {e}"))? {
        return Err("fd 3 from systemd is not a listening socket".into());
    }
    // SAFETY: fd 3 is an open listening socket (checked above) that nothing
    // else in this process owns; the listener takes sole ownership of it.
    let listener = unsafe { UnixListener::from_raw_fd(FIRST_FD) };
    let cloexec = nix::fcntl::FdFlag::FD_CLOEXEC;
    nix::fcntl::fcntl(FIRST_FD, nix::fcntl::FcntlArg::F_SETFD(cloexec))
        .map_err(|e| format!("fd 3 from systemd: {e}"))?;
    Ok(Some(listener))
}

/// Sends a notification (`READY=1`, `WATCHDOG=1`, `STOPPING=1`, ...) to the
/// service manager, if one asked for them. Errors are ignored: systemd
/// decides what a missing notification means.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(sock) = UnixDatagram::unbound() else {
        return;
    };
    let bytes = path.as_encoded_bytes();
    let _ = if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        match std::os::unix::net::SocketAddr::from_abstract_name(name) {
            Ok(addr) => sock.send_to_addr(state.as_bytes(), &addr),
            Err(e) => Err(e),
        }
    } else {
        sock.send_to(state.as_bytes(), &path)
    };
}

/// Half the watchdog interval systemd asked for (`WATCHDOG_USEC` for this
/// pid), the usual pace for `WATCHDOG=1`.
#[must_use]
pub fn watchdog_interval() -> Option<std::time::Duration> {
    let for_us = std::env::var("WATCHDOG_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        .is_none_or(|p| p == std::process::id());
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (for_us && usec > 0).then(|| std::time::Duration::from_micros(usec / 2))
}
