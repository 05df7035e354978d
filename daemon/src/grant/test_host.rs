//! Tests that change the host (run as root): the shared throw-away users
//! and groups (`elevated-testkit`), and a lock so that the daemon's unit
//! tests do not fight over `/etc/group`.

use std::sync::{Mutex, MutexGuard};

pub use elevated_testkit::{getent, Spawned, TestGroup, TestUser};

static HOST: Mutex<()> = Mutex::new(());

/// Fails clearly unless root, then serialises host-changing tests.
pub fn root_lock() -> MutexGuard<'static, ()> {
    assert!(
        crate::sys::is_root(),
        "this test adds users and groups and signals their processes: run it as root"
    );
    HOST.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
