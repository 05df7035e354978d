//! Times as people type them on a command line: `elevate audit --since`
//! and `elevated explain --at` take the same forms, parsed here once.

use std::time::SystemTime;

/// A time that is neither form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "expected an RFC 3339 time such as 2025-01-31T08:00:00Z or a duration such as 2h or 1day \
     meaning that long ago"
)]
pub struct TimeError;

/// Parses an RFC 3339 time in UTC (`2025-01-31T08:00:00Z`; a space instead
/// of `T` and no `Z` are accepted too) or a humantime duration meaning that
/// long before `now` (`2h`, `1day`).
pub fn parse_time(s: &str, now: SystemTime) -> Result<SystemTime, TimeError> {
    let s = s.trim();
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        return Ok(t);
    }
    if let Ok(d) = humantime::parse_duration(s) {
        return Ok(now.checked_sub(d).unwrap_or(SystemTime::UNIX_EPOCH));
    }
    Err(TimeError)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn times_and_durations_ago() {
        let at = |s: &str| humantime::parse_rfc3339(s).unwrap();
        let now = at("2025-01-31T10:00:00Z");
        assert_eq!(
            parse_time("2025-01-30T08:00:00Z", now),
            Ok(at("2025-01-30T08:00:00Z"))
        );
        assert_eq!(
            parse_time(" 2025-01-30 08:00:00 ", now),
            Ok(at("2025-01-30T08:00:00Z"))
        );
        assert_eq!(parse_time("2h", now), Ok(at("2025-01-31T08:00:00Z")));
        assert_eq!(parse_time("1day", now), Ok(at("2025-01-30T10:00:00Z")));
        assert_eq!(parse_time("yesterday", now), Err(TimeError));
        assert_eq!(parse_time("", now), Err(TimeError));
    }
}
