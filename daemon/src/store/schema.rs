//! Schema and migrations, tracked with `PRAGMA user_version`. Each entry of
//! `MIGRATIONS` moves the schema one version up; never edit a released one.

use rusqlite::Connection;

use super::StoreError;

const MIGRATIONS: &[&str] = &[
    // 1: requests (one row per request; the grant shares its id) and the
    // hash-chained audit log.
    "CREATE TABLE requests (
        id               TEXT PRIMARY KEY,
        uid              INTEGER NOT NULL,
        user             TEXT NOT NULL,
        role             TEXT NOT NULL,
        host             TEXT NOT NULL,
        reason           TEXT,
        ticket           TEXT,
        duration_secs    INTEGER NOT NULL,
        state            TEXT NOT NULL,
        rule             TEXT,
        message          TEXT NOT NULL,
        approvals_needed INTEGER NOT NULL,
        requested_at     INTEGER NOT NULL,
        decided_at       INTEGER,
        starts_at        INTEGER,
        expires_at       INTEGER,
        ended_at         INTEGER,
        pending_until    INTEGER,
        grant_spec       TEXT NOT NULL
    );
    CREATE INDEX requests_state ON requests(state);
    CREATE INDEX requests_uid ON requests(uid, state);
    CREATE TABLE audit (
        seq        INTEGER PRIMARY KEY,
        at         INTEGER NOT NULL,
        event      TEXT NOT NULL,
        actor      TEXT NOT NULL,
        request_id TEXT,
        detail     TEXT NOT NULL,
        prev_hash  TEXT NOT NULL,
        hash       TEXT NOT NULL
    );
    CREATE INDEX audit_request ON audit(request_id);
    CREATE INDEX audit_at ON audit(at);",
    // 2: approvals. The rule's approval settings are frozen with each
    // request; each approver's decision is a row (one per person and round:
    // round 0 is the request, 1.. its extensions); break-glass review;
    // just-in-time command lines; pending extensions.
    "ALTER TABLE requests ADD COLUMN approval_spec TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE requests ADD COLUMN command TEXT;
    ALTER TABLE requests ADD COLUMN break_glass INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE requests ADD COLUMN reviewed_by TEXT;
    ALTER TABLE requests ADD COLUMN reviewed_at INTEGER;
    ALTER TABLE requests ADD COLUMN round INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE requests ADD COLUMN ext_secs INTEGER;
    ALTER TABLE requests ADD COLUMN ext_until INTEGER;
    ALTER TABLE requests ADD COLUMN warned INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE approvals (
        request_id      TEXT NOT NULL REFERENCES requests(id),
        round           INTEGER NOT NULL,
        approver        TEXT NOT NULL,
        verdict         TEXT NOT NULL,
        comment         TEXT,
        key_fingerprint TEXT,
        at              INTEGER NOT NULL,
        PRIMARY KEY (request_id, round, approver)
    );
    CREATE INDEX requests_review ON requests(break_glass, reviewed_at);",
    // 3: group memberships the daemon adds, journalled *before* `gpasswd -a`
    // runs ('adding'), confirmed with the grant ('added'), and closed when
    // taken back ('removed'), so that a crash at any point leaves a row
    // that tells reconciliation what the daemon may owe or must take back.
    // No foreign key: the journal row is written before the request row
    // that it belongs to is committed.
    "CREATE TABLE memberships (
        request_id TEXT NOT NULL,
        user       TEXT NOT NULL,
        grp        TEXT NOT NULL,
        state      TEXT NOT NULL,
        PRIMARY KEY (request_id, grp)
    );
    CREATE INDEX memberships_open ON memberships(state);",
    // 4: the requester's login-session facts, kept with the request so
    // that policy re-checked at activation decides on the same session
    // (JSON object; NULL for requests stored before).
    "ALTER TABLE requests ADD COLUMN context TEXT;",
    // 5: the audit rows a user acted in (an approver's decision, a
    // revocation or review), found by the uid the daemon records in their
    // detail, so that reading them costs what they hold, not a walk
    // through the whole log.
    "CREATE INDEX audit_uid ON audit(json_extract(detail, '$.uid'));",
];

/// Brings the schema up to date.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let supported = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > supported {
        return Err(StoreError::TooNew { found, supported });
    }
    let start = usize::try_from(found).unwrap_or(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_refuses_newer() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c).unwrap();
        migrate(&mut c).unwrap();
        let v: i64 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
        c.pragma_update(None, "user_version", 99).unwrap();
        assert!(matches!(migrate(&mut c), Err(StoreError::TooNew { .. })));
    }
}
