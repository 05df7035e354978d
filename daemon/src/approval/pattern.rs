//! OpenSSH pattern lists, as used for the principals and `namespaces=` of an
//! allowed-signers entry (`PATTERNS` in `ssh_config(5)`).
//!
//! A pattern list is a comma-separated list of patterns; `*` matches any
//! run of bytes (also none) and `?` exactly one byte. A pattern preceded by
//! `!` is negated: when it matches, the whole list does not match, wherever
//! it stands. A list matches when some plain pattern matches and no negated
//! one does, so a list of negated patterns alone matches nothing. Matching
//! is case-sensitive and byte-wise, as OpenSSH's `match_pattern_list` with
//! `dolower = 0`.

/// Longest single pattern accepted, in bytes. OpenSSH treats a list holding
/// a longer pattern as matching nothing; the parser refuses such patterns
/// instead.
pub const MAX_PATTERN_LEN: usize = 1022;

/// Whether `s` matches the pattern list `list` (see the module
/// documentation).
#[must_use]
pub fn match_list(s: &str, list: &str) -> bool {
    let mut positive = false;
    for sub in split_list(list) {
        let (negated, pattern) = match sub.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, sub),
        };
        if match_pattern(s.as_bytes(), pattern.as_bytes()) {
            if negated {
                return false;
            }
            positive = true;
        }
    }
    positive
}

/// The patterns of a list, each with its `!` if negated. A comma that ends
/// the list does not start an empty pattern (as in OpenSSH); two commas in
/// a row do.
pub fn split_list(list: &str) -> impl Iterator<Item = &str> {
    let body = list.strip_suffix(',').unwrap_or(list);
    let empty = list.is_empty();
    body.split(',').filter(move |_| !empty)
}

/// Whether `s` matches the single pattern `p` (`*` and `?` wildcards).
///
/// Iterative with backtracking to the last `*` only, so the cost stays
/// proportional to `s.len() * p.len()` whatever the input.
#[must_use]
pub fn match_pattern(s: &[u8], p: &[u8]) -> bool {
    let (mut si, mut pi) = (0usize, 0usize);
    // Position after the last `*` seen, and the input position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(b'*') => {
                pi += 1;
                star = Some((pi, si));
            }
            Some(&c) if c == b'?' || c == s[si] => {
                pi += 1;
                si += 1;
            }
            _ => match star {
                Some((star_p, star_s)) => {
                    pi = star_p;
                    si = star_s + 1;
                    star = Some((star_p, star_s + 1));
                }
                None => return false,
            },
        }
    }
    p[pi.min(p.len())..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
#[path = "pattern_tests.rs"]
mod tests;
