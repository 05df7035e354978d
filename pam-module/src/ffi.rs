//! The PAM entry points and the libpam handle behind [`PamEnv`].
//!
//! `pam_hooks!` (pam-bindings) generates the exported `extern "C"`
//! functions `pam_sm_*`; they check the handle and arguments and turn any
//! panic into `PAM_ABORT`. Each hook below additionally runs the core inside
//! [`guarded`], which keeps panics silent and logs them. This file holds no
//! `unsafe` block of its own: pam-bindings wraps every libpam call.
// The macro expands to `#[no_mangle]` `extern "C"` functions, which the
// `unsafe_code` lint counts as unsafe.
#![allow(unsafe_code)]

use std::ffi::CStr;

use pam::constants::{
    PamFlag, PamResultCode, PAM_ERROR_MSG, PAM_PROMPT_ECHO_OFF, PAM_PROMPT_ECHO_ON, PAM_SILENT,
    PAM_TEXT_INFO,
};
use pam::conv::Conv;
use pam::items::{RHost, Service, Tty};
use pam::module::{PamHandle, PamHooks};
use pam::pam_hooks;
use syslog::{Facility, Formatter3164, Logger, LoggerBackend};

use crate::core::{self, LogLevel, PamEnv, PamResult};
use crate::guard::guarded;
use crate::sys;

/// The type the generated entry points dispatch to.
pub struct PamElevate;

/// The generated `pam_sm_*` functions. `#[no_mangle]` exports them from
/// the shared object although the module is private.
mod entry {
    use super::PamElevate;

    super::pam_hooks!(PamElevate);
}

/// Which `pam_sm_*` function is running.
#[derive(Clone, Copy)]
enum Phase {
    Account,
    OpenSession,
    CloseSession,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::OpenSession | Self::CloseSession => "session",
        }
    }
}

impl PamHooks for PamElevate {
    fn acct_mgmt(pamh: &mut PamHandle, args: Vec<&CStr>, flags: PamFlag) -> PamResultCode {
        run(pamh, &args, flags, Phase::Account)
    }

    fn sm_open_session(pamh: &mut PamHandle, args: Vec<&CStr>, flags: PamFlag) -> PamResultCode {
        run(pamh, &args, flags, Phase::OpenSession)
    }

    fn sm_close_session(pamh: &mut PamHandle, args: Vec<&CStr>, flags: PamFlag) -> PamResultCode {
        run(pamh, &args, flags, Phase::CloseSession)
    }

    /// This module does not authenticate.
    fn sm_authenticate(_: &mut PamHandle, _: Vec<&CStr>, _: PamFlag) -> PamResultCode {
        PamResultCode::PAM_IGNORE
    }

    /// Nor does it hold credentials.
    fn sm_setcred(_: &mut PamHandle, _: Vec<&CStr>, _: PamFlag) -> PamResultCode {
        PamResultCode::PAM_IGNORE
    }
}

fn run(pamh: &mut PamHandle, args: &[&CStr], flags: PamFlag, phase: Phase) -> PamResultCode {
    let silent = flags & PAM_SILENT != 0;
    let mut h = Handle::new(pamh, phase.name());
    let outcome = guarded(|| {
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let opts = core::options(&mut h, &args);
        match phase {
            Phase::Account => core::account(&mut h, &opts, silent),
            Phase::OpenSession => core::session(&mut h, &opts, true),
            Phase::CloseSession => core::session(&mut h, &opts, false),
        }
    });
    let result = match outcome {
        Ok(r) => r,
        Err(msg) => {
            let _ = guarded(|| {
                h.log(LogLevel::Error, &format!("internal error: {msg}"));
                PamResult::Abort
            });
            PamResult::Abort
        }
    };
    code(result)
}

fn code(r: PamResult) -> PamResultCode {
    match r {
        PamResult::Success => PamResultCode::PAM_SUCCESS,
        PamResult::PermDenied => PamResultCode::PAM_PERM_DENIED,
        PamResult::UserUnknown => PamResultCode::PAM_USER_UNKNOWN,
        PamResult::Ignore => PamResultCode::PAM_IGNORE,
        PamResult::Abort => PamResultCode::PAM_ABORT,
    }
}

/// The libpam handle of one call, and a syslog connection opened on first
/// use.
struct Handle<'a> {
    pamh: &'a mut PamHandle,
    phase: &'static str,
    logger: Option<Logger<LoggerBackend, Formatter3164>>,
}

impl<'a> Handle<'a> {
    fn new(pamh: &'a mut PamHandle, phase: &'static str) -> Self {
        Self {
            pamh,
            phase,
            logger: None,
        }
    }

    fn converse(&mut self, style: pam::constants::PamMessageStyle, text: &str) -> Option<String> {
        let conv = self.pamh.get_item::<Conv>().ok().flatten()?;
        let answer = conv.send(style, text).ok().flatten()?;
        Some(String::from_utf8_lossy(answer.as_bytes()).into_owned())
    }
}

fn text_of(c: &CStr) -> String {
    c.to_string_lossy().into_owned()
}

impl PamEnv for Handle<'_> {
    fn user(&mut self) -> Option<String> {
        self.pamh.get_user(None).ok()
    }

    fn service(&self) -> Option<String> {
        self.pamh
            .get_item::<Service>()
            .ok()
            .flatten()
            .map(|s| text_of(s.0))
    }

    fn rhost(&self) -> Option<String> {
        let h = self
            .pamh
            .get_item::<RHost>()
            .ok()
            .flatten()
            .map(|s| text_of(s.0));
        h.filter(|s| !s.is_empty())
    }

    fn tty(&self) -> Option<String> {
        let t = self
            .pamh
            .get_item::<Tty>()
            .ok()
            .flatten()
            .map(|s| text_of(s.0));
        t.filter(|s| !s.is_empty())
    }

    fn prompt(&mut self, text: &str, echo: bool) -> Option<String> {
        let style = if echo {
            PAM_PROMPT_ECHO_ON
        } else {
            PAM_PROMPT_ECHO_OFF
        };
        self.converse(style, text)
    }

    fn info(&mut self, text: &str) {
        let _ = self.converse(PAM_TEXT_INFO, text);
    }

    fn error(&mut self, text: &str) {
        let _ = self.converse(PAM_ERROR_MSG, text);
    }

    fn is_root(&self, user: &str) -> bool {
        sys::is_root(user)
    }

    fn in_any_group(&self, user: &str, groups: &[String]) -> bool {
        sys::in_any_group(user, groups)
    }

    /// Syslog, facility authpriv, ident `elevated`, each line starting with
    /// `pam_elevate(SERVICE:PHASE)` like other PAM modules' lines. A missing
    /// syslog socket drops the line: never an error for the login.
    fn log(&mut self, level: LogLevel, text: &str) {
        let service = self.service().unwrap_or_else(|| "?".into());
        let line = format!("pam_elevate({service}:{}): {text}", self.phase);
        if self.logger.is_none() {
            let f = Formatter3164 {
                facility: Facility::LOG_AUTHPRIV,
                hostname: None,
                process: "elevated".into(),
                pid: std::process::id(),
            };
            self.logger = syslog::unix(f).ok();
        }
        let Some(logger) = self.logger.as_mut() else {
            return;
        };
        let _ = match level {
            LogLevel::Debug => logger.debug(line),
            LogLevel::Info => logger.info(line),
            LogLevel::Notice => logger.notice(line),
            LogLevel::Warning => logger.warning(line),
            LogLevel::Error => logger.err(line),
        };
    }
}
