//! Remote approval by SSH signature: an approver signs a request's approval
//! text with `ssh-keygen -Y sign -n elevated-approval`, and the daemon checks
//! the signature against the allowed-signers file.
#![forbid(unsafe_code)]

pub(crate) mod keys;
#[cfg(test)]
mod openssh_agreement_tests;
pub mod pattern;
mod signer_options;
pub(crate) mod signers;
pub(crate) mod sshsig;
#[cfg(test)]
mod test_lab;

pub use signers::AllowedSigners;
pub use sshsig::{verify, APPROVAL_NAMESPACE};
