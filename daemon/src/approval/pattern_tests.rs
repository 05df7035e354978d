use super::*;

fn m(s: &str, p: &str) -> bool {
    match_pattern(s.as_bytes(), p.as_bytes())
}

#[test]
fn single_patterns() {
    assert!(m("alice@corp", "alice@corp"));
    assert!(!m("alice@corp", "Alice@corp"), "case-sensitive");
    assert!(m("alice@corp", "*@corp"));
    assert!(m("alice@corp", "*"));
    assert!(m("", "*"));
    assert!(m("", "**"));
    assert!(!m("", "?"));
    assert!(m("ab", "a?"));
    assert!(!m("a", "a?"));
    assert!(!m("abc", "a?"));
    assert!(m("abc", "a*c"));
    assert!(m("ac", "a*c"));
    assert!(!m("acb", "a*c"));
    assert!(m("a.b.c", "*.*.*"));
    assert!(m("xaaab", "*a*b"));
    assert!(m("alice@corp", "a*?@c*p"));
    assert!(!m("alice@corp", "alice@corpx"));
    assert!(!m("alice@corpx", "alice@corp"));
    assert!(m("", ""));
    assert!(!m("a", ""));
    // `?` is one byte, as in OpenSSH.
    assert!(m("é", "??"));
    assert!(!m("é", "?"));
}

#[test]
fn many_stars_stay_fast() {
    let s = "a".repeat(5000);
    let p = format!("{}b", "*a".repeat(500));
    assert!(!m(&s, &p));
}

#[test]
fn lists() {
    assert!(match_list("bob@corp", "alice@corp,bob@corp"));
    assert!(!match_list("carol@corp", "alice@corp,bob@corp"));
    assert!(match_list("bob@corp", "*@corp,!mallory@corp"));
    assert!(!match_list("mallory@corp", "*@corp,!mallory@corp"));
    assert!(!match_list("mallory@corp", "!mallory@corp,*@corp"));
    assert!(!match_list("bob@corp", "!mallory@corp"), "negations alone");
    assert!(match_list("a", "a,"), "a trailing comma adds no pattern");
    assert!(!match_list("", "a,"));
    assert!(match_list("", "a,,b"), "an empty pattern between commas");
    assert!(!match_list("", ""));
    assert!(!match_list("x", ""));
    // Only the first `!` negates: `!!a` refuses the string "!a".
    assert!(!match_list("!a", "!!a,*"));
    assert!(match_list("a", "!!a,*"));
}

#[test]
fn splitting() {
    fn v(l: &str) -> Vec<&str> {
        split_list(l).collect()
    }
    assert_eq!(v("a,b"), ["a", "b"]);
    assert_eq!(v("a,b,"), ["a", "b"]);
    assert_eq!(v("a,,b"), ["a", "", "b"]);
    assert_eq!(v(","), [""]);
    assert!(v("").is_empty());
}
