//! `elevate extend`: more time on an active grant, decided like a new
//! request (at once, after approval, or refused).

use std::path::Path;
use std::time::SystemTime;

use elevated_proto::{ExtendBy, Request, RequestState, RequestView, Verdict};

use crate::args::ExtendArgs;
use crate::conn::Daemon;
use crate::exit::{self, Failure};
use crate::out::Out;
use crate::render::{self, awaiting};
use crate::wait::{self, Waited};

/// What became of an extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extension {
    /// The window now ends later.
    Granted,
    /// Approval is still awaited.
    Pending,
    /// An approver or the policy said no.
    Refused,
    /// It waited for approval and nobody decided in time.
    TimedOut,
    /// The grant itself is no longer active.
    Ended(RequestState),
}

impl Extension {
    /// The exit status.
    #[must_use]
    pub fn status(self) -> u8 {
        match self {
            Self::Granted => exit::OK,
            Self::Pending | Self::TimedOut => exit::PENDING,
            Self::Refused => exit::REFUSED,
            Self::Ended(state) => exit::for_outcome(state),
        }
    }
}

/// Runs `elevate extend`.
pub fn extend(socket: &Path, args: ExtendArgs, out: &Out) -> Result<u8, Failure> {
    let mut daemon = Daemon::connect(socket)?;
    let before = daemon.call_view(Request::Show {
        id: args.id.clone(),
    })?;
    let view = daemon.call_view(Request::Extend(ExtendBy {
        id: args.id.clone(),
        duration_secs: args.duration,
        reason: args.reason,
    }))?;
    let asked_approval = awaiting(&view);
    let view = if args.no_wait {
        view
    } else {
        match wait::until_decided(socket, daemon, view, out)? {
            Waited::Decided(v) => *v,
            Waited::Stopped(status) => return Ok(status),
        }
    };
    let result = classify(&before, &view, asked_approval);
    let (text, problem) = render::outcome(&view, SystemTime::now());
    if out.json {
        out.json(&view)?;
    } else {
        out.text(&text);
    }
    let id = render::clean(&view.id);
    let note = match result {
        Extension::Granted => None,
        Extension::Pending => Some(format!(
            "the extension of grant {id} is pending approval; check it later with `elevate show {id}`"
        )),
        Extension::Refused => {
            let message = render::clean(&view.message);
            // The daemon's message already says what became of it
            // (`extension refused: ...`, `extension denied by bob`).
            Some(if message.starts_with("extension ") {
                format!("grant {id}: {message}")
            } else if message.is_empty() {
                format!("the extension of grant {id} was refused")
            } else {
                format!("the extension of grant {id} was refused: {message}")
            })
        }
        Extension::TimedOut => Some(format!(
            "the extension of grant {id} timed out: nobody decided in time"
        )),
        Extension::Ended(_) => problem,
    };
    if let Some(n) = note {
        out.note(&n);
    }
    Ok(result.status())
}

/// Compares the grant before and after: a later end means granted; else a
/// denial in the newest round of decisions, or no wait for approval at all,
/// means refused; a wait that ended without either means timed out.
#[must_use]
pub fn classify(before: &RequestView, after: &RequestView, asked_approval: bool) -> Extension {
    if after.state != RequestState::Active {
        return Extension::Ended(after.state);
    }
    if awaiting(after) {
        return Extension::Pending;
    }
    if ends_later(before, after) {
        return Extension::Granted;
    }
    // A denial of this extension is one `before` did not have: the newest
    // decision on record may be about an earlier extension (denied, while
    // this one nobody decided in time).
    let denied = after.approvals.iter().any(|a| {
        a.verdict == Verdict::Deny
            && a.round > 0
            && !before
                .approvals
                .iter()
                .any(|b| b.round == a.round && b.approver == a.approver)
    });
    if denied || !asked_approval {
        Extension::Refused
    } else {
        Extension::TimedOut
    }
}

fn ends_later(before: &RequestView, after: &RequestView) -> bool {
    let end = |v: &RequestView| {
        v.expires_at
            .as_deref()
            .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
    };
    match (end(before), end(after)) {
        (Some(b), Some(a)) => a > b,
        _ => after.expires_at != before.expires_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use elevated_proto::ApprovalView;
    use elevated_testkit::samples::view;

    #[test]
    fn outcomes() {
        let before = view("aaaa1111", "ops", RequestState::Active);
        let mut later = before.clone();
        later.expires_at = Some("2025-01-31T11:00:00Z".into());
        assert_eq!(classify(&before, &later, false), Extension::Granted);
        assert_eq!(classify(&before, &later, true), Extension::Granted);
        let mut pending = before.clone();
        pending.extension_secs = Some(1800);
        assert_eq!(classify(&before, &pending, true), Extension::Pending);
        assert_eq!(Extension::Pending.status(), 3);
        assert_eq!(classify(&before, &before, false), Extension::Refused);
        assert_eq!(classify(&before, &before, true), Extension::TimedOut);
        let mut denied = before.clone();
        denied.approvals = vec![ApprovalView {
            approver: "user:bob".into(),
            verdict: Verdict::Deny,
            comment: None,
            key: None,
            at: "2025-01-31T10:10:00Z".into(),
            round: 1,
        }];
        assert_eq!(classify(&before, &denied, true), Extension::Refused);
        assert_eq!(Extension::Refused.status(), 1);
        // An earlier extension was denied; this one nobody decided.
        assert_eq!(classify(&denied, &denied, true), Extension::TimedOut);
        assert_eq!(Extension::TimedOut.status(), 3);
        let expired = view("aaaa1111", "ops", RequestState::Expired);
        assert_eq!(
            classify(&before, &expired, true),
            Extension::Ended(RequestState::Expired)
        );
        assert_eq!(Extension::Granted.status(), 0);
    }
}
