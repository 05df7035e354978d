//! Why a trusted path cannot be trusted.

use std::path::{Path, PathBuf};

use nix::errno::Errno;

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
    SharedDir { dir: PathBuf },
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
    pub(super) fn new(path: &Path, problem: Problem) -> Self {
        Self {
            path: path.to_path_buf(),
            problem,
        }
    }

    pub(super) fn io(path: &Path, e: Errno) -> Self {
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
