//! Running a program through the descriptor that was checked
//! ([`super::trust::open_program`]), so that its path cannot be swapped
//! between the check and the exec.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use nix::libc;

/// Why a program could not be prepared for running.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// An argument or environment value holds a NUL byte, which no program
    /// can receive.
    #[error("{what} holds a NUL byte, which cannot be passed to a program")]
    Nul {
        /// Which value.
        what: String,
    },
}

/// Pointers to the NUL-terminated strings the child passes to `execveat`,
/// built before the fork: the child may not allocate.
struct Vectors {
    fd: OwnedFd,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    // Owners of the bytes the pointers above point to; never read, only
    // kept alive as long as the pointers.
    _strings: Vec<CString>,
}

// SAFETY: the pointers point into `_strings`, owned by the same value and
// never changed after construction, so moving or sharing the value between
// threads moves or shares the owners with them. The child only reads them.
unsafe impl Send for Vectors {}
// SAFETY: as above; nothing mutates the strings or the arrays after
// construction.
unsafe impl Sync for Vectors {}

impl Vectors {
    /// In the child: makes the descriptor inheritable and executes it.
    /// Returns only on failure.
    fn exec(&self) -> std::io::Result<()> {
        let fd = self.fd.as_raw_fd();
        // SAFETY: plain system calls on a descriptor this value owns and on
        // NUL-terminated pointer arrays whose strings it owns (see
        // `_strings`); nothing here allocates, so it is safe between fork
        // and exec.
        unsafe {
            if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            libc::syscall(
                libc::SYS_execveat,
                fd,
                c"".as_ptr(),
                self.argv.as_ptr(),
                self.envp.as_ptr(),
                libc::AT_EMPTY_PATH,
            );
        }
        Err(std::io::Error::last_os_error())
    }
}

fn cstring(what: &str, bytes: &[u8]) -> Result<CString, ExecError> {
    CString::new(bytes).map_err(|_| ExecError::Nul {
        what: what.to_owned(),
    })
}

/// Makes `cmd` execute the program open at `program` (instead of its own
/// path) with `argv[0] = arg0`, then `args`, and exactly `env` as its
/// environment. Everything else `cmd` sets up (standard streams, working
/// directory, process group) is done first, as usual.
///
/// The descriptor is close-on-exec in the daemon, so no other child
/// inherits it; in the child it is made inheritable just before the exec,
/// because for a script (`#!`) the kernel hands the interpreter
/// `/dev/fd/N` to read, which must still be open after the exec. The
/// program therefore finds its own file open at that descriptor.
pub fn exec_program(
    cmd: &mut Command,
    program: OwnedFd,
    arg0: &Path,
    args: &[String],
    env: &[(&str, &str)],
) -> Result<(), ExecError> {
    let mut strings = vec![cstring("the program path", arg0.as_os_str().as_bytes())?];
    for (i, a) in args.iter().enumerate() {
        strings.push(cstring(&format!("argument {}", i + 1), a.as_bytes())?);
    }
    let argc = strings.len();
    for (k, v) in env {
        strings.push(cstring(
            &format!("environment variable {k}"),
            format!("{k}={v}").as_bytes(),
        )?);
    }
    let mut argv: Vec<*const libc::c_char> = strings[..argc].iter().map(|s| s.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = strings[argc..].iter().map(|s| s.as_ptr()).collect();
    envp.push(std::ptr::null());
    let v = Vectors {
        fd: program,
        argv,
        envp,
        _strings: strings,
    };
    // SAFETY: the closure runs in the forked child, after std has set up
    // the standard streams, working directory and process group, where only
    // async-signal-safe calls are allowed: `Vectors::exec` makes two system
    // calls on data prepared before the fork, without allocating or taking
    // locks. On success it does not return and the child is the program; on
    // failure the error number goes back to `spawn`, which reports it.
    unsafe {
        cmd.pre_exec(move || v.exec());
    }
    Ok(())
}
