//! Closing the mandatory review of a break-glass grant.
#![forbid(unsafe_code)]

use crate::audit::event::AuditEvent;
use elevated_proto::{GrantId, Response};
use jiff::Timestamp;
use serde_json::json;

use super::request::check_text;
use super::view::describe_approvers;
use super::{ms, update_audited, Engine, EngineError, Peer};
use crate::store::requests;

impl Engine {
    /// Closes the review of a break-glass grant (an approver or root; never
    /// its holder).
    pub(super) fn review(
        &self,
        peer: &Peer,
        id: &GrantId,
        comment: Option<String>,
        now: Timestamp,
    ) -> Result<Response, EngineError> {
        let max_text = self.config().settings.limits.max_text;
        let comment = check_text("comment", comment, max_text)?;
        let row = self.visible(peer, id)?;
        if !row.break_glass {
            return Err(EngineError::BadRequest(format!(
                "request {id} was not granted break-glass; there is nothing to review"
            )));
        }
        if row.uid == peer.uid {
            return Err(EngineError::Forbidden(
                "nobody reviews their own break-glass grant".into(),
            ));
        }
        if !peer.is_root() && !self.is_approver_of(peer, &row) {
            return Err(EngineError::Forbidden(format!(
                "you are not among the reviewers of request {id} ({})",
                describe_approvers(&row.approval.approvers)
            )));
        }
        let now_ms = ms(now);
        self.between_read_and_lock();
        // NSS before the lock (see `Peer::account`).
        let me = peer.name()?;
        let mut st = self.lock();
        // A review changes only the review fields, of the row as it is now
        // (the grant may have ended since it was read).
        let mut row = requests::get(st.store.conn(), id)?
            .ok_or_else(|| EngineError::NotFound(format!("no request {id} visible to you")))?;
        if let Some(by) = &row.reviewed_by {
            return Err(EngineError::BadRequest(format!(
                "request {id} was already reviewed by {by}"
            )));
        }
        row.reviewed_by = Some(me.to_owned());
        row.reviewed_at = Some(now_ms);
        let detail = json!({"comment": comment, "uid": peer.uid});
        let rows = update_audited(&mut st, &row, AuditEvent::Reviewed, me, &detail, now_ms)?;
        let view = self.view_of(&st, &row, now_ms)?;
        drop(st);
        self.after_commit(&rows);
        Ok(Response::Request { request: view })
    }
}
