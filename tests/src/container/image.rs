//! The Debian 12 root the containers boot: made once with `debootstrap`
//! from the mirror apt is configured with, kept as a `tar.zst` under the
//! target directory, and unpacked once per test binary (every boot then
//! runs on a throw-away overlay of it, so each container starts pristine).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use crate::packages::{ok, run, target_dir};

/// Debian packages in the root besides `minbase`: a real PID 1 with the
/// system bus and logind, sudo and PAM, and what the tests drive (an ssh
/// server and client for remote sessions, pamtester, procps for `pgrep`).
const PACKAGES: &[&str] = &[
    "systemd",
    "systemd-sysv",
    "dbus",
    "libpam-systemd",
    "libnss-systemd",
    "sudo",
    "libpam-runtime",
    "openssh-server",
    "openssh-client",
    "pamtester",
    "procps",
];

/// The suite: the same release as the host the package is built on, so its
/// binaries find the same glibc and libpam.
const SUITE: &str = "bookworm";

/// The unpacked root (read-only to the containers: they boot it with
/// `--volatile=overlay`).
pub fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let dir = target_dir().join("container");
        fs::create_dir_all(&dir).unwrap();
        let archive = dir.join(format!("debian-{SUITE}-{}.tar.zst", key()));
        if !archive.exists() {
            build(&dir, &archive);
        }
        remove_stale_roots(&dir);
        let root = dir.join(format!("root-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        let t = Instant::now();
        ok(Command::new("tar")
            .arg("--zstd")
            .arg("-xpf")
            .arg(&archive)
            .arg("-C")
            .arg(&root)
            .arg("--numeric-owner"));
        eprintln!(
            "container root unpacked from {} in {:.1?}",
            archive.display(),
            t.elapsed()
        );
        root
    })
}

/// Removes the unpacked roots of test processes that have ended (a test
/// binary cannot clean up after its last test; scripts/test's
/// clean-test-leftovers also removes them).
fn remove_stale_roots(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix("root-")
            .or_else(|| name.strip_prefix("build-"));
        if pid.is_some_and(|p| !Path::new("/proc").join(p).exists()) {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// A short digest of what goes into the root, so a changed package list
/// builds a new archive instead of reusing a stale one.
fn key() -> String {
    let mut h: u32 = 2166136261;
    for b in SUITE.bytes().chain(PACKAGES.join(",").bytes()) {
        h = (h ^ u32::from(b)).wrapping_mul(16777619);
    }
    format!("{h:08x}")
}

/// `debootstrap --variant=minbase` into a scratch directory, prepared for
/// booting, then packed into `archive`.
fn build(dir: &Path, archive: &Path) {
    let t = Instant::now();
    let scratch = dir.join(format!("build-{}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    let out = run(Command::new("debootstrap")
        .arg("--variant=minbase")
        .arg(format!("--include={}", PACKAGES.join(",")))
        .arg(SUITE)
        .arg(&scratch)
        .arg(mirror()));
    assert!(
        out.status.success(),
        "debootstrap failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .join("\n")
    );
    prepare(&scratch);
    let partial = archive.with_extension("partial");
    ok(Command::new("tar")
        .arg("--zstd")
        .arg("-cpf")
        .arg(&partial)
        .arg("--numeric-owner")
        .arg("-C")
        .arg(&scratch)
        .arg("."));
    fs::rename(&partial, archive).unwrap();
    let _ = fs::remove_dir_all(&scratch);
    eprintln!(
        "container root built with debootstrap in {:.1?}: {}",
        t.elapsed(),
        archive.display()
    );
}

/// What a booted test container needs beyond the packages: a host name,
/// no getty on a console nobody reads, and sshd allowing the test keys.
fn prepare(root: &Path) {
    fs::write(root.join("etc/hostname"), "elvtct\n").unwrap();
    fs::write(root.join("etc/hosts"), "127.0.0.1 localhost elvtct\n").unwrap();
    // A machine-id is made at every boot of the overlay (an empty file
    // tells systemd to make a transient one).
    fs::write(root.join("etc/machine-id"), "").unwrap();
    for unit in ["console-getty.service", "getty@tty1.service"] {
        let link = root.join("etc/systemd/system").join(unit);
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink("/dev/null", link).unwrap();
    }
}

/// The Debian mirror apt on this host uses (no other host is reachable).
fn mirror() -> String {
    let mut text = fs::read_to_string("/etc/apt/sources.list").unwrap_or_default();
    if let Ok(dir) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut files: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for f in files {
            text.push_str(&fs::read_to_string(f).unwrap_or_default());
            text.push('\n');
        }
    }
    mirror_in(&text).unwrap_or_else(|| "http://deb.debian.org/debian".to_owned())
}

/// The first mirror of Debian itself (not its security archive) in apt
/// sources, one-line (`deb URL SUITE ...`) or deb822 (`URIs: URL`) style.
fn mirror_in(text: &str) -> Option<String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if let Some(rest) = l.strip_prefix("URIs:") {
                rest.split_whitespace().next()
            } else if let Some(rest) = l.strip_prefix("deb ") {
                rest.split_whitespace().find(|w| w.contains("://"))
            } else {
                None
            }
        })
        .find(|u| !u.contains("security"))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::mirror_in;

    #[test]
    fn the_mirror_is_read_from_either_style_of_sources() {
        let deb822 = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n\n\
                      Types: deb\nURIs: http://mirror.example/debian-security\n";
        assert_eq!(
            mirror_in(deb822).as_deref(),
            Some("http://mirror.example/debian")
        );
        let classic = "deb http://security.example/debian-security bookworm-security main\n\
                       deb [arch=amd64] http://m.example/debian bookworm main\n";
        assert_eq!(
            mirror_in(classic).as_deref(),
            Some("http://m.example/debian")
        );
        assert_eq!(mirror_in("# nothing\n"), None);
    }
}
