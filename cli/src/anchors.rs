//! Audit anchors: the (sequence, hash) pairs the daemon's syslog messages
//! carry, read back from a log file for `elevate audit --verify --against`.
//!
//! Two formats: syslog lines as the daemon sends them or as rsyslog and
//! `journalctl` print them (`Mon dd hh:mm:ss host elevated[pid]: seq=N
//! hash=H event=...`), and `journalctl -o json` (one object per line, the
//! text in `MESSAGE`, as a string or as an array of bytes). Other lines are
//! skipped, so a whole `auth.log` can be given.
//!
//! Anyone on the host can send syslog lines that claim to be `elevated`.
//! A forged anchor can only make the comparison fail, never hide a
//! missing or rewritten row: every anchor must match. In a journal dump,
//! entries that journald says came from a process other than root's
//! (`_UID`) are skipped, since the daemon runs as root.

use std::borrow::Cow;

/// One anchor from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The row's sequence.
    pub seq: u64,
    /// The row's hash, lowercase hex.
    pub hash: String,
    /// The line of the file it came from, from 1.
    pub line: usize,
}

/// The anchors in `bytes` (a log file), in file order. Lines that are not
/// the daemon's audit messages are skipped.
#[must_use]
pub fn parse(bytes: &[u8]) -> Vec<Anchor> {
    bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .filter_map(|(i, raw)| {
            let line = String::from_utf8_lossy(raw);
            let message = message_of(line.trim_end_matches('\r'))?;
            let (seq, hash) = parse_message(&message)?;
            Some(Anchor {
                seq,
                hash,
                line: i + 1,
            })
        })
        .collect()
}

/// The daemon's message in one line of the file, if the line is one.
fn message_of(line: &str) -> Option<Cow<'_, str>> {
    if line.trim_start().starts_with('{') {
        return journal_message(line).map(Cow::Owned);
    }
    syslog_message(line).map(Cow::Borrowed)
}

/// The message of a syslog line whose tag is `elevated[PID]` or
/// `elevated`. The tag is the last word before the line's first `: `
/// (timestamps hold no `: `), so a program that logs text containing
/// `elevated[1]: seq=...` (sshd naming an invalid user, say) is not taken
/// for the daemon.
fn syslog_message(line: &str) -> Option<&str> {
    let end = line.find(": ")?;
    let header = &line[..end];
    let tag = header.rsplit([' ', '>']).next().unwrap_or(header);
    let is_daemon = match tag.strip_prefix("elevated") {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())),
        None => false,
    };
    is_daemon.then(|| line[end + 2..].trim_start_matches(' '))
}

/// `MESSAGE` of a `journalctl -o json` entry from the daemon.
fn journal_message(line: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    if v.get("SYSLOG_IDENTIFIER").and_then(|i| i.as_str()) != Some("elevated") {
        return None;
    }
    // journald's own record of the sender: not the daemon if not root.
    if let Some(uid) = v.get("_UID") {
        if uid.as_str() != Some("0") {
            return None;
        }
    }
    match v.get("MESSAGE")? {
        serde_json::Value::String(s) => Some(s.clone()),
        // journalctl writes a message that is not plain text as bytes.
        serde_json::Value::Array(bytes) => {
            let bytes: Option<Vec<u8>> = bytes
                .iter()
                .map(|b| b.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect();
            Some(String::from_utf8_lossy(&bytes?).into_owned())
        }
        _ => None,
    }
}

/// `seq=N hash=H` at the very start of the message: nothing a requester
/// types (it is all in the `detail` at the end) can come before it.
fn parse_message(message: &str) -> Option<(u64, String)> {
    let rest = message.strip_prefix("seq=")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let seq: u64 = rest[..digits].parse().ok()?;
    let hash = rest[digits..].strip_prefix(" hash=")?;
    let hex = hash
        .bytes()
        .take_while(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        .count();
    let ends_there = hash[hex..].is_empty() || hash[hex..].starts_with(' ');
    (seq >= 1 && hex == 64 && ends_there).then(|| (seq, hash[..64].to_owned()))
}

#[cfg(test)]
#[path = "anchors_tests.rs"]
mod tests;
