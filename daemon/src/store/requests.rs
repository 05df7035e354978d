//! Request rows written and queried. A request and the grant it becomes
//! share one row and id.

use elevated_proto::{GrantId, RequestState};
use rusqlite::{params, Connection, OptionalExtension};

use super::request_rows::{collect, collect_checked, corrupt, from_row, raw_id, read};
pub use super::request_rows::{in_unknown_state, BadRow, RequestRow};
use super::StoreError;

const COLUMNS: &str = "id, uid, user, role, host, reason, ticket, duration_secs, state, rule, \
    message, approvals_needed, requested_at, decided_at, starts_at, expires_at, ended_at, \
    pending_until, grant_spec, approval_spec, command, break_glass, reviewed_by, reviewed_at, \
    round, ext_secs, ext_until, warned, context";

fn json<T: serde::Serialize>(what: &str, v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| corrupt(what, e))
}

/// Inserts a new request; fails if the id exists.
pub fn insert(conn: &Connection, r: &RequestRow) -> Result<(), StoreError> {
    let spec = json("grant_spec", &r.grant)?;
    let approval = json("approval_spec", &r.approval)?;
    let command = r.command.as_ref().map(|c| json("command", c)).transpose()?;
    conn.prepare_cached(&format!(
        "INSERT INTO requests ({COLUMNS}) VALUES \
         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, \
          ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29)"
    ))?
    .execute(params![
        r.id.as_str(),
        r.uid,
        r.user,
        r.role,
        r.host,
        r.reason,
        r.ticket,
        i64::try_from(r.duration_secs).unwrap_or(i64::MAX),
        r.state.as_str(),
        r.rule,
        r.message,
        r.approvals_needed,
        r.requested_at,
        r.decided_at,
        r.starts_at,
        r.expires_at,
        r.ended_at,
        r.pending_until,
        spec,
        approval,
        command,
        r.break_glass,
        r.reviewed_by,
        r.reviewed_at,
        r.round,
        r.ext_secs.map(|s| i64::try_from(s).unwrap_or(i64::MAX)),
        r.ext_until,
        r.warned,
        json("context", &r.context)?,
    ])?;
    Ok(())
}

/// Writes the mutable fields of an existing request.
pub fn update(conn: &Connection, r: &RequestRow) -> Result<(), StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE requests SET state = ?2, rule = ?3, message = ?4, decided_at = ?5, \
             starts_at = ?6, expires_at = ?7, ended_at = ?8, pending_until = ?9, \
             duration_secs = ?10, approval_spec = ?11, reviewed_by = ?12, reviewed_at = ?13, \
             round = ?14, ext_secs = ?15, ext_until = ?16, warned = ?17, grant_spec = ?18 \
             WHERE id = ?1",
        )?
        .execute(params![
            r.id.as_str(),
            r.state.as_str(),
            r.rule,
            r.message,
            r.decided_at,
            r.starts_at,
            r.expires_at,
            r.ended_at,
            r.pending_until,
            i64::try_from(r.duration_secs).unwrap_or(i64::MAX),
            json("approval_spec", &r.approval)?,
            r.reviewed_by,
            r.reviewed_at,
            r.round,
            r.ext_secs.map(|s| i64::try_from(s).unwrap_or(i64::MAX)),
            r.ext_until,
            r.warned,
            json("grant_spec", &r.grant)?,
        ])?;
    if n != 1 {
        return Err(corrupt("requests", format!("request {} vanished", r.id)));
    }
    Ok(())
}

/// One request by id.
pub fn get(conn: &Connection, id: &GrantId) -> Result<Option<RequestRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM requests WHERE id = ?1"))?;
    match stmt.query_row([id.as_str()], from_row).optional()? {
        Some(r) => Ok(Some(r?)),
        None => Ok(None),
    }
}

/// Every readable request in a state, oldest first (unreadable ones are
/// logged and skipped).
pub fn in_state(conn: &Connection, state: RequestState) -> Result<Vec<RequestRow>, StoreError> {
    collect(
        conn,
        &format!("SELECT {COLUMNS} FROM requests WHERE state = ?1 ORDER BY requested_at"),
        [state.as_str()],
    )
}

/// Every request in a state, oldest first, and apart from them the rows
/// in that state that cannot be read.
pub fn in_state_checked(
    conn: &Connection,
    state: RequestState,
) -> Result<(Vec<RequestRow>, Vec<BadRow>), StoreError> {
    collect_checked(
        conn,
        &format!("SELECT {COLUMNS} FROM requests WHERE state = ?1 ORDER BY requested_at"),
        [state.as_str()],
    )
}

/// A user's pending and active requests, newest first.
pub fn open_of(conn: &Connection, uid: u32) -> Result<Vec<RequestRow>, StoreError> {
    collect(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM requests WHERE uid = ?1 AND state IN ('pending', 'active') \
             ORDER BY requested_at DESC"
        ),
        [uid],
    )
}

/// How many pending requests a user has.
pub fn pending_count(conn: &Connection, uid: u32) -> Result<usize, StoreError> {
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM requests WHERE uid = ?1 AND state = 'pending'")?
        .query_row([uid], |r| r.get(0))?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// Requests awaiting a decision: pending ones and active grants with a
/// pending extension, oldest first.
pub fn awaiting_decision(conn: &Connection) -> Result<Vec<RequestRow>, StoreError> {
    collect(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM requests WHERE state = 'pending' \
             OR (state = 'active' AND ext_secs IS NOT NULL) ORDER BY requested_at LIMIT 1000"
        ),
        [],
    )
}

/// Break-glass grants nobody has reviewed yet, oldest first.
pub fn unreviewed(conn: &Connection) -> Result<Vec<RequestRow>, StoreError> {
    collect(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM requests WHERE break_glass = 1 AND reviewed_at IS NULL \
             ORDER BY requested_at LIMIT 1000"
        ),
        [],
    )
}

/// Requests for `list`: optionally one user's, optionally only pending, or
/// only open (pending and active) unless `all`; newest first, at most
/// `limit`. Handed to `take` one at a time until it returns `false`: a
/// caller that has enough stops reading.
pub fn list_while(
    conn: &Connection,
    uid: Option<u32>,
    pending_only: bool,
    all: bool,
    limit: u32,
    mut take: impl FnMut(RequestRow) -> bool,
) -> Result<(), StoreError> {
    let states = if pending_only {
        "state = 'pending'"
    } else if all {
        "1"
    } else {
        "state IN ('pending', 'active')"
    };
    let who = if uid.is_some() {
        "uid = ?1"
    } else {
        "?1 IS NULL"
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM requests WHERE {who} AND {states} \
         ORDER BY requested_at DESC LIMIT ?2"
    ))?;
    let mut rows = stmt.query(params![uid, limit])?;
    while let Some(r) = rows.next()? {
        let row = match read(r) {
            Ok(row) => row,
            Err(e) => {
                // One unreadable row must not make every listing fail.
                tracing::warn!("request {:?} not listed: {e}", raw_id(r));
                continue;
            }
        };
        if !take(row) {
            break;
        }
    }
    Ok(())
}
