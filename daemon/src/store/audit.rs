//! The audit log: append-only rows, each holding the SHA-256 of the previous
//! row's hash and its own content, so editing, inserting or deleting a row
//! in the middle breaks the chain at that row.

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use super::StoreError;
use crate::audit::event::AuditEvent;

/// The `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One stored audit row.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Unix milliseconds.
    pub at: i64,
    /// Event name.
    pub event: String,
    /// Who caused it.
    pub actor: String,
    /// The request concerned.
    pub request_id: Option<String>,
    /// JSON text of the details, hashed exactly as stored.
    pub detail: String,
    /// The previous row's hash.
    pub prev_hash: String,
    /// This row's hash.
    pub hash: String,
}

/// The hash of a row given its fields. The fields are encoded as a JSON
/// array so that no two different rows encode the same way.
#[must_use]
pub fn row_hash(
    seq: i64,
    at: i64,
    event: &str,
    actor: &str,
    request_id: Option<&str>,
    detail: &str,
    prev_hash: &str,
) -> String {
    let canonical = serde_json::json!([seq, at, event, actor, request_id, detail, prev_hash]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Appends a row inside the caller's transaction and returns it.
pub fn append(
    conn: &Connection,
    at: i64,
    event: AuditEvent,
    actor: &str,
    request_id: Option<&str>,
    detail: &serde_json::Value,
) -> Result<AuditRow, StoreError> {
    let event = event.name();
    let last: Option<(i64, String)> = conn
        .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (seq, prev_hash) = match last {
        Some((s, h)) => (s + 1, h),
        None => (1, GENESIS.to_owned()),
    };
    let detail = detail.to_string();
    let hash = row_hash(seq, at, event, actor, request_id, &detail, &prev_hash);
    conn.prepare_cached(
        "INSERT INTO audit (seq, at, event, actor, request_id, detail, prev_hash, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        seq, at, event, actor, request_id, detail, prev_hash, hash
    ])?;
    Ok(AuditRow {
        seq,
        at,
        event: event.to_owned(),
        actor: actor.to_owned(),
        request_id: request_id.map(str::to_owned),
        detail,
        prev_hash,
        hash,
    })
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        seq: r.get(0)?,
        at: r.get(1)?,
        event: r.get(2)?,
        actor: r.get(3)?,
        request_id: r.get(4)?,
        detail: r.get(5)?,
        prev_hash: r.get(6)?,
        hash: r.get(7)?,
    })
}

const SELECT: &str = "SELECT seq, at, event, actor, request_id, detail, prev_hash, hash FROM audit";

/// Rows at or after `since` (ms), the newest `limit`, returned oldest first.
/// With `visible_to = Some(uid)` only rows about requests that uid made,
/// and rows that uid acted in (whose detail records it as `uid`: an
/// approver's decision, a revocation, a review).
///
/// Visibility is decided by uids the daemon recorded (the one that owns
/// the request, the caller's), never by the row's actor: an actor is only
/// a name (`daemon`, `pam`, `policy`, an approver, a user name PAM
/// reported), and an account that happens to carry such a name must not
/// see other people's rows through it.
#[cfg(test)]
pub fn list(
    conn: &Connection,
    since: Option<i64>,
    limit: u32,
    visible_to: Option<u32>,
) -> Result<Vec<AuditRow>, StoreError> {
    let mut out = Vec::new();
    newest_while(conn, since, limit, visible_to, |r| {
        out.push(r);
        true
    })?;
    out.reverse();
    Ok(out)
}

/// The rows [`list`] selects, newest first, handed to `take` one at a time
/// until it returns `false`: a caller that has enough stops reading.
pub fn newest_while(
    conn: &Connection,
    since: Option<i64>,
    limit: u32,
    visible_to: Option<u32>,
    mut take: impl FnMut(AuditRow) -> bool,
) -> Result<(), StoreError> {
    // Two statements, not one with `?2 IS NULL OR ...`: that form cannot
    // use an index, so a user with few rows made SQLite walk the whole log
    // (100,000 rows) on every `elevate audit`. Theirs are found through
    // their requests (`audit_request`) and by the uid in the detail
    // (`audit_uid`), costing what they own and did.
    let mut stmt = conn.prepare_cached(&if visible_to.is_some() {
        format!(
            "{SELECT} WHERE at >= ?1 AND (request_id IN \
             (SELECT id FROM requests WHERE uid = ?2) OR json_extract(detail, '$.uid') = ?2) \
             ORDER BY seq DESC LIMIT ?3"
        )
    } else {
        format!("{SELECT} WHERE at >= ?1 AND ?2 IS NULL ORDER BY seq DESC LIMIT ?3")
    })?;
    let mut rows = stmt.query(params![since.unwrap_or(i64::MIN), visible_to, limit])?;
    while let Some(r) = rows.next()? {
        if !take(read_row(r)?) {
            break;
        }
    }
    Ok(())
}

/// How many `event` rows were written at or after `since` (ms) about the
/// requests of `uid` (with `request`, about that request alone), and when
/// the oldest of them was written.
pub fn count_since(
    conn: &Connection,
    event: AuditEvent,
    since: i64,
    uid: u32,
    request: Option<&str>,
) -> Result<(u64, Option<i64>), StoreError> {
    let (n, oldest): (i64, Option<i64>) = conn
        .prepare_cached(
            "SELECT COUNT(*), MIN(at) FROM audit WHERE event = ?1 AND at >= ?2 AND \
             request_id IN (SELECT id FROM requests WHERE uid = ?3) \
             AND (?4 IS NULL OR request_id = ?4)",
        )?
        .query_row(params![event.name(), since, uid, request], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    Ok((u64::try_from(n).unwrap_or(0), oldest))
}

/// The outcome of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Verify {
    /// Rows checked.
    pub rows: u64,
    /// The first row that fails, and why.
    pub first_bad: Option<(i64, String)>,
    /// The first mismatch with the head file that the daemon recorded at a
    /// start (the first missing or rewritten row, and what the record
    /// says): the rows themselves are gone or rewritten, so the chain
    /// alone cannot show it.
    pub head_mismatch: Option<(i64, String)>,
}

/// What an `audit_head_mismatch` row records: the first bad row and the
/// sentence the daemon logged.
fn recorded_mismatch(row: &AuditRow) -> (i64, String) {
    let detail: serde_json::Value = serde_json::from_str(&row.detail).unwrap_or_default();
    let first_bad = detail["first_bad"].as_i64().unwrap_or(row.seq);
    let message = detail["message"]
        .as_str()
        .unwrap_or("the database did not match its audit head file")
        .to_owned();
    (
        first_bad,
        format!(
            "at start the daemon found that {message} (recorded in audit row {})",
            row.seq
        ),
    )
}

/// Recomputes every hash and link, oldest first.
pub fn verify(conn: &Connection) -> Result<Verify, StoreError> {
    let mut stmt = conn.prepare(&format!("{SELECT} ORDER BY seq"))?;
    let mut rows = stmt.query([])?;
    let mut expected_prev = GENESIS.to_owned();
    let mut expected_seq = 1i64;
    let mut n = 0u64;
    let mut head_mismatch = None;
    while let Some(r) = rows.next()? {
        let row = read_row(r)?;
        n += 1;
        if head_mismatch.is_none() && row.event == AuditEvent::AuditHeadMismatch.name() {
            head_mismatch = Some(recorded_mismatch(&row));
        }
        let problem = if row.seq != expected_seq {
            Some(format!(
                "row {} follows row {}: rows are missing",
                row.seq,
                expected_seq - 1
            ))
        } else if row.prev_hash != expected_prev {
            Some("its link to the previous row does not match".to_owned())
        } else if row_hash(
            row.seq,
            row.at,
            &row.event,
            &row.actor,
            row.request_id.as_deref(),
            &row.detail,
            &row.prev_hash,
        ) != row.hash
        {
            Some("its content does not match its hash (the row was edited)".to_owned())
        } else {
            None
        };
        if let Some(p) = problem {
            return Ok(Verify {
                rows: n,
                first_bad: Some((row.seq, p)),
                head_mismatch,
            });
        }
        expected_prev = row.hash;
        expected_seq += 1;
    }
    Ok(Verify {
        rows: n,
        first_bad: None,
        head_mismatch,
    })
}

/// The (sequence, hash) of rows after `after`, oldest first, handed to
/// `take` until it returns `false`: what `audit --verify --against`
/// compares with the anchors in a log.
pub fn links_after(
    conn: &Connection,
    after: i64,
    mut take: impl FnMut(i64, String) -> bool,
) -> Result<(), StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT seq, hash FROM audit WHERE seq > ?1 ORDER BY seq")?;
    let mut rows = stmt.query(params![after])?;
    while let Some(r) = rows.next()? {
        if !take(r.get(0)?, r.get(1)?) {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "audit_tests.rs"]
mod tests;
