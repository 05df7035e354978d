//! `pam_elevate.so`: just-in-time login access through the `elevated`
//! daemon.
//!
//! In the account phase the module asks the daemon whether the user may log
//! in now (an active grant of a role with `login = true`, an exemption, or a
//! host that does not require a grant). With `request=ROLE` it files a
//! request for a user without such a grant and, with `wait=SECONDS`, waits
//! for an approver's decision. In the session phase it reports sessions to
//! the daemon's audit log. See `docs/pam.md` for the options.
//!
//! Layout: [`ffi`] is the thin libpam layer (the exported `pam_sm_*`
//! functions and the handle); everything else is safe code generic over
//! [`core::PamEnv`], which the tests drive with a scripted handle and a fake
//! daemon. Root is always allowed without asking; when the daemon cannot
//! answer in time the module fails closed unless `fail=open`, and members
//! of `exempt_groups=` still pass.

pub mod account;
pub mod core;
pub mod daemon;
pub mod ffi;
pub mod guard;
pub mod options;
pub mod session;
pub mod sys;

#[cfg(test)]
mod deadline_tests;
#[cfg(test)]
mod login_tests;
#[cfg(test)]
mod testutil;
