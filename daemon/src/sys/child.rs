//! Children that change the host do not outlive the daemon.

use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::errno::Errno;
use nix::sys::signal::Signal;

/// Has the kernel SIGKILL the child `cmd` starts if the daemon dies first.
/// A `gpasswd -a` left running by a crashed daemon could otherwise finish
/// after the restarted daemon reconciled groups (and, finding no
/// membership yet, closed the journal row that owed it): a membership no
/// grant owes and nothing would ever take back. Killed with the daemon,
/// its change is either made before the crash or not at all, both of
/// which the journal covers. The signal survives exec: the daemon is
/// root with a fixed bounding set, so running a set-uid-root program
/// changes no credentials.
pub fn die_with_daemon(cmd: &mut Command) -> &mut Command {
    let daemon = nix::unistd::getpid();
    // SAFETY: the closure runs in the forked child before exec, where only
    // async-signal-safe calls are allowed: it makes two system calls
    // (prctl, getppid) and builds errors from plain error numbers, without
    // allocating or taking locks.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)?;
            // The daemon may have died before the call above took effect;
            // then no signal would come.
            if nix::unistd::getppid() != daemon {
                return Err(std::io::Error::from(Errno::ESRCH));
            }
            Ok(())
        })
    }
}
