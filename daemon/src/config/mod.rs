//! Settings, policy and attribute files -> validated, typed values.
#![forbid(unsafe_code)]

pub mod attrs;
mod collect;
pub mod error;
pub mod files;
mod limits;
pub mod loaded;
mod policy_check;
pub mod policy_file;
mod policy_raw;
pub mod principals;
pub mod settings;
mod string_list;
pub mod warnings;

pub use error::{ConfigError, ConfigErrors};
pub use loaded::Loaded;
pub use settings::Settings;
