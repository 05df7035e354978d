//! Approvers' decisions: local (the socket peer) or remote (an SSH signature
//! over the request's decision text), N-of-M, and break-glass review.

use crate::audit::event::AuditEvent;
use elevated_proto::{GrantId, RequestState, Response, Verdict};
use jiff::Timestamp;
use serde_json::json;

use super::request::{activate, check_text, decision_detail};
use super::text::with_comment;
use super::view::{describe_approvers, rfc3339};
use super::votes::{self, Twice};
use super::{ms, Engine, EngineError, Peer};
use crate::approval::sshsig::Verified;
use crate::policy::Approvers;
use crate::store::approvals::{self, ApprovalRow};
use crate::store::{audit, requests, RequestRow, StoreError};

/// The exact text a remote approver signs. It binds the decision, the
/// request id, the round (0: the request, n: its n-th extension), the host,
/// the requester, the role, the window (or the extension), the command
/// line of an action and the rights the grant gives (run-as user,
/// commands, password, groups, login: those stored with the request, which
/// are what activation applies), and it stops being valid when the
/// decision window closes, so a signature cannot be replayed for another
/// request, host, requester, duration, round, time or set of rights.
#[must_use]
pub fn decision_text(row: &RequestRow, verdict: Verdict) -> String {
    let (what, secs, until) = match row.ext_secs {
        Some(ext) if row.state == RequestState::Active => ("extend-by", ext, row.ext_until),
        _ => ("duration", row.duration_secs, row.pending_until),
    };
    let command = row
        .command
        .as_ref()
        .map_or_else(|| "-".to_owned(), |c| serde_json::json!(c).to_string());
    format!(
        "elevated decision v2\n\
         decision: {verdict}\n\
         request: {id}\n\
         round: {round}\n\
         host: {host}\n\
         requester: {user} (uid {uid})\n\
         role: {role}\n\
         {what}: {secs}s\n\
         command: {command}\n\
         {rights}\
         valid-until: {until}\n",
        verdict = verdict.as_str(),
        id = row.id,
        round = row.round,
        host = row.host,
        user = row.user,
        uid = row.uid,
        role = row.role,
        rights = super::rights::text_lines(&row.grant),
        until = until.map_or_else(|| "-".to_owned(), rfc3339),
    )
}

impl Engine {
    /// Whether `peer` is a local approver listed for `row` (never its
    /// requester). Root is an approver only if the approvers name it.
    pub(super) fn is_approver_of(&self, peer: &Peer, row: &RequestRow) -> bool {
        row.uid != peer.uid && self.matches_approvers(peer, &row.approval.approvers)
    }

    pub(super) fn matches_approvers(&self, peer: &Peer, a: &Approvers) -> bool {
        // Without an account nobody can be matched: not an approver.
        let Ok(account) = peer.account() else {
            return false;
        };
        let name = account.name.as_str();
        if a.users.iter().any(|u| u.as_str() == name) {
            return true;
        }
        if a.groups.iter().any(|g| account.groups.contains(g.as_str())) {
            return true;
        }
        if a.attributes.is_empty() {
            return false;
        }
        let mine = self.config().attributes_of(name);
        a.attributes.iter().all(|(key, wanted)| {
            mine.get(key)
                .is_some_and(|have| have.iter().any(|v| wanted.contains(v)))
        })
    }

    pub(super) fn decision_text_for(
        &self,
        peer: &Peer,
        id: &GrantId,
        verdict: Verdict,
    ) -> Result<Response, EngineError> {
        let row = self.visible(peer, id)?;
        if row.state != RequestState::Pending && row.ext_secs.is_none() {
            return Err(EngineError::BadRequest(format!(
                "request {id} is {}; there is nothing to decide",
                row.state
            )));
        }
        Ok(Response::Text {
            text: decision_text(&row, verdict),
        })
    }

    /// Identifies who decides: the verified signer, or the local peer.
    fn decider(
        &self,
        peer: &Peer,
        row: &RequestRow,
        verified: Option<&Verified>,
    ) -> Result<(String, Option<String>), EngineError> {
        let forbid = |m: String| EngineError::Forbidden(m);
        if let Some(v) = verified {
            return self.signer_of(row, v);
        }
        if peer.uid == row.uid {
            return Err(forbid("nobody approves or denies their own request".into()));
        }
        if !self.matches_approvers(peer, &row.approval.approvers) {
            return Err(forbid(format!(
                "you are not among the approvers of request {} ({})",
                row.id,
                describe_approvers(&row.approval.approvers)
            )));
        }
        Ok((format!("user:{}", peer.name()?), None))
    }

    /// Whether `row` has something to decide at `now_ms`: `Ok(true)` for a
    /// pending extension, `Ok(false)` for a pending request.
    fn decidable(row: &RequestRow, now_ms: i64) -> Result<bool, EngineError> {
        let id = &row.id;
        let extension = row.state == RequestState::Active && row.ext_secs.is_some();
        let deadline = match row.state {
            RequestState::Pending => row.pending_until,
            RequestState::Active if extension => row.ext_until,
            s => {
                return Err(EngineError::BadRequest(format!(
                    "request {id} is {s}; there is nothing to decide"
                )))
            }
        };
        if deadline.is_some_and(|d| d <= now_ms) {
            return Err(EngineError::BadRequest(format!(
                "the time to decide on request {id} ended at {}",
                deadline.map(rfc3339).unwrap_or_default()
            )));
        }
        Ok(extension)
    }

    /// An approval or denial of a pending request or a pending extension.
    pub(super) fn decide_on(
        &self,
        peer: &Peer,
        id: &GrantId,
        verdict: Verdict,
        comment: Option<String>,
        signature: Option<String>,
        now: Timestamp,
    ) -> Result<Response, EngineError> {
        let cfg = self.config();
        let max_text = cfg.settings.limits.max_text;
        let comment = check_text("comment", comment, max_text)?;
        let now_ms = ms(now);
        let row = {
            let st = self.lock();
            requests::get(st.store.conn(), id)?
        };
        let hidden = || EngineError::NotFound(format!("no request {id} visible to you"));
        let Some(seen) = row else {
            return Err(hidden());
        };
        // Anyone may submit a signature, so anyone can name any id here.
        // Until a signature over this request's text has verified, a caller
        // who cannot already see the request gets exactly the answer for an
        // unknown id, whatever went wrong: no state, deadline or signature
        // error tells them that the id exists.
        let sees = peer.is_root() || seen.uid == peer.uid || self.is_approver_of(peer, &seen);
        let checked = match signature.as_deref() {
            None if !sees => Err(hidden()),
            None => Self::decidable(&seen, now_ms).map(|ext| (ext, None)),
            Some(sig) => Self::decidable(&seen, now_ms)
                .and_then(|ext| Ok((ext, Some(self.verify_signed(&seen, verdict, sig, now)?)))),
        };
        let (extension, verified) = checked.map_err(|e| if sees { e } else { hidden() })?;
        let (approver, key) = self.decider(peer, &seen, verified.as_ref())?;
        // This decision may make the request active: policy is then decided
        // again for the requester, looked up now (NSS, before the lock).
        let requester = self.requester_now(&seen);

        self.between_read_and_lock();
        let mut st = self.lock();
        // Two approvers at once, or an approval racing a cancellation or
        // the timer: only the first decision counts on a row as seen.
        let mut row = super::view::still_as_seen(&st, &seen)?;
        let earlier = approvals::of(st.store.conn(), id.as_str())?;
        let round: Vec<&ApprovalRow> = earlier.iter().filter(|a| a.round == row.round).collect();
        // One person, one vote: a mapped principal and its account are one
        // person, and one key is one vote whichever principal it signs as.
        let map = &cfg.principals;
        match votes::decided_before(&round, &approver, key.as_deref(), map) {
            Some(Twice::Person { person, earlier }) => {
                return Err(EngineError::BadRequest(format!(
                    "{person} already decided request {id} (as {earlier}); each person \
                     counts once, locally or by signature"
                )))
            }
            Some(Twice::Key { key, earlier }) => {
                return Err(EngineError::BadRequest(format!(
                    "key {key} already decided request {id} (as {earlier}); each key counts once"
                )))
            }
            None => {}
        }
        let person = votes::person_of(&approver, map);
        let tally = votes::tally(
            round
                .iter()
                .map(|a| (a.approver.as_str(), a.verdict))
                .chain([(approver.as_str(), verdict)]),
            &row.user,
            map,
        );
        let approvals_now = tally.approvals;
        let denials_now = tally.denials;
        let decision = ApprovalRow {
            round: row.round,
            approver: approver.clone(),
            verdict,
            comment: comment.clone(),
            key: key.clone(),
            at: now_ms,
        };
        let deny_count = usize::try_from(row.approval.deny_count.max(1)).unwrap_or(1);
        let needed = usize::try_from(row.approval.count).unwrap_or(usize::MAX);
        let by = approver
            .trim_start_matches("user:")
            .trim_start_matches("principal:")
            .to_owned();
        let mut closing: Option<(AuditEvent, serde_json::Value)> = None;
        // Why policy, re-checked at activation, refused what the approvals
        // would have granted.
        let mut refused: Option<String> = None;
        if denials_now >= deny_count {
            if extension {
                row.ext_secs = None;
                row.ext_until = None;
                row.message = with_comment(format!("extension denied by {by}"), comment.as_deref());
                closing = Some((AuditEvent::ExtensionDenied, json!({"by": approver})));
            } else {
                row.state = RequestState::Denied;
                row.decided_at = Some(now_ms);
                row.ended_at = Some(now_ms);
                row.pending_until = None;
                row.message = with_comment(format!("denied by {by}"), comment.as_deref());
                closing = Some((AuditEvent::Denied, decision_detail(&row)));
            }
        } else if approvals_now >= needed {
            // Approving never bypasses policy: the requester must still be
            // allowed, and the role must still give the rights the
            // approvers saw, at the moment the grant would take effect.
            match super::recheck::still_allowed(&cfg, &requester, &row, now) {
                Err(why) => {
                    closing = Some(super::recheck::refuse(&mut row, extension, &why, now_ms));
                    refused = Some(why);
                }
                Ok(_) if extension => {
                    self.apply_extension(&st, &mut row)?;
                    closing = Some((AuditEvent::Extended, decision_detail(&row)));
                }
                Ok(allowed) => {
                    // A maximum lowered since: the shorter window.
                    row.duration_secs = row.duration_secs.min(allowed.duration.as_secs());
                    activate(&mut st, &mut row, now_ms)?;
                    row.message = format!(
                        "approved by {approvals_now} of {needed}; granted until {}",
                        row.expires_at.map(rfc3339).unwrap_or_default()
                    );
                    closing = Some((AuditEvent::Granted, decision_detail(&row)));
                }
            }
        }
        let rid = id.to_string();
        let detail = json!({
            "verdict": verdict.as_str(), "approver": approver, "comment": comment, "key": key,
            "round": row.round, "via": if key.is_some() { "ssh-signature" } else { "local" },
            "person": person,
            "uid": peer.uid, "pid": peer.pid,
            "approvals": approvals_now, "needed": needed,
        });
        let event = match verdict {
            Verdict::Approve => AuditEvent::Approval,
            Verdict::Deny => AuditEvent::Denial,
        };
        let result = st.store.tx(|tx| {
            if !approvals::insert(tx, &rid, &decision)? {
                return Err(StoreError::Corrupt {
                    what: "approvals".into(),
                    detail: format!("{approver} decided {rid} twice at once"),
                });
            }
            requests::update(tx, &row)?;
            let mut out = vec![audit::append(
                tx,
                now_ms,
                event,
                &approver,
                Some(&rid),
                &detail,
            )?];
            if let Some((ev, d)) = &closing {
                let actor = refused.as_ref().map_or(approver.as_str(), |_| "policy");
                out.push(audit::append(tx, now_ms, *ev, actor, Some(&rid), d)?);
                if *ev == AuditEvent::Granted {
                    out.extend(super::groups::confirm_groups(tx, &rid, &approver, now_ms)?);
                }
            }
            Ok(out)
        });
        let rows = match result {
            Ok(r) => r,
            Err(e) => {
                // Undo the drop-in a grant wrote if the store refused it.
                if closing
                    .as_ref()
                    .is_some_and(|(ev, _)| *ev == AuditEvent::Granted)
                {
                    let _ = st.sudoers.remove(id);
                }
                return Err(e.into());
            }
        };
        if closing.is_some() {
            st.deadlines.retain(|(_, d)| d != id);
            self.schedule(&mut st, &row);
        }
        let view = self.view_of(&st, &row, now_ms)?;
        drop(st);
        self.after_commit(&rows);
        if let Some((ev, _)) = &closing {
            let kind = if matches!(ev, AuditEvent::Granted | AuditEvent::Extended) {
                Verdict::Approve
            } else {
                Verdict::Deny
            };
            let by = if refused.is_some() { "policy" } else { &by };
            let given = u32::try_from(approvals_now).unwrap_or(u32::MAX);
            self.notify_decision(&row, kind, by, comment.as_deref(), given, now_ms);
        }
        if let Some(why) = refused {
            return Err(EngineError::Forbidden(format!(
                "request {id} can no longer be granted, so it was closed: {why}"
            )));
        }
        Ok(Response::Request { request: view })
    }
}
