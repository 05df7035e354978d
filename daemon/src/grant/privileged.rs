//! Groups whose membership is as good as root, or opens secrets or raw
//! devices. A role may only grant one of these with
//! `allow_privileged_groups = true`.
//!
//! The test for each entry: does a member, with nothing else, become root
//! or read what only root should read (password hashes, private keys, raw
//! disks, kernel memory)? Groups that only let a member watch or disturb a
//! local console (`tty`, `video`, `input`, `audio`) or read logs (`adm`,
//! `systemd-journal`) are not on the list: reading logs is the usual reason
//! for a time-bound group grant, and none of them leads to root by itself.
//! Nor is `kvm`: `/dev/kvm` runs virtual machines but reaches no host data.

/// Privileged group names, each with the reason, shown in policy errors.
pub const PRIVILEGED_GROUPS: &[(&str, &str)] = &[
    (
        "root",
        "it is root's own group, owning many root-writable files",
    ),
    (
        "sudo",
        "sudoers grants its members full sudo (Debian, Ubuntu)",
    ),
    (
        "wheel",
        "sudoers and polkit make its members administrators (Red Hat, SUSE, Arch)",
    ),
    (
        "admin",
        "sudoers and polkit make its members administrators (older Ubuntu)",
    ),
    (
        "shadow",
        "its members read /etc/shadow, every password hash",
    ),
    (
        "disk",
        "its members read and write raw block devices, hence every file",
    ),
    (
        "kmem",
        "its members read kernel memory through /dev/mem, /dev/kmem and /dev/port",
    ),
    (
        "docker",
        "its members drive the Docker daemon, which runs containers as root with host mounts",
    ),
    (
        "lxd",
        "its members drive LXD, which runs privileged containers with host mounts",
    ),
    (
        "incus-admin",
        "its members drive Incus, which runs privileged containers with host mounts",
    ),
    (
        "libvirt",
        "its members drive libvirtd, which gives virtual machines host disks and devices",
    ),
    (
        "libvirtd",
        "older name of libvirt: its members drive libvirtd",
    ),
    (
        "staff",
        "on Debian it may write /usr/local, which comes first in root's PATH",
    ),
    (
        "ssl-cert",
        "its members read the private keys in /etc/ssl/private",
    ),
];

/// Why `name` is privileged, when it is on [`PRIVILEGED_GROUPS`]. Pure: it
/// looks at the name only; [`privileged_gid_reason`] judges the gid.
#[must_use]
pub fn privileged_reason(name: &str) -> Option<&'static str> {
    PRIVILEGED_GROUPS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, why)| *why)
}

/// Why a group of id `gid` is privileged whatever its name: gid 0 is root's
/// group under another name.
#[must_use]
pub fn privileged_gid_reason(gid: u32) -> Option<&'static str> {
    (gid == 0).then_some("its gid is 0, root's group")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_equivalent_groups_are_privileged() {
        for name in ["root", "sudo", "wheel", "docker", "disk", "shadow", "lxd"] {
            assert!(privileged_reason(name).is_some(), "{name}");
        }
        assert!(privileged_gid_reason(0).is_some());
        assert!(privileged_gid_reason(4).is_none());
    }

    #[test]
    fn log_and_console_groups_are_not() {
        for name in [
            "adm",
            "systemd-journal",
            "tty",
            "video",
            "kvm",
            "users",
            "elvtnone",
        ] {
            assert!(privileged_reason(name).is_none(), "{name}");
        }
    }
}
