//! Module arguments from the PAM configuration line, such as
//! `account required pam_elevate.so timeout=3s wait=2m request=login`.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::time::Duration;

use elevated_proto::{RoleName, DEFAULT_SOCKET};

/// Longest `timeout=` accepted.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest `wait=` accepted.
pub const MAX_WAIT: Duration = Duration::from_secs(3600);

/// What to do when the daemon cannot give an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailMode {
    /// Deny the login (the default).
    Closed,
    /// Allow the login and log that it happened.
    Open,
}

/// The parsed module arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Connect and read timeout of each call to the daemon (`timeout=`).
    pub timeout: Duration,
    /// How long to wait for a pending request to be decided (`wait=`).
    pub wait: Duration,
    /// Role to request for a user without a login grant (`request=`).
    pub request: Option<RoleName>,
    /// The daemon's socket (`socket=`).
    pub socket: PathBuf,
    /// `fail=open|closed`.
    pub fail: FailMode,
    /// Members of these groups pass when the daemon cannot answer
    /// (`exempt_groups=a,b`).
    pub exempt_groups: Vec<String>,
    /// Log every decision to syslog (`debug`).
    pub debug: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            wait: Duration::ZERO,
            request: None,
            socket: PathBuf::from(DEFAULT_SOCKET),
            fail: FailMode::Closed,
            exempt_groups: Vec::new(),
            debug: false,
        }
    }
}

/// A module argument that was ignored, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    /// Not an option this module knows.
    #[error("unknown option {0:?} ignored")]
    Unknown(String),
    /// A known option with a value that does not parse. The default of
    /// every option is its safe choice (fail closed, no request, no wait),
    /// so the module goes on with it rather than lock everyone out over a
    /// typo; the caller logs this as an error.
    #[error("option {name}: {problem}; ignored, using the default")]
    BadValue {
        /// The option's name.
        name: &'static str,
        /// What is wrong with the value.
        problem: String,
    },
}

/// A duration option: a duration with units as the settings file writes
/// them (`90s`, `2m`, `1m30s`, `500ms`), or a bare whole number of seconds
/// (`120`), as earlier versions took it. At most `max`.
pub fn duration(name: &'static str, v: &str, max: Duration) -> Result<Duration, OptionError> {
    let bad = |problem: String| OptionError::BadValue { name, problem };
    let d = if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        Duration::from_secs(
            v.parse::<u64>()
                .map_err(|_| bad(format!("{v} seconds is far too long")))?,
        )
    } else {
        humantime::parse_duration(v).map_err(|_| {
            bad(format!(
                "{v:?} is not a duration such as 90s, 2m or 1m30s (a bare number is seconds)"
            ))
        })?
    };
    if d > max {
        return Err(bad(format!(
            "{v} is longer than {}",
            humantime::format_duration(max)
        )));
    }
    Ok(d)
}

impl Options {
    /// Parses the arguments. Unknown options and bad values never fail the
    /// module: they are returned so the caller can log them, and the
    /// defaults apply.
    pub fn parse<S: AsRef<str>>(args: &[S]) -> (Self, Vec<OptionError>) {
        let mut o = Self::default();
        let mut problems = Vec::new();
        for arg in args {
            let arg = arg.as_ref();
            if let Err(e) = o.apply(arg) {
                problems.push(e);
            }
        }
        (o, problems)
    }

    fn apply(&mut self, arg: &str) -> Result<(), OptionError> {
        let (name, value) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (arg, None),
        };
        match (name, value) {
            ("debug", None) => self.debug = true,
            ("timeout", Some(v)) => {
                let t = duration("timeout", v, MAX_TIMEOUT)?;
                if t.is_zero() {
                    return Err(OptionError::BadValue {
                        name: "timeout",
                        problem: "0 would never reach the daemon".into(),
                    });
                }
                self.timeout = t;
            }
            ("wait", Some(v)) => self.wait = duration("wait", v, MAX_WAIT)?,
            ("request", Some(v)) => {
                self.request = Some(RoleName::parse(v).map_err(|e| OptionError::BadValue {
                    name: "request",
                    problem: e.to_string(),
                })?);
            }
            ("socket", Some(v)) => {
                if !v.starts_with('/') {
                    return Err(OptionError::BadValue {
                        name: "socket",
                        problem: format!("{v:?} is not an absolute path"),
                    });
                }
                self.socket = PathBuf::from(v);
            }
            ("fail", Some("open")) => self.fail = FailMode::Open,
            ("fail", Some("closed")) => self.fail = FailMode::Closed,
            ("fail", Some(v)) => {
                return Err(OptionError::BadValue {
                    name: "fail",
                    problem: format!("{v:?} is neither open nor closed"),
                })
            }
            ("exempt_groups", Some(v)) => {
                self.exempt_groups = v
                    .split(',')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            _ => return Err(OptionError::Unknown(arg.to_owned())),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let (o, p) = Options::parse::<&str>(&[]);
        assert!(p.is_empty());
        assert_eq!(o, Options::default());
        assert_eq!(o.timeout, Duration::from_secs(5));
        assert_eq!(o.wait, Duration::ZERO);
        assert_eq!(o.fail, FailMode::Closed);
        assert_eq!(o.socket, PathBuf::from("/run/elevated/elevated.sock"));
    }

    #[test]
    fn every_option() {
        let (o, p) = Options::parse(&[
            "timeout=3",
            "wait=120",
            "request=login-ops",
            "socket=/tmp/x.sock",
            "fail=open",
            "exempt_groups=wheel, breakglass,",
            "debug",
        ]);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(o.timeout, Duration::from_secs(3));
        assert_eq!(o.wait, Duration::from_secs(120));
        assert_eq!(o.request.unwrap().as_str(), "login-ops");
        assert_eq!(o.socket, PathBuf::from("/tmp/x.sock"));
        assert_eq!(o.fail, FailMode::Open);
        assert_eq!(o.exempt_groups, vec!["wheel", "breakglass"]);
        assert!(o.debug);
    }

    #[test]
    fn durations_take_units_or_bare_seconds() {
        let cases: &[(&str, u64)] = &[
            ("120", 120_000),
            ("0", 0),
            ("2m", 120_000),
            ("90s", 90_000),
            ("1m30s", 90_000),
            ("1m 30s", 90_000),
            ("500ms", 500),
            ("1h", 3_600_000),
        ];
        for (v, ms) in cases {
            let got = duration("wait", v, MAX_WAIT).unwrap();
            assert_eq!(got, Duration::from_millis(*ms), "{v}");
        }
        let (o, p) = Options::parse(&["timeout=5s", "wait=2m"]);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(
            (o.timeout, o.wait),
            (Duration::from_secs(5), Duration::from_secs(120))
        );
    }

    #[test]
    fn bad_durations_are_refused_by_name() {
        let cases: &[(&str, &str)] = &[
            ("wait=2x", "option wait: \"2x\" is not a duration such as 90s, 2m or 1m30s (a bare number is seconds); ignored, using the default"),
            ("wait=", "option wait: \"\" is not a duration such as 90s, 2m or 1m30s (a bare number is seconds); ignored, using the default"),
            ("wait=-1", "option wait: \"-1\" is not a duration such as 90s, 2m or 1m30s (a bare number is seconds); ignored, using the default"),
            ("wait=2h", "option wait: 2h is longer than 1h; ignored, using the default"),
            ("wait=99999999999999999999999", "option wait: 99999999999999999999999 seconds is far too long; ignored, using the default"),
            ("timeout=61", "option timeout: 61 is longer than 1m; ignored, using the default"),
            ("timeout=0s", "option timeout: 0 would never reach the daemon; ignored, using the default"),
        ];
        for (arg, want) in cases {
            let (o, p) = Options::parse(&[*arg]);
            assert_eq!(o, Options::default(), "{arg}");
            let shown: Vec<String> = p.iter().map(ToString::to_string).collect();
            assert_eq!(shown, [*want], "{arg}");
        }
    }

    #[test]
    fn bad_values_keep_defaults_and_are_reported() {
        let (o, p) = Options::parse(&[
            "timeout=0",
            "timeout=soon",
            "wait=99999",
            "request=ALL",
            "socket=relative.sock",
            "fail=maybe",
            "frobnicate",
            "debug=yes",
        ]);
        assert_eq!(o, Options::default());
        assert_eq!(p.len(), 8, "{p:?}");
        assert!(matches!(&p[6], OptionError::Unknown(s) if s == "frobnicate"));
        assert!(p[0].to_string().contains("timeout"));
    }
}
