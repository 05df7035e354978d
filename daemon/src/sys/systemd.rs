//! The systemd protocols the daemon speaks: socket activation
//! (`LISTEN_FDS`) and readiness/watchdog notification (`NOTIFY_SOCKET`).
//! Both are optional: started by hand the daemon binds its own socket and
//! notifies nobody.
//!
//! The variables are read and removed once, by [`Environment::take`],
//! before the runtime starts any thread: changing the environment while
//! other threads may read it is undefined behaviour. What they said travels
//! in the [`Environment`] from then on.

use std::ffi::OsString;
use std::os::fd::{BorrowedFd, FromRawFd};
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::time::Duration;

use nix::sys::socket::{getsockopt, sockopt};
use nix::sys::stat::{fstat, SFlag};

/// The first fd systemd passes (`SD_LISTEN_FDS_START`).
const FIRST_FD: i32 = 3;

/// Every variable systemd sets for the service's own use; none is meant for
/// the programs the daemon runs (`visudo`, `gpasswd`).
const VARIABLES: [&str; 6] = [
    "LISTEN_PID",
    "LISTEN_FDS",
    "LISTEN_FDNAMES",
    "NOTIFY_SOCKET",
    "WATCHDOG_PID",
    "WATCHDOG_USEC",
];

/// What systemd told this process through its environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// How many sockets were passed for this process (`LISTEN_FDS` when
    /// `LISTEN_PID` is this process; otherwise 0).
    listen_fds: i32,
    /// Where readiness and watchdog notifications go (`NOTIFY_SOCKET`).
    notify_socket: Option<OsString>,
    /// Half the watchdog interval asked for this process (`WATCHDOG_USEC`,
    /// when `WATCHDOG_PID` is unset or this process).
    watchdog: Option<Duration>,
}

impl Environment {
    /// Reads systemd's variables and removes them from the environment, so
    /// no child inherits them.
    ///
    /// Call it while the process has a single thread: before the runtime is
    /// built, before anything else is started.
    #[must_use]
    pub fn take() -> Self {
        let vars: Vec<(&str, OsString)> = VARIABLES
            .iter()
            .filter_map(|k| std::env::var_os(k).map(|v| (*k, v)))
            .collect();
        for k in VARIABLES {
            std::env::remove_var(k);
        }
        Self::from_vars(&vars, std::process::id())
    }

    /// What `vars` (name, value) say to the process `pid`.
    #[must_use]
    pub fn from_vars(vars: &[(&str, OsString)], pid: u32) -> Self {
        let get = |key: &str| vars.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
        let text = |key: &str| get(key).and_then(|v| v.into_string().ok());
        let for_us = |key: &str| text(key).and_then(|p| p.parse::<u32>().ok()) == Some(pid);
        let listen_fds = if for_us("LISTEN_PID") {
            text("LISTEN_FDS")
                .and_then(|n| n.parse::<i32>().ok())
                .unwrap_or(0)
        } else {
            0
        };
        let watchdog_ours = text("WATCHDOG_PID").is_none() || for_us("WATCHDOG_PID");
        let watchdog = text("WATCHDOG_USEC")
            .and_then(|u| u.parse::<u64>().ok())
            .filter(|u| watchdog_ours && *u > 0)
            .map(|u| Duration::from_micros(u / 2));
        Self {
            listen_fds,
            notify_socket: get("NOTIFY_SOCKET").filter(|p| !p.is_empty()),
            watchdog,
        }
    }

    /// The listening socket systemd passed, if this process was socket
    /// activated. Refuses anything but a listening stream socket on fd 3.
    /// Call it once: the listener owns the descriptor.
    pub fn listener(&self) -> Result<Option<UnixListener>, String> {
        let fds = self.listen_fds;
        if fds < 1 {
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

    /// Sends a notification (`READY=1`, `WATCHDOG=1`, `STOPPING=1`, ...) to
    /// the service manager, if one asked for them. Errors are ignored:
    /// systemd decides what a missing notification means.
    pub fn notify(&self, state: &str) {
        let Some(path) = &self.notify_socket else {
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
            sock.send_to(state.as_bytes(), path)
        };
    }

    /// Half the watchdog interval systemd asked for, the usual pace for
    /// `WATCHDOG=1`.
    #[must_use]
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&'static str, &str)], pid: u32) -> Environment {
        let vars: Vec<(&str, OsString)> = vars.iter().map(|(k, v)| (*k, (*v).into())).collect();
        Environment::from_vars(&vars, pid)
    }

    #[test]
    fn sockets_count_only_for_the_process_they_were_passed_to() {
        let passed = [("LISTEN_PID", "42"), ("LISTEN_FDS", "1")];
        assert_eq!(env(&passed, 42).listen_fds, 1);
        assert_eq!(env(&passed, 43).listen_fds, 0);
        assert_eq!(env(&[("LISTEN_FDS", "1")], 42).listen_fds, 0);
        assert_eq!(
            env(&[("LISTEN_PID", "42"), ("LISTEN_FDS", "x")], 42).listen_fds,
            0
        );
        assert!(env(&[], 42).listener().unwrap().is_none());
    }

    #[test]
    fn watchdog_pace_is_half_the_interval_asked_of_this_process() {
        let usec = ("WATCHDOG_USEC", "400000");
        let half = Some(Duration::from_millis(200));
        assert_eq!(env(&[usec], 7).watchdog_interval(), half);
        assert_eq!(
            env(&[usec, ("WATCHDOG_PID", "7")], 7).watchdog_interval(),
            half
        );
        assert_eq!(
            env(&[usec, ("WATCHDOG_PID", "8")], 7).watchdog_interval(),
            None
        );
        assert_eq!(env(&[("WATCHDOG_USEC", "0")], 7).watchdog_interval(), None);
        assert_eq!(env(&[], 7).watchdog_interval(), None);
    }

    #[test]
    fn notifications_go_where_systemd_said() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let rx = UnixDatagram::bind(&path).unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let e = env(&[("NOTIFY_SOCKET", path.to_str().unwrap())], 1);
        e.notify("READY=1");
        let mut buf = [0u8; 64];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        // Nobody asked: nothing is sent, nothing fails.
        env(&[], 1).notify("READY=1");
    }
}
