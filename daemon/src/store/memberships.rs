//! The journal of group memberships the daemon adds for grants.

use rusqlite::{params, Connection};

use super::StoreError;

/// One membership the daemon added, or is adding, for a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub request_id: String,
    pub user: String,
    pub group: String,
    /// `adding` (journalled, `gpasswd -a` may or may not have run) or
    /// `added` (confirmed with the grant).
    pub state: String,
}

/// Journals a membership about to be added.
pub fn begin(
    conn: &Connection,
    request_id: &str,
    user: &str,
    group: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO memberships (request_id, user, grp, state) VALUES (?1, ?2, ?3, 'adding')",
    )?
    .execute(params![request_id, user, group])?;
    Ok(())
}

/// Confirms every membership journalled for a grant that became active.
pub fn confirm(conn: &Connection, request_id: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE memberships SET state = 'added' WHERE request_id = ?1 AND state = 'adding'",
    )?
    .execute([request_id])?;
    Ok(())
}

/// Marks a membership taken back (or found not to be ours).
pub fn close(conn: &Connection, request_id: &str, group: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE memberships SET state = 'removed' WHERE request_id = ?1 AND grp = ?2",
    )?
    .execute(params![request_id, group])?;
    Ok(())
}

/// Hands a membership to another grant of the same user that also owes it.
///
/// The heir may already have a row for the group (one it journalled
/// itself, or one handed to it before): the key is one row per grant and
/// group, so that row is replaced by the one handed over. Either way the
/// heir owes one membership and takes it back when it ends; a plain
/// `UPDATE` would fail on the key and leave both rows, and every later
/// reconciliation with them.
pub fn transfer(conn: &Connection, from: &str, to: &str, group: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE OR REPLACE memberships SET request_id = ?2, state = 'added' \
         WHERE request_id = ?1 AND grp = ?3",
    )?
    .execute(params![from, to, group])?;
    Ok(())
}

/// Memberships still owed or being added: of one grant, or of all.
/// Rows that cannot be read (a value of the wrong type) are logged and
/// left out.
pub fn open(conn: &Connection, request_id: Option<&str>) -> Result<Vec<Membership>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT request_id, user, grp, state FROM memberships \
         WHERE state IN ('adding', 'added') AND (?1 IS NULL OR request_id = ?1) ORDER BY request_id, grp",
    )?;
    let mut rows = stmt.query([request_id])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let read = || -> rusqlite::Result<Membership> {
            Ok(Membership {
                request_id: r.get(0)?,
                user: r.get(1)?,
                group: r.get(2)?,
                state: r.get(3)?,
            })
        };
        match read() {
            Ok(m) => out.push(m),
            // One unreadable row must not stop every other membership from
            // being taken back; it names nothing gpasswd could act on.
            Err(e) => tracing::error!("membership journal row skipped, it cannot be read: {e}"),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn states(conn: &Connection) -> Vec<(String, String)> {
        open(conn, None)
            .unwrap()
            .into_iter()
            .map(|m| (m.request_id, m.state))
            .collect()
    }

    #[test]
    fn a_hand_over_replaces_the_heirs_own_row() {
        let store = Store::open_in_memory().unwrap();
        let c = store.conn();
        begin(c, "heir0001", "alice", "adm").unwrap();
        close(c, "heir0001", "adm").unwrap();
        begin(c, "from0001", "alice", "adm").unwrap();
        confirm(c, "from0001").unwrap();
        transfer(c, "from0001", "heir0001", "adm").unwrap();
        assert_eq!(states(c), vec![("heir0001".into(), "added".into())]);
    }

    #[test]
    fn an_unreadable_row_is_left_out_not_fatal() {
        let store = Store::open_in_memory().unwrap();
        let c = store.conn();
        begin(c, "good0001", "alice", "adm").unwrap();
        c.execute(
            "INSERT INTO memberships (request_id, user, grp, state) VALUES ('bad00001', X'ff00', 'adm', 'added')",
            [],
        )
        .unwrap();
        assert_eq!(states(c), vec![("good0001".into(), "adding".into())]);
    }
}
