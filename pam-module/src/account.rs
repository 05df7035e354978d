//! The account phase: may this user log in here now?
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use elevated_proto::{LoginQuery, LoginVerdict, RequestState, RequestView, MAX_TEXT};

use crate::core::{debug, LogLevel, PamEnv, PamResult, Screen};
use crate::daemon::{CallError, Daemon, Deadline, LoginAnswer};
use crate::options::{FailMode, Options};

/// The message a user sees when the module fails closed.
pub const NOT_ANSWERING: &str = "elevated is not answering; login denied";

/// Longest single `Wait` call while a request is pending.
const WAIT_STEP: Duration = Duration::from_secs(2);

/// Who is logging in, and from where.
struct Login {
    user: String,
    service: String,
    rhost: Option<String>,
    tty: Option<String>,
}

impl Login {
    fn question(
        &self,
        role: Option<&elevated_proto::RoleName>,
        reason: Option<String>,
    ) -> elevated_proto::Request {
        elevated_proto::Request::Login(LoginQuery {
            user: self.user.clone(),
            service: self.service.clone(),
            rhost: self.rhost.clone(),
            tty: self.tty.clone(),
            request_role: role.cloned(),
            reason,
        })
    }
}

/// One account check, with everything it needs.
struct Check<'a, E: PamEnv> {
    env: &'a mut E,
    opts: &'a Options,
    screen: Screen,
    login: Login,
    daemon: Daemon<'a>,
    deadline: Deadline,
}

/// `pam_sm_acct_mgmt`: asks the daemon whether the user may log in, files
/// a request with `request=`, waits up to `wait=` for it to be decided, and
/// falls back to `fail=` (after root and `exempt_groups=`) when the daemon
/// cannot answer. `silent` is `PAM_SILENT`.
pub fn account<E: PamEnv>(env: &mut E, opts: &Options, silent: bool) -> PamResult {
    let Some(user) = env.user().filter(|u| !u.is_empty()) else {
        env.log(LogLevel::Error, "PAM gave no user name");
        return PamResult::UserUnknown;
    };
    // Never lock out root, and never make root wait for the daemon.
    if env.is_root(&user) {
        debug(env, opts, "root is always allowed");
        return PamResult::Success;
    }
    let login = Login {
        user,
        service: env.service().unwrap_or_else(|| "unknown".into()),
        rhost: env.rhost(),
        tty: env.tty(),
    };
    let mut check = Check {
        env,
        opts,
        screen: Screen { silent },
        login,
        daemon: Daemon::new(&opts.socket, opts.timeout),
        deadline: Deadline::after(opts.timeout + opts.wait),
    };
    check.run()
}

impl<E: PamEnv> Check<'_, E> {
    fn run(&mut self) -> PamResult {
        let first = match self.ask(None, None) {
            Ok(a) => a,
            Err(e) => return self.unanswered(&e),
        };
        match (first.verdict, &self.opts.request) {
            (LoginVerdict::Allow, _) => self.allow(&first),
            (LoginVerdict::Pending, _) => self.pending(first),
            (LoginVerdict::Deny, None) => self.deny(&first.message),
            (LoginVerdict::Deny, Some(role)) => {
                let role = role.clone();
                let reason = self.reason(&role);
                match self.ask(Some(&role), reason) {
                    Ok(a) if a.verdict == LoginVerdict::Allow => self.allow(&a),
                    Ok(a) if a.verdict == LoginVerdict::Pending => self.pending(a),
                    Ok(a) => self.deny(&a.message),
                    Err(e) => self.unanswered(&e),
                }
            }
        }
    }

    fn ask(
        &mut self,
        role: Option<&elevated_proto::RoleName>,
        reason: Option<String>,
    ) -> Result<LoginAnswer, CallError> {
        let q = self.login.question(role, reason);
        let a = self.daemon.login(q, &self.deadline)?;
        let text = format!(
            "daemon says {:?} for {}: {}",
            a.verdict, self.login.user, a.message
        );
        debug(self.env, self.opts, &text);
        Ok(a)
    }

    /// Asks the user why they log in; the time they take to answer does
    /// not count against the module's budget.
    fn reason(&mut self, role: &elevated_proto::RoleName) -> Option<String> {
        if self.screen.silent {
            return None;
        }
        self.daemon.hang_up();
        let started = Instant::now();
        let text = format!("Reason for this login (a request for role {role}): ");
        let answer = self.env.prompt(&text, true);
        self.deadline.extend(started.elapsed());
        let mut reason = answer?.trim().to_owned();
        if reason.len() > MAX_TEXT {
            let mut cut = MAX_TEXT;
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            reason.truncate(cut);
        }
        (!reason.is_empty()).then_some(reason)
    }

    fn allow(&mut self, a: &LoginAnswer) -> PamResult {
        let text = format!("login of {} allowed: {}", self.login.user, a.message);
        self.env.log(LogLevel::Info, &text);
        PamResult::Success
    }

    fn deny(&mut self, message: &str) -> PamResult {
        let text = format!("login of {} denied: {message}", self.login.user);
        self.env.log(LogLevel::Notice, &text);
        self.screen.error(self.env, message);
        PamResult::PermDenied
    }

    /// A request is waiting for approval: say so, wait for a decision up to
    /// `wait=`, then ask again.
    fn pending(&mut self, a: LoginAnswer) -> PamResult {
        let Some(view) = a.request else {
            return self.deny(&a.message);
        };
        let approvers = view.approvers.as_deref().unwrap_or("an approver");
        let mut text = format!(
            "Request {} for role {} is waiting for approval by {approvers}",
            view.id, view.role
        );
        if let Some(until) = &view.pending_until {
            text.push_str(&format!(" (until {until})"));
        }
        text.push('.');
        self.screen.info(self.env, &text);
        if self.opts.wait.is_zero() {
            return self.deny(&format!(
                "Login denied while request {} is pending; log in again once it is approved.",
                view.id
            ));
        }
        self.screen.info(
            self.env,
            &format!(
                "Waiting up to {} for a decision...",
                seconds(self.opts.wait)
            ),
        );
        let last = self.wait_for(view);
        match self.ask(None, None) {
            Ok(a) if a.verdict == LoginVerdict::Allow => self.allow(&a),
            Ok(a) => match last.state {
                RequestState::Pending => self.deny(&format!(
                    "Request {} is still waiting for approval; log in again once it is approved.",
                    last.id
                )),
                RequestState::Active => self.deny(&a.message),
                state => {
                    let msg = format!("Request {} is {state}: {}", last.id, last.message);
                    self.deny(&msg)
                }
            },
            Err(e) => self.unanswered(&e),
        }
    }

    /// Polls the request in short steps until it leaves `pending` or the
    /// wait ends; returns the last view seen.
    fn wait_for(&mut self, mut view: RequestView) -> RequestView {
        // Keep time for the final question within the overall deadline.
        let reserve = self.opts.timeout.min(WAIT_STEP);
        let latest = self
            .deadline
            .at()
            .checked_sub(reserve)
            .unwrap_or(self.deadline.at());
        let end = (Instant::now() + self.opts.wait).min(latest);
        while view.state == RequestState::Pending {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let step = left.min(WAIT_STEP);
            match self.daemon.wait(&view.id, step, &self.deadline) {
                Ok(v) => view = v,
                Err(e) => {
                    let text = format!("waiting on request {} failed: {e}", view.id);
                    self.env.log(LogLevel::Warning, &text);
                    break;
                }
            }
        }
        debug(
            self.env,
            self.opts,
            &format!("request {} is {}", view.id, view.state),
        );
        view
    }

    /// The daemon gave no usable answer: root was handled before, so
    /// `exempt_groups=` then `fail=` decide.
    fn unanswered(&mut self, e: &CallError) -> PamResult {
        let user = self.login.user.clone();
        let text = format!("no answer from elevated about {user}: {e}");
        self.env.log(LogLevel::Warning, &text);
        let groups = &self.opts.exempt_groups;
        if !groups.is_empty() && self.env.in_any_group(&user, groups) {
            let text = format!("{user} allowed: member of an exempt group");
            self.env.log(LogLevel::Notice, &text);
            return PamResult::Success;
        }
        match self.opts.fail {
            FailMode::Open => {
                let text = format!("{user} allowed: fail=open");
                self.env.log(LogLevel::Notice, &text);
                PamResult::Success
            }
            FailMode::Closed => {
                self.screen.error(self.env, NOT_ANSWERING);
                PamResult::PermDenied
            }
        }
    }
}

/// `1 second`, `30 seconds`.
fn seconds(d: Duration) -> String {
    match d.as_secs() {
        1 => "1 second".to_owned(),
        n => format!("{n} seconds"),
    }
}
