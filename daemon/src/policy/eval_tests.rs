//! Table-driven tests of the decision engine with fake users and hosts.

use super::*;
use crate::config::policy_file::parse_policy_files;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn policy(files: &[(&str, &str)]) -> Policy {
    let files: Vec<(PathBuf, String)> = files
        .iter()
        .map(|(n, s)| (PathBuf::from(n), (*s).to_owned()))
        .collect();
    match parse_policy_files(&files) {
        Ok(p) => p,
        Err(e) => panic!("test policy does not load:\n{e}"),
    }
}

fn map(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
        .collect()
}

type Pairs = &'static [(&'static str, &'static [&'static str])];

fn user(name: &str) -> Subject {
    let (uid, groups, attrs): (u32, &[&str], Pairs) = match name {
        "ferris" => (
            1000,
            &["ferris", "dba", "wheel"],
            &[("department", &["payments"]), ("teams", &["rust", "infra"])],
        ),
        "alice" => (1001, &["alice", "dev"], &[("department", &["hr"])]),
        _ => (1002, &["bob"], &[]),
    };
    Subject {
        user: name.to_owned(),
        uid,
        groups: groups
            .iter()
            .map(|g| (*g).to_owned())
            .collect::<BTreeSet<_>>(),
        attributes: map(attrs),
        context: BTreeMap::new(),
    }
}

fn host(name: &str) -> HostFacts {
    let (tags, hours): (Pairs, u64) = match name {
        "web1" => (&[("env", &["production"]), ("zone", &["a", "b"])], 8),
        "db1" | "db10" => (&[("env", &["staging"])], 8),
        "small" => (&[], 0),
        _ => (&[], 8),
    };
    HostFacts {
        name: name.to_owned(),
        tags: map(tags),
        max_duration: if hours == 0 {
            Duration::from_secs(15 * 60)
        } else {
            Duration::from_secs(hours * 3600)
        },
    }
}

/// Wednesday 2024-06-05, 10:00 UTC.
const WED_10: &str = "2024-06-05T10:00:00Z";

enum Want {
    /// Allowed by this rule label, for this many minutes, clamped or not.
    Allow(&'static str, u64, bool),
    /// Denied, naming this deny rule (if any), the message containing this.
    Deny(Option<&'static str>, &'static str),
}

struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    user: &'static str,
    host: &'static str,
    role: &'static str,
    minutes: Option<u64>,
    at: &'static str,
    want: Want,
}

const ROLE: &str = "[roles.r]\n";

fn run(cases: &[Case]) {
    for c in cases {
        let p = policy(c.files);
        let now: jiff::Timestamp = c.at.parse().unwrap();
        let role = RoleName::parse(c.role).unwrap();
        let requested = c.minutes.map(|m| Duration::from_secs(m * 60));
        let d = decide(&p, &user(c.user), &host(c.host), &role, requested, now);
        assert!(!d.message().contains('\n'), "{}: {d:?}", c.name);
        match (&c.want, &d) {
            (Want::Allow(rule, mins, clamped), Decision::Allow(a)) => {
                assert_eq!(a.rule, *rule, "{}: {}", c.name, a.message());
                assert_eq!(a.duration, Duration::from_secs(mins * 60), "{}", c.name);
                assert_eq!(a.clamped, *clamped, "{}: {}", c.name, a.message());
                assert_eq!(p.rules()[a.rule_index].label(), a.rule, "{}", c.name);
                assert!(
                    a.message().starts_with(&format!("allowed by {rule}; ")),
                    "{}",
                    c.name
                );
                assert!(d.is_allowed() && d.rule() == Some(*rule), "{}", c.name);
            }
            (Want::Deny(rule, part), Decision::Deny(x)) => {
                assert_eq!(x.rule.as_deref(), *rule, "{}: {}", c.name, x.message);
                assert!(
                    x.message.contains(part),
                    "{}: want {part:?} in {:?}",
                    c.name,
                    x.message
                );
                assert!(!d.is_allowed() && d.rule() == *rule, "{}", c.name);
            }
            _ => panic!("{}: unexpected {d:?}", c.name),
        }
    }
}

macro_rules! case {
    ($name:expr, $files:expr, $user:expr, $host:expr, $want:expr) => {
        case!($name, $files, $user, $host, "r", None, WED_10, $want)
    };
    ($name:expr, $files:expr, $user:expr, $host:expr, at $at:expr, $want:expr) => {
        case!($name, $files, $user, $host, "r", None, $at, $want)
    };
    ($name:expr, $files:expr, $user:expr, $host:expr, $role:expr, $mins:expr, $at:expr, $want:expr) => {
        Case {
            name: $name,
            files: $files,
            user: $user,
            host: $host,
            role: $role,
            minutes: $mins,
            at: $at,
            want: $want,
        }
    };
}

#[test]
fn precedence_and_order() {
    const ALLOW_ALL: &str = "[roles.r]\n\n[[rules]]\nrole = \"r\"\n";
    const DENY_FERRIS: &str =
        "[[rules]]\nrole = \"r\"\neffect = \"deny\"\nwho = { users = [\"ferris\"] }\n";
    const TWO_ALLOWS: &str = "[roles.r]\n[[rules]]\nrole = \"r\"\nwho = { users = [\"alice\"] }\n[[rules]]\nrole = \"r\"\n[[rules]]\nrole = \"r\"\n";
    run(&[
        case!("plain allow", &[("10-a.toml", ALLOW_ALL)], "ferris", "web1",
            Want::Allow("10-a.toml rule 1 (line 3)", 60, false)),
        case!("deny in a later file wins", &[("10-a.toml", ALLOW_ALL), ("20-b.toml", DENY_FERRIS)], "ferris", "web1",
            Want::Deny(Some("20-b.toml rule 1 (line 1)"), "role r for ferris on web1 is denied by 20-b.toml rule 1 (line 1)")),
        case!("deny in an earlier file wins", &[("05-a.toml", DENY_FERRIS), ("10-b.toml", ALLOW_ALL)], "ferris", "web1",
            Want::Deny(Some("05-a.toml rule 1 (line 1)"), "denied by 05-a.toml rule 1")),
        case!("a deny that does not match is ignored", &[("10-a.toml", ALLOW_ALL), ("20-b.toml", DENY_FERRIS)], "alice", "web1",
            Want::Allow("10-a.toml rule 1 (line 3)", 60, false)),
        case!("first matching allow decides", &[("10-a.toml", TWO_ALLOWS)], "ferris", "web1",
            Want::Allow("10-a.toml rule 2 (line 5)", 60, false)),
        case!("first allow even if a later one matches too", &[("10-a.toml", TWO_ALLOWS)], "alice", "web1",
            Want::Allow("10-a.toml rule 1 (line 2)", 60, false)),
        case!("rules of other roles do not count",
            &[("10-a.toml", "[roles.r]\n[roles.o]\n[[rules]]\nrole = \"o\"\neffect = \"deny\"\n[[rules]]\nrole = \"r\"\n")], "ferris", "web1",
            Want::Allow("10-a.toml rule 2 (line 6)", 60, false)),
        case!("unknown role", &[("10-a.toml", ALLOW_ALL)], "ferris", "web1", "ghost", None, WED_10,
            Want::Deny(None, "no role named ghost is defined")),
        case!("no rule mentions the role", &[("10-a.toml", ROLE)], "ferris", "web1",
            Want::Deny(None, "no rule mentions role r")),
        case!("only deny rules mention the role", &[("10-a.toml", ROLE), ("20-b.toml", DENY_FERRIS)], "alice", "web1",
            Want::Deny(None, "no rule allows role r; only deny rules mention it")),
    ]);
}

#[test]
fn durations() {
    const R: &str =
        "[roles.r]\ndefault_duration = \"30m\"\nmax_duration = \"2h\"\n[[rules]]\nrole = \"r\"\n";
    const LONG_DEFAULT: &str = "[roles.r]\ndefault_duration = \"1h\"\n[[rules]]\nrole = \"r\"\n";
    const L: &str = "a.toml rule 1 (line 4)";
    run(&[
        case!(
            "role default",
            &[("a.toml", R)],
            "ferris",
            "web1",
            Want::Allow(L, 30, false)
        ),
        case!(
            "requested within max",
            &[("a.toml", R)],
            "ferris",
            "web1",
            "r",
            Some(90),
            WED_10,
            Want::Allow(L, 90, false)
        ),
        case!(
            "requested exactly max",
            &[("a.toml", R)],
            "ferris",
            "web1",
            "r",
            Some(120),
            WED_10,
            Want::Allow(L, 120, false)
        ),
        case!(
            "clamped to role max",
            &[("a.toml", R)],
            "ferris",
            "web1",
            "r",
            Some(180),
            WED_10,
            Want::Allow(L, 120, true)
        ),
        case!(
            "clamped to host cap",
            &[("a.toml", R)],
            "ferris",
            "small",
            "r",
            Some(60),
            WED_10,
            Want::Allow(L, 15, true)
        ),
        case!(
            "default clamped to host cap",
            &[("a.toml", LONG_DEFAULT)],
            "ferris",
            "small",
            Want::Allow("a.toml rule 1 (line 3)", 15, true)
        ),
        case!(
            "zero",
            &[("a.toml", R)],
            "ferris",
            "web1",
            "r",
            Some(0),
            WED_10,
            Want::Deny(None, "duration must be at least one second")
        ),
    ]);
}

#[test]
fn messages() {
    let p = policy(&[(
        "10-db.toml",
        "[roles.db]\nmax_duration = \"2h\"\n[[rules]]\nrole = \"db\"\nwho = { groups = [\"dba\"] }\napproval = { count = 2, approvers = { groups = [\"leads\"] }, reason = true, reauth = true }\n\n[[rules]]\nrole = \"db\"\nwhen = { hours = \"08:00-09:00\" }\n",
    )]);
    let db = RoleName::parse("db").unwrap();
    let now: jiff::Timestamp = WED_10.parse().unwrap();
    let three_h = Some(Duration::from_secs(3 * 3600));
    let d = decide(&p, &user("ferris"), &host("web1"), &db, three_h, now);
    assert_eq!(
        d.message(),
        "allowed by 10-db.toml rule 1 (line 3); needs 2 approvals; a reason is required; \
         re-authentication is required; window 2h (3h asked, clamped to role db's max_duration)"
    );
    let Decision::Allow(a) = &d else {
        panic!("{d:?}")
    };
    assert_eq!(a.approval.count, 2);
    assert_eq!(a.rule_index, 0);
    let d = decide(&p, &user("ferris"), &host("small"), &db, three_h, now);
    assert!(
        d.message()
            .ends_with("window 15m (3h asked, clamped to this host's maximum)"),
        "{d:?}"
    );
    let d = decide(&p, &user("alice"), &host("web1"), &db, None, now);
    assert_eq!(
        d.message(),
        "no rule allows role db for alice on web1 at 2024-06-05T10:00:00Z: \
         10-db.toml rule 1 (line 3): alice is not in any of groups dba; \
         10-db.toml rule 2 (line 8): outside hours 08:00-09:00 UTC (there it is wed 10:00)"
    );
    let at_8: jiff::Timestamp = "2024-06-05T08:10:00Z".parse().unwrap();
    let d = decide(&p, &user("alice"), &host("web1"), &db, None, at_8);
    assert_eq!(
        d.message(),
        "allowed by 10-db.toml rule 2 (line 8); automatic approval; window 1h"
    );
}

#[test]
fn break_glass_is_not_called_automatic() {
    let p = policy(&[(
        "10-db.toml",
        "[roles.db]\n[[rules]]\nrole = \"db\"\napproval = { count = 0, break_glass = true, approvers = { groups = [\"leads\"] } }\n",
    )]);
    let db = RoleName::parse("db").unwrap();
    let now: jiff::Timestamp = WED_10.parse().unwrap();
    let d = decide(&p, &user("ferris"), &host("web1"), &db, None, now);
    assert_eq!(
        d.message(),
        "allowed by 10-db.toml rule 1 (line 2); break-glass: granted at once, review required; \
         window 1h"
    );
}

#[test]
fn globs() {
    for (p, n, want) in [
        ("*", "", true),
        ("*", "anything", true),
        ("a*b*c", "aXXbYYc", true),
        ("a*b*c", "aXXbYY", false),
        ("web-*", "web-", true),
        ("web-*", "web", false),
        ("??", "ab", true),
        ("??", "abc", false),
        ("*.corp", "x.y.corp", true),
        ("*a", "baba", true),
        ("*a", "bab", false),
        ("DB?", "db1", true),
    ] {
        assert_eq!(glob_match(p, n), want, "{p} {n}");
    }
}

#[path = "eval_time_tests.rs"]
mod time;

#[path = "eval_match_tests.rs"]
mod matching;
