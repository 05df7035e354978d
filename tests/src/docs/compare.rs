//! Documented output against real output: both sides normalised (ids,
//! times, remaining times, column alignment), `...` as a wildcard, JSON
//! compared by shape.

use std::sync::OnceLock;

use regex::Regex;

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).unwrap())
}

/// RFC 3339 in UTC or with an offset, whole seconds only: a fraction is
/// left in place so that it shows as a difference.
fn time_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(
        &R,
        r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)(\b|$)|NOTAFTER=\d{14}Z",
    )
}

/// A remaining time: `29m 14s left`, `(1h left)`, `12m left`.
fn left_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"\b(\d+(d|h|m|s|ms)\s?)+left\b")
}

/// A whole column cell that is a duration (`LEFT`, `AGE` columns).
fn duration_cell_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^(\d+(d|h|m|s|ms))( \d+(d|h|m|s|ms))*$")
}

/// An id as the docs write them: 8 lower-case letters and digits, at
/// least one of each.
fn doc_id_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"\b[a-z0-9]{8}\b")
}

fn uid_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"\(uid \d+\)")
}

/// Whether `w` is written like a documented request id.
pub fn is_doc_id(w: &str) -> bool {
    w.len() == 8
        && w.chars().any(|c| c.is_ascii_digit())
        && w.chars().any(|c| c.is_ascii_lowercase())
        && w.chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
}

/// The documented ids of `text`, in order of first appearance.
pub fn doc_ids(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in doc_id_re().find_iter(text) {
        let w = m.as_str();
        if is_doc_id(w) && !out.iter().any(|o| o == w) {
            out.push(w.to_owned());
        }
    }
    out
}

/// One line with the parts that vary replaced and columns aligned the
/// same way: indentation kept, runs of two or more spaces become two.
/// `ids` are the real ids to hide (the documented ones are recognised by
/// their form).
pub fn normalise(line: &str, ids: &[String]) -> String {
    let mut s = line.to_owned();
    for id in ids {
        s = s.replace(id.as_str(), "<ID>");
    }
    s = doc_id_re()
        .replace_all(&s, |c: &regex::Captures| {
            if is_doc_id(&c[0]) {
                "<ID>".to_owned()
            } else {
                c[0].to_owned()
            }
        })
        .into_owned();
    s = time_re().replace_all(&s, "<TIME>").into_owned();
    s = left_re().replace_all(&s, "<LEFT> left").into_owned();
    s = uid_re().replace_all(&s, "(uid <N>)").into_owned();
    let body = s.trim_start();
    let indent = &s[..s.len() - body.len()];
    let cells: Vec<String> = split_cells(body.trim_end())
        .into_iter()
        .map(|c| {
            if duration_cell_re().is_match(c) {
                "<D>".to_owned()
            } else {
                c.to_owned()
            }
        })
        .collect();
    format!("{indent}{}", cells.join("  "))
}

/// Cells separated by two or more spaces.
fn split_cells(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b' ' && b.get(i + 1) == Some(&b' ') {
            out.push(&s[start..i]);
            while i < b.len() && b[i] == b' ' {
                i += 1;
            }
            start = i;
        } else {
            i += 1;
        }
    }
    out.push(&s[start..]);
    out
}

/// A documented line that stands for any number of lines.
fn is_wildcard_line(l: &str) -> bool {
    matches!(l.trim(), "..." | "…")
}

/// Whether one documented line (normalised) matches one real line
/// (normalised): JSON by shape, `...` inside a line as any text, else
/// equal.
pub fn line_matches(doc: &str, real: &str) -> bool {
    if doc.trim_start().starts_with('{') {
        if let (Ok(d), Ok(r)) = (
            serde_json::from_str::<serde_json::Value>(doc.trim()),
            serde_json::from_str::<serde_json::Value>(real.trim()),
        ) {
            return same_shape(&d, &r);
        }
    }
    let parts: Vec<&str> = doc.split("...").flat_map(|p| p.split('…')).collect();
    if parts.len() == 1 {
        return doc == real;
    }
    let mut rest = real;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(p) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else {
            match rest.find(p) {
                Some(at) => rest = &rest[at + p.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Same keys and value types, recursively; arrays of the same length.
pub fn same_shape(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as V;
    match (a, b) {
        (V::Object(x), V::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_shape(v, w)))
        }
        (V::Array(x), V::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_shape(v, w))
        }
        (V::Null, V::Null) | (V::Bool(_), V::Bool(_)) | (V::String(_), V::String(_)) => true,
        (V::Number(_), V::Number(_)) => true,
        _ => false,
    }
}

/// Whether the documented lines match the real ones, `...` lines matching
/// any number of lines. On a mismatch: the index of the first documented
/// line that could not be matched (`doc.len()` when real output is left
/// over).
pub fn match_lines(doc: &[String], real: &[String]) -> Result<(), usize> {
    fn go(doc: &[String], real: &[String], d: usize, r: usize, best: &mut usize) -> bool {
        *best = (*best).max(d);
        if d == doc.len() {
            return r == real.len();
        }
        if is_wildcard_line(&doc[d]) {
            return (r..=real.len()).any(|k| go(doc, real, d + 1, k, best));
        }
        r < real.len() && line_matches(&doc[d], &real[r]) && go(doc, real, d + 1, r + 1, best)
    }
    let mut best = 0;
    if go(doc, real, 0, 0, &mut best) {
        Ok(())
    } else {
        Err(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalise(s, &["zzzzzzzz".to_owned()])
    }

    #[test]
    fn what_varies_is_hidden_and_what_does_not_is_kept() {
        assert_eq!(
            n("k3f9x2ma active until 2026-11-24T10:10:00Z (29m 14s left)"),
            "<ID> active until <TIME> (<LEFT> left)"
        );
        assert_eq!(n("zzzzzzzz active"), "<ID> active");
        assert_eq!(
            n("  k3f9x2ma  alice    3m 5s  26m   INC-42"),
            "  <ID>  alice  <D>  <D>  INC-42"
        );
        // A fraction of a second is a difference, not a variation.
        assert_eq!(
            n("at 2026-11-24T10:10:00.123Z"),
            "at 2026-11-24T10:10:00.123Z"
        );
        assert_eq!(n("requests pending"), "requests pending");
        assert_eq!(n("alice (uid 1001)"), "alice (uid <N>)");
    }

    #[test]
    fn wildcards_and_json_shapes_match_and_differences_do_not() {
        let v = |s: &[&str]| s.iter().map(|l| l.to_string()).collect::<Vec<_>>();
        assert!(match_lines(&v(&["a", "...", "d"]), &v(&["a", "b", "c", "d"])).is_ok());
        assert!(match_lines(&v(&["a", "..."]), &v(&["a"])).is_ok());
        assert_eq!(match_lines(&v(&["a", "x"]), &v(&["a", "b"])), Err(1));
        assert_eq!(match_lines(&v(&["a"]), &v(&["a", "b"])), Err(1));
        assert!(line_matches("hash=5f1c... event", "hash=5f1cabc event"));
        assert!(!line_matches("hash=5f1c... event", "hash=5f1cabc other"));
        assert!(line_matches(r#"{"a":1,"b":["x"]}"#, r#"{"b":["y"],"a":7}"#));
        assert!(!line_matches(r#"{"a":1}"#, r#"{"a":"1"}"#));
        assert!(!line_matches(r#"{"a":1}"#, r#"{"a":1,"b":2}"#));
    }
}
