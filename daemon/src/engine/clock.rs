//! The daemon's time. Deadlines and sudo's `NOTAFTER` are wall-clock
//! times, so stepping the wall clock back by N would add N to every open
//! window. The engine's "now" is therefore the wall clock checked against
//! the boot clock (`CLOCK_BOOTTIME`, which nothing can step): a step
//! forward is accepted (windows end sooner), a step back is not (time keeps
//! running with the boot clock until the wall clock catches up). Every
//! window thus ends at whichever comes first, its wall-clock end or its
//! length measured on the boot clock. Both kinds of step are audited
//! (`clock_step`).
//!
//! The anchor (the wall and boot clocks read at the same moment, and the
//! boot id) is kept in a file beside the store, so a restart within the
//! same boot still measures from it. After a reboot the boot clock starts
//! again and only the wall clock is left.
#![forbid(unsafe_code)]

use crate::audit::event::AuditEvent;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde_json::json;

use super::Engine;
use crate::store::audit;
use crate::sys::clock::Boot;

/// Disagreements up to this much between the wall clock and the boot
/// clock's count since the anchor are noise (a leap second, a small NTP
/// correction), not steps.
pub const TOLERANCE_MS: i64 = 2000;

/// The wall and boot clocks read at one moment of one boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The kernel's boot id.
    pub boot_id: String,
    /// Wall clock, Unix ms.
    pub wall_ms: i64,
    /// Boot clock, ms.
    pub boot_ms: i64,
}

/// What one reading decided.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Reading {
    /// The engine's now, Unix ms.
    pub now_ms: i64,
    /// The anchor from now on.
    pub anchor: Anchor,
    /// A step not reported before: wall clock minus where it should be.
    pub step_ms: Option<i64>,
}

/// Decides the engine's time from the wall clock, the boot clock and the
/// anchor; `reported` is the last step reported (so a step back is
/// reported once, not at every reading until the wall clock catches up).
pub fn read(anchor: Option<&Anchor>, reported: Option<i64>, wall_ms: i64, boot: &Boot) -> Reading {
    let fresh = || Anchor {
        boot_id: boot.id.clone(),
        wall_ms,
        boot_ms: boot.ms,
    };
    let Some(a) = anchor.filter(|a| !boot.id.is_empty() && a.boot_id == boot.id) else {
        return Reading {
            now_ms: wall_ms,
            anchor: fresh(),
            step_ms: None,
        };
    };
    let expected = a.wall_ms.saturating_add(boot.ms.saturating_sub(a.boot_ms));
    let delta = wall_ms.saturating_sub(expected);
    if delta > TOLERANCE_MS {
        // Forward: windows end sooner, which is never a risk. Measure from
        // here on.
        return Reading {
            now_ms: wall_ms,
            anchor: fresh(),
            step_ms: Some(delta),
        };
    }
    if delta < -TOLERANCE_MS {
        let new = reported.is_none_or(|r| (r - delta).abs() > TOLERANCE_MS);
        return Reading {
            now_ms: expected,
            anchor: a.clone(),
            step_ms: new.then_some(delta),
        };
    }
    Reading {
        now_ms: wall_ms,
        anchor: a.clone(),
        step_ms: None,
    }
}

/// The clock's state in the engine.
#[derive(Debug, Default)]
pub(super) struct ClockState {
    anchor: Option<Anchor>,
    reported: Option<i64>,
    /// Where the anchor is kept; `None` for an engine over a store in
    /// memory.
    file: Option<PathBuf>,
}

impl ClockState {
    /// The state for a store at `db` (its anchor file beside it).
    pub(super) fn beside(db: Option<&Path>) -> Self {
        let file = db.and_then(Path::parent).map(|d| d.join("clock-anchor"));
        let anchor = file.as_deref().and_then(load);
        Self {
            anchor,
            reported: None,
            file,
        }
    }
}

fn load(path: &Path) -> Option<Anchor> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut f = text.split_whitespace();
    Some(Anchor {
        boot_id: f.next()?.to_owned(),
        wall_ms: f.next()?.parse().ok()?,
        boot_ms: f.next()?.parse().ok()?,
    })
}

fn save(path: &Path, a: &Anchor) -> std::io::Result<()> {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, format!("{} {} {}\n", a.boot_id, a.wall_ms, a.boot_ms))?;
    std::fs::rename(&tmp, path)
}

impl Engine {
    /// The engine's now from the real clocks (see the module's text).
    #[must_use]
    pub fn now(&self) -> Timestamp {
        self.now_at(Timestamp::now(), &crate::sys::clock::boot())
    }

    /// The engine's now for a wall-clock reading and a boot-clock reading
    /// (tests give both).
    pub fn now_at(&self, wall: Timestamp, boot: &Boot) -> Timestamp {
        let reading = {
            let mut c = self.clock.lock().unwrap_or_else(|p| p.into_inner());
            let r = read(c.anchor.as_ref(), c.reported, wall.as_millisecond(), boot);
            if c.anchor.as_ref() != Some(&r.anchor) {
                if let Some(file) = &c.file {
                    // Without the file a restart measures from the wall
                    // clock again: worth a log line, not a refusal.
                    if let Err(e) = save(file, &r.anchor) {
                        tracing::warn!("keeping the clock anchor in {}: {e}", file.display());
                    }
                }
                c.anchor = Some(r.anchor.clone());
            }
            if let Some(step) = r.step_ms {
                c.reported = Some(step);
            } else if r.now_ms == wall.as_millisecond() {
                c.reported = None;
            }
            r
        };
        if let Some(step) = reading.step_ms {
            self.audit_clock_step(step, wall, reading.now_ms);
        }
        Timestamp::from_millisecond(reading.now_ms).unwrap_or(wall)
    }

    fn audit_clock_step(&self, step_ms: i64, wall: Timestamp, now_ms: i64) {
        let kept = if step_ms < 0 {
            "boot clock: windows keep their length"
        } else {
            "wall clock: windows end sooner"
        };
        tracing::warn!("the wall clock was stepped by {step_ms} ms; following the {kept}");
        let detail = json!({"step_ms": step_ms, "wall": wall.to_string(), "following": kept});
        let mut st = self.lock();
        match st
            .store
            .tx(|tx| audit::append(tx, now_ms, AuditEvent::ClockStep, "daemon", None, &detail))
        {
            Ok(row) => {
                drop(st);
                self.after_commit(&[row]);
            }
            Err(e) => tracing::error!("auditing a clock step: {e}"),
        }
    }
}

#[cfg(test)]
#[path = "clock_tests.rs"]
mod tests;
