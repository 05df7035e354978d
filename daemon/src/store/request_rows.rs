//! Reading request rows back, one row at a time: a row that cannot be
//! read is an error of that row alone, reported apart from the others.

use elevated_proto::{GrantId, RequestState};
use rusqlite::{Connection, Row};

use super::requests::{corrupt, RequestRow};
use super::StoreError;

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
