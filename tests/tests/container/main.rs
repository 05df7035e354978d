//! The package under a real systemd PID 1: each test boots a fresh Debian
//! 12 container (`systemd-nspawn --boot`, see `elevated_tests::container`
//! and docs/testing.md), installs the project's .deb inside, and drives
//! the real units, logind, system bus, sshd and PAM stack. Run as root.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod bus;
mod logins;
mod purge;
mod service;
mod support;
