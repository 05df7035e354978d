use super::*;
use crate::policy::{Approval, Approvers, Effect, HourRange, OnExpiry, Rule, When, Where, Who};
use elevated_proto::GroupName;
use std::fs;
use std::os::unix::fs::PermissionsExt;

const GOOD: &str = r#"# database team
[roles.db-admin]
description      = "Administer PostgreSQL"
sudo             = { runas = "postgres", commands = ["/usr/bin/psql", "/usr/bin/pg_dump"], nopasswd = false }
groups           = ["adm"]
on_expiry        = "terminate"
terminate_grace  = "10s"
login            = false
default_duration = "30m"
max_duration     = "2h"

[roles.ops]
sudo = { commands = ["ALL"] }
login = true

[[rules]]
role     = "db-admin"
effect   = "allow"
who      = { users = ["alice"], groups = ["dba"], attributes = { department = ["payments"], level = "3" } }
where    = { hosts = ["db-*"], tags = { env = ["staging", "production"] } }
when     = { days = ["mon-fri", "sun"], hours = "08:00-18:00", tz = "Europe/Berlin" }
approval = { count = 2, approvers = { users = ["bob"], groups = ["dba-leads"], principals = ["carol@corp"] }, reason = true, reauth = true, timeout = "30m" }

[[rules]]
role   = "ops"
effect = "deny"
when   = { hours = ["22:00-06:00", "12:00-13:00"] }

[[rules]]
role = "ops"
"#;

fn files(list: &[(&str, &str)]) -> Vec<(PathBuf, String)> {
    list.iter()
        .map(|(n, s)| {
            (
                PathBuf::from(format!("/etc/elevated/policy.d/{n}")),
                (*s).to_owned(),
            )
        })
        .collect()
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn role(s: &str) -> RoleName {
    RoleName::parse(s).unwrap()
}

#[test]
fn good_policy_parses_into_the_model() {
    let p = parse_policy_files(&files(&[("10-db.toml", GOOD)])).unwrap();
    assert_eq!(p.roles.len(), 2);
    let db = &p.roles[&role("db-admin")];
    assert_eq!(
        db,
        &Role {
            name: role("db-admin"),
            description: "Administer PostgreSQL".into(),
            sudo: Some(SudoSpec {
                runas: UserName::parse("postgres").unwrap(),
                commands: vec![
                    Command::Path {
                        path: "/usr/bin/psql".into(),
                        args: None
                    },
                    Command::Path {
                        path: "/usr/bin/pg_dump".into(),
                        args: None
                    },
                ],
                nopasswd: false,
            }),
            groups: vec![GroupName::parse("adm").unwrap()],
            allow_privileged_groups: false,
            on_expiry: OnExpiry::Terminate,
            terminate_grace: Duration::from_secs(10),
            login: false,
            actions: vec![],
            action_duration: Duration::from_secs(300),
            reauth: false,
            default_duration: Duration::from_secs(1800),
            max_duration: Duration::from_secs(7200),
            source: SourceRef {
                file: "10-db.toml".into(),
                line: 2
            },
        }
    );
    let ops = &p.roles[&role("ops")];
    assert_eq!(ops.sudo.as_ref().unwrap().commands, [Command::All]);
    assert_eq!(ops.sudo.as_ref().unwrap().runas.as_str(), "root");
    assert!(ops.sudo.as_ref().unwrap().nopasswd);
    assert!(ops.login);
    assert_eq!(ops.max_duration, Duration::from_secs(8 * 3600));
    assert_eq!(ops.default_duration, Duration::from_secs(3600));
    assert_eq!(ops.source.line, 12);
    assert_eq!(ops.on_expiry, OnExpiry::Warn);
    assert_eq!(ops.terminate_grace, DEFAULT_TERMINATE_GRACE);
    assert!(!ops.allow_privileged_groups);

    assert_eq!(p.rules().len(), 3);
    let r = &p.rules()[0];
    assert_eq!(
        r,
        &Rule {
            index_in_file: 1,
            source: SourceRef {
                file: "10-db.toml".into(),
                line: 16
            },
            role: role("db-admin"),
            effect: Effect::Allow,
            who: Some(Who {
                users: Some(vec![UserName::parse("alice").unwrap()]),
                groups: Some(vec![GroupName::parse("dba").unwrap()]),
                attributes: Some(
                    [
                        ("department".to_owned(), strs(&["payments"])),
                        ("level".to_owned(), strs(&["3"]))
                    ]
                    .into()
                ),
            }),
            r#where: Some(Where {
                hosts: Some(strs(&["db-*"])),
                tags: Some([("env".to_owned(), strs(&["staging", "production"]))].into()),
            }),
            when: Some(When {
                days: Some(0b101_1111),
                hours: Some(vec![HourRange {
                    start: 480,
                    end: 1080
                }]),
                tz: jiff::tz::TimeZone::get("Europe/Berlin").unwrap(),
            }),
            context: None,
            approval: Approval {
                count: 2,
                approvers: Approvers {
                    users: vec![UserName::parse("bob").unwrap()],
                    groups: vec![GroupName::parse("dba-leads").unwrap()],
                    principals: strs(&["carol@corp"]),
                    attributes: Default::default(),
                },
                reason: true,
                reauth: true,
                timeout: Some(Duration::from_secs(1800)),
                break_glass: false,
                deny_count: 1,
                verify_required: false,
            },
        }
    );
    assert_eq!(r.label(), "10-db.toml rule 1 (line 16)");
    let deny = &p.rules()[1];
    assert_eq!(
        (deny.effect, deny.index_in_file, deny.source.line),
        (Effect::Deny, 2, 24)
    );
    let w = deny.when.as_ref().unwrap();
    assert_eq!(w.days, None);
    assert_eq!(w.tz, jiff::tz::TimeZone::UTC);
    assert_eq!(
        w.hours.as_deref().unwrap(),
        [
            HourRange {
                start: 1320,
                end: 360
            },
            HourRange {
                start: 720,
                end: 780
            }
        ]
    );
    let last = &p.rules()[2];
    assert_eq!(
        (last.effect, last.index_in_file, last.source.line),
        (Effect::Allow, 3, 29)
    );
    assert!(last.who.is_none() && last.r#where.is_none() && last.when.is_none());
    assert_eq!(last.approval, Approval::default());
}

#[test]
fn rules_keep_file_order_and_may_use_roles_from_later_files() {
    let p = parse_policy_files(&files(&[
        (
            "10-a.toml",
            "[[rules]]\nrole = \"late\"\n\n[[rules]]\nrole = \"late\"\neffect = \"deny\"\n",
        ),
        ("20-b.toml", "[roles.late]\n[[rules]]\nrole = \"late\"\n"),
    ]))
    .unwrap();
    let labels: Vec<String> = p.rules().iter().map(Rule::label).collect();
    assert_eq!(
        labels,
        [
            "10-a.toml rule 1 (line 1)",
            "10-a.toml rule 2 (line 4)",
            "20-b.toml rule 1 (line 2)"
        ]
    );
    let late = &p.roles[&role("late")];
    assert!(late.sudo.is_none() && late.groups.is_empty() && !late.login);
}

#[test]
fn durations_default_from_max() {
    let p = parse_policy_files(&files(&[(
        "a.toml",
        "[roles.short]\nmax_duration = \"20m\"\n[roles.long]\nmax_duration = \"1d\"\n[roles.own]\ndefault_duration = \"8h\"\n",
    )]))
    .unwrap();
    assert_eq!(
        p.roles[&role("short")].default_duration,
        Duration::from_secs(1200)
    );
    assert_eq!(
        p.roles[&role("long")].default_duration,
        Duration::from_secs(3600)
    );
    assert_eq!(
        p.roles[&role("own")].default_duration,
        Duration::from_secs(8 * 3600)
    );
}

#[test]
fn sudo_command_forms() {
    let src = "[roles.r]\nsudo = { commands = [\"/usr/bin/systemctl restart nginx\", \"/usr/bin/uptime \\\"\\\"\"] }\n";
    let p = parse_policy_files(&files(&[("a.toml", src)])).unwrap();
    assert_eq!(
        p.roles[&role("r")].sudo.as_ref().unwrap().commands,
        [
            Command::Path {
                path: "/usr/bin/systemctl".into(),
                args: Some(strs(&["restart", "nginx"]))
            },
            Command::Path {
                path: "/usr/bin/uptime".into(),
                args: Some(vec![])
            },
        ]
    );
}

fn load_dir(list: &[(&str, &str, u32)]) -> (tempfile::TempDir, Result<Policy, ConfigErrors>) {
    let d = tempfile::tempdir().unwrap();
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
    for (name, text, mode) in list {
        let f = d.path().join(name);
        fs::write(&f, text).unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(*mode)).unwrap();
    }
    let r = load_policy_dir(d.path(), None);
    (d, r)
}

#[test]
fn load_dir_reads_in_lexical_order() {
    let (_d, r) = load_dir(&[
        (
            "20-b.toml",
            "[[rules]]\nrole = \"a\"\neffect = \"deny\"\n",
            0o644,
        ),
        ("10-a.toml", "[roles.a]\n[[rules]]\nrole = \"a\"\n", 0o600),
        ("README", "not toml", 0o644),
    ]);
    let p = r.unwrap();
    assert_eq!(p.rules()[0].source.file, "10-a.toml");
    assert_eq!(p.rules()[1].source.file, "20-b.toml");
    let missing = load_policy_dir(std::path::Path::new("/nonexistent/policy.d"), None).unwrap();
    assert!(missing.roles.is_empty() && missing.rules().is_empty());
}

#[test]
fn load_dir_reports_every_file_in_order() {
    let (d, r) = load_dir(&[
        (
            "10-a.toml",
            "[roles.a]\nmax_duration = \"forever\"\n",
            0o644,
        ),
        ("20-b.toml", "[roles.b]\n", 0o664),
        (
            "30-c.toml",
            "[[rules]]\nrole = \"a\"\n\n[[rules]]\nrole = \"nope\"\n",
            0o644,
        ),
        ("40-d.toml", "[roles.d\n", 0o644),
    ]);
    let got: Vec<String> = r.unwrap_err().0.iter().map(ToString::to_string).collect();
    let p = |n: &str| d.path().join(n).display().to_string();
    assert_eq!(
        got,
        [
            format!("{}:2: max_duration: \"forever\" is not a duration such as 90s, 30m or 1h30m (expected number at 0)", p("10-a.toml")),
            format!("{}: is writable by group or others; run: chmod go-w {}", p("20-b.toml"), p("20-b.toml")),
            format!("{}:5: role: no policy file defines a role named nope", p("30-c.toml")),
            format!("{}:1: invalid table header; expected `.`, `]`", p("40-d.toml")),
        ]
    );
}
