//! Dropping capabilities once the daemon has bound its socket and opened its
//! store. Root owns everything the daemon writes (`/etc/sudoers.d`, its
//! store, and the `/etc/group` and `/etc/gshadow` that `gpasswd` rewrites),
//! so plain owner permissions suffice for those. What is kept, and why (see
//! docs/hardening.md):
//!
//! - `CAP_CHOWN`: drop-ins are made root:root before they are checked,
//!   whatever group the daemon's files would otherwise get.
//! - `CAP_KILL`: ending processes of other users when a grant whose role
//!   says `on_expiry = "terminate"` ends.
//! - `CAP_SYS_PTRACE`: reading `/proc/PID/environ` of other users'
//!   processes (`SUDO_UID`) to find those started through a grant's sudo
//!   rule; without it such sessions would be silently missed.
//! - `CAP_AUDIT_WRITE`: PAM modules write audit records during
//!   re-authentication.
//! - `CAP_DAC_READ_SEARCH` and `CAP_FOWNER`: when a group grant ends, the
//!   set-gid files the user made with the group are found in directories
//!   only they can read (a home directory is 0700) and lose the bit, which
//!   `fchmod` allows only to the file's owner without `CAP_FOWNER`.
//!
//! Everything else is dropped from the effective, permitted, inheritable,
//! ambient and bounding sets, so children (`visudo`, `gpasswd`) can never
//! regain it.
#![forbid(unsafe_code)]

use caps::{CapSet, Capability, CapsHashSet};

/// The capabilities the daemon keeps.
pub const KEPT: &[Capability] = &[
    Capability::CAP_CHOWN,
    Capability::CAP_KILL,
    Capability::CAP_SYS_PTRACE,
    Capability::CAP_AUDIT_WRITE,
    Capability::CAP_DAC_READ_SEARCH,
    Capability::CAP_FOWNER,
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
