//! elevated: the just-in-time privilege elevation daemon, as a library so
//! that `main.rs` stays thin and tests can drive every part.

pub mod approval;
pub mod audit;
pub mod budget;
pub mod bus;
pub mod cmd;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod explain;
pub mod fault;
pub mod grant;
pub mod manpage;
pub mod notify;
pub mod policy;
pub mod reauth;
pub mod server;
pub mod store;
pub mod sys;
pub mod times;
