//! elevated: the just-in-time privilege elevation daemon, as a library so
//! that `main.rs` stays thin and tests can drive every part.

pub mod config;
pub mod policy;
