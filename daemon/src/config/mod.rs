//! Settings, policy and attribute files -> validated, typed values.
#![forbid(unsafe_code)]

pub mod attrs;
pub mod error;
pub mod files;
mod policy_check;
pub mod policy_file;
mod policy_raw;

pub use error::{ConfigError, ConfigErrors};
