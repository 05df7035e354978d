//! `elevate audit --verify [--against FILE]`: the daemon recomputes the
//! chain; with `--against`, this client also compares the chain with the
//! anchors a log holds. The client reads the file (it is the caller's file:
//! the root daemon opens no path a client names) and pages through the
//! chain's (sequence, hash) pairs, one frame at a time.

use std::path::Path;

use elevated_proto::{AuditLink, Request, Response};

use crate::anchors::{self, Anchor};
use crate::conn::{unexpected, Daemon};
use crate::exit::{self, Failure};
use crate::out::Out;
use crate::render;

/// The verdict, as printed and as `--json` carries it.
struct Verdict {
    ok: bool,
    rows: u64,
    first_bad: Option<u64>,
    message: String,
    anchors: Option<usize>,
}

/// Runs the check and prints the verdict.
pub fn verify(socket: &Path, against: Option<&Path>, out: &Out) -> Result<u8, Failure> {
    // The file first: a wrong path is a usage error, whatever the daemon says.
    let anchors = against.map(read_anchors).transpose()?;
    let mut daemon = Daemon::connect(socket)?;
    let answer = daemon.call(Request::AuditVerify {})?;
    let Response::AuditVerify {
        ok,
        rows,
        first_bad,
        message,
    } = answer
    else {
        return Err(unexpected(&answer));
    };
    let mut verdict = Verdict {
        ok,
        rows,
        first_bad,
        message,
        anchors: anchors.as_ref().map(Vec::len),
    };
    if let (true, Some(anchors), Some(file)) = (ok, &anchors, against) {
        let found = compare(anchors, |after| daemon.audit_chain(after))?;
        match found {
            Ok(()) => {
                let (low, high) = span(anchors);
                verdict.message = format!(
                    "{}; {} anchors from {} (rows {low} to {high}) match",
                    verdict.message,
                    anchors.len(),
                    file.display()
                );
            }
            Err(problem) => {
                verdict.ok = false;
                verdict.first_bad = Some(problem.seq);
                verdict.message = problem.describe(file);
            }
        }
    }
    report(&verdict, out)
}

fn report(v: &Verdict, out: &Out) -> Result<u8, Failure> {
    if out.json {
        let mut obj = serde_json::json!({
            "ok": v.ok, "rows": v.rows, "first_bad": v.first_bad, "message": v.message
        });
        if let Some(n) = v.anchors {
            obj["anchors"] = n.into();
        }
        out.json(&obj)?;
    } else if v.ok {
        out.text(&format!("{}\n", render::clean(&v.message)));
    }
    if v.ok {
        return Ok(exit::OK);
    }
    let mut problem = render::clean(&v.message);
    if let Some(seq) = v.first_bad {
        problem.push_str(&format!(" (first bad row: {seq})"));
    }
    out.note(&problem);
    Ok(exit::REFUSED)
}

fn read_anchors(file: &Path) -> Result<Vec<Anchor>, Failure> {
    let bytes = std::fs::read(file)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", file.display())))?;
    let mut found = anchors::parse(&bytes);
    if found.is_empty() {
        return Err(Failure::usage(format!(
            "{} holds no audit lines of elevated (`seq=N hash=H ...`): give the daemon's \
             syslog lines or a `journalctl -o json` dump of them",
            file.display()
        )));
    }
    // By row, then file order; a line logged twice counts once.
    found.sort_by_key(|a| (a.seq, a.line));
    found.dedup_by(|b, a| a.seq == b.seq && a.hash == b.hash);
    Ok(found)
}

fn span(anchors: &[Anchor]) -> (u64, u64) {
    let low = anchors.first().map_or(0, |a| a.seq);
    let high = anchors.last().map_or(0, |a| a.seq);
    (low, high)
}

/// The first anchor the chain does not hold.
#[derive(Debug, PartialEq, Eq)]
struct Problem {
    seq: u64,
    line: usize,
    logged: String,
    /// The database's hash at that row; `None` when it has no such row.
    stored: Option<String>,
    /// The database's newest row seen.
    last: u64,
}

impl Problem {
    fn describe(&self, file: &Path) -> String {
        let at = format!("{} line {}", file.display(), self.line);
        match &self.stored {
            None if self.last == 0 => format!(
                "audit row {} is missing from the database: {at} logged it (hash {}), and the \
                 database holds no row from there on",
                self.seq, self.logged
            ),
            None => format!(
                "audit row {} is missing from the database: {at} logged it (hash {}), and the \
                 database ends at row {}",
                self.seq, self.logged, self.last
            ),
            Some(stored) => format!(
                "audit row {} differs from its anchor: {at} logged hash {}, the database has {} \
                 (the row was rewritten, or rows were lost and their numbers reused)",
                self.seq, self.logged, stored
            ),
        }
    }
}

/// Compares `anchors` (sorted by row) with the chain, read a page at a
/// time through `page(after)`; the outer error is a failed read, the inner
/// one the first anchor that the chain does not hold.
fn compare(
    anchors: &[Anchor],
    mut page: impl FnMut(u64) -> Result<(Vec<AuditLink>, bool), Failure>,
) -> Result<Result<(), Problem>, Failure> {
    let mut pending = anchors.iter().peekable();
    let mut after = anchors.first().map_or(0, |a| a.seq.saturating_sub(1));
    let mut last = 0;
    while pending.peek().is_some() {
        let (links, more) = page(after)?;
        for link in &links {
            if link.seq <= after {
                return Err(Failure::protocol(
                    "elevated sent audit links out of order; are client and daemon the same version?",
                ));
            }
            after = link.seq;
            last = link.seq;
            while let Some(a) = pending.next_if(|a| a.seq <= link.seq) {
                let stored = (a.seq == link.seq).then(|| link.hash.clone());
                if stored.as_deref() != Some(a.hash.as_str()) {
                    return Ok(Err(problem(a, stored, last)));
                }
            }
        }
        if !more || links.is_empty() {
            break;
        }
    }
    match pending.next() {
        Some(a) => Ok(Err(problem(a, None, last))),
        None => Ok(Ok(())),
    }
}

fn problem(a: &Anchor, stored: Option<String>, last: u64) -> Problem {
    Problem {
        seq: a.seq,
        line: a.line,
        logged: a.hash.clone(),
        stored,
        last,
    }
}

#[cfg(test)]
#[path = "audit_verify_tests.rs"]
mod tests;
