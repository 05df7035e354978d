//! Containers with a real systemd as PID 1 (`systemd-nspawn --boot`), for
//! the tests that only a real service manager, logind, system bus and
//! login stack can judge: the package's units, socket activation, the
//! sandbox, reload and the watchdog, logind's session facts, the PAM
//! module under sshd, the D-Bus policy and purge. See docs/testing.md.

mod image;
mod machine;

pub use image::root;
pub use machine::Machine;

use std::path::Path;
use std::process::Command;

use crate::packages::packages;

/// Where the package directory is mounted inside a container.
pub const PKG_DIR: &str = "/mnt/elevated-packages";

/// Fails loudly when the container tools are missing (scripts/test installs
/// them through scripts/install-deps).
pub fn require_nspawn() {
    for tool in ["systemd-nspawn", "debootstrap", "nsenter", "zstd"] {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "{tool} is missing: the container tests need systemd-container, debootstrap, \
             util-linux and zstd (scripts/install-deps installs them)"
        );
    }
}

/// Boots a container with the project's .deb mounted at [`PKG_DIR`] (not
/// installed yet: [`install`] does that, as the tests want to see it).
pub fn boot_with_package() -> Machine {
    crate::require_root();
    require_nspawn();
    let deb = &packages().deb;
    let dir: &Path = deb.parent().unwrap();
    Machine::boot(root(), &[(dir, PKG_DIR)])
}

/// `dpkg -i` of the project's .deb inside `m`; its output.
pub fn install(m: &Machine) -> String {
    let deb = packages()
        .deb
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    m.ok(&format!("dpkg -i {PKG_DIR}/{deb} 2>&1"))
}
