//! Module arguments from the PAM configuration line, such as
//! `account required pam_elevate.so timeout=3 wait=120 request=login`.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::time::Duration;

use elevated_proto::{RoleName, DEFAULT_SOCKET};

/// Longest `timeout=` accepted, in seconds.
pub const MAX_TIMEOUT_SECS: u64 = 60;
/// Longest `wait=` accepted, in seconds.
pub const MAX_WAIT_SECS: u64 = 3600;

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
    /// A known option with a value that does not parse.
    #[error("option {name}: {problem}; using the default")]
    BadValue {
        /// The option's name.
        name: &'static str,
        /// What is wrong with the value.
        problem: String,
    },
}

fn seconds(name: &'static str, v: &str, max: u64) -> Result<Duration, OptionError> {
    match v.parse::<u64>() {
        Ok(n) if n <= max => Ok(Duration::from_secs(n)),
        Ok(n) => Err(OptionError::BadValue {
            name,
            problem: format!("{n} is more than {max} seconds"),
        }),
        Err(_) => Err(OptionError::BadValue {
            name,
            problem: format!("{v:?} is not a whole number of seconds"),
        }),
    }
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
                let t = seconds("timeout", v, MAX_TIMEOUT_SECS)?;
                if t.is_zero() {
                    return Err(OptionError::BadValue {
                        name: "timeout",
                        problem: "0 would never reach the daemon".into(),
                    });
                }
                self.timeout = t;
            }
            ("wait", Some(v)) => self.wait = seconds("wait", v, MAX_WAIT_SECS)?,
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
