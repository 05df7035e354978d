//! Harness for end-to-end tests: a real `elevated` on a temporary directory,
//! real users made with `useradd`, the real `sudo` reading the daemon's
//! drop-ins, and the real `elevate` run as those users.
//!
//! Everything created on the host is named with the `elvt` prefix and
//! removed on drop, also when a test fails. Tests need root.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

pub mod bigstore;
pub mod container;
pub mod crash;
pub mod daemon;
pub mod docs;
pub mod groups;
pub mod host;
pub mod packages;
pub mod pam;
pub mod soak;
pub mod sshkeys;

pub use daemon::Daemon;
pub use host::{as_user, require_root, TestGroup, TestUser};

use std::path::PathBuf;

/// The directory holding the built binaries: `target/debug` for tests
/// (which run from `target/debug/deps`), the program's own directory for
/// programs built beside the binaries (the benchmark driver in
/// `target/release`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().unwrap().to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// Path of a built binary, checked to exist.
pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    let how = if name.ends_with("-faults") {
        "scripts/build-faults builds it (scripts/crash and scripts/test run that): the daemon with `--features fault-injection`, copied under that name"
    } else {
        "run `cargo build --workspace` before the tests (scripts/test does)"
    };
    assert!(p.exists(), "{} is missing: {how}", p.display());
    p
}
