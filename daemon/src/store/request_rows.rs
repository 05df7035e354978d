//! What a request row holds, and reading rows back one at a time: a row
//! that cannot be read is an error of that row alone, reported apart from
//! the others.

use std::collections::BTreeMap;

use elevated_proto::{GrantId, RequestState};
use rusqlite::{Connection, Row};

use super::StoreError;
use crate::grant::GrantSpec;
use crate::policy::Approval;

/// One request, as stored. Times are Unix milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRow {
    /// Request and grant id.
    pub id: GrantId,
    /// Requester uid (from `SO_PEERCRED`).
    pub uid: u32,
    /// Requester name at request time.
    pub user: String,
    /// Role asked for.
    pub role: String,
    /// Host name.
    pub host: String,
    /// Requester's reason (never written to sudoers).
    pub reason: Option<String>,
    /// Requester's ticket (never written to sudoers).
    pub ticket: Option<String>,
    /// Window length.
    pub duration_secs: u64,
    /// Lifecycle state.
    pub state: RequestState,
    /// Deciding rule label.
    pub rule: Option<String>,
    /// Human explanation of the state.
    pub message: String,
    pub approvals_needed: u32,
    /// When asked.
    pub requested_at: i64,
    /// When decided.
    pub decided_at: Option<i64>,
    /// Window start.
    pub starts_at: Option<i64>,
    /// Window end.
    pub expires_at: Option<i64>,
    /// When it reached a final state after being pending or active.
    pub ended_at: Option<i64>,
    /// Deadline for a pending request.
    pub pending_until: Option<i64>,
    /// What the grant gives, frozen at decision time.
    pub grant: GrantSpec,
    /// How it is approved, frozen at decision time (for an extension in
    /// progress: the extension's rule).
    pub approval: Approval,
    /// A just-in-time action's exact command line.
    pub command: Option<Vec<String>>,
    /// Granted break-glass; needs review.
    pub break_glass: bool,
    /// Who reviewed it.
    pub reviewed_by: Option<String>,
    /// When it was reviewed.
    pub reviewed_at: Option<i64>,
    /// 0 for the request; n for its n-th extension.
    pub round: u32,
    /// A pending extension, in seconds.
    pub ext_secs: Option<u64>,
    /// Deadline of the pending extension.
    pub ext_until: Option<i64>,
    /// Whether the expiry warning went out.
    pub warned: bool,
    /// The requester's login-session facts when asking (`context`
    /// selectors), kept so that the decision re-checked at activation sees
    /// the session the request came from. Empty: unknown, or a request
    /// stored before they were kept.
    pub context: BTreeMap<String, Vec<String>>,
}

impl RequestRow {
    /// Whether this row is a grant in force at `now_ms`: active and its
    /// window not yet ended. Every check that trusts a grant asks this, not
    /// the state alone: the timer that marks a window expired may run late
    /// (a busy second, a suspended host), and sudo's `NOTAFTER` already
    /// refuses the grant then.
    #[must_use]
    pub fn in_window(&self, now_ms: i64) -> bool {
        self.state == RequestState::Active && self.expires_at.is_some_and(|end| end > now_ms)
    }
}

pub(super) fn corrupt(what: &str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what: what.to_owned(),
        detail: detail.to_string(),
    }
}

/// A stored request that cannot be read back (a value of the wrong type,
/// JSON that does not parse, an unknown state): its id as stored, and why.
#[derive(Debug)]
pub struct BadRow {
    /// The id column, as text (whatever it holds).
    pub id: String,
    /// What is wrong with the row.
    pub error: StoreError,
}

pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<Result<RequestRow, StoreError>> {
    Ok(read(r))
}

/// One row; every way a value can be wrong is an error of this row alone.
pub(super) fn read(r: &Row<'_>) -> Result<RequestRow, StoreError> {
    let id: String = r.get(0)?;
    let state: String = r.get(8)?;
    let spec: String = r.get(18)?;
    let duration: i64 = r.get(7)?;
    let uid: i64 = r.get(1)?;
    let needed: i64 = r.get(11)?;
    let approval: String = r.get(19)?;
    let command: Option<String> = r.get(20)?;
    let round: i64 = r.get(24)?;
    let ext_secs: Option<i64> = r.get(25)?;
    let context: Option<String> = r.get(28)?;
    Ok(RequestRow {
        id: GrantId::parse(&id).map_err(|e| corrupt("requests.id", e))?,
        uid: u32::try_from(uid).map_err(|e| corrupt("requests.uid", e))?,
        user: r.get(2)?,
        role: r.get(3)?,
        host: r.get(4)?,
        reason: r.get(5)?,
        ticket: r.get(6)?,
        duration_secs: u64::try_from(duration).map_err(|e| corrupt("duration_secs", e))?,
        state: RequestState::from_name(&state).ok_or_else(|| corrupt("requests.state", &state))?,
        rule: r.get(9)?,
        message: r.get(10)?,
        approvals_needed: u32::try_from(needed).map_err(|e| corrupt("approvals", e))?,
        requested_at: r.get(12)?,
        decided_at: r.get(13)?,
        starts_at: r.get(14)?,
        expires_at: r.get(15)?,
        ended_at: r.get(16)?,
        pending_until: r.get(17)?,
        grant: serde_json::from_str(&spec).map_err(|e| corrupt("grant_spec", e))?,
        approval: serde_json::from_str(&approval).map_err(|e| corrupt("approval_spec", e))?,
        command: command
            .map(|c| serde_json::from_str(&c))
            .transpose()
            .map_err(|e| corrupt("command", e))?,
        break_glass: r.get(21)?,
        reviewed_by: r.get(22)?,
        reviewed_at: r.get(23)?,
        round: u32::try_from(round).map_err(|e| corrupt("round", e))?,
        ext_secs: ext_secs
            .map(u64::try_from)
            .transpose()
            .map_err(|e| corrupt("ext_secs", e))?,
        ext_until: r.get(26)?,
        warned: r.get(27)?,
        context: context
            .map(|c| serde_json::from_str(&c))
            .transpose()
            .map_err(|e| corrupt("context", e))?
            .unwrap_or_default(),
    })
}

/// The id column of a row, as text, whatever its type.
pub(super) fn raw_id(r: &Row<'_>) -> String {
    match r.get_ref(0) {
        Ok(rusqlite::types::ValueRef::Text(t)) => String::from_utf8_lossy(t).into_owned(),
        Ok(other) => format!("{other:?}"),
        Err(e) => format!("(unreadable: {e})"),
    }
}

/// The rows a query selects, and apart from them those that cannot be
/// read. Only a failure of the database itself is an error: one bad row
/// must not hide the others (a grant that must end, a request to list).
pub(super) fn collect_checked(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<(Vec<RequestRow>, Vec<BadRow>), StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(args)?;
    let mut good = Vec::new();
    let mut bad = Vec::new();
    while let Some(r) = rows.next()? {
        match read(r) {
            Ok(row) => good.push(row),
            Err(error) => bad.push(BadRow {
                id: raw_id(r),
                error,
            }),
        }
    }
    Ok((good, bad))
}

/// Like [`collect_checked`], logging and skipping the unreadable rows
/// (reconciliation audits them).
pub(super) fn collect(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<RequestRow>, StoreError> {
    let (good, bad) = collect_checked(conn, sql, args)?;
    for b in bad {
        tracing::warn!("request {:?} skipped: {}", b.id, b.error);
    }
    Ok(good)
}

/// Rows whose state is none of the contract's names: no query by state
/// finds them, so nothing would ever end them. Reads the whole table:
/// for start-up only.
pub fn in_unknown_state(conn: &Connection) -> Result<Vec<BadRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, state FROM requests WHERE state NOT IN \
         ('pending', 'active', 'denied', 'cancelled', 'timed_out', 'expired', 'revoked')",
    )?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let state = match r.get_ref(1) {
            Ok(rusqlite::types::ValueRef::Text(t)) => String::from_utf8_lossy(t).into_owned(),
            Ok(other) => format!("{other:?}"),
            Err(e) => e.to_string(),
        };
        out.push(BadRow {
            id: raw_id(r),
            error: corrupt("requests.state", state),
        });
    }
    Ok(out)
}
