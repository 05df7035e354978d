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
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{fstat, fstatat, FileStat, Mode, SFlag};

/// What is wrong with one component of a trusted path.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// The component does not exist.
    #[error("does not exist")]
    Missing,
    /// The system refused to open or inspect it.
    #[error("cannot read: {0}")]
    Io(#[source] std::io::Error),
    /// `..` in a path could lead anywhere the walk did not check.
    #[error("has a \"..\" component; give the path without it")]
    DotDot,
    /// Links are never followed.
    #[error("is a symbolic link, which elevated does not follow; name the file or directory it points to instead")]
    Symlink,
    /// Expected a directory.
    #[error("is not a directory")]
    NotDirectory,
    /// Expected a regular file.
    #[error("is not a regular file")]
    NotRegular,
    /// Owned by someone who could change it.
    #[error("is owned by uid {uid}, not by root; run: chown root:root {}", .path.display())]
    Owner {
        /// The owner.
        uid: u32,
        /// The component, for the fix.
        path: PathBuf,
    },
    /// Writable by group or others.
    #[error("is writable by group or others; run: chmod go-w {}", .path.display())]
    Writable {
        /// The component, for the fix.
        path: PathBuf,
    },
    /// A file directly in a directory others may write to.
    #[error("is in directory {}, which others may write to; move it into a directory only root can write", .dir.display())]
    SharedDir {
        /// The directory.
        dir: PathBuf,
    },
    /// A private directory (the state directory) open to group or others.
    #[error("is mode {mode:04o}; it must be accessible by root only: run: chmod 0700 {}", .path.display())]
    NotPrivate {
        /// The permission bits found.
        mode: u32,
        /// The directory, for the fix.
        path: PathBuf,
    },
    /// Larger than the caller's limit.
    #[error("is larger than the limit of {0} bytes")]
    TooLarge(u64),
    /// Replaced between the check and the read.
    #[error("changed while it was being read; try again")]
    Changed,
}

/// A trusted path that cannot be trusted: which component, and why.
#[derive(Debug, thiserror::Error)]
#[error("{} {problem}", .path.display())]
pub struct TrustError {
    /// The component at fault (the path asked for, or a directory above it).
    pub path: PathBuf,
    /// What is wrong with it.
    pub problem: Problem,
}

impl TrustError {
    fn new(path: &Path, problem: Problem) -> Self {
        Self {
            path: path.to_path_buf(),
            problem,
        }
    }

    fn io(path: &Path, e: Errno) -> Self {
        let problem = if e == Errno::ENOENT {
            Problem::Missing
        } else {
            Problem::Io(std::io::Error::from(e))
        };
        Self::new(path, problem)
    }

    /// The message for `asked`: just the problem when `asked` itself is at
    /// fault, else the component and its problem.
    #[must_use]
    pub fn message_for(&self, asked: &Path) -> String {
        if self.path == asked {
            self.problem.to_string()
        } else {
            self.to_string()
        }
    }
}

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
        shared_dir(&here, &root.stat)?;
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

/// A checked directory, kept open so that its files are opened relative to
/// it rather than by a name someone could redirect.
pub struct TrustedDir {
    fd: OwnedFd,
    path: PathBuf,
}

/// Opens the directory `path` after checking it and every directory above
/// it; `Ok(None)` when it (or a directory above it) does not exist.
pub fn open_dir(path: &Path) -> Result<Option<TrustedDir>, TrustError> {
    match walk(path, Want::Dir) {
        Ok(w) => Ok(Some(TrustedDir {
            fd: w.end.fd,
            path: path.to_path_buf(),
        })),
        Err(TrustError {
            problem: Problem::Missing,
            ..
        }) => Ok(None),
        Err(e) => Err(e),
    }
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

impl TrustedDir {
    /// The names in the directory that are regular files or symbolic links
    /// (a link is listed so that reading it reports the refusal), unsorted.
    /// Directories and other kinds are left out.
    pub fn names(&self) -> Result<Vec<OsString>, TrustError> {
        let err = |e: Errno| TrustError::io(&self.path, e);
        let mut dir = nix::dir::Dir::openat(
            Some(self.fd.as_raw_fd()),
            ".",
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(err)?;
        let mut names = Vec::new();
        for entry in dir.iter() {
            let entry = entry.map_err(err)?;
            let name = OsStr::from_bytes(entry.file_name().to_bytes());
            if name == "." || name == ".." {
                continue;
            }
            // A vanished entry is simply not listed.
            let Ok(stat) = fstatat(
                Some(self.fd.as_raw_fd()),
                name,
                AtFlags::AT_SYMLINK_NOFOLLOW,
            ) else {
                continue;
            };
            if is(&stat, SFlag::S_IFREG) || is(&stat, SFlag::S_IFLNK) {
                names.push(name.to_os_string());
            }
        }
        Ok(names)
    }

    /// Reads the file `name` of this directory, checked like
    /// [`read_file`]; at most `max` bytes.
    pub fn read(&self, name: &OsStr, max: u64) -> Result<Vec<u8>, TrustError> {
        let shown = self.path.join(name);
        let dir = Some(self.fd.as_raw_fd());
        let checked = open_at(dir, name, OFlag::O_PATH, &shown)?;
        if !is(&checked.stat, SFlag::S_IFREG) {
            return Err(TrustError::new(&shown, Problem::NotRegular));
        }
        if writable_by_others(&checked.stat) {
            return Err(TrustError::new(
                &shown,
                Problem::Writable {
                    path: shown.clone(),
                },
            ));
        }
        read_checked(dir, name, &checked, &shown, max)
    }
}

/// Opens the program `path` for [`super::exec`], after checking it and
/// every directory above it: an `O_PATH`, close-on-exec descriptor of a
/// regular file.
pub fn open_program(path: &Path) -> Result<OwnedFd, TrustError> {
    Ok(walk(path, Want::File)?.end.fd)
}

#[cfg(test)]
#[path = "trust_tests.rs"]
mod tests;
