//! The options field of an allowed-signers line: `namespaces="..."`,
//! `valid-after="..."`, `valid-before="..."`, parsed the way OpenSSH's
//! `sshsigopt_parse` reads them, with errors an admin can act on.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::pattern::{split_list, MAX_PATTERN_LEN};

/// The options of one line. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SignerOptions {
    pub namespaces: Option<String>,
    pub valid_after: Option<Timestamp>,
    pub valid_before: Option<Timestamp>,
}

const KNOWN: &str = "namespaces=\"...\", valid-after=\"...\" and valid-before=\"...\"";

/// Parses a whole options field (no unquoted blanks in it). Option names
/// are case-insensitive; values must be in double quotes, inside which `\"`
/// stands for a quote and commas and blanks are kept.
pub(crate) fn parse_options(field: &str, tz: &TimeZone) -> Result<SignerOptions, String> {
    let mut opts = SignerOptions::default();
    let mut rest = field;
    loop {
        let name_end = rest.find(['=', ',']).unwrap_or(rest.len());
        let name = &rest[..name_end];
        let lower = name.to_ascii_lowercase();
        let has_value = rest[name_end..].starts_with('=');
        match (lower.as_str(), has_value) {
            ("cert-authority", false) => {
                return Err(
                    "option cert-authority (certificate signers) is not supported: \
                     list each approver's own public key instead"
                        .into(),
                )
            }
            ("namespaces" | "valid-after" | "valid-before", true) => {
                let (value, after) = dequote(&rest[name_end + 1..], &lower)?;
                set(&mut opts, &lower, &value, tz)?;
                rest = after;
            }
            ("namespaces" | "valid-after" | "valid-before", false) => {
                return Err(format!("option {lower} needs a value: {lower}=\"...\""));
            }
            _ => {
                return Err(format!(
                    "unknown option \"{}\"; the options understood are {KNOWN}",
                    shown(name)
                ))
            }
        }
        if rest.is_empty() {
            break;
        }
        rest = match rest.strip_prefix(',') {
            Some("") => return Err("the options end with a comma: remove it".into()),
            Some(next) => next,
            None => {
                return Err(format!(
                    "unexpected \"{}\" after an option value; separate options with commas",
                    shown(rest)
                ))
            }
        };
    }
    if let (Some(after), Some(before)) = (opts.valid_after, opts.valid_before) {
        if before <= after {
            return Err(format!(
                "valid-before ({before}) is not later than valid-after ({after})"
            ));
        }
    }
    Ok(opts)
}

fn set(opts: &mut SignerOptions, name: &str, value: &str, tz: &TimeZone) -> Result<(), String> {
    let twice = || format!("option {name} is given twice");
    match name {
        "namespaces" => {
            if opts.namespaces.is_some() {
                return Err(twice());
            }
            check_patterns("namespaces", value)?;
            opts.namespaces = Some(value.to_owned());
        }
        "valid-after" => {
            if opts.valid_after.is_some() {
                return Err(twice());
            }
            opts.valid_after = Some(parse_time(name, value, tz)?);
        }
        _ => {
            if opts.valid_before.is_some() {
                return Err(twice());
            }
            opts.valid_before = Some(parse_time(name, value, tz)?);
        }
    }
    Ok(())
}

/// Reads a double-quoted value at the start of `s`; returns it (with `\"`
/// turned into `"`) and the text after the closing quote.
fn dequote<'a>(s: &'a str, name: &str) -> Result<(String, &'a str), String> {
    let Some(body) = s.strip_prefix('"') else {
        return Err(format!(
            "the value of option {name} must be in double quotes: {name}=\"...\""
        ));
    };
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &body[i + 1..])),
            '\\' if body[i + 1..].starts_with('"') => {
                value.push('"');
                chars.next();
            }
            c => value.push(c),
        }
    }
    Err(format!("the value of option {name} has no closing quote"))
}

/// Refuses a pattern list that could match nothing useful (empty, or only
/// negated patterns) and patterns longer than OpenSSH handles.
pub(crate) fn check_patterns(what: &str, list: &str) -> Result<(), String> {
    if split_list(list).all(|p| p.is_empty() || p.starts_with('!')) {
        return Err(format!(
            "{what} \"{}\" has no positive pattern, so it matches nothing; \
             negated patterns (!x) only take away from positive ones such as *@example.com",
            shown(list)
        ));
    }
    if let Some(p) = split_list(list).find(|p| p.len() > MAX_PATTERN_LEN) {
        return Err(format!(
            "{what}: the pattern \"{}\" is longer than {MAX_PATTERN_LEN} bytes",
            shown(p)
        ));
    }
    Ok(())
}

/// Parses `YYYYMMDD[Z]` or `YYYYMMDDHHMM[SS][Z]` (also `UTC` for `Z`, in
/// any case). Without the suffix the time is civil time in `tz`; a date
/// alone means its midnight. Times at or before 1970-01-01 are refused, as
/// OpenSSH does.
pub(crate) fn parse_time(name: &str, value: &str, tz: &TimeZone) -> Result<Timestamp, String> {
    let bad = || {
        format!(
            "invalid {name} time \"{}\": expected YYYYMMDD or YYYYMMDDHHMM[SS], \
             followed by Z for UTC (local time otherwise)",
            shown(value)
        )
    };
    let upper = value.to_ascii_uppercase();
    let (digits, utc) = if let Some(d) = upper.strip_suffix("UTC").filter(|d| !d.is_empty()) {
        (d, true)
    } else if let Some(d) = upper.strip_suffix('Z').filter(|d| !d.is_empty()) {
        (d, true)
    } else {
        (upper.as_str(), false)
    };
    if !matches!(digits.len(), 8 | 12 | 14) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let num = |range: std::ops::Range<usize>| -> i16 {
        digits
            .get(range)
            .and_then(|s| s.parse().ok())
            .unwrap_or_default()
    };
    let field = |range: std::ops::Range<usize>| i8::try_from(num(range)).unwrap_or(i8::MAX);
    let (hour, minute, second) = match digits.len() {
        8 => (0, 0, 0),
        12 => (field(8..10), field(10..12), 0),
        _ => (field(8..10), field(10..12), field(12..14)),
    };
    let dt = DateTime::new(num(0..4), field(4..6), field(6..8), hour, minute, second, 0)
        .map_err(|_| bad())?;
    let zone = if utc { TimeZone::UTC } else { tz.clone() };
    let ts = zone.to_timestamp(dt).map_err(|_| bad())?;
    if ts.as_second() <= 0 {
        return Err(format!(
            "invalid {name} time \"{}\": it must be after 1970-01-01",
            shown(value)
        ));
    }
    Ok(ts)
}

/// Text from the file, cut and escaped for an error message.
pub(crate) fn shown(s: &str) -> String {
    const MAX: usize = 40;
    let cut: String = s.chars().take(MAX).collect();
    let mut out = cut.escape_debug().to_string();
    if s.chars().nth(MAX).is_some() {
        out.push_str("...");
    }
    out
}
