//! The decision engine: pure functions of policy, subject, host, role and
//! time. No I/O, no clock.
#![forbid(unsafe_code)]

pub(crate) mod check;
mod clock;
mod compiled;
pub mod eval;
mod index;
pub mod model;

pub use compiled::Policy;
pub use eval::{decide, Allowed, Decision, Denied};
pub use model::*;
