//! Dropping capabilities once the daemon has bound its socket and opened its
//! store. What is kept, and why (see docs/hardening.md):
//!
//! - `CAP_CHOWN`: drop-ins are made root:root 0440 before they are checked.
//! - `CAP_DAC_OVERRIDE`: writing `/etc/sudoers.d`, and `gpasswd` rewriting
//!   `/etc/group` and `/etc/gshadow`; PAM modules reading `/etc/shadow` and
//!   updating their state files.
//! - `CAP_DAC_READ_SEARCH`: reading `/proc/PID/status` of every process to
//!   find those still holding a granted group.
//! - `CAP_FOWNER`: renaming and fsyncing files owned by others in
//!   root-owned directories with restrictive modes.
//! - `CAP_KILL`: ending processes of a grant whose role says
//!   `on_expiry = "terminate"`.
//! - `CAP_SETUID`, `CAP_SETGID`: `gpasswd` and PAM helpers switch ids.
//! - `CAP_AUDIT_WRITE`: PAM modules write login audit records.
//! - `CAP_SYS_PTRACE`: reading `/proc/PID/environ` of other users' processes
//!   (`SUDO_UID`) to find those started through a grant's sudo rule.
//!
//! Everything else is dropped from the effective, permitted, inheritable,
//! ambient and bounding sets, so children (`visudo`, `gpasswd`) can never
//! regain it.
#![forbid(unsafe_code)]

use caps::{CapSet, Capability, CapsHashSet};

/// The capabilities the daemon keeps.
pub const KEPT: &[Capability] = &[
    Capability::CAP_CHOWN,
    Capability::CAP_DAC_OVERRIDE,
    Capability::CAP_DAC_READ_SEARCH,
    Capability::CAP_FOWNER,
    Capability::CAP_KILL,
    Capability::CAP_SETUID,
    Capability::CAP_SETGID,
    Capability::CAP_AUDIT_WRITE,
    Capability::CAP_SYS_PTRACE,
];

/// Drops every capability not in [`KEPT`]. Returns the names kept, for the
/// log. Without root there is nothing to drop (and nothing to keep).
pub fn drop_unneeded() -> Result<Vec<String>, caps::errors::CapsError> {
    let keep: CapsHashSet = KEPT.iter().copied().collect();
    let present = caps::read(None, CapSet::Permitted)?;
    if present.is_empty() {
        return Ok(Vec::new());
    }
    // The bounding set first: dropping from it needs CAP_SETPCAP, which
    // goes with the permitted set below.
    for cap in caps::all() {
        if !keep.contains(&cap) && caps::has_cap(None, CapSet::Bounding, cap)? {
            caps::drop(None, CapSet::Bounding, cap)?;
        }
    }
    caps::clear(None, CapSet::Ambient)?;
    caps::clear(None, CapSet::Inheritable)?;
    let kept: CapsHashSet = present.intersection(&keep).copied().collect();
    caps::set(None, CapSet::Effective, &kept)?;
    caps::set(None, CapSet::Permitted, &kept)?;
    let mut names: Vec<String> = kept.iter().map(ToString::to_string).collect();
    names.sort();
    Ok(names)
}
