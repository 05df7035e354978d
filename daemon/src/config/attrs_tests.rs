use super::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

fn p(name: &str) -> PathBuf {
    PathBuf::from(name)
}

fn tags(pairs: &[(&str, &[&str])]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
        .collect()
}

fn errs(r: Result<impl std::fmt::Debug, ConfigErrors>) -> Vec<String> {
    r.unwrap_err().0.iter().map(ToString::to_string).collect()
}

#[test]
fn host_file_accepts_string_or_list() {
    let src = "tags = { env = \"production\", zone = [\"a\", \"b\"], \"x.y-z_1\" = [] }\n";
    let t = parse_host_file(&p("h.toml"), src).unwrap();
    assert_eq!(
        t,
        tags(&[
            ("env", &["production"]),
            ("x.y-z_1", &[]),
            ("zone", &["a", "b"])
        ])
    );
    assert_eq!(parse_host_file(&p("h.toml"), "").unwrap(), Tags::new());
    let src = "[tags]\nenv = \"prod\"\n";
    assert_eq!(
        parse_host_file(&p("h.toml"), src).unwrap(),
        tags(&[("env", &["prod"])])
    );
}

#[test]
fn host_file_errors_carry_lines() {
    let cases: &[(&str, &str)] = &[
        ("\n\nlabels = {}\n", "h.toml:3: unknown field `labels`, expected `tags`"),
        ("[tags]\nenv = 1\n", "h.toml:2: invalid type: integer `1`, expected a string or a list of strings"),
        ("[tags]\nenv = [\"a\", 2]\n", "h.toml:2: invalid type: integer `2`, expected a string"),
        ("[tags]\nok = \"x\"\n\"bad key\" = \"x\"\n", "h.toml:3: tag name \"bad key\" contains ' '; allowed: ASCII letters, digits, '_', '.', '-'"),
        ("[tags]\nenv = \"\"\n", "h.toml:2: tag env has an empty value"),
        ("[tags]\nenv = [\"ok\",\n  \"a\\nb\"]\n", "h.toml:2: tag env value \"a\\nb\" contains the control character '\\n'"),
        ("tags = {\n", "h.toml:1: invalid inline table; expected `}`"),
    ];
    for (src, want) in cases {
        assert_eq!(errs(parse_host_file(&p("h.toml"), src)), [*want], "{src:?}");
    }
}

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
    for (name, text) in files {
        let f = d.path().join(name);
        fs::write(&f, text).unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
    }
    d
}

#[test]
fn host_dir_later_file_replaces_a_tag() {
    let d = dir_with(&[
        ("20-b.toml", "tags = { zone = \"b\", env = [] }\n"),
        (
            "10-a.toml",
            "tags = { zone = [\"a1\", \"a2\"], rack = \"r1\" }\n",
        ),
    ]);
    let base = tags(&[
        ("env", &["production"]),
        ("zone", &["z"]),
        ("os", &["debian"]),
    ]);
    let t = load_host_dir(d.path(), &base).unwrap();
    assert_eq!(
        t,
        tags(&[("os", &["debian"]), ("rack", &["r1"]), ("zone", &["b"])])
    );
    let missing = d.path().join("missing");
    assert_eq!(load_host_dir(&missing, &base).unwrap(), base);
}

#[test]
fn host_dir_reports_every_file() {
    let d = dir_with(&[
        ("10-a.toml", "tags = { env = 1 }\n"),
        ("20-b.toml", "\nfoo = 1\n"),
        ("30-c.toml", "tags = { env = \"ok\" }\n"),
    ]);
    let e = errs(load_host_dir(d.path(), &Tags::new()));
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(
        e[0].ends_with(
            "10-a.toml:1: invalid type: integer `1`, expected a string or a list of strings"
        ),
        "{e:?}"
    );
    assert!(
        e[1].ends_with("20-b.toml:2: unknown field `foo`, expected `tags`"),
        "{e:?}"
    );
}

#[test]
fn users_file_parses() {
    let src = "[users.alice]\ndepartment = \"payments\"\nteams = [\"a\", \"b\"]\n\n[users.bob]\n";
    let u = parse_users_file(&p("u.toml"), src).unwrap().attributes;
    assert_eq!(
        u["alice"],
        tags(&[("department", &["payments"]), ("teams", &["a", "b"])])
    );
    assert_eq!(u["bob"], Tags::new());
    assert_eq!(
        parse_users_file(&p("u.toml"), "").unwrap(),
        UsersFile::default()
    );
}

#[test]
fn users_file_errors_carry_lines() {
    let cases: &[(&str, &str)] = &[
        ("[people.alice]\n", "u.toml:1: unknown field `people`, expected `users`"),
        ("\n[users.\"ALL\"]\nx = \"y\"\n", "u.toml:2: user name \"ALL\" is reserved in sudoers: an all upper case name reads as an alias or keyword (such as ALL), and Defaults, *_Alias, sudoedit and sha224 to sha512 are keywords"),
        ("[users.\"a,b\"]\n", "u.toml:1: user name \"a,b\" contains ','; allowed: ASCII letters, digits, '_', '-', '.' (not first)"),
        ("[users.alice]\nok = \"1\"\n\"a=b\" = \"x\"\n", "u.toml:3: attribute name \"a=b\" contains '='; allowed: ASCII letters, digits, '_', '.', '-'"),
        ("[users.alice]\nteam = [\"\"]\n", "u.toml:2: attribute team has an empty value"),
        ("[users.alice]\n[users.alice.x]\ny = 1\n", "u.toml:2: invalid type: map, expected a string or a list of strings"),
    ];
    for (src, want) in cases {
        assert_eq!(
            errs(parse_users_file(&p("u.toml"), src)),
            [*want],
            "{src:?}"
        );
    }
    let two = "[users.\"a b\"]\n[users.carol]\n\"x y\" = \"1\"\n";
    assert_eq!(errs(parse_users_file(&p("u.toml"), two)).len(), 2);
}

#[test]
fn users_dir_merges_per_attribute() {
    let d = dir_with(&[
        ("10-hr.toml", "[users.alice]\ndepartment = \"payments\"\nteams = [\"a\"]\n[users.bob]\nteams = \"b\"\n"),
        ("20-local.toml", "[users.alice]\nteams = [\"x\", \"y\"]\n[users.bob]\nteams = []\n"),
    ]);
    let (u, principals) = load_users_dir(d.path()).unwrap();
    assert!(principals.is_empty());
    assert_eq!(u.len(), 1);
    assert_eq!(
        u["alice"],
        tags(&[("department", &["payments"]), ("teams", &["x", "y"])])
    );
    assert!(load_users_dir(&d.path().join("none")).unwrap().0.is_empty());
}

#[test]
fn users_dir_reports_unsafe_and_bad_files_together() {
    let d = dir_with(&[
        ("10-a.toml", "[users.\"!root\"]\n"),
        ("20-b.toml", "[users.bob]\nteams = \"b\"\n"),
    ]);
    fs::set_permissions(
        d.path().join("20-b.toml"),
        fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    let e = errs(load_users_dir(d.path()));
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(
        e[0].contains("10-a.toml:1: user name \"!root\" contains '!'"),
        "{e:?}"
    );
    assert!(
        e[1].contains("20-b.toml: is writable by group or others; run: chmod go-w"),
        "{e:?}"
    );
}

#[test]
fn principals_map_signers_to_accounts_and_are_no_attribute() {
    let src = "[users.bob]\nteam = \"sre\"\nprincipals = [\"bob@corp\", \"bob@laptop\"]\n\n[users.carol]\nprincipals = []\n";
    let u = parse_users_file(&p("u.toml"), src).unwrap();
    // Not visible to `who.attributes` / `approvers.attributes`.
    assert_eq!(u.attributes["bob"], tags(&[("team", &["sre"])]));
    assert_eq!(u.attributes["carol"], Tags::new());
    assert_eq!(u.principals["bob"].principals, ["bob@corp", "bob@laptop"]);
    assert_eq!(u.principals["bob"].line, 3);
    assert!(u.principals["carol"].principals.is_empty());

    let d = dir_with(&[
        ("10-idp.toml", "[users.bob]\nprincipals = [\"bob@old\"]\n[users.carol]\nprincipals = [\"carol@corp\"]\n"),
        ("20-local.toml", "[users.bob]\nprincipals = [\"bob@corp\"]\n[users.carol]\nprincipals = []\n"),
    ]);
    let (attrs, map) = load_users_dir(d.path()).unwrap();
    assert!(attrs.is_empty(), "{attrs:?}");
    // A later file's list replaces an earlier one; an empty list removes it.
    assert_eq!(map.account_of("bob@corp"), Some("bob"));
    assert_eq!(map.account_of("bob@old"), None);
    assert_eq!(map.account_of("carol@corp"), None);
    assert_eq!(map.principals_of("bob").collect::<Vec<_>>(), ["bob@corp"]);
}

#[test]
fn bad_principals_are_errors_with_lines() {
    let cases: &[(&str, &str)] = &[
        ("[users.bob]\nprincipals = \"bob@corp\"\n", "u.toml:2: principals must be a list of strings, such as principals = [\"bob@corp\"]"),
        ("[users.bob]\nprincipals = [\"bob corp\"]\n", "u.toml:2: principals: principal \"bob corp\" contains whitespace or a control character"),
        ("[users.bob]\nprincipals = [\"\"]\n", "u.toml:2: principals: principal is empty"),
        ("[users.bob]\n\nprincipals = [\"a\\u0007b\"]\n", "u.toml:3: principals: principal \"a\\u{7}b\" contains whitespace or a control character"),
        ("[users.bob]\nprincipals = [\"*@corp\"]\n", "u.toml:2: principals: principal \"*@corp\" contains '*': a mapping names one principal; patterns belong in allowed_signers"),
        ("[users.bob]\nprincipals = [\"a@corp,b@corp\"]\n", "u.toml:2: principals: principal \"a@corp,b@corp\" contains ',': a mapping names one principal; patterns belong in allowed_signers"),
        ("[users.bob]\nprincipals = [1]\n", "u.toml:2: invalid type: integer `1`, expected a string"),
    ];
    for (src, want) in cases {
        assert_eq!(
            errs(parse_users_file(&p("u.toml"), src)),
            [*want],
            "{src:?}"
        );
    }
}

#[test]
fn a_principal_of_two_accounts_is_an_error() {
    let d = dir_with(&[
        (
            "10-a.toml",
            "[users.alice]\n\nprincipals = [\"ops@corp\"]\n",
        ),
        (
            "20-b.toml",
            "[users.bob]\nprincipals = [\"bob@corp\", \"ops@corp\"]\n",
        ),
    ]);
    let e = errs(load_users_dir(d.path()));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].ends_with(&format!(
            "20-b.toml:2: principal \"ops@corp\" is mapped to both alice ({}:3) and bob; \
             a principal belongs to one account",
            d.path().join("10-a.toml").display()
        )),
        "{e:?}"
    );
    // The same account twice is no conflict.
    let d = dir_with(&[(
        "10-a.toml",
        "[users.bob]\nprincipals = [\"b@c\", \"b@c\"]\n",
    )]);
    assert_eq!(
        load_users_dir(d.path()).unwrap().1.account_of("b@c"),
        Some("bob")
    );
}

#[test]
fn an_unknown_key_does_not_hide_the_other_errors_of_an_attribute_file() {
    let host = "labels = { a = \"b\" }\n[tags]\nenv = 1\nzone = \"\"\n";
    assert_eq!(
        errs(parse_host_file(&p("h.toml"), host)),
        [
            "h.toml:1: unknown field `labels`, expected `tags`",
            "h.toml:3: invalid type: integer `1`, expected a string or a list of strings",
            "h.toml:4: tag zone has an empty value",
        ]
    );
    let users = "[people.x]\n[users.\"a,b\"]\nteam = \"\"\n[users.bob]\nteam = 2\nrole = \"\"\n";
    assert_eq!(
        errs(parse_users_file(&p("u.toml"), users)),
        [
            "u.toml:1: unknown field `people`, expected `users`",
            "u.toml:5: invalid type: integer `2`, expected a string or a list of strings",
            "u.toml:2: user name \"a,b\" contains ','; allowed: ASCII letters, digits, '_', '-', '.' (not first)",
            "u.toml:3: attribute team has an empty value",
            "u.toml:6: attribute role has an empty value",
        ]
    );
}
