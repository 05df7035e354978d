//! The audit chain against its anchors: the syslog lines the daemon sent
//! (captured on the daemon's own syslog socket) and the head file it keeps
//! beside the database. Each test tampers with the database while the
//! daemon is stopped, as someone with root on the host would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use elevated_testkit::output::json;
use elevated_tests::daemon::text;
use elevated_tests::{require_root, Daemon, TestUser};

const POLICY: &str = "[roles.ops]\nsudo = { commands = [\"/usr/bin/id\"] }\n\
                      default_duration = \"1h\"\nmax_duration = \"2h\"\n\n[[rules]]\nrole = \"ops\"\n";

/// A daemon whose syslog socket the test holds, with a few grants made.
struct Logged {
    d: Daemon,
    log: UnixDatagram,
    /// Every datagram received so far, one per line.
    lines: Vec<String>,
}

impl Logged {
    fn start() -> Self {
        require_root();
        let mut d = Daemon::new("");
        d.policy("10-ops.toml", POLICY);
        let log = UnixDatagram::bind(d.dir.path().join("syslog.sock")).unwrap();
        // A bound on a lost datagram, not a timing assertion.
        log.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        d.start();
        for i in 0..3 {
            let reason = format!("change {i}");
            let out = d.elevate(None, &["request", "ops", "--reason", &reason]);
            assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
        }
        let mut me = Self {
            d,
            log,
            lines: Vec::new(),
        };
        let newest = me.newest();
        me.receive_through(newest);
        me
    }

    /// The newest sequence in the database.
    fn newest(&self) -> i64 {
        self.d
            .db()
            .query_row("SELECT max(seq) FROM audit", [], |r| r.get(0))
            .unwrap()
    }

    /// Receives syslog datagrams until the one for row `seq`.
    fn receive_through(&mut self, seq: i64) {
        let want = format!("]: seq={seq} hash=");
        let mut buf = vec![0u8; 65536];
        loop {
            let n = self.log.recv(&mut buf).expect("syslog line for every row");
            let line = String::from_utf8_lossy(&buf[..n]).trim_end().to_owned();
            let done = line.contains(&want);
            self.lines.push(line);
            if done {
                return;
            }
        }
    }

    /// The received lines as a log file, as rsyslog would keep them.
    fn syslog_file(&self) -> PathBuf {
        let path = self.d.dir.path().join("auth.log");
        let mut text = String::from("Dec  2 07:00:00 testhost sshd[1]: unrelated line\n");
        for l in &self.lines {
            text.push_str(l);
            text.push('\n');
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The received lines as `journalctl -o json` prints them; every other
    /// message as a byte array, as journalctl writes non-text messages.
    fn journal_file(&self) -> PathBuf {
        let path = self.d.dir.path().join("journal.json");
        let mut f = std::fs::File::create(&path).unwrap();
        for (i, l) in self.lines.iter().enumerate() {
            let (tag, message) = l.split_once("]: ").unwrap();
            let pid = tag.rsplit_once('[').unwrap().1;
            let message: serde_json::Value = if i % 2 == 0 {
                message.into()
            } else {
                message.bytes().collect::<Vec<u8>>().into()
            };
            let entry = serde_json::json!({
                "__REALTIME_TIMESTAMP": "1733122800000000",
                "SYSLOG_FACILITY": "10",
                "SYSLOG_IDENTIFIER": "elevated",
                "_PID": pid,
                "_UID": "0",
                "MESSAGE": message,
            });
            writeln!(f, "{entry}").unwrap();
        }
        path
    }

    fn verify(&self, against: Option<&Path>) -> (Option<i32>, String, serde_json::Value) {
        let mut args = vec!["audit", "--verify"];
        let file;
        if let Some(p) = against {
            file = p.display().to_string();
            args.extend(["--against", file.as_str()]);
        }
        let out = self.d.elevate(None, &args);
        let (stdout, stderr) = text(&out);
        let mut json_args = vec!["--json"];
        json_args.extend(&args);
        let v = json(&self.d.elevate(None, &json_args));
        (out.status.code(), format!("{stdout}{stderr}"), v)
    }

    /// Deletes the rows after `keep`.
    fn truncate_to(&self, keep: i64) {
        self.d
            .db()
            .execute("DELETE FROM audit WHERE seq > ?1", [keep])
            .unwrap();
    }

    /// What someone covering their tracks does: the head file made to
    /// agree with the database as it now is.
    fn forge_head(&self) {
        let (seq, hash): (i64, String) = self
            .d
            .db()
            .query_row(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        std::fs::write(self.head_path(), format!("seq={seq} hash={hash}\n")).unwrap();
    }

    fn head_path(&self) -> PathBuf {
        self.d.dir.path().join("state/audit.head")
    }
}

/// SHA-256 (hex) of `data`, by `sha256sum`.
fn sha256(data: &str) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(data.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

/// Edits row `from` and recomputes its hash and every later row's, the
/// documented way (SHA-256 of the JSON array of the fields and the
/// previous hash): the chain itself verifies again.
fn rewrite_chain_from(db: &rusqlite::Connection, from: i64) {
    db.execute(
        "UPDATE audit SET detail = replace(detail, 'change', 'nothing') WHERE seq = ?1",
        [from],
    )
    .unwrap();
    let mut prev: String = db
        .query_row("SELECT hash FROM audit WHERE seq = ?1", [from - 1], |r| {
            r.get(0)
        })
        .unwrap();
    let mut stmt = db
        .prepare(
            "SELECT seq, at, event, actor, request_id, detail FROM audit WHERE seq >= ?1 ORDER BY seq",
        )
        .unwrap();
    type Row = (i64, i64, String, String, Option<String>, String);
    let rows: Vec<Row> = stmt
        .query_map([from], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (seq, at, event, actor, request, detail) in rows {
        let canonical = serde_json::json!([seq, at, event, actor, request, detail, prev]);
        let hash = sha256(&canonical.to_string());
        db.execute(
            "UPDATE audit SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![prev, hash, seq],
        )
        .unwrap();
        prev = hash;
    }
}

#[test]
fn an_untouched_chain_matches_its_syslog_and_journal_anchors() {
    let s = Logged::start();
    let newest = s.newest();
    for file in [s.syslog_file(), s.journal_file()] {
        let (code, out, v) = s.verify(Some(&file));
        assert_eq!(code, Some(0), "{out}");
        assert!(
            out.contains(&format!("anchors from {}", file.display())),
            "{out}"
        );
        assert_eq!(v["ok"], true, "{v}");
        assert_eq!(v["anchors"], newest, "one anchor per row: {v}");
    }
    // The head file names the newest row, root-only.
    let head = std::fs::read_to_string(s.head_path()).unwrap();
    assert!(head.starts_with(&format!("seq={newest} hash=")), "{head}");
    let mode = std::fs::metadata(s.head_path()).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );
    // A file without anchors is a usage error, not a pass.
    let empty = s.d.dir.path().join("empty.log");
    std::fs::write(&empty, "Dec  2 07:00:00 testhost sshd[1]: nothing here\n").unwrap();
    let (code, out, _) = s.verify(Some(&empty));
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("holds no audit lines"), "{out}");
    // The chain's hashes are root's to read.
    let user = TestUser::new("o", &[]);
    let file = s.syslog_file().display().to_string();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let out =
        s.d.elevate(Some(&user), &["audit", "--verify", "--against", &file]);
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    assert!(text(&out).1.contains("only root"), "{:?}", text(&out));
}

#[test]
fn deleted_newest_rows_fail_against_syslog_even_with_a_forged_head() {
    let mut s = Logged::start();
    let newest = s.newest();
    let keep = newest - 3;
    let (syslog, journal) = (s.syslog_file(), s.journal_file());
    s.d.stop();
    s.truncate_to(keep);
    s.forge_head();
    s.d.start();
    // The chain of what is left is intact, and the head agrees with it.
    let (code, out, _) = s.verify(None);
    assert_eq!(code, Some(0), "{out}");
    for file in [&syslog, &journal] {
        let (code, out, v) = s.verify(Some(file));
        assert_eq!(code, Some(1), "{out}");
        assert!(
            out.contains(&format!("audit row {} is missing", keep + 1)),
            "{out}"
        );
        assert!(out.contains(&format!("ends at row {keep}")), "{out}");
        assert_eq!(v["ok"], false, "{v}");
        assert_eq!(v["first_bad"], keep + 1, "{v}");
    }
}

#[test]
fn the_daemon_reports_at_start_a_database_behind_its_head() {
    let mut s = Logged::start();
    let newest = s.newest();
    let keep = newest - 2;
    let syslog = s.syslog_file();
    s.d.stop();
    s.truncate_to(keep);
    s.d.start();
    let log = s.d.log_text();
    assert!(
        log.contains(&format!(
            "ends at row {keep} but its head file recorded row {newest}"
        )),
        "{log}"
    );
    // Recorded in the chain itself: the row that takes the first missing
    // number says what was lost.
    let rows = json(&s.d.elevate(None, &["--json", "audit"]));
    let row = rows["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["event"] == "audit_head_mismatch")
        .unwrap_or_else(|| panic!("no audit_head_mismatch row: {rows}"));
    assert_eq!(row["seq"], keep + 1, "{row}");
    assert_eq!(row["detail"]["head_seq"], newest, "{row}");
    // And `--verify` says so from then on.
    let (code, out, v) = s.verify(None);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("rows {} to {newest} are missing", keep + 1)),
        "{out}"
    );
    assert_eq!(v["first_bad"], keep + 1, "{v}");
    // The reused number differs from what syslog saw.
    let (code, out, v) = s.verify(Some(&syslog));
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(v["first_bad"], keep + 1, "{v}");
}

#[test]
fn a_rewritten_chain_fails_against_syslog_at_the_first_rewritten_row() {
    let mut s = Logged::start();
    let syslog = s.syslog_file();
    // The first `requested` row after the first grant: its reason is edited.
    let target: i64 =
        s.d.db()
            .query_row(
                "SELECT min(seq) FROM audit WHERE seq > 1 AND detail LIKE '%change%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
    s.d.stop();
    rewrite_chain_from(&s.d.db(), target);
    s.forge_head();
    s.d.start();
    let (code, out, _) = s.verify(None);
    assert_eq!(
        code,
        Some(0),
        "the rewritten chain verifies on its own: {out}"
    );
    let (code, out, v) = s.verify(Some(&syslog));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("audit row {target} differs from its anchor")),
        "{out}"
    );
    assert!(out.contains("auth.log line"), "{out}");
    assert_eq!(v["first_bad"], target, "{v}");
}
