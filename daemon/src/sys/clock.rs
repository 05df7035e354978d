//! The boot clock: `CLOCK_BOOTTIME` (monotonic, counts suspend, never
//! stepped) and the kernel's boot id, which says whether two readings of it
//! belong to the same boot.
#![forbid(unsafe_code)]

use nix::time::{clock_gettime, ClockId};
use nix::unistd::{sysconf, SysconfVar};

/// One reading of the boot clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boot {
    /// `/proc/sys/kernel/random/boot_id` (empty when unreadable: then no
    /// reading is comparable with another).
    pub id: String,
    /// Milliseconds since boot.
    pub ms: i64,
}

/// Reads the boot clock.
#[must_use]
pub fn boot() -> Boot {
    // One boot id for the life of the process: it cannot change under it.
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let id = ID
        .get_or_init(|| {
            std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        })
        .clone();
    let ms = clock_gettime(ClockId::CLOCK_BOOTTIME)
        .map(|t| t.tv_sec().saturating_mul(1000) + t.tv_nsec() / 1_000_000)
        .unwrap_or(0);
    Boot { id, ms }
}

/// The kernel's clock ticks per second (`sysconf(_SC_CLK_TCK)`), the unit
/// of process start times in `/proc/PID/stat`; 100, Linux's value, when it
/// cannot be read.
#[must_use]
pub fn ticks_per_second() -> u64 {
    match sysconf(SysconfVar::CLK_TCK) {
        Ok(Some(t)) => u64::try_from(t).unwrap_or(100),
        _ => 100,
    }
}
