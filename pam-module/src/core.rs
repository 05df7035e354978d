//! What the module decides, independent of libpam: a small trait for the
//! PAM handle, the result codes, and the entry points the FFI layer calls.
#![forbid(unsafe_code)]

use crate::options::Options;

pub use crate::account::account;
pub use crate::session::session;

/// The PAM return codes this module gives, converted to libpam's numbers
/// by the FFI layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PamResult {
    /// `PAM_SUCCESS`: the login may go on.
    Success,
    /// `PAM_PERM_DENIED`: no login access now, or the daemon could not
    /// answer and the module fails closed.
    PermDenied,
    /// `PAM_USER_UNKNOWN`: PAM could not tell which user is logging in.
    UserUnknown,
    /// `PAM_IGNORE`: this module has nothing to say (authentication,
    /// credentials, or a session the daemon could not record).
    Ignore,
    /// `PAM_ABORT`: an internal failure; the stack stops.
    Abort,
}

/// Syslog severities used by the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Only logged with the `debug` option.
    Debug,
    /// A decision worth keeping.
    Info,
    /// Something an admin should see: fail-open, exemptions used.
    Notice,
    /// The daemon did not answer or answered nonsense.
    Warning,
    /// The module itself failed.
    Error,
}

/// The PAM handle as the core sees it. The FFI layer implements it over
/// libpam; tests implement it with a script.
pub trait PamEnv {
    /// The user logging in (`PAM_USER`), if PAM knows one.
    fn user(&mut self) -> Option<String>;
    /// The service (`PAM_SERVICE`).
    fn service(&self) -> Option<String>;
    /// The remote host (`PAM_RHOST`).
    fn rhost(&self) -> Option<String>;
    /// The terminal (`PAM_TTY`).
    fn tty(&self) -> Option<String>;
    /// Asks the user through the conversation, with or without echo.
    /// `None` when there is no conversation or it failed.
    fn prompt(&mut self, text: &str, echo: bool) -> Option<String>;
    /// Shows an informational message (no-op without a conversation).
    fn info(&mut self, text: &str);
    /// Shows an error message (no-op without a conversation).
    fn error(&mut self, text: &str);
    /// Whether `user` is root (the name `root` or uid 0).
    fn is_root(&self, user: &str) -> bool;
    /// Whether `user` is a member (primary or supplementary) of any of
    /// `groups`, from the local user database.
    fn in_any_group(&self, user: &str, groups: &[String]) -> bool;
    /// Writes a line to the log. The implementation adds the module name,
    /// service and phase.
    fn log(&mut self, level: LogLevel, text: &str);
}

/// Parses the module arguments and logs the ones that were ignored.
pub fn options<E: PamEnv, S: AsRef<str>>(env: &mut E, args: &[S]) -> Options {
    let (opts, problems) = Options::parse(args);
    // At error level: a mistyped option changes how logins are decided
    // (its default applies), which an administrator must not miss.
    for p in problems {
        env.log(LogLevel::Error, &p.to_string());
    }
    opts
}

/// Logs `text` at debug level when the `debug` option is on.
pub(crate) fn debug<E: PamEnv>(env: &mut E, opts: &Options, text: &str) {
    if opts.debug {
        env.log(LogLevel::Debug, text);
    }
}

/// The messages shown to the user, unless PAM_SILENT.
pub(crate) struct Screen {
    /// `PAM_SILENT` was given.
    pub silent: bool,
}

impl Screen {
    pub(crate) fn info<E: PamEnv>(&self, env: &mut E, text: &str) {
        if !self.silent {
            env.info(text);
        }
    }

    pub(crate) fn error<E: PamEnv>(&self, env: &mut E, text: &str) {
        if !self.silent {
            env.error(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::ScriptEnv;
    use std::time::Duration;

    #[test]
    fn an_ignored_option_is_logged_as_an_error() {
        let mut env = ScriptEnv::new("alice", vec![]);
        let o = options(&mut env, &["wait=2x", "timeout=3s", "fial=open"]);
        assert_eq!(o.wait, Duration::ZERO);
        assert_eq!(o.timeout, Duration::from_secs(3));
        assert!(
            env.logged(LogLevel::Error, "option wait: \"2x\" is not a duration"),
            "{:?}",
            env.logs
        );
        assert!(
            env.logged(LogLevel::Error, "unknown option \"fial=open\" ignored"),
            "{:?}",
            env.logs
        );
    }
}
