//! Crash-fault injection, for the crash tests only. Built with the cargo
//! feature `fault-injection` (off by default; never in a shipped binary),
//! `ELEVATED_FAULT=<point>:<n>` makes the daemon SIGKILL itself the n-th
//! time execution reaches `<point>`, so a test can crash it exactly between
//! touching the host and committing to the store. Without the feature,
//! [`hit`] is an empty inline function and the variable is ignored.
#![forbid(unsafe_code)]

/// A place in the grant and revocation paths where a crash is interesting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// A drop-in was written and checked under its temporary name; the
    /// rename to its final name has not happened.
    BeforeSudoersRename,
    /// The drop-in has its final name; the store does not know yet.
    AfterSudoersRename,
    /// `gpasswd -a` added a membership; the store has not confirmed it.
    AfterGpasswd,
    /// A drop-in was unlinked; whatever follows (group removal, journal)
    /// has not happened.
    AfterDropinRemove,
    /// `gpasswd -d` took a membership back; the journal still lists it.
    AfterGpasswdRemove,
    /// A store transaction committed; nothing after it (host changes that
    /// follow a commit, the reply to the client) has happened.
    AfterStoreCommit,
}

impl Point {
    /// Every point, for parsing and for tests that pick one.
    #[cfg(any(test, feature = "fault-injection"))]
    pub const ALL: [Point; 6] = [
        Point::BeforeSudoersRename,
        Point::AfterSudoersRename,
        Point::AfterGpasswd,
        Point::AfterDropinRemove,
        Point::AfterGpasswdRemove,
        Point::AfterStoreCommit,
    ];

    /// The name used in `ELEVATED_FAULT`.
    #[cfg(any(test, feature = "fault-injection"))]
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Point::BeforeSudoersRename => "before_sudoers_rename",
            Point::AfterSudoersRename => "after_sudoers_rename",
            Point::AfterGpasswd => "after_gpasswd",
            Point::AfterDropinRemove => "after_dropin_remove",
            Point::AfterGpasswdRemove => "after_gpasswd_remove",
            Point::AfterStoreCommit => "after_store_commit",
        }
    }
}

/// The environment variable that arms a point.
#[cfg(any(test, feature = "fault-injection"))]
pub const ENV: &str = "ELEVATED_FAULT";

/// Parses `<point>:<n>` (n from 1).
#[cfg(any(test, feature = "fault-injection"))]
pub fn parse(spec: &str) -> Result<(Point, u64), String> {
    let (name, n) = spec
        .split_once(':')
        .ok_or_else(|| format!("{ENV}={spec:?}: expected <point>:<n>"))?;
    let point = Point::ALL
        .into_iter()
        .find(|p| p.name() == name)
        .ok_or_else(|| {
            let known: Vec<_> = Point::ALL.iter().map(|p| p.name()).collect();
            format!("{ENV}: unknown point {name:?}; known: {}", known.join(", "))
        })?;
    match n.parse::<u64>() {
        Ok(n) if n >= 1 => Ok((point, n)),
        _ => Err(format!("{ENV}={spec:?}: <n> must be a whole number from 1")),
    }
}

#[cfg(feature = "fault-injection")]
mod armed {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;

    use super::Point;

    static ARMED: OnceLock<Option<(Point, u64)>> = OnceLock::new();
    static HITS: AtomicU64 = AtomicU64::new(0);

    pub(super) fn init() -> Result<(), String> {
        let spec = match std::env::var(super::ENV) {
            Ok(s) if !s.is_empty() => Some(super::parse(&s)?),
            _ => None,
        };
        if let Some((p, n)) = spec {
            tracing::warn!("fault injection armed: SIGKILL at hit {n} of {}", p.name());
        }
        let _ = ARMED.set(spec);
        Ok(())
    }

    pub(super) fn hit(point: Point) {
        let Some(Some((armed, n))) = ARMED.get() else {
            return;
        };
        if *armed != point || HITS.fetch_add(1, Ordering::SeqCst) + 1 != *n {
            return;
        }
        // Straight to stderr: the test reads it to tell this kill from its own.
        eprintln!(
            "elevated: fault injection: SIGKILL at {} (hit {n})",
            point.name()
        );
        crate::sys::kill_self();
    }
}

/// Reads `ELEVATED_FAULT` once, at start. An unparsable value is an error
/// (a crash test must not run silently unarmed). Without the feature:
/// nothing.
pub fn init() -> Result<(), String> {
    #[cfg(feature = "fault-injection")]
    {
        armed::init()
    }
    #[cfg(not(feature = "fault-injection"))]
    {
        Ok(())
    }
}

/// Marks that execution reached `point`; with the feature and the point
/// armed, the n-th call kills the process with SIGKILL.
#[inline(always)]
pub fn hit(point: Point) {
    #[cfg(feature = "fault-injection")]
    armed::hit(point);
    #[cfg(not(feature = "fault-injection"))]
    let _ = point;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_points_and_counts() {
        for p in Point::ALL {
            assert_eq!(parse(&format!("{}:3", p.name())), Ok((p, 3)));
        }
        assert!(parse("after_gpasswd").is_err());
        assert!(parse("after_gpasswd:0").is_err());
        assert!(parse("nowhere:1")
            .unwrap_err()
            .contains("before_sudoers_rename"));
    }
}
