//! Finding and neutralising set-gid files a group grant left behind (see
//! [`super::setgid`] for what is chosen and why). Blocking: runs on the
//! sweep's own thread, bounded by a deadline.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, HashSet};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use std::os::unix::fs::PermissionsExt;

use super::setgid::{mount_of, parse_mountinfo, to_neutralise, Mount, SET_GID};

/// One file that lost its set-gid bit (or could not).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Neutralised {
    /// Its path when found.
    pub path: String,
    /// Mode bits before (octal in the audit row's reader's eyes).
    pub mode_before: u32,
    /// Mode bits after; equal to `mode_before` when the change failed.
    pub mode_after: u32,
    /// Its group.
    pub gid: u32,
    /// Why the change failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What one scan did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ScanReport {
    /// Files and directories found, in walk order.
    pub found: Vec<Neutralised>,
    /// Whether every walked mount was walked to the end before the deadline.
    pub complete: bool,
    /// Directories that could not be listed.
    pub unreadable: usize,
}

/// Walks `roots` (staying off mounts where the bit means nothing) for
/// files owned by `uid`, of one of `gids`, with the set-gid bit, and
/// removes the bit. Stops at `deadline` (`complete` is then false).
#[must_use]
pub fn neutralise(roots: &[PathBuf], uid: u32, gids: &[u32], deadline: Instant) -> ScanReport {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .map(|t| parse_mountinfo(&t))
        .unwrap_or_default();
    let mut walk = Walk {
        uid,
        gids,
        deadline,
        mounts: &mounts,
        seen: HashSet::new(),
        report: ScanReport {
            complete: true,
            ..ScanReport::default()
        },
    };
    for root in roots {
        let Ok(meta) = std::fs::symlink_metadata(root) else {
            continue;
        };
        if !mount_of(&mounts, root).is_none_or(Mount::walked) {
            continue;
        }
        walk.check(root, &meta);
        if meta.is_dir() {
            walk.dir(root, meta.dev());
        }
    }
    walk.report
}

struct Walk<'a> {
    uid: u32,
    gids: &'a [u32],
    deadline: Instant,
    mounts: &'a BTreeMap<PathBuf, Mount>,
    /// Directories already walked (bind mounts can show one twice).
    seen: HashSet<(u64, u64)>,
    report: ScanReport,
}

impl Walk<'_> {
    fn dir(&mut self, dir: &Path, dev: u64) {
        let mut stack = vec![(dir.to_path_buf(), dev)];
        while let Some((dir, dev)) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                self.report.unreadable += 1;
                continue;
            };
            for entry in entries.flatten() {
                if Instant::now() >= self.deadline {
                    self.report.complete = false;
                    return;
                }
                let path = entry.path();
                // lstat: a symlink is never followed.
                let Ok(meta) = std::fs::symlink_metadata(&path) else {
                    continue;
                };
                self.check(&path, &meta);
                if !meta.is_dir() {
                    continue;
                }
                if meta.dev() != dev && !self.mounts.get(&path).is_none_or(Mount::walked) {
                    continue;
                }
                if self.seen.insert((meta.dev(), meta.ino())) {
                    stack.push((path, meta.dev()));
                }
            }
        }
    }

    fn check(&mut self, path: &Path, meta: &std::fs::Metadata) {
        let ft = meta.file_type();
        let plain = ft.is_file() || ft.is_dir();
        if ft.is_block_device() || ft.is_char_device() || ft.is_fifo() || ft.is_socket() {
            return;
        }
        if to_neutralise(
            self.uid,
            self.gids,
            meta.uid(),
            meta.gid(),
            meta.mode(),
            plain,
        ) {
            let done = fix(path, self.uid, self.gids);
            self.report.found.push(done);
        }
    }
}

/// Opens `path` without following a symlink, checks the opened file is
/// still the user's set-gid file of a granted group (the path may have been
/// swapped since it was listed), and clears the bit through the descriptor.
fn fix(path: &Path, uid: u32, gids: &[u32]) -> Neutralised {
    let mut out = Neutralised {
        path: path.display().to_string(),
        mode_before: 0,
        mode_after: 0,
        gid: 0,
        error: None,
    };
    let file = match crate::sys::open_no_follow(path) {
        Ok(f) => f,
        Err(e) => {
            out.error = Some(format!("open: {e}"));
            return out;
        }
    };
    // fstat of the opened file, not of the path.
    let st = match file.metadata() {
        Ok(st) => st,
        Err(e) => {
            out.error = Some(format!("fstat: {e}"));
            return out;
        }
    };
    let plain = st.is_file() || st.is_dir();
    let mode = st.mode() & 0o7777;
    out.mode_before = mode;
    out.mode_after = mode;
    out.gid = st.gid();
    if !to_neutralise(uid, gids, st.uid(), st.gid(), mode, plain) {
        out.error = Some("changed since it was found; left alone".into());
        return out;
    }
    let new = mode & !SET_GID;
    // fchmod through the descriptor: the path may point elsewhere by now.
    match file.set_permissions(std::fs::Permissions::from_mode(new)) {
        Ok(()) => out.mode_after = new,
        Err(e) => out.error = Some(format!("fchmod: {e}")),
    }
    out
}
