//! Set-gid files a group grant leaves behind. During the window the user is
//! a member of the granted group, so they can `chgrp` a file of their own
//! to it and set the set-gid bit: after the window that file would still
//! run with the group. At the end of a group grant such files (and set-gid
//! directories, which hand the group to every file made in them) are found
//! and lose the bit. Pure functions here; the walk and the `fchmod` live in
//! [`super::setgid_walk`].
//!
//! Only mounts where the bit means something are walked: a `nosuid` mount
//! ignores it, and pseudo and network file systems are skipped (a network
//! file system's files are not this host's to change, and its server may
//! not honour the change; that limit is documented).

use std::collections::BTreeMap;
use std::path::PathBuf;

/// `S_ISGID`.
pub const SET_GID: u32 = 0o2000;

/// File system types never walked: kernel pseudo file systems (nothing a
/// user can chgrp) and network ones (not this host's files).
const SKIPPED_TYPES: &[&str] = &[
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "cgroup",
    "cgroup2",
    "securityfs",
    "debugfs",
    "tracefs",
    "pstore",
    "bpf",
    "mqueue",
    "hugetlbfs",
    "configfs",
    "fusectl",
    "autofs",
    "binfmt_misc",
    "efivarfs",
    "rpc_pipefs",
    "nsfs",
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "ceph",
    "glusterfs",
    "9p",
    "afs",
];

/// One mount as `/proc/self/mountinfo` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Where it is mounted (octal escapes decoded).
    pub point: PathBuf,
    /// File system type.
    pub fstype: String,
    /// Mounted `nosuid`.
    pub nosuid: bool,
}

impl Mount {
    /// Whether a set-gid file on this mount could still give its group.
    #[must_use]
    pub fn walked(&self) -> bool {
        !self.nosuid
            && !SKIPPED_TYPES.contains(&self.fstype.as_str())
            && !self.fstype.starts_with("fuse")
    }
}

/// Decodes the `\ooo` escapes mountinfo uses for spaces, tabs, newlines and
/// backslashes in paths.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if let Some(v) = field
                .get(i + 1..i + 4)
                .and_then(|o| u8::from_str_radix(o, 8).ok())
            {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `/proc/self/mountinfo`: mount point to mount (a later mount on
/// the same point hides an earlier one, so it wins). Malformed lines are
/// skipped.
#[must_use]
pub fn parse_mountinfo(text: &str) -> BTreeMap<PathBuf, Mount> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let l: Vec<&str> = left.split(' ').collect();
        let (Some(point), Some(options)) = (l.get(4), l.get(5)) else {
            continue;
        };
        let Some(fstype) = right.split(' ').next() else {
            continue;
        };
        let point = PathBuf::from(unescape(point));
        out.insert(
            point.clone(),
            Mount {
                point,
                fstype: fstype.to_owned(),
                nosuid: options.split(',').any(|o| o == "nosuid"),
            },
        );
    }
    out
}

/// The mount `path` lies on: the longest mount point above it.
#[must_use]
pub fn mount_of<'a>(
    mounts: &'a BTreeMap<PathBuf, Mount>,
    path: &std::path::Path,
) -> Option<&'a Mount> {
    path.ancestors().find_map(|a| mounts.get(a))
}

/// Whether a file with these attributes must lose its set-gid bit: owned by
/// the grant's user, of a granted group, set-gid, and a regular file or a
/// directory (never a device, fifo or socket, which are not opened).
#[must_use]
pub fn to_neutralise(
    uid: u32,
    gids: &[u32],
    file_uid: u32,
    file_gid: u32,
    mode: u32,
    is_file_or_dir: bool,
) -> bool {
    is_file_or_dir && file_uid == uid && gids.contains(&file_gid) && mode & SET_GID != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "\
22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:2 - proc proc rw
24 22 0:22 / /tmp rw,nosuid,nodev shared:3 - tmpfs tmpfs rw
25 22 0:23 / /dev/shm rw,nodev shared:4 - tmpfs tmpfs rw
26 22 0:24 / /srv/nfs rw,relatime shared:5 - nfs4 srv:/x rw
27 22 0:25 / /mnt/with\\040space rw shared:6 - xfs /dev/vdb rw
28 22 0:26 / /run/user/1000/doc rw,nosuid shared:7 - fuse.portal portal rw
bad line
";

    #[test]
    fn mounts_where_the_bit_counts_are_walked() {
        let m = parse_mountinfo(INFO);
        let walked = |p: &str| m[&PathBuf::from(p)].walked();
        assert!(walked("/"));
        assert!(!walked("/proc"), "pseudo and nosuid");
        assert!(!walked("/tmp"), "nosuid: the bit means nothing there");
        assert!(
            walked("/dev/shm"),
            "a tmpfs without nosuid is user-writable and honours it"
        );
        assert!(
            !walked("/srv/nfs"),
            "network file systems are not this host's"
        );
        assert!(walked("/mnt/with space"), "escapes decoded");
        assert!(!walked("/run/user/1000/doc"));
        assert_eq!(m.len(), 7);
        assert_eq!(
            mount_of(&m, std::path::Path::new("/tmp/a/b"))
                .unwrap()
                .point,
            PathBuf::from("/tmp")
        );
        assert_eq!(
            mount_of(&m, std::path::Path::new("/home/x")).unwrap().point,
            PathBuf::from("/")
        );
    }

    #[test]
    fn only_the_users_set_gid_files_of_granted_groups() {
        let (uid, gids) = (1000, [50, 51]);
        assert!(to_neutralise(uid, &gids, 1000, 50, 0o2755, true));
        assert!(
            to_neutralise(uid, &gids, 1000, 51, 0o2775, true),
            "directory"
        );
        assert!(!to_neutralise(uid, &gids, 1000, 50, 0o0755, true), "no bit");
        assert!(
            !to_neutralise(uid, &gids, 1001, 50, 0o2755, true),
            "someone else's"
        );
        assert!(
            !to_neutralise(uid, &gids, 1000, 52, 0o2755, true),
            "not granted"
        );
        assert!(
            !to_neutralise(uid, &gids, 1000, 50, 0o2755, false),
            "device or fifo"
        );
    }
}
