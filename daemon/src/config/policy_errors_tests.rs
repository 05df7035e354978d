//! Every kind of policy error, with the line it must point to.

use super::*;

fn errors_of(src: &str) -> Vec<String> {
    match parse_policy_files(&[(PathBuf::from("p.toml"), src.to_owned())]) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

/// (source, expected line, part of the message)
const CASES: &[(&str, u32, &str)] = &[
    // shape: unknown keys, wrong types, syntax
    ("[roles.r]\ndescription = \"x\"\nsudoers = 1\n", 3, "unknown field `sudoers`"),
    ("[roles.r]\n\n[[rules]]\nrole = \"r\"\nwho = { user = [\"a\"] }\n", 5, "unknown field `user`"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\n\nwhere = { host = [\"a\"] }\n", 5, "unknown field `host`"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\nwhen = { day = \"mon\" }\n", 4, "unknown field `day`"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\napproval = { count = 1, approvers = { users = [\"a\"], user = [\"b\"] } }\n", 4, "unknown field `user`"),
    ("[roles.r]\nsudo = { commands = [\"/x\"], run_as = \"x\" }\n", 2, "unknown field `run_as`"),
    ("[role.r]\n", 1, "unknown field `role`"),
    ("[roles.r]\n[[rules]]\neffect = \"deny\"\n", 2, "missing field `role`"),
    ("[roles.r]\nlogin = \"yes\"\n", 2, "invalid type: string \"yes\", expected a boolean"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\napproval = { count = -1 }\n", 4, "invalid value: integer `-1`, expected u32"),
    ("[roles.r]\n\n[roles.r]\n", 3, "duplicate key"),
    ("\n\nx = \"unterminated\n", 3, "invalid basic string"),
    // Found by fuzzing: the TOML parser has no message for a value missing
    // at the end of the file.
    ("[roles.r]\n[[rules]]\nrole = \"r\"\nwhere = { tags =", 4, "the file ends where a value is expected"),
    // roles, durations
    ("[roles.r]\n[[rules]]\nrole = \"r\"\n\n[[rules]]\nrole = \"ghost\"\n", 6, "role: no policy file defines a role named ghost"),
    ("[roles.r]\nmax_duration = \"2h\"\ndefault_duration = \"3h\"\n", 3, "default_duration 3h is longer than max_duration 2h"),
    ("[roles.r]\ndefault_duration = \"9h\"\n", 2, "default_duration 9h is longer than max_duration 8h (the default)"),
    ("[roles.r]\n\nmax_duration = \"0s\"\n", 3, "max_duration: \"0s\" is shorter than one second"),
    ("[roles.r]\ndefault_duration = \"10\"\n", 2, "default_duration: \"10\" is not a duration"),
    ("[roles.r]\ndefault_duration = \"1.5s\"\n", 2, "is not a whole number of seconds"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\napproval = { count = 1, approvers = { users = [\"b\"] }, timeout = \"soon\" }\n", 4, "approval.timeout: \"soon\" is not a duration"),
    // sudo
    ("[roles.r]\nsudo = { commands = [] }\n", 2, "sudo.commands is empty"),
    ("[roles.r]\nsudo = { commands = [\n  \"/bin/ls\",\n  \"ls\",\n] }\n", 4, "sudo.commands: \"ls\" is neither ALL nor an absolute path"),
    ("[roles.r]\nsudo = { commands = [\"ALL\", \"/bin/ls\"] }\n", 2, "\"ALL\" allows every command and must be the only entry"),
    ("[roles.r]\nsudo = { commands = [\"/bin/../sbin/x\"] }\n", 2, "contains a '.' or '..' component"),
    ("[roles.r]\nsudo = { commands = [\"/usr/bin/systemctl restart *\"] }\n", 2, "command argument \"*\" contains '*'"),
    ("[roles.r]\nsudo = { commands = [\"/bin/\"] }\n", 2, "ends in '/'"),
    ("[roles.r]\nsudo = { commands = [\"/usr//bin/x\"] }\n", 2, "contains '//'"),
    // Found by fuzzing: visudo refuses the whole rule.
    ("[roles.r]\nsudo = { commands = [\"/usr/bin/sudoedit /etc/hosts\"] }\n", 2, "names sudoedit, which sudoers does not accept with a path"),
    // groups and what happens at expiry
    ("[roles.r]\ngroups = [\"adm\", \"docker\"]\n", 2, "groups: docker is a privileged group (its members drive the Docker daemon"),
    ("[roles.r]\ngroups = [\n  \"adm\",\n  \"sudo\",\n]\n", 4, "groups: sudo is a privileged group (sudoers grants its members full sudo (Debian, Ubuntu)); set allow_privileged_groups = true in this role to grant it anyway"),
    ("[roles.r]\nallow_privileged_groups = \"yes\"\n", 2, "invalid type: string \"yes\", expected a boolean"),
    ("[roles.r]\n\non_expiry = \"kill\"\n", 3, "on_expiry: \"kill\" is neither \"warn\" nor \"terminate\""),
    ("[roles.r]\non_expiry = \"terminate\"\nterminate_grace = \"1h\"\n", 3, "terminate_grace 1h is longer than 10m"),
    ("[roles.r]\non_expiry = \"terminate\"\nterminate_grace = \"soon\"\n", 3, "terminate_grace: \"soon\" is not a duration"),
    ("[roles.r]\nterminate_grace = \"3s\"\n", 2, "terminate_grace is set but on_expiry is not \"terminate\""),
    // rules
    ("[roles.r]\n[[rules]]\nrole = \"r\"\neffect = \"permit\"\n", 4, "effect: \"permit\" is neither \"allow\" nor \"deny\""),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\neffect = \"deny\"\napproval = { count = 0 }\n", 5, "a deny rule is never approved"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\napproval = { count = 2 }\n", 4, "approval.count is 2 but no approvers are listed"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\n[rules.approval]\ncount = 1\napprovers = { users = [\"b\"] }\nverify_required = true\n", 7, "approval.verify_required applies to signed approvals, but approval.approvers lists no principals"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\neffect = \"deny\"\nwho = { attributes = { principals = [\"m@corp\"] } }\n", 5, "who.attributes: principals is not an attribute"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\napproval = { count = 1, approvers = { attributes = { principals = [\"b@c\"] } } }\n", 4, "approval.approvers.attributes: principals is not an attribute"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\napproval = { count = 0, verify_required = true }\n", 4, "approval.verify_required applies to signed approvals, but count = 0 approves automatically"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\napproval = { count = 1, approvers = { principals = [\"c@d\"] }, verify_required = \"yes\" }\n", 4, "invalid type: string \"yes\", expected a boolean"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\napproval = { count = 2, approvers = { users = [\"bob\"] } }\n", 4, "approval.count is 2 but approval.approvers lists only 1 user and no groups or principals"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\napproval = { count = 1, approvers = { principals = [\"carol corp\"] } }\n", 4, "principal \"carol corp\" contains whitespace"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\nwho = { users = [] }\n", 4, "who.users is empty, so it matches nothing"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\nwhere = { hosts = [\"web_1\"] }\n", 4, "where.hosts: host pattern \"web_1\" contains '_'"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\nwhere = { tags = { \"env!\" = \"x\" } }\n", 4, "where.tags: tag name \"env!\" contains '!'"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\nwhere = { tags = { env = [] } }\n", 4, "where.tags: tag env lists no values"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\nwho = { attributes = { team = \"a\\tb\" } }\n", 4, "who.attributes: attribute team value \"a\\tb\" contains the control character"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\nwhen = { days = [\"mon-fri\", \"funday\"] }\n", 4, "when.days: \"funday\" is not a day"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\nwhen = { days = [] }\n", 4, "when.days is empty"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\nwhen = { hours = \"08:00-08:00\" }\n", 4, "starts and ends at the same time"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\nwhen = { hours = [\"8-18\"] }\n", 4, "when.hours: \"8-18\" is not a range of times HH:MM-HH:MM"),
    ("[roles.r]\n[[rules]]\nrole = \"r\"\nwhen = { hours = \"08:00-18:00\", tz = \"Mars/Olympus\" }\n", 4, "when.tz: \"Mars/Olympus\" is not a known IANA time zone"),
];

#[test]
fn each_error_has_the_right_line() {
    for (src, line, part) in CASES {
        let got = errors_of(src);
        assert_eq!(got.len(), 1, "{src:?}: {got:?}");
        let want = format!("p.toml:{line}: ");
        assert!(
            got[0].starts_with(&want),
            "{src:?}: want line {line}: {got:?}"
        );
        assert!(got[0].contains(part), "{src:?}: want {part:?}: {got:?}");
        assert!(!got[0].contains('\n'), "{got:?}");
    }
}

#[test]
fn duplicate_role_names_both_places() {
    let files = [
        (PathBuf::from("/p/10-a.toml"), "\n[roles.r]\n".to_owned()),
        (
            PathBuf::from("/p/20-b.toml"),
            "[roles.x]\n\n\n[roles.r]\n".to_owned(),
        ),
    ];
    let e = parse_policy_files(&files).unwrap_err();
    assert_eq!(
        e.to_string(),
        "/p/20-b.toml:4: role r is defined twice; first at /p/10-a.toml:2"
    );
}

const BAD_NAMES: &[&str] = &[
    "ops,admin",
    "a:b",
    "x=y",
    "a\\\\b",
    "!root",
    "#1",
    "a b",
    "a\\nb",
    "ALL",
    "a(b",
];

#[test]
fn metacharacter_names_are_rejected_with_their_line() {
    for bad in BAD_NAMES {
        let places: [(String, u32, &str); 7] = [
            (format!("\n[roles.\"{bad}\"]\n"), 2, "role name"),
            (format!("[roles.r]\ngroups = [\"ok\",\n  \"{bad}\"]\n"), 3, "groups: group name"),
            (format!("[roles.r]\nsudo = {{ runas = \"{bad}\", commands = [\"ALL\"] }}\n"), 2, "sudo.runas: user name"),
            (format!("[roles.r]\n[[rules]]\nrole = \"{bad}\"\n"), 3, "role: role name"),
            (format!("[roles.r]\n[[rules]]\nrole = \"r\"\nwho = {{ users = [\"{bad}\"] }}\n"), 4, "who.users: user name"),
            (format!("[roles.r]\n[[rules]]\nrole = \"r\"\nwho = {{ groups = [\"{bad}\"] }}\n"), 4, "who.groups: group name"),
            (
                format!("[roles.r]\n[[rules]]\nrole = \"r\"\n\napproval = {{ count = 1, approvers = {{ users = [\"{bad}\"] }} }}\n"),
                5,
                "approval.approvers.users: user name",
            ),
        ];
        for (src, line, part) in &places {
            let got = errors_of(src);
            assert_eq!(got.len(), 1, "{src:?}: {got:?}");
            assert!(
                got[0].starts_with(&format!("p.toml:{line}: ")),
                "{src:?}: {got:?}"
            );
            assert!(got[0].contains(part), "{src:?}: want {part:?}: {got:?}");
        }
    }
}

#[test]
fn all_errors_of_all_files_are_reported() {
    let files = [
        (
            PathBuf::from("a.toml"),
            "[roles.\"Bad\"]\n[roles.ok]\nmax_duration = \"x\"\n[[rules]]\nrole = \"ok\"\nwho = { users = [\"ALL\"] }\n".to_owned(),
        ),
        (PathBuf::from("b.toml"), "[[rules]]\nrole = \"missing\"\neffect = \"nope\"\n".to_owned()),
        (PathBuf::from("c.toml"), "[roles.c\n".to_owned()),
    ];
    let got: Vec<String> = parse_policy_files(&files)
        .unwrap_err()
        .0
        .iter()
        .map(|e| format!("{}:{}", e.file.display(), e.line.unwrap_or(0)))
        .collect();
    assert_eq!(
        got,
        ["a.toml:1", "a.toml:3", "a.toml:6", "b.toml:2", "b.toml:3", "c.toml:1"]
    );
}

/// The `line: message-part` of every error of `src`, in line order.
fn all_of(src: &str) -> Vec<String> {
    errors_of(src)
        .iter()
        .map(|e| e.strip_prefix("p.toml:").unwrap_or(e).to_owned())
        .collect()
}

fn assert_all(src: &str, want: &[(u32, &str)]) {
    let got = all_of(src);
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for (g, (line, part)) in got.iter().zip(want) {
        assert!(
            g.starts_with(&format!("{line}: ")) && g.contains(part),
            "want {line}: {part:?}, got {g:?} in {got:#?}"
        );
    }
}

#[test]
fn an_unknown_key_does_not_hide_the_other_errors_of_the_file() {
    let src = "\
[roles.r]
sudoers = 1
sudo = { commands = [\"id\"] }
max_duration = \"forever\"

[roles.s]
login = \"yes\"
groups = [\"docker\"]

[[rules]]
role = \"r\"
who = { user = [\"a\"], groups = [\"x:y\"] }
effect = \"permit\"

[[rules]]
role = \"ghost\"
";
    assert_all(
        src,
        &[
            (2, "unknown field `sudoers`"),
            (
                3,
                "sudo.commands: \"id\" is neither ALL nor an absolute path",
            ),
            (4, "max_duration: \"forever\" is not a duration"),
            (7, "invalid type: string \"yes\", expected a boolean"),
            (8, "groups: docker is a privileged group"),
            (12, "unknown field `user`"),
            (12, "who.groups: group name"),
            (13, "effect: \"permit\" is neither"),
            (16, "role: no policy file defines a role named ghost"),
        ],
    );
}

#[test]
fn a_bad_runas_does_not_hide_the_command_errors() {
    let src = "[roles.r]\nsudo = { runas = \"a:b\", commands = [\n  \"id\",\n  \"/bin/\",\n] }\n";
    assert_all(
        src,
        &[
            (2, "sudo.runas: user name"),
            (
                3,
                "sudo.commands: \"id\" is neither ALL nor an absolute path",
            ),
            (4, "ends in '/'"),
        ],
    );
}

#[test]
fn a_default_longer_than_the_maximum_does_not_hide_the_actions() {
    let src = "[roles.r]\nmax_duration = \"1h\"\ndefault_duration = \"2h\"\nactions = [\"rel\"]\n";
    assert_all(
        src,
        &[
            (3, "default_duration 2h is longer than max_duration 1h"),
            (4, "actions: \"rel\" is neither ALL nor an absolute path"),
        ],
    );
}

#[test]
fn a_bad_session_value_does_not_hide_an_unknown_fact() {
    let src = "[roles.r]\n[[rules]]\nrole = \"r\"\ncontext = { session = [], colour = \"x\" }\n";
    assert_all(
        src,
        &[
            (4, "context: session fact session lists no values"),
            (4, "context: unknown fact \"colour\""),
        ],
    );
}
