//! Process file descriptors (`pidfd_open`, `pidfd_send_signal`, Linux 5.3+):
//! a handle on one process that a reused pid can never redirect. A signal
//! sent through it reaches the process it was opened for or nobody (ESRCH
//! once that process has exited), whereas `kill(pid)` after a check of the
//! pid's start time leaves a window in which the pid may be reused.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::libc;
pub use nix::sys::signal::Signal;

/// A handle on one process.
#[derive(Debug)]
pub struct PidFd(OwnedFd);

impl PidFd {
    /// Opens a handle on the process that has `pid` now. The caller must
    /// check afterwards that it is the process it meant (its start time
    /// read *after* the open): a match proves the handle is that process,
    /// since a pid cannot be reused while it still runs.
    ///
    /// # Errors
    /// `ESRCH` when no such process exists; `ENOSYS` on kernels before 5.3.
    pub fn open(pid: u32) -> io::Result<Self> {
        let pid =
            libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
        // SAFETY: pidfd_open takes a pid and a flags word (0) and returns a
        // new file descriptor or -1; no memory is passed to the kernel.
        let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if ret < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = i32::try_from(ret).map_err(|_| io::Error::other("pidfd out of range"))?;
        // SAFETY: `fd` was just returned by the kernel as a new descriptor
        // that nothing else owns; OwnedFd closes it exactly once.
        Ok(Self(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// [`PidFd::open`], with `Ok(None)` when no process has `pid`.
    ///
    /// # Errors
    /// Any failure but `ESRCH` (`ENOSYS` on kernels before 5.3, ...).
    pub fn open_existing(pid: u32) -> io::Result<Option<Self>> {
        match Self::open(pid) {
            Ok(fd) => Ok(Some(fd)),
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sends `sig` to the process. `Ok(false)` when it has already exited.
    ///
    /// # Errors
    /// Any other failure (`EPERM`, ...).
    pub fn signal(&self, sig: Signal) -> io::Result<bool> {
        // SAFETY: pidfd_send_signal takes a descriptor we own (valid for
        // the call), a signal number, a null siginfo pointer (allowed: the
        // kernel fills in the default for kill()) and flags 0.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                sig as libc::c_int,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if ret == 0 {
            return Ok(true);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::ESRCH) {
            return Ok(false);
        }
        Err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pidfd_outlives_its_pid_and_never_hits_a_reuse() {
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let fd = PidFd::open(child.id()).unwrap();
        assert!(fd.signal(Signal::SIGTERM).unwrap());
        child.wait().unwrap();
        // Reaped: the pid is free for reuse, the handle still names the
        // dead process, and signalling it reaches nobody.
        assert!(!fd.signal(Signal::SIGKILL).unwrap());
        assert!(PidFd::open(u32::MAX).is_err());
    }
}
