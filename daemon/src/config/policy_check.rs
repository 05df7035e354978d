//! Checks for single values of a policy file: durations, sudo commands,
//! days, hours, time zones, host globs, principals. Each returns the typed
//! value or a message for the administrator (without file and line, which
//! the caller adds).

use std::time::Duration;

use crate::policy::{Command, HourRange, DAY_NAMES};

/// Longest duration a policy may name.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// A humantime duration (`90s`, `30m`, `1h30m`) of whole seconds, from one
/// second up to [`MAX_DURATION`].
pub(crate) fn duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("{s:?} is not a duration such as 90s, 30m or 1h30m ({e})"))?;
    if d < Duration::from_secs(1) {
        return Err(format!("{s:?} is shorter than one second"));
    }
    if d.subsec_nanos() != 0 {
        return Err(format!("{s:?} is not a whole number of seconds"));
    }
    if d > MAX_DURATION {
        return Err(format!("{s:?} is longer than 365 days"));
    }
    Ok(d)
}

/// Shows a duration the way it can be written back into a policy file.
pub(crate) fn show(d: Duration) -> String {
    humantime::format_duration(d).to_string().replace(' ', "")
}

fn path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '+' | '-')
}

fn arg_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '_' | '.' | '/' | '+' | '@' | '%' | '=' | ':' | ',' | '-')
}

/// One `sudo.commands` entry other than `ALL`: an absolute path, then
/// optionally fixed arguments separated by spaces or tabs; the single
/// argument `""` means "no arguments at all".
pub(crate) fn command(s: &str) -> Result<Command, String> {
    if !s.starts_with('/') {
        return Err(format!(
            "{s:?} is neither ALL nor an absolute path (sudo needs the full path, e.g. /usr/bin/systemctl)"
        ));
    }
    let mut words = s.split([' ', '\t']).filter(|w| !w.is_empty());
    let path = words.next().unwrap_or_default();
    if let Some(c) = path.chars().find(|c| !path_char(*c)) {
        return Err(format!(
            "command path {path:?} contains {c:?}; allowed: ASCII letters, digits, '_', '.', '/', '+', '-'"
        ));
    }
    if path.ends_with('/') {
        return Err(format!("command path {path:?} ends in '/'; name a file"));
    }
    if path.contains("//") {
        return Err(format!("command path {path:?} contains '//'"));
    }
    if crate::grant::sudoers::is_sudoedit(path) {
        return Err(format!(
            "command path {path:?} names sudoedit, which sudoers does not accept with a \
             path; grant a specific command instead"
        ));
    }
    if path.split('/').any(|p| p == "." || p == "..") {
        return Err(format!(
            "command path {path:?} contains a '.' or '..' component; write the plain path"
        ));
    }
    let args: Vec<&str> = words.collect();
    if args.is_empty() {
        return Ok(Command::Path {
            path: path.to_owned(),
            args: None,
        });
    }
    if args == [r#""""#] {
        return Ok(Command::Path {
            path: path.to_owned(),
            args: Some(Vec::new()),
        });
    }
    for a in &args {
        if *a == r#""""# {
            return Err(format!(
                "{s:?}: \"\" (no arguments) must be the only argument"
            ));
        }
        if let Some(c) = a.chars().find(|c| !arg_char(*c)) {
            return Err(format!(
                "command argument {a:?} contains {c:?}; allowed: ASCII letters, digits and _ . / + @ % = : , - (no wildcards or quotes)"
            ));
        }
    }
    Ok(Command::Path {
        path: path.to_owned(),
        args: Some(args.into_iter().map(str::to_owned).collect()),
    })
}

fn day(s: &str) -> Option<u8> {
    let s = s.trim().to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|d| *d == s)
        .and_then(|i| u8::try_from(i).ok())
}

/// A day (`mon`) or a range of days (`mon-fri`, wrapping `fri-mon`), as a
/// bit mask: bit 0 = Monday ... bit 6 = Sunday.
pub(crate) fn days(s: &str) -> Result<u8, String> {
    let bad = || {
        format!("{s:?} is not a day (mon, tue, wed, thu, fri, sat, sun) or a range such as mon-fri")
    };
    match s.split_once('-') {
        None => day(s).map(|d| 1 << d).ok_or_else(bad),
        Some((a, b)) => {
            let (Some(mut i), Some(end)) = (day(a), day(b)) else {
                return Err(bad());
            };
            let mut mask = 0u8;
            loop {
                mask |= 1 << i;
                if i == end {
                    return Ok(mask);
                }
                i = (i + 1) % 7;
            }
        }
    }
}

fn minutes(s: &str, end: bool) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || h.len() > 2 || !digits(m) || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) if end => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// `HH:MM-HH:MM`; `24:00` may end a range; an end not after the start runs
/// across midnight; start and end must differ.
pub(crate) fn hours(s: &str) -> Result<HourRange, String> {
    let parsed = s
        .split_once('-')
        .and_then(|(a, b)| Some((minutes(a, false)?, minutes(b, true)?)));
    let Some((start, end)) = parsed else {
        return Err(format!(
            "{s:?} is not a range of times HH:MM-HH:MM such as 08:00-18:00 (24:00 may end it)"
        ));
    };
    if start == end {
        return Err(format!(
            "{s:?} starts and ends at the same time; for the whole day write 00:00-24:00"
        ));
    }
    Ok(HourRange { start, end })
}

/// An IANA time zone name, from the bundled database.
pub(crate) fn time_zone(s: &str) -> Result<jiff::tz::TimeZone, String> {
    jiff::tz::TimeZone::get(s).map_err(|_| {
        format!("{s:?} is not a known IANA time zone name such as UTC or Europe/Berlin")
    })
}

/// A host name glob: `[A-Za-z0-9.*?-]+`.
pub(crate) fn host_glob(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("host pattern is empty".into());
    }
    match s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '*' | '?' | '-')))
    {
        Some(c) => Err(format!(
            "host pattern {s:?} contains {c:?}; allowed: ASCII letters, digits, '.', '-', and the wildcards '*' and '?'"
        )),
        None => Ok(()),
    }
}

/// A signing principal from `allowed_signers`: free-form, but not empty and
/// without whitespace or control characters.
pub(crate) fn principal(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("principal is empty".into());
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "principal {s:?} contains whitespace or a control character"
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "policy_check_tests.rs"]
mod tests;
