//! The rights a request will be granted: how the decision text shows them
//! to an approver, and whether the role as it is now still gives them.
//!
//! A request keeps the rights it was decided with (its `grant`). The
//! approver signs those rights (see [`super::approve::decision_text`]),
//! the grant applies exactly those, and activation is refused when the
//! current role no longer gives all of them: what an approver signed is
//! never more than what policy allows at the moment it takes effect.
#![forbid(unsafe_code)]

use crate::grant::{GrantCommand, GrantSpec};

/// One command as the decision text shows it: `"ALL"`, a path (any
/// arguments), or `[path, arg, ...]` (exactly these arguments; `[path]`
/// alone: none). JSON, so that no two different commands look alike.
fn command_json(c: &GrantCommand) -> serde_json::Value {
    match c {
        GrantCommand::All => "ALL".into(),
        GrantCommand::Path { path, args: None } => path.as_str().into(),
        GrantCommand::Path {
            path,
            args: Some(args),
        } => std::iter::once(path)
            .chain(args)
            .map(|s| serde_json::Value::from(s.as_str()))
            .collect(),
    }
}

/// The lines of the decision text that say what will be granted:
/// `run-as`, `commands`, `nopasswd`, `groups` and `login`, each on its own
/// line, `-` where the grant has none.
pub(super) fn text_lines(grant: &GrantSpec) -> String {
    let (runas, commands, nopasswd) = match &grant.sudo {
        Some(s) => (
            s.runas.to_string(),
            serde_json::Value::from(s.commands.iter().map(command_json).collect::<Vec<_>>())
                .to_string(),
            if s.nopasswd { "yes" } else { "no" }.to_owned(),
        ),
        None => ("-".to_owned(), "-".to_owned(), "-".to_owned()),
    };
    let groups = if grant.groups.is_empty() {
        "-".to_owned()
    } else {
        serde_json::Value::from(
            grant
                .groups
                .iter()
                .map(|g| serde_json::Value::from(g.as_str()))
                .collect::<Vec<_>>(),
        )
        .to_string()
    };
    let login = if grant.login { "yes" } else { "no" };
    format!(
        "run-as: {runas}\n\
         commands: {commands}\n\
         nopasswd: {nopasswd}\n\
         groups: {groups}\n\
         login: {login}\n"
    )
}

/// Whether `have` (a command of the current role) allows everything
/// `want` (a stored command) allows.
fn command_covers(have: &GrantCommand, want: &GrantCommand) -> bool {
    match (have, want) {
        (GrantCommand::All, _) => true,
        (GrantCommand::Path { .. }, GrantCommand::All) => false,
        (
            GrantCommand::Path {
                path: p,
                args: None,
            },
            GrantCommand::Path { path: q, .. },
        ) => p == q,
        (
            GrantCommand::Path {
                path: p,
                args: Some(a),
            },
            GrantCommand::Path {
                path: q,
                args: Some(b),
            },
        ) => p == q && a == b,
        (GrantCommand::Path { args: Some(_), .. }, GrantCommand::Path { args: None, .. }) => false,
    }
}

/// `Ok` when `now` (what the role gives today) includes every right of
/// `stored` (what the request was decided with); otherwise what is no
/// longer given, in words.
pub(super) fn still_given(now: &GrantSpec, stored: &GrantSpec) -> Result<(), String> {
    if let Some(want) = &stored.sudo {
        let Some(have) = &now.sudo else {
            return Err("the role no longer gives sudo rights".into());
        };
        if have.runas != want.runas {
            return Err(format!(
                "the role now runs commands as {}, not {}",
                have.runas, want.runas
            ));
        }
        if want.nopasswd && !have.nopasswd {
            return Err("the role now asks for a password".into());
        }
        if let Some(lost) = want
            .commands
            .iter()
            .find(|w| !have.commands.iter().any(|h| command_covers(h, w)))
        {
            return Err(format!("the role no longer gives {}", lost.display()));
        }
    }
    if let Some(lost) = stored.groups.iter().find(|g| !now.groups.contains(g)) {
        return Err(format!("the role no longer gives group {lost}"));
    }
    if stored.login && !now.login {
        return Err("the role no longer gives login access".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grant::SudoGrant;
    use elevated_proto::{GroupName, UserName};

    fn path(p: &str, args: Option<&[&str]>) -> GrantCommand {
        GrantCommand::Path {
            path: p.into(),
            args: args.map(|a| a.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    fn spec(runas: &str, commands: Vec<GrantCommand>, groups: &[&str]) -> GrantSpec {
        GrantSpec {
            sudo: Some(SudoGrant {
                runas: UserName::parse(runas).unwrap(),
                commands,
                nopasswd: true,
            }),
            groups: groups
                .iter()
                .map(|g| GroupName::parse(g).unwrap())
                .collect(),
            ..GrantSpec::default()
        }
    }

    #[test]
    fn the_text_shows_every_right_unambiguously() {
        let s = spec(
            "postgres",
            vec![
                GrantCommand::All,
                path("/usr/bin/psql", None),
                path("/usr/bin/systemctl", Some(&["restart", "pg"])),
                path("/usr/bin/true", Some(&[])),
            ],
            &["adm"],
        );
        assert_eq!(
            text_lines(&s),
            "run-as: postgres\n\
             commands: [\"ALL\",\"/usr/bin/psql\",[\"/usr/bin/systemctl\",\"restart\",\"pg\"],[\"/usr/bin/true\"]]\n\
             nopasswd: yes\n\
             groups: [\"adm\"]\n\
             login: no\n"
        );
        assert_eq!(
            text_lines(&GrantSpec::default()),
            "run-as: -\ncommands: -\nnopasswd: -\ngroups: -\nlogin: no\n"
        );
    }

    #[test]
    fn narrower_roles_no_longer_give_stored_rights() {
        let wide = spec(
            "root",
            vec![path("/usr/bin/id", None), path("/usr/bin/ls", None)],
            &["adm"],
        );
        assert!(still_given(&wide, &wide).is_ok());
        let narrow = spec("root", vec![path("/usr/bin/id", None)], &["adm"]);
        assert!(still_given(&wide, &narrow).is_ok(), "wider now is fine");
        let err = still_given(&narrow, &wide).unwrap_err();
        assert!(err.contains("/usr/bin/ls"), "{err}");
        let other = spec("postgres", vec![path("/usr/bin/id", None)], &["adm"]);
        assert!(still_given(&other, &narrow)
            .unwrap_err()
            .contains("postgres"));
        let no_group = spec("root", vec![path("/usr/bin/id", None)], &[]);
        assert!(still_given(&no_group, &narrow).unwrap_err().contains("adm"));
        let exact = spec("root", vec![path("/usr/bin/id", Some(&["-u"]))], &[]);
        assert!(still_given(&no_group, &exact).is_ok());
        assert!(still_given(&exact, &no_group).is_err());
        let all = spec("root", vec![GrantCommand::All], &["adm"]);
        assert!(still_given(&all, &wide).is_ok());
        assert!(still_given(&wide, &all).is_err());
        let mut pw = narrow.clone();
        if let Some(s) = pw.sudo.as_mut() {
            s.nopasswd = false;
        }
        assert!(still_given(&pw, &narrow).unwrap_err().contains("password"));
        assert!(still_given(&GrantSpec::default(), &narrow).is_err());
        let login = GrantSpec {
            login: true,
            ..GrantSpec::default()
        };
        assert!(still_given(&GrantSpec::default(), &login).is_err());
    }
}
