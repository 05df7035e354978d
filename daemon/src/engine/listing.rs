//! `status` and `list`: the requests a caller may see, newest first, as
//! many as one answer carries.
//!
//! Who sees what is the rule of `show` (see [`Engine::visible`]): their own
//! requests, those they may approve or review, and everything for root.
#![forbid(unsafe_code)]

use elevated_proto::{RequestState, Response};
use jiff::Timestamp;

use super::view::view_in;
use super::{ms, Engine, EngineError, Peer};
use crate::budget::Budget;
use crate::store::{requests, RequestRow};

/// Most requests one `list` answer carries (the newest).
const LIST_MAX: u32 = 500;

/// Most rows one approver's `list` reads to find those they may see: the
/// store may hold a long history of other roles' requests, and one answer
/// must not cost a walk through all of it. Older ones are reported as left
/// out (`truncated`).
const SCAN_MAX: u32 = 20_000;

/// The views of `rows`, as many as one answer carries.
fn views(
    conn: &rusqlite::Connection,
    rows: &[RequestRow],
    now: Timestamp,
) -> Result<Response, EngineError> {
    let mut budget = Budget::frame();
    let mut requests = Vec::new();
    let mut truncated = false;
    for r in rows {
        let v = view_in(conn, r, ms(now))?;
        if !budget.take(&v) {
            truncated = true;
            break;
        }
        requests.push(v);
    }
    Ok(Response::Requests {
        requests,
        truncated,
    })
}

/// Whose requests a listing reads.
enum Whose<'a> {
    /// One uid's (an index walk).
    Uid(u32),
    /// Everyone's, those `keep` accepts: the newest [`SCAN_MAX`] rows are
    /// read.
    Kept(&'a dyn Fn(&RequestRow) -> bool),
}

/// The newest requests (of one uid, or those kept of everyone's; open ones
/// unless `all`) that one answer carries, read newest first until it is
/// full: a long history costs one answer's worth of work. A grant whose
/// window has ended while the timer has yet to record it is shown as
/// expired when `lapsed_too` (status), and left out of a list of open ones
/// otherwise.
fn newest(
    conn: &rusqlite::Connection,
    whose: &Whose<'_>,
    all: bool,
    lapsed_too: bool,
    now: Timestamp,
) -> Result<Response, EngineError> {
    let (mut budget, mut out, mut failed) = (Budget::frame(), Vec::new(), None);
    let mut truncated = false;
    let (uid, keep, scan): (_, &dyn Fn(&RequestRow) -> bool, _) = match whose {
        // One row more than a listing carries tells whether there are more.
        Whose::Uid(uid) => (Some(*uid), &|_| true, LIST_MAX + 1),
        Whose::Kept(keep) => (None, *keep, SCAN_MAX),
    };
    let mut read = 0;
    requests::list_while(conn, uid, false, all, scan, |r| {
        read += 1;
        // A window that has ended is no longer open, even while the timer
        // has yet to record it (`--all` shows it as expired).
        let lapsed = r.state == RequestState::Active && !r.in_window(ms(now));
        if !keep(&r) || (!all && !lapsed_too && lapsed) {
            return true;
        }
        if out.len() == LIST_MAX as usize {
            truncated = true;
            return false;
        }
        match view_in(conn, &r, ms(now)) {
            Ok(v) if budget.take(&v) => out.push(v),
            Ok(_) => {
                truncated = true;
                return false;
            }
            Err(e) => failed = Some(e),
        }
        failed.is_none()
    })?;
    // Every row the scan may read was read: older ones were not looked at.
    if read >= scan {
        truncated = true;
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(Response::Requests {
            requests: out,
            truncated,
        }),
    }
}

impl Engine {
    pub(super) fn status(&self, peer: &Peer, now: Timestamp) -> Result<Response, EngineError> {
        // The caller's open requests, newest first, as `list` bounds them.
        self.read(|conn| newest(conn, &Whose::Uid(peer.uid), false, true, now))
    }

    /// `list`: root sees everything; others see their own requests and
    /// those they may approve or review, as `show` does (with `pending`,
    /// only those awaiting a decision; with `unreviewed`, break-glass
    /// grants not yet reviewed).
    pub(super) fn list(
        &self,
        peer: &Peer,
        pending: bool,
        all: bool,
        unreviewed: bool,
        now: Timestamp,
    ) -> Result<Response, EngineError> {
        let sees = |r: &RequestRow| peer.is_root() || self.sees(peer, r);
        if !pending && !unreviewed {
            // Someone who approves nothing under today's policy sees their
            // own requests: found through the uid index, not a scan.
            let whose = if peer.is_root() || self.approves_any(peer) {
                Whose::Kept(&sees)
            } else {
                Whose::Uid(peer.uid)
            };
            return self.read(|conn| newest(conn, &whose, all, false, now));
        }
        self.read(|conn| {
            let rows = if unreviewed {
                requests::unreviewed(conn)?
            } else {
                requests::awaiting_decision(conn)?
            };
            let rows: Vec<RequestRow> = rows.into_iter().filter(|r| sees(r)).collect();
            views(conn, &rows, now)
        })
    }

    /// Whether `peer` (not root) may see `row`: their own, or one they
    /// may approve or review.
    fn sees(&self, peer: &Peer, row: &RequestRow) -> bool {
        row.uid == peer.uid || self.is_approver_of(peer, row)
    }

    /// Whether any rule of the policy in use names `peer` among its
    /// approvers (or reviewers).
    fn approves_any(&self, peer: &Peer) -> bool {
        let cfg = self.config();
        cfg.policy
            .rules()
            .iter()
            .any(|rule| self.matches_approvers(peer, &rule.approval.approvers))
    }
}
