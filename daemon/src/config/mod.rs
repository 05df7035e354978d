//! Settings, policy and attribute files -> validated, typed values.
#![forbid(unsafe_code)]

pub mod attrs;
pub mod error;
pub mod files;
pub mod policy_file;

pub use error::{ConfigError, ConfigErrors};
