//! A long audit log in seconds: rows appended straight into a running
//! daemon's database with a valid hash chain (the documented encoding,
//! see `store::audit::row_hash`), for tests and benchmarks that need a big
//! store without filing 100,000 requests first.

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

/// Appends `rows` filler rows (event `filler`, actor `daemon`, about no
/// request) after the newest row, in one transaction, so that
/// `audit --verify` still finds the chain intact.
pub fn grow_audit(db: &mut Connection, rows: u64) {
    db.busy_timeout(std::time::Duration::from_secs(30)).unwrap();
    let tx = db.transaction().unwrap();
    let last: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .unwrap();
    let (mut seq, mut prev) = last.unwrap_or((0, "0".repeat(64)));
    let at = jiff::Timestamp::now().as_millisecond();
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO audit (seq, at, event, actor, request_id, detail, prev_hash, hash) \
                 VALUES (?1, ?2, 'filler', 'daemon', NULL, '{}', ?3, ?4)",
            )
            .unwrap();
        for _ in 0..rows {
            seq += 1;
            let canonical =
                serde_json::json!([seq, at, "filler", "daemon", None::<&str>, "{}", prev]);
            let hash = hex::encode(Sha256::digest(canonical.to_string().as_bytes()));
            insert.execute(params![seq, at, prev, hash]).unwrap();
            prev = hash;
        }
    }
    tx.commit().unwrap();
}
