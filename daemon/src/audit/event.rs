//! The audit events: one name per kind of thing the daemon records. The
//! names are the ones stored in every audit row (and hashed into its chain
//! link), so a variant's name never changes: a database written by an
//! earlier release must keep verifying, and `elevate audit` readers and
//! the D-Bus signals match on them.

use std::fmt;

/// Declares the enum and its stored names in one list, so that a name can
/// be neither forgotten nor spelt twice.
macro_rules! events {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, )*) => {
        /// What an audit row records (its `event` column).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum AuditEvent {
            $( $(#[$doc])* $variant, )*
        }

        impl AuditEvent {
            /// Every event, in declaration order.
            #[cfg(test)]
            pub const ALL: &'static [AuditEvent] = &[$(AuditEvent::$variant,)*];

            /// The name stored in the audit row.
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self {
                    $( AuditEvent::$variant => $name, )*
                }
            }

            /// The event a stored name stands for; `None` for a name this
            /// release does not know (a newer release wrote it).
            #[must_use]
            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $( $name => Some(AuditEvent::$variant), )*
                    _ => None,
                }
            }
        }
    };
}

events! {
    /// Someone asked for a role (the first row of every request).
    Requested = "requested",
    /// Policy left the request waiting for approval.
    Pending = "pending",
    /// The grant took effect.
    Granted = "granted",
    /// Policy, an approver or a failed re-authentication refused it.
    Denied = "denied",
    /// Allowed, but the host could not be changed.
    GrantFailed = "grant_failed",
    /// Granted (or extended) without approval, to be reviewed.
    BreakGlass = "break_glass",
    /// PAM re-authenticated the requester.
    Reauthenticated = "reauthenticated",
    /// PAM refused the requester's re-authentication.
    ReauthFailed = "reauth_failed",
    /// Too many failed re-authentications: further attempts wait.
    ReauthLocked = "reauth_locked",
    /// An approver approved.
    Approval = "approval",
    /// An approver denied.
    Denial = "denial",
    /// The holder asked for a longer window.
    ExtensionAsked = "extension_asked",
    /// The extension waits for approval.
    ExtensionRequested = "extension_requested",
    /// The window was extended.
    Extended = "extended",
    /// Policy refused the extension outright.
    ExtensionRefused = "extension_refused",
    /// An approver (or policy, re-checked) denied the extension.
    ExtensionDenied = "extension_denied",
    /// The holder withdrew the extension.
    ExtensionCancelled = "extension_cancelled",
    /// Nobody decided on the extension in time.
    ExtensionTimedOut = "extension_timed_out",
    /// A break-glass grant's review was closed.
    Reviewed = "reviewed",
    /// The requester withdrew a pending request.
    Cancelled = "cancelled",
    /// A grant was ended before its window's end.
    Revoked = "revoked",
    /// A grant's window ended.
    Expired = "expired",
    /// Nobody decided on a pending request in time.
    TimedOut = "timed_out",
    /// A group membership was added for a grant.
    GroupAdded = "group_added",
    /// A membership outlived its grant, owed to another one.
    GroupKept = "group_kept",
    /// A grant's membership was taken back.
    GroupRemoved = "group_removed",
    /// A membership's journal row closed without touching the host.
    GroupEnded = "group_ended",
    /// Reconciliation restored a membership an active grant owes.
    ReconcileGroupRestored = "reconcile_group_restored",
    /// Reconciliation re-wrote an altered or missing drop-in.
    ReconcileRewrote = "reconcile_rewrote",
    /// Reconciliation removed a drop-in no grant owns.
    ReconcileRemoved = "reconcile_removed",
    /// Reconciliation found a stored row it cannot read.
    ReconcileBadRow = "reconcile_bad_row",
    /// A reconciliation step failed.
    ReconcileFailed = "reconcile_failed",
    /// Processes that outlived a grant were ended.
    ProcessesEnded = "processes_ended",
    /// Processes outlived a grant (`on_expiry = "warn"`).
    ProcessesOutlived = "processes_outlived",
    /// Looking for what outlived a grant failed.
    ProcessesSweepFailed = "processes_sweep_failed",
    /// A set-gid file of an ended group grant lost its set-gid bit.
    SetgidNeutralised = "setgid_neutralised",
    /// The set-gid scan did not finish.
    SetgidScanIncomplete = "setgid_scan_incomplete",
    /// A login was allowed by a grant.
    LoginAllowed = "login_allowed",
    /// A session opened under a login.
    SessionOpen = "session_open",
    /// A session closed.
    SessionClose = "session_close",
    /// The wall clock stepped against the boot clock.
    ClockStep = "clock_step",
    /// Refused requests of one user, counted over a window.
    RefusalsSummarised = "refusals_summarised",
    /// The database did not match its audit head file at start.
    AuditHeadMismatch = "audit_head_mismatch",
}

impl AuditEvent {
    /// The event that ends a request in `state`: the final states' events
    /// carry the state's name. `None` for a state that is not final.
    #[must_use]
    pub const fn ending_in(state: elevated_proto::RequestState) -> Option<Self> {
        use elevated_proto::RequestState as S;
        match state {
            S::Pending | S::Active => None,
            S::Denied => Some(Self::Denied),
            S::Cancelled => Some(Self::Cancelled),
            S::TimedOut => Some(Self::TimedOut),
            S::Expired => Some(Self::Expired),
            S::Revoked => Some(Self::Revoked),
        }
    }
}

impl fmt::Display for AuditEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use elevated_proto::RequestState;

    #[test]
    fn every_name_is_distinct_and_parses_back() {
        let mut seen = std::collections::BTreeSet::new();
        for e in AuditEvent::ALL {
            assert!(seen.insert(e.name()), "{} twice", e.name());
            assert_eq!(AuditEvent::parse(e.name()), Some(*e));
        }
        assert_eq!(AuditEvent::parse("no_such_event"), None);
    }

    #[test]
    fn the_stored_names_are_those_of_earlier_releases() {
        // Written into every audit row and its hash: renaming one breaks
        // every database that holds it.
        let names: Vec<&str> = AuditEvent::ALL.iter().map(|e| e.name()).collect();
        for old in [
            "requested",
            "pending",
            "granted",
            "denied",
            "grant_failed",
            "break_glass",
            "reauthenticated",
            "reauth_failed",
            "reauth_locked",
            "approval",
            "denial",
            "extension_asked",
            "extension_requested",
            "extended",
            "extension_refused",
            "extension_denied",
            "extension_cancelled",
            "extension_timed_out",
            "reviewed",
            "cancelled",
            "revoked",
            "expired",
            "timed_out",
            "group_added",
            "group_kept",
            "group_removed",
            "group_ended",
            "reconcile_group_restored",
            "reconcile_rewrote",
            "reconcile_removed",
            "reconcile_bad_row",
            "reconcile_failed",
            "processes_ended",
            "processes_outlived",
            "processes_sweep_failed",
            "setgid_neutralised",
            "setgid_scan_incomplete",
            "login_allowed",
            "session_open",
            "session_close",
            "clock_step",
            "refusals_summarised",
            "audit_head_mismatch",
        ] {
            assert!(names.contains(&old), "{old} is no longer an event");
        }
    }

    #[test]
    fn final_states_have_their_events() {
        for (state, event) in [
            (RequestState::Cancelled, AuditEvent::Cancelled),
            (RequestState::Revoked, AuditEvent::Revoked),
            (RequestState::Expired, AuditEvent::Expired),
            (RequestState::TimedOut, AuditEvent::TimedOut),
        ] {
            assert_eq!(AuditEvent::ending_in(state), Some(event));
        }
        assert_eq!(AuditEvent::ending_in(RequestState::Active), None);
    }
}
