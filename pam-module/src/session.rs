//! The session phase: tell the daemon a session opened or closed, for its
//! audit log. A session never fails because of the daemon.
#![forbid(unsafe_code)]

use elevated_proto::{Request, Response, SessionEvent};

use crate::core::{debug, LogLevel, PamEnv, PamResult};
use crate::daemon::{Daemon, Deadline};
use crate::options::Options;

/// `pam_sm_open_session` (`open`) and `pam_sm_close_session`: reports the
/// session; `Success` when the daemon recorded it, `Ignore` otherwise.
pub fn session<E: PamEnv>(env: &mut E, opts: &Options, open: bool) -> PamResult {
    let Some(user) = env.user().filter(|u| !u.is_empty()) else {
        return PamResult::Ignore;
    };
    let request = Request::Session(SessionEvent {
        user,
        service: env.service().unwrap_or_else(|| "unknown".into()),
        open,
        rhost: env.rhost(),
        tty: env.tty(),
    });
    let deadline = Deadline::after(opts.timeout);
    let mut daemon = Daemon::new(&opts.socket, opts.timeout);
    match daemon.call(request, opts.timeout, &deadline) {
        Ok(Response::Login { message, .. }) => {
            debug(env, opts, &message);
            PamResult::Success
        }
        Ok(_) => {
            env.log(LogLevel::Warning, "session not recorded: unexpected answer");
            PamResult::Ignore
        }
        Err(e) => {
            env.log(LogLevel::Warning, &format!("session not recorded: {e}"));
            PamResult::Ignore
        }
    }
}
