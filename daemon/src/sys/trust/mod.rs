//! Opening what the root daemon trusts (settings, policy, attributes,
//! signers, hooks, its state directory) so that nobody but root could have
//! put it there.
//!
//! A path is walked one component at a time from `/` with
//! `openat(O_PATH | O_NOFOLLOW)`, and every component is checked on the
//! descriptor just opened (`fstat`), never by name again:
//!
//! - no component may be a symbolic link: a link is refused, not followed,
//!   so nobody can point a checked name somewhere else later;
//! - every component is owned by root (or by the daemon's own user, when it
//!   does not run as root) and is not writable by group or others;
//! - one exception keeps `/tmp`-style directories usable on the way: a
//!   directory writable by others that has the sticky bit and is owned by
//!   root may be passed through to a *directory* owned by root. The kernel
//!   lets only an entry's owner, the directory's owner or root rename or
//!   remove an entry of a sticky directory, so that directory cannot be
//!   swapped. A *file* directly in such a directory is still refused (it
//!   could be a hard link someone else made, or a name someone else took
//!   first).
//!
//! The file finally read or executed is the one that was checked: reads
//! re-open it relative to its checked directory and compare device and
//! inode; hooks are executed through the checked descriptor itself
//! ([`super::exec`]).

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Component, Path, PathBuf};

use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fstat, FileStat, Mode, SFlag};

mod dir;
mod error;

pub use dir::{open_dir, TrustedDir};
pub use error::{Problem, TrustError};

/// What the walk must end at.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    File,
    Dir,
}

/// A checked component: its descriptor (`O_PATH`) and what `fstat` said.
struct Checked {
    fd: OwnedFd,
    stat: FileStat,
}

/// The end of a walk: the checked object and the checked directory it is
/// in (absent for `/`).
struct Walked {
    end: Checked,
    parent: Option<OwnedFd>,
    name: OsString,
}

fn is(stat: &FileStat, kind: SFlag) -> bool {
    SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == kind
}

/// Opens `name` in `dir` (or `name` as is without `dir`) without following
/// a link, with `flags` added to `O_NOFOLLOW | O_CLOEXEC`, and checks it.
fn open_at(
    dir: Option<RawFd>,
    name: &OsStr,
    flags: OFlag,
    shown: &Path,
) -> Result<Checked, TrustError> {
    let raw = openat(
        dir,
        name,
        flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| TrustError::io(shown, e))?;
    // SAFETY: `openat` just returned this descriptor; nothing else owns it,
    // so `OwnedFd` may close it.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let stat = fstat(fd.as_raw_fd()).map_err(|e| TrustError::io(shown, e))?;
    if is(&stat, SFlag::S_IFLNK) {
        return Err(TrustError::new(shown, Problem::Symlink));
    }
    check_owner(shown, &stat)?;
    Ok(Checked { fd, stat })
}

fn check_owner(path: &Path, stat: &FileStat) -> Result<(), TrustError> {
    let euid = nix::unistd::geteuid().as_raw();
    if stat.st_uid != 0 && stat.st_uid != euid {
        return Err(TrustError::new(
            path,
            Problem::Owner {
                uid: stat.st_uid,
                path: path.to_path_buf(),
            },
        ));
    }
    Ok(())
}

fn writable_by_others(stat: &FileStat) -> bool {
    stat.st_mode & 0o022 != 0
}

/// Whether a directory on the way is open to others: `Ok(false)` when
/// only its owner may write, `Ok(true)` for a sticky one (see the module
/// documentation), an error for any other writable one.
fn shared_dir(path: &Path, stat: &FileStat) -> Result<bool, TrustError> {
    if !writable_by_others(stat) {
        return Ok(false);
    }
    if stat.st_mode & 0o1000 != 0 {
        return Ok(true);
    }
    Err(TrustError::new(
        path,
        Problem::Writable {
            path: path.to_path_buf(),
        },
    ))
}

fn walk(path: &Path, want: Want) -> Result<Walked, TrustError> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        let cwd = std::env::current_dir().map_err(|e| TrustError::new(path, Problem::Io(e)))?;
        cwd.join(path)
    };
    let mut names = Vec::new();
    for c in abs.components() {
        match c {
            Component::Normal(n) => names.push(n),
            Component::ParentDir => return Err(TrustError::new(path, Problem::DotDot)),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    let mut here = PathBuf::from("/");
    let root = open_at(None, OsStr::new("/"), OFlag::O_PATH, &here)?;
    if names.is_empty() {
        if want == Want::File {
            return Err(TrustError::new(&here, Problem::NotRegular));
        }
        if writable_by_others(&root.stat) {
            return Err(TrustError::new(
                &here,
                Problem::Writable { path: here.clone() },
            ));
        }
        return Ok(Walked {
            end: root,
            parent: None,
            name: OsString::from("/"),
        });
    }
    let mut shared = shared_dir(&here, &root.stat)?;
    let mut dir = root;
    let last = names.len() - 1;
    for (i, name) in names.into_iter().enumerate() {
        let parent = here.clone();
        here.push(name);
        let next = open_at(Some(dir.fd.as_raw_fd()), name, OFlag::O_PATH, &here)?;
        if i < last {
            if !is(&next.stat, SFlag::S_IFDIR) {
                return Err(TrustError::new(&here, Problem::NotDirectory));
            }
            shared = shared_dir(&here, &next.stat)?;
            dir = next;
            continue;
        }
        let kind_ok = match want {
            Want::Dir => is(&next.stat, SFlag::S_IFDIR),
            Want::File => is(&next.stat, SFlag::S_IFREG),
        };
        if !kind_ok {
            let problem = match want {
                Want::Dir => Problem::NotDirectory,
                Want::File => Problem::NotRegular,
            };
            return Err(TrustError::new(&here, problem));
        }
        if want == Want::File && shared {
            return Err(TrustError::new(&here, Problem::SharedDir { dir: parent }));
        }
        if writable_by_others(&next.stat) {
            return Err(TrustError::new(
                &here,
                Problem::Writable { path: here.clone() },
            ));
        }
        return Ok(Walked {
            end: next,
            parent: Some(dir.fd),
            name: name.to_os_string(),
        });
    }
    Err(TrustError::new(path, Problem::NotRegular))
}

/// Reads the regular file `path` after checking it and every directory
/// above it (see the module documentation); at most `max` bytes.
pub fn read_file(path: &Path, max: u64) -> Result<Vec<u8>, TrustError> {
    let w = walk(path, Want::File)?;
    let parent = w.parent.as_ref().map(AsRawFd::as_raw_fd);
    read_checked(parent, &w.name, &w.end, path, max)
}

/// Re-opens the checked file for reading (an `O_PATH` descriptor cannot be
/// read) and makes sure it is still the object that was checked.
fn read_checked(
    parent: Option<RawFd>,
    name: &OsStr,
    checked: &Checked,
    shown: &Path,
    max: u64,
) -> Result<Vec<u8>, TrustError> {
    // O_NONBLOCK: should a FIFO appear under the name, opening it must not
    // hang the daemon; O_NOCTTY: nor may a terminal become ours.
    let flags = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
    let again = open_at(parent, name, flags, shown)?;
    if again.stat.st_dev != checked.stat.st_dev || again.stat.st_ino != checked.stat.st_ino {
        return Err(TrustError::new(shown, Problem::Changed));
    }
    if checked.stat.st_size > 0 && checked.stat.st_size.unsigned_abs() > max {
        return Err(TrustError::new(shown, Problem::TooLarge(max)));
    }
    let mut buf = Vec::new();
    File::from(again.fd)
        .take(max.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| TrustError::new(shown, Problem::Io(e)))?;
    if buf.len() as u64 > max {
        return Err(TrustError::new(shown, Problem::TooLarge(max)));
    }
    Ok(buf)
}

/// Checks the daemon's private directory `path` (its state): trusted like
/// any other directory, and accessible by its owner only (no permission
/// bit for group or others).
pub fn check_private_dir(path: &Path) -> Result<(), TrustError> {
    let w = walk(path, Want::Dir)?;
    let mode = w.end.stat.st_mode & 0o7777;
    if mode & 0o077 != 0 {
        return Err(TrustError::new(
            path,
            Problem::NotPrivate {
                mode,
                path: path.to_path_buf(),
            },
        ));
    }
    Ok(())
}

/// Opens the program `path` for [`crate::sys::exec`], after checking it and
/// every directory above it: an `O_PATH`, close-on-exec descriptor of a
/// regular file.
pub fn open_program(path: &Path) -> Result<OwnedFd, TrustError> {
    Ok(walk(path, Want::File)?.end.fd)
}

#[cfg(test)]
mod tests;
