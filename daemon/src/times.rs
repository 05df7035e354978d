//! Times and durations as people and scripts read them: RFC 3339 in UTC to
//! the whole second (`2025-01-31T10:30:00Z`), durations the humantime way
//! (`20m`, `1h 30m`). The store keeps epoch milliseconds, in its columns
//! and in the audit rows' details alike; everything that leaves the daemon
//! for a reader goes through here, and so does every duration people write
//! in the settings or on the command line.
#![forbid(unsafe_code)]

use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;

/// Keys of an audit row's detail whose values are times. Rows store them as
/// epoch milliseconds (a few as RFC 3339 text, some with a fraction); the
/// hash chain covers the stored text, so old rows are never rewritten and
/// every row is rendered on the way out instead.
const TIME_KEYS: [&str; 8] = [
    "starts_at",
    "expires_at",
    "pending_until",
    "ext_until",
    "taken_away_at",
    "from",
    "until",
    "wall",
];

/// Parses a humantime duration of at least one second (`90s`, `30m`,
/// `1h30m`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("bad duration {s:?}: {e} (write e.g. \"90s\", \"30m\", \"1h30m\")"))?;
    if d < Duration::from_secs(1) {
        return Err(format!("duration {s:?} is shorter than one second"));
    }
    Ok(d)
}

/// A duration in milliseconds, as the store's times are kept; one too
/// long to count stays far from overflowing when added to a time.
#[must_use]
pub fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

/// [`duration_ms`] of a number of seconds.
#[must_use]
pub fn secs_ms(secs: u64) -> i64 {
    duration_ms(Duration::from_secs(secs))
}

/// `ms` (epoch milliseconds) as RFC 3339 in UTC, to the whole second
/// (rounded down: the instant has begun by then); the number itself when
/// it is out of range.
#[must_use]
pub fn rfc3339(ms: i64) -> String {
    Timestamp::from_second(ms.div_euclid(1000))
        .map(|t| t.to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// `t` as RFC 3339 in UTC, to the whole second.
#[must_use]
pub fn rfc3339_of(t: Timestamp) -> String {
    rfc3339(t.as_millisecond())
}

/// Whole seconds the humantime way: `20m`, `1h 30m`, `20m 6s`.
#[must_use]
pub fn human_secs(secs: u64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
}

/// An audit row's detail as readers get it (`elevate audit`, its `--json`,
/// the syslog line): every time under a [`TIME_KEYS`] key, at any depth,
/// as RFC 3339 to the whole second, whether stored as milliseconds or as
/// text. Everything else is left as stored.
#[must_use]
pub fn readable_detail(detail: &Value) -> Value {
    match detail {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match readable_time(k, v) {
                        Some(t) => Value::String(t),
                        None => readable_detail(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(readable_detail).collect()),
        other => other.clone(),
    }
}

/// The readable form of `v` if `key` holds a time.
fn readable_time(key: &str, v: &Value) -> Option<String> {
    if !TIME_KEYS.contains(&key) {
        return None;
    }
    match v {
        Value::Number(n) => n.as_i64().map(rfc3339),
        Value::String(s) => s.parse::<Timestamp>().ok().map(rfc3339_of),
        _ => None,
    }
}

/// A stored detail text (JSON) as readers get it; text that is not JSON
/// (never written by the daemon) is passed on as it is.
#[must_use]
pub fn readable_detail_text(detail: &str) -> String {
    match serde_json::from_str::<Value>(detail) {
        Ok(v) => readable_detail(&v).to_string(),
        Err(_) => detail.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_seconds_in_utc() {
        assert_eq!(rfc3339(1_738_319_400_000), "2025-01-31T10:30:00Z");
        assert_eq!(rfc3339(1_738_319_400_999), "2025-01-31T10:30:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(i64::MAX), i64::MAX.to_string());
        let t: Timestamp = "2025-01-31T10:30:00.123456789Z".parse().unwrap();
        assert_eq!(rfc3339_of(t), "2025-01-31T10:30:00Z");
        assert_eq!(human_secs(1200), "20m");
        assert_eq!(human_secs(1206), "20m 6s");
    }

    #[test]
    fn details_show_times_whatever_their_stored_form() {
        let stored = json!({
            "state": "active", "starts_at": 1_738_317_600_000_i64,
            "expires_at": 1_738_319_400_000_i64, "duration_secs": 1800,
            "late_ms": 12, "message": "granted until 2025-01-31T10:30:00Z",
            "lock": {"until": "2025-01-31T10:45:00.5Z", "window_secs": 900},
            "wall": "2025-01-31T10:00:00.123456789Z", "pending_until": null,
            "list": [{"ext_until": 1_738_319_400_500_i64}],
        });
        assert_eq!(
            readable_detail(&stored),
            json!({
                "state": "active", "starts_at": "2025-01-31T10:00:00Z",
                "expires_at": "2025-01-31T10:30:00Z", "duration_secs": 1800,
                "late_ms": 12, "message": "granted until 2025-01-31T10:30:00Z",
                "lock": {"until": "2025-01-31T10:45:00Z", "window_secs": 900},
                "wall": "2025-01-31T10:00:00Z", "pending_until": null,
                "list": [{"ext_until": "2025-01-31T10:30:00Z"}],
            })
        );
        assert_eq!(
            readable_detail_text(r#"{"from":1738317600000,"until":"soon"}"#),
            r#"{"from":"2025-01-31T10:00:00Z","until":"soon"}"#
        );
        assert_eq!(readable_detail_text("not json"), "not json");
    }
}
