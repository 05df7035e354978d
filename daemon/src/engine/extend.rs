//! Extending an active grant: decided by the same rules as a new request,
//! possibly needing approval again. The drop-in's NOTAFTER moves only when
//! the extension is granted.

use crate::audit::event::AuditEvent;
use std::time::Duration;

use elevated_proto::{GrantId, RequestState, Response};
use jiff::Timestamp;
use serde_json::json;

use super::request::{check_text, decision_detail, install, Reauth};
use super::view::rfc3339;
use super::{ms, Engine, EngineError, Outcome, Peer, State};
use crate::policy::{decide, Decision};
use crate::store::{audit, requests, RequestRow, StoreError};
use crate::times::human_secs;
use crate::times::{duration_ms, secs_ms};

impl Engine {
    /// Moves the end of `row` by its pending extension and re-writes the
    /// drop-in. The caller commits the row.
    pub(super) fn apply_extension(
        &self,
        st: &State,
        row: &mut RequestRow,
    ) -> Result<(), EngineError> {
        let (Some(ext), Some(start), Some(end)) = (row.ext_secs, row.starts_at, row.expires_at)
        else {
            return Ok(());
        };
        // Taken away already, its end waiting for the store: an extension
        // would put back what was taken.
        if super::unrecorded::pending(st, &row.id) {
            return Err(EngineError::BadRequest(format!(
                "grant {} has ended on this host; its end is still being recorded",
                row.id
            )));
        }
        let new_end = end + secs_ms(ext);
        row.expires_at = Some(new_end);
        row.duration_secs = u64::try_from((new_end - start) / 1000).unwrap_or(row.duration_secs);
        row.ext_secs = None;
        row.ext_until = None;
        row.warned = false;
        row.message = format!("extended by {} until {}", human_secs(ext), rfc3339(new_end));
        install(st, row)
    }

    pub(super) fn extend(
        &self,
        peer: &Peer,
        id: &GrantId,
        duration_secs: u64,
        reason: Option<String>,
        reauth: Reauth,
        now: Timestamp,
    ) -> Result<Outcome, EngineError> {
        let bad = |m: String| EngineError::BadRequest(m);
        let cfg = self.config();
        let reason = check_text("reason", reason, cfg.settings.limits.max_text)?;
        let row = self.visible(peer, id)?;
        if row.uid != peer.uid {
            return Err(EngineError::Forbidden(format!(
                "only {} can extend request {id}; they ask for it themselves",
                row.user
            )));
        }
        if row.state != RequestState::Active {
            return Err(bad(format!(
                "request {id} is {}; only an active grant can be extended",
                row.state
            )));
        }
        if row.command.is_some() {
            return Err(bad(
                "a just-in-time action cannot be extended; request it again".into(),
            ));
        }
        if row.ext_secs.is_some() {
            return Err(bad(format!(
                "request {id} already has an extension waiting for approval"
            )));
        }
        if duration_secs == 0 {
            return Err(bad("duration must be at least one second".into()));
        }
        let (Some(end), Ok(role)) = (row.expires_at, elevated_proto::RoleName::parse(&row.role))
        else {
            return Err(bad(format!("request {id} has no window to extend")));
        };
        let now_ms = ms(now);
        // A window that has ended is over even while the timer has not yet
        // taken it back: extending it would hand out a grant that no longer
        // exists, without a new request's decision.
        if end <= now_ms {
            return Err(bad(format!(
                "request {id} ended at {}; request the role again",
                rfc3339(end)
            )));
        }
        let subject = self.subject(peer)?;
        let requested = Duration::from_secs(duration_secs);
        let allowed = match decide(
            &cfg.policy,
            &subject,
            &cfg.host,
            &role,
            Some(requested),
            now,
        ) {
            Decision::Deny(d) => {
                let detail =
                    json!({"extend_by": duration_secs, "message": d.message, "rule": d.rule});
                let why = format!("extension refused: {}", d.message);
                return self.refused(&row, peer.name()?, detail, why, now_ms);
            }
            Decision::Allow(a) => a,
        };
        // The rule that decides the extension asks for what it asks of a
        // new request: a reason, re-authentication.
        if allowed.approval.reason && reason.is_none() {
            return Err(bad(format!(
                "{} requires a reason to extend; give one with --reason",
                allowed.rule
            )));
        }
        let needs_reauth =
            allowed.approval.reauth || cfg.policy.roles.get(&role).is_some_and(|r| r.reauth);
        if needs_reauth {
            // Bounded per user and per grant, before PAM runs and after.
            let standing = self.reauth_check(peer.uid, Some(id), now_ms);
            match reauth {
                Reauth::NotTried => {
                    standing?;
                    return Ok(Outcome::NeedsReauth);
                }
                Reauth::Failed(why) => {
                    let detail =
                        json!({"service": "elevate", "error": why, "extend_by": duration_secs});
                    let lock = standing.as_ref().ok().cloned().flatten();
                    self.audit_reauth_failure(&row, peer.name()?, &detail, lock.as_ref(), now_ms)?;
                    standing?;
                    let more = lock.map_or_else(String::new, |l| {
                        format!(
                            "; too many failures, no further attempt before {}",
                            l["until"].as_str().unwrap_or("the window ends")
                        )
                    });
                    return Err(EngineError::Forbidden(format!(
                        "re-authentication failed: {why}{more}"
                    )));
                }
                Reauth::Passed => standing.map(|_| ())?,
            }
        }
        // The window may not reach further from now than a new grant could.
        let cap = cfg
            .policy
            .roles
            .get(&role)
            .map_or(cfg.host.max_duration, |r| {
                r.max_duration.min(cfg.host.max_duration)
            });
        let new_end = (end + duration_ms(allowed.duration)).min(now_ms + duration_ms(cap));
        let ext = u64::try_from((new_end - end) / 1000).unwrap_or(0);
        if ext == 0 {
            let why = format!(
                "extension refused: request {id} already runs as long as role {role} allows \
                 from now ({})",
                humantime::format_duration(cap)
            );
            let detail = json!({"extend_by": duration_secs, "message": why});
            return self.refused(&row, peer.name()?, detail, why, now_ms);
        }
        let requested_detail = json!({"extend_by": duration_secs, "granted_secs": ext,
                                      "reason": reason, "rule": allowed.rule});
        self.between_read_and_lock();
        // NSS before the lock (see `Peer::account`).
        let asker = peer.name()?;
        let mut st = self.lock();
        // Decided on the row as read above: it must not have ended or been
        // extended meanwhile.
        let mut row = super::view::still_as_seen(&st, &row)?;
        row.ext_secs = Some(ext);
        // An extension a break-glass rule grants is itself break-glass: it
        // is announced and needs a review of its own, like the grant.
        let glass = allowed.approval.count == 0 && allowed.approval.break_glass;
        let (event, actor) = if allowed.approval.count == 0 {
            self.apply_extension(&st, &mut row)?;
            if glass {
                row.break_glass = true;
                row.approval = allowed.approval.clone();
                row.reviewed_by = None;
                row.reviewed_at = None;
            }
            (AuditEvent::Extended, "policy")
        } else {
            row.round += 1;
            row.approval = allowed.approval.clone();
            let ttl = allowed
                .approval
                .timeout
                .unwrap_or(cfg.settings.requests.pending_ttl);
            row.ext_until = Some((now_ms + duration_ms(ttl)).min(end));
            row.message = format!(
                "extension by {} waiting for approval; {}",
                human_secs(ext),
                allowed.message()
            );
            (AuditEvent::ExtensionRequested, "policy")
        };
        let rid = id.to_string();
        let detail = decision_detail(&row);
        let rows = st.store.tx(|tx| {
            requests::update(tx, &row)?;
            let a = audit::append(
                tx,
                now_ms,
                AuditEvent::ExtensionAsked,
                asker,
                Some(&rid),
                &requested_detail,
            )?;
            let b = audit::append(tx, now_ms, event, actor, Some(&rid), &detail)?;
            let mut out = vec![a, b];
            if glass {
                let review = json!({"review": "required", "extend_by": ext});
                out.push(audit::append(
                    tx,
                    now_ms,
                    AuditEvent::BreakGlass,
                    actor,
                    Some(&rid),
                    &review,
                )?);
            }
            Ok::<_, StoreError>(out)
        })?;
        st.deadlines.retain(|(_, d)| d != id);
        self.schedule(&mut st, &row);
        let view = self.view_of(&st, &row, now_ms)?;
        drop(st);
        self.after_commit(&rows);
        if event == AuditEvent::ExtensionRequested || glass {
            self.notify_row(&row, now_ms);
        }
        Ok(Outcome::Done(Response::Request { request: view }))
    }

    /// An extension refused before anything changed: audited
    /// (`extension_refused`, by `actor`), and answered with the grant as it
    /// stands (so the requester sees what they still have) with why in its
    /// message. Not stored: the grant's own message stays.
    fn refused(
        &self,
        row: &RequestRow,
        actor: &str,
        detail: serde_json::Value,
        why: String,
        now_ms: i64,
    ) -> Result<Outcome, EngineError> {
        let rid = row.id.to_string();
        let event = AuditEvent::ExtensionRefused;
        let mut st = self.lock();
        let a = st
            .store
            .tx(|tx| audit::append(tx, now_ms, event, actor, Some(&rid), &detail))?;
        drop(st);
        self.after_commit(&[a]);
        let mut request = self.read(|conn| {
            let now = requests::get(conn, &row.id)?.unwrap_or_else(|| row.clone());
            super::view::view_in(conn, &now, now_ms)
        })?;
        request.message = why;
        Ok(Outcome::Done(Response::Request { request }))
    }
}
