//! `who` and `where` selectors.

use super::*;

#[test]
fn who_selectors() {
    const USERS: &str =
        "[roles.r]\n[[rules]]\nrole = \"r\"\nwho = { users = [\"ferris\", \"carol\"] }\n";
    const PRIMARY: &str =
        "[roles.r]\n[[rules]]\nrole = \"r\"\nwho = { groups = [\"ops\", \"ferris\"] }\n";
    const GROUPS: &str = "[roles.r]\n[[rules]]\nrole = \"r\"\nwho = { groups = [\"dba\"] }\n";
    const DEPT: &str = "[roles.r]\n[[rules]]\nrole = \"r\"\nwho = { attributes = { department = \"payments\" } }\n";
    const TEAMS: &str = "[roles.r]\n[[rules]]\nrole = \"r\"\nwho = { attributes = { teams = [\"infra\", \"sre\"] } }\n";
    const AND: &str =
        "[roles.r]\n[[rules]]\nrole = \"r\"\nwho = { users = [\"ferris\"], groups = [\"ops\"] }\n";
    const EMPTY: &str = "[roles.r]\n[[rules]]\nrole = \"r\"\nwho = {}\nwhere = {}\nwhen = {}\n";
    run(&[
        case!("listed user", &[("a.toml", USERS)], "ferris", "web1", Want::Allow("a.toml rule 1 (line 2)", 60, false)),
        case!("unlisted user", &[("a.toml", USERS)], "alice", "web1",
            Want::Deny(None, "no rule allows role r for alice on web1 at 2024-06-05T10:00:00Z: a.toml rule 1 (line 2): alice is not one of users ferris, carol")),
        case!("primary group", &[("a.toml", PRIMARY)], "ferris", "web1", Want::Allow("a.toml rule 1 (line 2)", 60, false)),
        case!("supplementary group", &[("a.toml", GROUPS)], "ferris", "web1", Want::Allow("a.toml rule 1 (line 2)", 60, false)),
        case!("not in group", &[("a.toml", GROUPS)], "alice", "web1", Want::Deny(None, "alice is not in any of groups dba")),
        case!("attribute present", &[("a.toml", DEPT)], "ferris", "web1", Want::Allow("a.toml rule 1 (line 2)", 60, false)),
        case!("attribute other value", &[("a.toml", DEPT)], "alice", "web1",
            Want::Deny(None, "alice's attribute department (hr) is not one of payments")),
        case!("attribute absent", &[("a.toml", DEPT)], "bob", "web1", Want::Deny(None, "bob has no attribute department")),
        case!("multi-valued attribute", &[("a.toml", TEAMS)], "ferris", "web1", Want::Allow("a.toml rule 1 (line 2)", 60, false)),
        case!("multi-valued attribute, none accepted", &[("a.toml", TEAMS)], "alice", "web1",
            Want::Deny(None, "alice has no attribute teams")),
        case!("every key must match", &[("a.toml", AND)], "ferris", "web1", Want::Deny(None, "ferris is not in any of groups ops")),
        case!("empty selectors match everyone", &[("a.toml", EMPTY)], "bob", "db1", Want::Allow("a.toml rule 1 (line 2)", 60, false)),
    ]);
}

#[test]
fn where_selectors() {
    const WEB: &str =
        "[roles.r]\n[[rules]]\nrole = \"r\"\nwhere = { hosts = [\"web-*\", \"web?\"] }\n";
    const DBQ: &str = "[roles.r]\n[[rules]]\nrole = \"r\"\nwhere = { hosts = [\"db?\"] }\n";
    const DOMAIN: &str =
        "[roles.r]\n[[rules]]\nrole = \"r\"\nwhere = { hosts = [\"*.EXAMPLE.com\"] }\n";
    const PROD: &str = "[roles.r]\n[[rules]]\nrole = \"r\"\nwhere = { tags = { env = [\"production\", \"dr\"], zone = \"b\" } }\n";
    const BOTH: &str = "[roles.r]\n[[rules]]\nrole = \"r\"\nwhere = { hosts = [\"web*\"], tags = { env = \"staging\" } }\n";
    run(&[
        case!(
            "glob web?",
            &[("a.toml", WEB)],
            "ferris",
            "web1",
            Want::Allow("a.toml rule 1 (line 2)", 60, false)
        ),
        case!(
            "glob web-*, other case",
            &[("a.toml", WEB)],
            "ferris",
            "WEB-2.example.com",
            Want::Allow("a.toml rule 1 (line 2)", 60, false)
        ),
        case!(
            "glob no match",
            &[("a.toml", WEB)],
            "ferris",
            "db1",
            Want::Deny(None, "host db1 does not match hosts web-*, web?")
        ),
        case!(
            "? is one character",
            &[("a.toml", DBQ)],
            "ferris",
            "db10",
            Want::Deny(None, "host db10 does not match hosts db?")
        ),
        case!(
            "? matches",
            &[("a.toml", DBQ)],
            "ferris",
            "db1",
            Want::Allow("a.toml rule 1 (line 2)", 60, false)
        ),
        case!(
            "domain glob",
            &[("a.toml", DOMAIN)],
            "ferris",
            "web-2.example.COM",
            Want::Allow("a.toml rule 1 (line 2)", 60, false)
        ),
        case!(
            "domain glob no match",
            &[("a.toml", DOMAIN)],
            "ferris",
            "example.com",
            Want::Deny(None, "does not match hosts *.EXAMPLE.com")
        ),
        case!(
            "tags match",
            &[("a.toml", PROD)],
            "ferris",
            "web1",
            Want::Allow("a.toml rule 1 (line 2)", 60, false)
        ),
        case!(
            "tag other value",
            &[("a.toml", PROD)],
            "ferris",
            "db1",
            Want::Deny(
                None,
                "host db1's tag env (staging) is not one of production, dr"
            )
        ),
        case!(
            "tag absent",
            &[("a.toml", PROD)],
            "ferris",
            "other",
            Want::Deny(None, "host other has no tag env")
        ),
        case!(
            "hosts and tags both needed",
            &[("a.toml", BOTH)],
            "ferris",
            "web1",
            Want::Deny(
                None,
                "host web1's tag env (production) is not one of staging"
            )
        ),
    ]);
}

#[test]
fn context_selectors_never_fail_open() {
    let allow = policy(&[(
        "a.toml",
        "[roles.r]\n[[rules]]\nrole = \"r\"\ncontext = { session = [\"remote\"], service = [\"sshd\"] }\n",
    )]);
    let deny = policy(&[(
        "a.toml",
        "[roles.r]\n[[rules]]\nrole = \"r\"\n\n[[rules]]\nrole = \"r\"\neffect = \"deny\"\ncontext = { session = [\"remote\"] }\n",
    )]);
    let with = |facts: &[(&str, &[&str])]| {
        let mut s = user("ferris");
        s.context = map(facts);
        s
    };
    let remote_ssh = with(&[("session", &["remote"]), ("service", &["sshd"])]);
    let remote_other = with(&[("session", &["remote"]), ("service", &["cron"])]);
    let local = with(&[("session", &["local"])]);
    let unknown = user("ferris");
    let now: jiff::Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
    let role = RoleName::parse("r").unwrap();
    let ok = |p: &Policy, s: &Subject| decide(p, s, &host("web1"), &role, None, now).is_allowed();
    // An allow rule needs every fact, known and matching.
    assert!(ok(&allow, &remote_ssh));
    assert!(!ok(&allow, &remote_other));
    assert!(!ok(&allow, &local));
    assert!(
        !ok(&allow, &unknown),
        "unknown facts must not satisfy an allow rule"
    );
    let msg = decide(&allow, &unknown, &host("web1"), &role, None, now);
    assert!(
        msg.message().contains("has no session fact"),
        "{}",
        msg.message()
    );
    // A deny rule applies when its facts match, and also when they are unknown.
    assert!(!ok(&deny, &remote_ssh));
    assert!(ok(&deny, &local));
    assert!(
        !ok(&deny, &unknown),
        "unknown facts must not lift a deny rule"
    );
}

#[test]
fn a_roles_rules_keep_policy_order_across_files_and_other_roles() {
    let p = crate::config::policy_file::parse_policy_files(&[
        (
            "10-a.toml".into(),
            "[roles.a]\n[roles.b]\n[[rules]]\nrole = \"a\"\n[[rules]]\nrole = \"b\"\n\
             [[rules]]\nrole = \"a\"\neffect = \"deny\"\n"
                .into(),
        ),
        (
            "20-b.toml".into(),
            "[[rules]]\nrole = \"b\"\n[[rules]]\nrole = \"a\"\n".into(),
        ),
    ])
    .unwrap();
    let a = RoleName::parse("a").unwrap();
    let got: Vec<usize> = p.rules_for(&a).map(|(i, _)| i).collect();
    assert_eq!(got, vec![0, 2, 4]);
    assert!(p.rules_for(&RoleName::parse("c").unwrap()).next().is_none());
    assert!(got.iter().all(|&i| p.rules()[i].role == a));
}
