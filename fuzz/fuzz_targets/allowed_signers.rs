//! The allowed-signers file, the OpenSSH pattern lists in it, and the
//! armoured signatures that anyone may submit with `elevate approve
//! --signature`.
//!
//! The input is an allowed-signers file; from a line starting with
//! `-----BEGIN SSH SIGNATURE-----` on, it is a signature over [`MESSAGE`]
//! instead (the seed corpus holds a valid one and the file that lists its
//! key).
//!
//! Properties:
//! - nothing panics, and no input makes matching slow;
//! - every error names a line of the file;
//! - an accepted entry has a non-empty principals list, a `SHA256:`
//!   fingerprint, and `valid-before` later than `valid-after`;
//! - pattern matching agrees with a plain reference matcher, and a list
//!   matches exactly when some plain pattern matches and no negated one;
//! - a verified signature names only lists of entries for its key.
#![no_main]

use std::path::Path;

use elevated::approval::pattern::{match_list, match_pattern, split_list};
use elevated::approval::{verify, AllowedSigners, APPROVAL_NAMESPACE};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use libfuzzer_sys::fuzz_target;

/// What the seed signature was made over.
const MESSAGE: &[u8] = b"elevated fuzz approval text\n";

const ARMOR: &str = "-----BEGIN SSH SIGNATURE-----";

/// Reference glob: `*` any run of bytes, `?` one byte. Quadratic table, so
/// only called on small inputs.
fn reference(s: &[u8], p: &[u8]) -> bool {
    // m[j]: p[..j] matches the current prefix of s.
    let mut m = vec![false; p.len() + 1];
    m[0] = true;
    for j in 1..=p.len() {
        m[j] = m[j - 1] && p[j - 1] == b'*';
    }
    for &c in s {
        let mut next = vec![false; p.len() + 1];
        for j in 1..=p.len() {
            next[j] = match p[j - 1] {
                b'*' => next[j - 1] || m[j],
                b'?' => m[j - 1],
                pc => m[j - 1] && pc == c,
            };
        }
        m = next;
    }
    m[p.len()]
}

fn check_patterns(list: &str, candidates: &[&str]) {
    for s in candidates {
        let mut positive = false;
        let mut negative = false;
        for sub in split_list(list) {
            let (neg, pat) = match sub.strip_prefix('!') {
                Some(p) => (true, p),
                None => (false, sub),
            };
            let got = match_pattern(s.as_bytes(), pat.as_bytes());
            if s.len() * pat.len() <= 64 * 1024 {
                assert_eq!(
                    got,
                    reference(s.as_bytes(), pat.as_bytes()),
                    "{s:?} against {pat:?}"
                );
            }
            if got {
                if neg {
                    negative = true;
                } else {
                    positive = true;
                }
            }
        }
        assert_eq!(
            match_list(s, list),
            positive && !negative,
            "{s:?} in {list:?}"
        );
    }
}

fn instants() -> [Timestamp; 4] {
    [
        Timestamp::MIN,
        Timestamp::MAX,
        Timestamp::UNIX_EPOCH,
        Timestamp::from_second(1_750_000_000).unwrap_or(Timestamp::UNIX_EPOCH),
    ]
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (file, signature) = match text.find(ARMOR) {
        Some(i) => (&text[..i], Some(&text[i..])),
        None => (text, None),
    };
    let path = Path::new("/etc/elevated/allowed_signers");
    let lines = file.split('\n').count();
    let berlin = jiff::tz::db().get("Europe/Berlin").unwrap_or(TimeZone::UTC);
    let mut parsed = None;
    for tz in [TimeZone::UTC, berlin] {
        match AllowedSigners::parse_in(path, file, &tz) {
            Ok(signers) => {
                for e in signers.entries() {
                    assert!(e.line() >= 1 && e.line() as usize <= lines);
                    assert!(!e.principals().is_empty());
                    assert!(e.fingerprint().starts_with("SHA256:"));
                    if let (Some(a), Some(b)) = (e.valid_after(), e.valid_before()) {
                        assert!(b > a, "line {}: {b} not after {a}", e.line());
                    }
                    for now in instants() {
                        for ns in [APPROVAL_NAMESPACE, "", "file", "elevated-*"] {
                            if let Some(why) = e.refusal(ns, now) {
                                assert!(why.starts_with(&format!("line {}:", e.line())));
                            }
                        }
                    }
                    let words: Vec<&str> = file.split([' ', '\t', '\n', ',', '"']).collect();
                    check_patterns(e.principals(), &words);
                    if let Some(ns) = e.namespaces() {
                        check_patterns(ns, &[APPROVAL_NAMESPACE, "file", ""]);
                    }
                }
                parsed = Some(signers);
            }
            Err(errs) => {
                assert!(!errs.0.is_empty());
                for e in &errs.0 {
                    let line = e.line.expect("parse errors have a line") as usize;
                    assert!(line >= 1 && line <= lines, "line {line} of {lines}: {e}");
                }
            }
        }
    }
    // Pattern lists from the text itself: first line against the others.
    let mut it = file.split('\n');
    if let Some(list) = it.next() {
        let rest: Vec<&str> = it.take(8).collect();
        check_patterns(list, &rest);
    }

    if let Some(sig) = signature {
        let signers = parsed.unwrap_or_default();
        for now in instants() {
            match verify(&signers, APPROVAL_NAMESPACE, MESSAGE, sig, now) {
                Ok(v) => {
                    assert!(!v.principals.is_empty());
                    assert!(v.fingerprint.starts_with("SHA256:"));
                    for list in &v.principals {
                        assert!(signers
                            .entries()
                            .iter()
                            .any(|e| e.principals() == list && e.fingerprint() == v.fingerprint));
                    }
                }
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
    }
});
