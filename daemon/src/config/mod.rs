//! Settings, policy and attribute files -> validated, typed values.
#![forbid(unsafe_code)]

pub mod attrs;
mod collect;
pub(crate) mod error;
pub(crate) mod files;
mod limits;
pub(crate) mod loaded;
mod policy_check;
pub mod policy_file;
mod policy_raw;
pub(crate) mod principals;
pub(crate) mod settings;
mod string_list;
pub(crate) mod warnings;

pub(crate) use error::ConfigError;
pub use error::ConfigErrors;
pub(crate) use loaded::Loaded;
pub use settings::Settings;
