//! The crash-fault campaign: random traffic against a daemon built with
//! fault points, SIGKILL at random moments or at a chosen fault point,
//! restart, and the invariants checked every time (see `check`).

pub mod audit;
pub mod campaign;
pub mod check;
pub mod drive;
pub mod rng;
pub mod world;
