//! Approvers' decisions: one row per request, round and approver, so the
//! same person counts once.

use elevated_proto::Verdict;
use rusqlite::{params, Connection};

use super::StoreError;

/// One decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRow {
    /// 0 for the request, n for its n-th extension.
    pub round: u32,
    /// `user:NAME` or `principal:NAME`.
    pub approver: String,
    /// For or against.
    pub verdict: Verdict,
    /// Their comment.
    pub comment: Option<String>,
    /// Signing key fingerprint of a remote decision.
    pub key: Option<String>,
    /// Unix ms.
    pub at: i64,
}

/// Records a decision; `false` if this approver already decided this round.
pub fn insert(conn: &Connection, request_id: &str, a: &ApprovalRow) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO approvals \
             (request_id, round, approver, verdict, comment, key_fingerprint, at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            request_id,
            a.round,
            a.approver,
            a.verdict.as_str(),
            a.comment,
            a.key,
            a.at
        ])?;
    Ok(n == 1)
}

/// Every decision on a request, oldest first.
pub fn of(conn: &Connection, request_id: &str) -> Result<Vec<ApprovalRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT round, approver, verdict, comment, key_fingerprint, at FROM approvals \
         WHERE request_id = ?1 ORDER BY at, approver",
    )?;
    let rows = stmt.query_map([request_id], |r| {
        let verdict: String = r.get(2)?;
        Ok((
            r.get::<_, i64>(0)?,
            r.get(1)?,
            verdict,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (round, approver, verdict, comment, key, at) = row?;
        let verdict = match verdict.as_str() {
            "approve" => Verdict::Approve,
            "deny" => Verdict::Deny,
            other => {
                return Err(StoreError::Corrupt {
                    what: "approvals.verdict".into(),
                    detail: other.to_owned(),
                })
            }
        };
        out.push(ApprovalRow {
            round: u32::try_from(round).unwrap_or(0),
            approver,
            verdict,
            comment,
            key,
            at,
        });
    }
    Ok(out)
}
