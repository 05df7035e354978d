use crate::audit::event::AuditEvent;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::json;

use super::*;
use crate::store::{audit, Store};

fn append_rows(s: &mut Store, n: i64) {
    for i in 0..n {
        s.tx(|tx| {
            audit::append(
                tx,
                1000 + i,
                AuditEvent::Requested,
                "alice",
                None,
                &json!({"i": i}),
            )
        })
        .unwrap();
    }
}

fn head_file(dir: &Path) -> Link {
    Link::parse(&std::fs::read_to_string(dir.join(FILE_NAME)).unwrap()).unwrap()
}

fn newest_hash(s: &Store) -> (i64, String) {
    s.conn()
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

/// Rewrites row `from` and re-hashes it and every later row, as someone
/// with the database and this source would: the chain verifies again.
fn rewrite_from(conn: &rusqlite::Connection, from: i64) {
    conn.execute("UPDATE audit SET actor = 'mallory' WHERE seq = ?1", [from])
        .unwrap();
    let mut prev: String = conn
        .query_row("SELECT hash FROM audit WHERE seq = ?1", [from - 1], |r| {
            r.get(0)
        })
        .unwrap_or_else(|_| audit::GENESIS.to_owned());
    let rows = audit::list(conn, None, 10_000, None).unwrap();
    for r in rows.into_iter().filter(|r| r.seq >= from) {
        let h = audit::row_hash(
            r.seq,
            r.at,
            &r.event,
            &r.actor,
            r.request_id.as_deref(),
            &r.detail,
            &prev,
        );
        conn.execute(
            "UPDATE audit SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![prev, h, r.seq],
        )
        .unwrap();
        prev = h;
    }
}

#[test]
fn the_head_file_follows_every_commit_and_is_root_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("elevated.db")).unwrap();
    assert!(!dir.path().join(FILE_NAME).exists(), "no rows, no head yet");
    append_rows(&mut s, 3);
    let (seq, hash) = newest_hash(&s);
    assert_eq!(head_file(dir.path()), Link { seq, hash });
    let mode = std::fs::metadata(dir.path().join(FILE_NAME))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // The relaxed commits (uses of a grant) move it too.
    s.tx_unsynced(|tx| audit::append(tx, 5000, AuditEvent::LoginAllowed, "pam", None, &json!({})))
        .unwrap();
    assert_eq!(head_file(dir.path()).seq, 4);
    assert!(!dir.path().join(format!("{FILE_NAME}.tmp")).exists());
}

#[test]
fn an_untouched_database_matches_its_head() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("elevated.db");
    append_rows(&mut Store::open(&db).unwrap(), 4);
    let mut s = Store::open(&db).unwrap();
    assert_eq!(s.take_head_mismatch(), None);
}

#[test]
fn deleted_newest_rows_leave_the_database_behind_its_head() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("elevated.db");
    append_rows(&mut Store::open(&db).unwrap(), 6);
    let head = head_file(dir.path());
    // The chain of what is left still verifies: only the head can tell.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("DELETE FROM audit WHERE seq > 3", [])
        .unwrap();
    let mut s = Store::open(&db).unwrap();
    assert_eq!(audit::verify(s.conn()).unwrap().first_bad, None);
    let m = s.take_head_mismatch().expect("a mismatch");
    assert!(matches!(&m, Mismatch::Behind { head: h, db: Some(d) } if *h == head && d.seq == 3));
    assert_eq!(m.first_bad(), Some(4));
    assert!(
        m.describe().contains("rows 4 to 6 are missing"),
        "{}",
        m.describe()
    );
    assert_eq!(s.take_head_mismatch(), None, "reported once");
    // The file keeps the old head until the next commit.
    assert_eq!(head_file(dir.path()), head);
}

#[test]
fn a_rewritten_chain_differs_from_its_head() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("elevated.db");
    append_rows(&mut Store::open(&db).unwrap(), 5);
    let conn = rusqlite::Connection::open(&db).unwrap();
    rewrite_from(&conn, 2);
    drop(conn);
    let mut s = Store::open(&db).unwrap();
    assert_eq!(audit::verify(s.conn()).unwrap().first_bad, None);
    let m = s.take_head_mismatch().expect("a mismatch");
    assert!(matches!(m, Mismatch::Differs { .. }), "{m:?}");
    assert_eq!(m.first_bad(), Some(5));
}

#[test]
fn a_database_ahead_of_its_head_is_caught_up_and_a_missing_head_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("elevated.db");
    let mut s = Store::open(&db).unwrap();
    append_rows(&mut s, 2);
    let old = head_file(dir.path());
    append_rows(&mut s, 2);
    drop(s);
    // The daemon died between a commit and the file's update.
    std::fs::write(dir.path().join(FILE_NAME), old.to_line()).unwrap();
    let mut s = Store::open(&db).unwrap();
    assert_eq!(s.take_head_mismatch(), None);
    assert_eq!(head_file(dir.path()).seq, 4);
    drop(s);
    std::fs::remove_file(dir.path().join(FILE_NAME)).unwrap();
    let mut s = Store::open(&db).unwrap();
    assert_eq!(s.take_head_mismatch(), None);
    assert_eq!(head_file(dir.path()).seq, 4);
}

#[test]
fn an_unreadable_head_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("elevated.db");
    append_rows(&mut Store::open(&db).unwrap(), 1);
    std::fs::write(dir.path().join(FILE_NAME), "garbage").unwrap();
    let m = Store::open(&db).unwrap().take_head_mismatch();
    assert!(matches!(m, Some(Mismatch::Unreadable { .. })), "{m:?}");
}

#[test]
fn verify_reports_a_recorded_mismatch() {
    let mut s = Store::open_in_memory().unwrap();
    append_rows(&mut s, 2);
    let m = Mismatch::Behind {
        head: Link {
            seq: 9,
            hash: "ab".repeat(32),
        },
        db: Some(Link {
            seq: 2,
            hash: "cd".repeat(32),
        }),
    };
    s.tx(|tx| audit::append(tx, 3000, MISMATCH_EVENT, "daemon", None, &m.detail()))
        .unwrap();
    append_rows(&mut s, 1);
    let v = audit::verify(s.conn()).unwrap();
    assert_eq!(v.first_bad, None);
    let (seq, why) = v.head_mismatch.expect("reported");
    assert_eq!(seq, 3);
    assert!(why.contains("rows 3 to 9 are missing"), "{why}");
    assert!(why.contains("audit row 3"), "{why}");
}

#[test]
fn links_parse_only_well_formed_lines() {
    let l = Link {
        seq: 12,
        hash: "0f".repeat(32),
    };
    assert_eq!(Link::parse(&l.to_line()), Some(l));
    for bad in [
        String::new(),
        "seq=0 hash=".to_owned() + &"0".repeat(64),
        "seq=1 hash=".to_owned() + &"0".repeat(63),
        "seq=1 hash=".to_owned() + &"G".repeat(64),
        "seq=x hash=".to_owned() + &"0".repeat(64),
    ] {
        assert_eq!(Link::parse(&bad), None, "{bad}");
    }
}
