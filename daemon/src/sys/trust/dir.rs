//! Trusted directories: checked once, then read through their descriptor.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{fstatat, Mode, SFlag};

use super::{is, open_at, read_checked, walk, writable_by_others, Problem, TrustError, Want};

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
