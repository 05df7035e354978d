//! Durations and times: parsing what the user types, formatting what the
//! daemon sends.

use std::time::{Duration, SystemTime};

/// Parses `--for`: a humantime duration of at least one second, in whole
/// seconds (a fraction past the first second is rounded up: `1500ms` asks
/// for 2s). Anything shorter than a second is refused, not rounded up to
/// one: the window would be longer than asked for by a factor, not by a
/// rounding.
pub fn parse_for(s: &str) -> Result<u64, String> {
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("{e}; expected a duration such as 90s, 30m or 1h30m"))?;
    if d < Duration::from_secs(1) {
        return Err("shorter than one second (the shortest window is 1s)".into());
    }
    Ok(d.as_secs() + u64::from(d.subsec_nanos() > 0))
}

/// Parses `audit --since`: an RFC 3339 time in UTC, or a duration meaning
/// "that long before `now`". Returns the RFC 3339 text to send.
pub fn parse_since(s: &str, now: SystemTime) -> Result<String, String> {
    let t = elevated_proto::when::parse_time(s, now)
        .map_err(|e| format!("invalid --since {:?}: {e}", s.trim()))?;
    Ok(humantime::format_rfc3339(t).to_string())
}

/// Formats whole seconds the humantime way (`1h 30m`, `0s`).
pub fn human_secs(secs: u64) -> String {
    humantime::format_duration(Duration::from_secs(secs)).to_string()
}

/// The largest two units of [`human_secs`] (`1h 30m`, `12m 5s`), for
/// tables and progress lines.
pub fn short_secs(secs: u64) -> String {
    let full = human_secs(secs);
    let parts: Vec<&str> = full.split(' ').take(2).collect();
    parts.join(" ")
}

/// Seconds from `at` (RFC 3339) to `now`; zero if `at` is in the future,
/// `None` when the time cannot be read.
pub fn secs_since(at: &str, now: SystemTime) -> Option<u64> {
    let then = humantime::parse_rfc3339_weak(at).ok()?;
    Some(now.duration_since(then).map_or(0, |d| d.as_secs()))
}

/// Seconds left until `expires_at` (RFC 3339) as seen at `now`; zero once
/// past, `None` when the time cannot be read.
pub fn secs_until(expires_at: &str, now: SystemTime) -> Option<u64> {
    let end = humantime::parse_rfc3339_weak(expires_at).ok()?;
    Some(end.duration_since(now).map_or(0, |d| d.as_secs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> SystemTime {
        humantime::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn for_durations() {
        assert_eq!(parse_for("30m"), Ok(1800));
        assert_eq!(parse_for("1h30m"), Ok(5400));
        assert_eq!(parse_for(" 90s "), Ok(90));
        assert_eq!(parse_for("1500ms"), Ok(2));
        assert_eq!(parse_for("1s"), Ok(1));
        assert_eq!(parse_for("1000ms"), Ok(1));
        assert!(parse_for("0s").is_err());
        assert!(parse_for("500ms").is_err());
        assert!(parse_for("999ms").is_err());
        assert!(parse_for("soon").is_err());
        assert!(parse_for("30").is_err());
        assert!(parse_for("").is_err());
    }

    #[test]
    fn since_accepts_times_and_durations() {
        let now = at("2025-01-31T10:00:00Z");
        assert_eq!(
            parse_since("2025-01-30T08:00:00Z", now).unwrap(),
            "2025-01-30T08:00:00Z"
        );
        assert_eq!(
            parse_since("2025-01-30 08:00:00", now).unwrap(),
            "2025-01-30T08:00:00Z"
        );
        assert_eq!(parse_since("2h", now).unwrap(), "2025-01-31T08:00:00Z");
        assert_eq!(parse_since("1day", now).unwrap(), "2025-01-30T10:00:00Z");
        assert!(parse_since("yesterday", now).is_err());
    }

    #[test]
    fn remaining_time() {
        let now = at("2025-01-31T10:00:00Z");
        assert_eq!(secs_until("2025-01-31T10:30:00Z", now), Some(1800));
        assert_eq!(secs_until("2025-01-31T09:00:00Z", now), Some(0));
        assert_eq!(secs_until("not a time", now), None);
        assert_eq!(human_secs(5400), "1h 30m");
        assert_eq!(human_secs(0), "0s");
        assert_eq!(short_secs(5400 + 7), "1h 30m");
        assert_eq!(short_secs(86400 + 3600 + 60), "1day 1h");
        assert_eq!(short_secs(59), "59s");
        assert_eq!(secs_since("2025-01-31T09:58:00Z", now), Some(120));
        assert_eq!(secs_since("2025-01-31T10:58:00Z", now), Some(0));
        assert_eq!(secs_since("x", now), None);
    }
}
