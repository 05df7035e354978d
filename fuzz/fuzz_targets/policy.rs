//! Configuration text as an administrator (or a fleet tool) writes it: the
//! settings file, policy files, `host.d` and `users.d` files, through the
//! same pure parsers the daemon, `check-config` and `explain` use.
//!
//! The input is split at NUL bytes (never valid in TOML) into up to four
//! policy files, read in that order; the whole text is also read as a
//! settings, a host and a users file.
//!
//! Properties:
//! - nothing panics;
//! - every error names one of the files read, and a line inside it;
//! - an accepted policy keeps its own promises: every rule names a defined
//!   role, durations are at least a second with the default within the
//!   maximum, every sudo right and action renders into a sudoers rule
//!   (policy never accepts what the grant step would refuse), and deciding
//!   any role at any instant (`explain --at` takes any time) answers.
#![no_main]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use elevated::config::attrs::{parse_host_file, parse_users_file};
use elevated::config::policy_file::parse_policy_files_with;
use elevated::config::{ConfigErrors, Settings};
use elevated::grant::sudoers::{check_command, render, SudoRule};
use elevated::grant::{GrantCommand, GrantSpec};
use elevated::policy::{decide, eval::check_rule, HostFacts, Policy, Subject};
use elevated_proto::{GrantId, GroupName, UserName};
use libfuzzer_sys::fuzz_target;

const MAX_FILES: usize = 4;

/// Errors must name a file that was read and a line that exists in it.
fn check_errors(errs: &ConfigErrors, files: &[(PathBuf, String)]) {
    assert!(!errs.0.is_empty(), "an error result without errors");
    for e in &errs.0 {
        let Some((_, src)) = files.iter().find(|(p, _)| *p == e.file) else {
            panic!("error names a file not read: {e}");
        };
        if let Some(line) = e.line {
            let lines = src.bytes().filter(|b| *b == b'\n').count() + 1;
            assert!(
                line >= 1 && line as usize <= lines,
                "line {line} of {lines}: {e}"
            );
        }
        assert!(!e.message.is_empty(), "an error without a message");
    }
}

/// A small fake `/etc/group`: the lookup `Loaded::load` gives the parser.
fn lookup(g: &GroupName) -> Result<Option<u32>, String> {
    Ok(match g.as_str() {
        "root" => Some(0),
        "adm" => Some(4),
        "wheel" => Some(10),
        "dba" => Some(1001),
        "ops" => Some(1002),
        "broken" => return Err("reading /etc/group: input/output error".into()),
        _ => None,
    })
}

fn instants() -> Vec<jiff::Timestamp> {
    let mut v = vec![
        jiff::Timestamp::MIN,
        jiff::Timestamp::MAX,
        jiff::Timestamp::UNIX_EPOCH,
    ];
    // Around daylight saving changes in Europe and America, and a leap day.
    for s in [1_711_846_800, 1_730_613_600, 1_709_208_000, 1_700_000_000] {
        for d in [-3600, -1, 0, 1, 1800] {
            if let Ok(t) = jiff::Timestamp::from_second(s + d) {
                v.push(t);
            }
        }
    }
    v
}

fn check_policy(policy: &Policy) {
    let id = GrantId::parse("fuzz0000").expect("valid id");
    let user = UserName::parse("alice").expect("valid user");
    for (name, role) in &policy.roles {
        assert_eq!(name, &role.name);
        assert!(role.max_duration >= Duration::from_secs(1));
        assert!(role.default_duration >= Duration::from_secs(1));
        assert!(
            role.default_duration <= role.max_duration,
            "role {name}: default above max"
        );
        for a in &role.actions {
            let c = GrantCommand::from(a);
            if let Err(e) = check_command(&c) {
                panic!(
                    "role {name}: accepted action {} is refused: {e}",
                    c.display()
                );
            }
        }
        let spec = GrantSpec::from_role(role);
        if let Some(sudo) = &spec.sudo {
            let rule = SudoRule {
                id: &id,
                role: name.as_str(),
                user: &user,
                sudo,
                starts_at: 1_700_000_000_000,
                expires_at: 1_700_003_600_000,
            };
            if let Err(e) = render(&rule) {
                panic!("role {name}: accepted sudo rights do not render: {e}");
            }
        }
    }
    let subject = Subject {
        user: "alice".into(),
        uid: 1000,
        groups: BTreeSet::from(["dba".to_owned(), "ops".to_owned()]),
        attributes: BTreeMap::from([("department".to_owned(), vec!["payments".to_owned()])]),
        context: BTreeMap::new(),
    };
    let host = HostFacts {
        name: "db-1".into(),
        tags: BTreeMap::from([("env".to_owned(), vec!["production".to_owned()])]),
        max_duration: Duration::from_secs(12 * 3600),
    };
    for rule in policy.rules() {
        assert!(
            policy.roles.contains_key(&rule.role),
            "{} names an undefined role",
            rule.label()
        );
    }
    for now in instants() {
        for rule in policy.rules() {
            let _ = check_rule(rule, &subject, &host, now);
        }
        for name in policy.roles.keys() {
            for wanted in [None, Some(Duration::from_secs(1)), Some(Duration::MAX)] {
                let d = decide(policy, &subject, &host, name, wanted, now);
                assert!(!d.message().is_empty());
                if let elevated::policy::Decision::Allow(a) = &d {
                    assert!(a.duration >= Duration::from_secs(1));
                    assert!(a.duration <= host.max_duration);
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    let settings_path = Path::new("/etc/elevated/elevated.toml");
    let whole = vec![(settings_path.to_path_buf(), text.to_owned())];
    match Settings::parse(settings_path, text) {
        Ok(s) => {
            assert!(s.daemon.socket.is_absolute() && s.daemon.visudo.is_absolute());
            assert!(s.limits.max_connections >= 1);
            let _ = s.host.tag_lists();
        }
        Err(e) => check_errors(&e, &whole),
    }
    let host_path = Path::new("/etc/elevated/elevated.toml");
    if let Err(e) = parse_host_file(host_path, text) {
        check_errors(&e, &whole);
    }
    if let Err(e) = parse_users_file(settings_path, text) {
        check_errors(&e, &whole);
    }

    let files: Vec<(PathBuf, String)> = text
        .splitn(MAX_FILES, '\0')
        .enumerate()
        .map(|(i, src)| {
            (
                PathBuf::from(format!("/etc/elevated/policy.d/{i}0-fuzz.toml")),
                src.to_owned(),
            )
        })
        .collect();
    let pure = parse_policy_files_with(&files, None);
    let with_groups = parse_policy_files_with(&files, Some(&lookup));
    match (&pure, &with_groups) {
        (Ok(p), Ok(_)) => check_policy(p),
        (Ok(_), Err(e)) => check_errors(e, &files),
        (Err(e), Ok(_)) => panic!("the host's groups made a bad policy good: {e}"),
        (Err(a), Err(b)) => {
            check_errors(a, &files);
            check_errors(b, &files);
        }
    }
});
