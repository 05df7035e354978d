//! elevated: the just-in-time privilege elevation daemon, as a library so
//! that `main.rs` stays thin and tests can drive every part.
//!
//! Only what the binary, the fuzz targets (`fuzz/`) and the benchmarks
//! (`benches/`) use is public: the entry point, and the parsers, checks
//! and decision that take untrusted input. Everything else is private to
//! the crate, so the compiler reports what nothing uses. The layers and
//! what may import what: docs/architecture.md.

pub mod approval;
mod audit;
mod budget;
mod bus;
pub mod cmd;
pub mod config;
mod daemon;
mod engine;
mod explain;
mod fault;
pub mod grant;
mod manpage;
mod notify;
pub mod policy;
mod reauth;
mod server;
mod store;
mod sys;
mod times;
